"""``cloudact demo``: two demo orgs, real public samples plus generated data, built into FOCUS and summarised."""

from __future__ import annotations

import shutil
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
from cloudact.warehouse import WarehouseError, get_warehouse

DEMO_DAYS = 90
DEMO_PLAN = "scale"  # reruns of the demo stay well inside the plan's daily pipeline runs
AWS_SAMPLE = Path("aws/legacy-cur-sample-anonymous-aws-export-dataset.csv")
OPENAI_SAMPLE = Path("openai/organization_costs_example.json")
# (company, seed, payer account, usage accounts, OpenAI projects, loads the public samples)
DEMO_ORGS = (
    ("Acme Corp", 1, "111122223333", ["111122223333", "222233334444"], ["proj_web", "proj_ml"], True),
    ("Globex Inc", 2, "555566667777", ["555566667777"], ["proj_support"], False),
)


def run_demo(settings: Settings, console: Console) -> list[str]:
    """Create (or reuse) the demo orgs, connect their integrations, run the main job and print a summary.

    The main job is the org pipeline (``flows/org_pipeline.py``'s steps, run in-process here so the demo needs no
    Prefect server): each org's AWS integration points at a local folder of CUR deliveries, its OpenAI integration
    at a Costs API served on 127.0.0.1 from the public sample and generated buckets.

    Returns:
        The demo org slugs.
    """
    from cloudact.api_keys import recover_api_key
    from cloudact.integrations import set_integration
    from cloudact.openai_replay import CostsReplay, serve_costs
    from cloudact.pipeline import run_in_process
    from ingestion.pipelines import load_buckets

    control_plane, warehouse, keyring = get_control_plane(settings), get_warehouse(settings), get_keyring(settings)
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
            org = onboard_org(control_plane, warehouse, keyring, company, DEMO_PLAN)
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
            shutil.copy(samples / AWS_SAMPLE, folder / "aws_cur" / AWS_SAMPLE.name)
        openai_key = f"sk-admin-demo{seed}-" + company_key(company).replace("_", "-") + "-local-replay"
        set_integration(warehouse, keyring, slug, "aws", {"export_path": str(folder / "aws_cur")})
        set_integration(
            warehouse,
            keyring,
            slug,
            "openai",
            {"admin_key": openai_key, "organization_id": f"org-demo{seed}{slug[:12].replace('_', '')}"},
        )
        oldest = min(datetime.fromtimestamp(int(b["start_time"]), UTC).date() for b in buckets)
        with serve_costs(CostsReplay(buckets=buckets, api_key=openai_key)) as url:
            local = settings.model_copy(update={"openai_base_url": url,
                                                "openai_initial_days": (today - oldest).days + 1})  # fmt: skip
            with console.status(f"{slug}: pipeline run (ingest AWS CUR and OpenAI costs, dbt build)"):
                outcome = run_in_process(local, slug, trigger="demo")
        rows = ", ".join(f"{name} {count} rows" for name, count in outcome.rows.items())
        console.print(f"[green]✓[/] {slug}: run {outcome.status} ({rows}; dbt build {outcome.dbt_nodes} nodes)")
        if outcome.errors:
            raise WarehouseError(f"demo run of {slug} did not succeed: {outcome.errors}")
    for slug in slugs:
        _print_summary(console, slug, warehouse.focus_summary(slug))
    api_key = recover_api_key(warehouse, keyring, slugs[0]).api_key
    console.print(
        f"\nQuery it with SQL: [bold]duckdb {settings.resolved_duckdb_path}[/] then\n"
        f"  select ServiceName, sum(BilledCost) from {slugs[0]}_prod.cost_data_standard_1_3\n"
        "  group by 1 order by 2 desc;\n"
        f"\nOr start the API with [bold]cloudact serve[/] (http://127.0.0.1:8000, docs at /docs) and try:\n"
        f"  curl -H 'X-API-Key: {api_key}' http://127.0.0.1:8000/api/v1/orgs/{slugs[0]}/pipelines/runs",
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
