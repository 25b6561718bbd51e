"""``cloudact demo``: two demo orgs, real public samples plus generated data, built into FOCUS and summarised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cloudact.control_plane import get_control_plane
from cloudact.demo_data import generate_cur, generate_openai_buckets
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.tenancy import company_key
from cloudact.transform import transform_org
from cloudact.warehouse import WarehouseError, get_warehouse

DEMO_DAYS = 90
AWS_SAMPLE = Path("aws/legacy-cur-sample-anonymous-aws-export-dataset.csv")
OPENAI_SAMPLE = Path("openai/organization_costs_example.json")
# (company, seed, payer account, usage accounts, OpenAI projects, loads the public samples)
DEMO_ORGS = (
    ("Acme Corp", 1, "111122223333", ["111122223333", "222233334444"], ["proj_web", "proj_ml"], True),
    ("Globex Inc", 2, "555566667777", ["555566667777"], ["proj_support"], False),
)


def run_demo(settings: Settings, console: Console) -> list[str]:
    """Create (or reuse) the demo orgs, load their data, run dbt and print a summary; returns the slugs."""
    from ingestion.pipelines import aws_source_for, ingest_openai_buckets, load_buckets, run_ingest

    control_plane, warehouse = get_control_plane(settings), get_warehouse(settings)
    samples = settings.resolved_samples_dir
    for sample in (AWS_SAMPLE, OPENAI_SAMPLE):
        if not (samples / sample).is_file():
            raise WarehouseError(f"public sample {samples / sample} not found: set CLOUDACT_SAMPLES_DIR")
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=DEMO_DAYS)
    slugs = []
    for company, seed, payer, accounts, projects, with_samples in DEMO_ORGS:
        existing = control_plane.find_by_company_key(company_key(company))
        if existing is None:
            org = onboard_org(control_plane, warehouse, get_keyring(settings), company)
            slug = org.org_slug
            console.print(f"[green]✓[/] created org [bold]{slug}[/] ({company}); API key (shown once): {org.api_key}",
                          highlight=False)  # fmt: skip
        else:
            slug = existing.org_slug
            console.print(f"[green]✓[/] reusing org [bold]{slug}[/] ({company})")
        slugs.append(slug)
        folder = settings.resolved_data_dir / "demo" / slug
        with console.status(f"{slug}: generating {DEMO_DAYS} days of AWS CUR and OpenAI costs"):
            generate_cur(folder / "aws_cur", payer, accounts, first_day, DEMO_DAYS, seed)
            buckets = generate_openai_buckets(first_day, DEMO_DAYS, projects, seed)
        if with_samples:
            buckets = load_buckets(samples / OPENAI_SAMPLE) + buckets
            with console.status(f"{slug}: ingest public AWS CUR sample"):
                result = run_ingest(settings, slug, "aws", aws_source_for(samples / AWS_SAMPLE))
            console.print(f"[green]✓[/] {slug}: {result.rows_loaded} rows of the public AWS CUR sample")
        with console.status(f"{slug}: ingest AWS CUR files"):
            result = run_ingest(settings, slug, "aws", aws_source_for(folder / "aws_cur"))
        console.print(f"[green]✓[/] {slug}: {result.rows_loaded} AWS CUR rows")
        with console.status(f"{slug}: ingest OpenAI costs"):
            result = ingest_openai_buckets(settings, slug, buckets, f"org-{slug[:12]}")
        console.print(f"[green]✓[/] {slug}: {result.rows_loaded} OpenAI cost rows")
        with console.status(f"{slug}: dbt build"):
            built = transform_org(settings, slug)
        console.print(f"[green]✓[/] {slug}: dbt build passed ({built.nodes} nodes)")
    for slug in slugs:
        _print_summary(console, slug, warehouse.focus_summary(slug))
    console.print(
        f"\nQuery it with SQL: [bold]duckdb {settings.resolved_duckdb_path}[/] then\n"
        f"  select ServiceName, sum(BilledCost) from {slugs[0]}_prod.cost_data_standard_1_3\n"
        "  group by 1 order by 2 desc;",
        highlight=False,
    )
    return slugs


def _print_summary(console: Console, slug: str, rows: list[dict[str, object]]) -> None:
    table = Table("provider", "service", "rows", "BilledCost", title=f"{slug}_prod.cost_data_standard_1_3")
    total = Decimal(0)
    for row in rows:
        cost = Decimal(str(row["billed_cost"]))
        total += cost
        table.add_row(str(row["provider"]), str(row["service"]), str(row["rows"]), f"{cost:,.2f} {row['currency']}")
    table.add_row("", "[bold]total[/]", "", f"[bold]{total:,.2f}[/]")
    console.print(table)
