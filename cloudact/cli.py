"""The ``cloudact`` command line (Typer)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cloudact.control_plane import OrgExistsError, OrgNotFoundError, get_control_plane
from cloudact.settings import Settings, SettingsError, get_settings
from cloudact.tenancy import InvalidSlugError, validate_slug
from cloudact.transform import TransformError
from cloudact.warehouse import WarehouseError, get_warehouse

app = typer.Typer(help="CloudAct: cloud, GenAI and SaaS bills to one FinOps FOCUS 1.3 table per company.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
org_app = typer.Typer(help="Organizations (tenants).", no_args_is_help=True)
app.add_typer(org_app, name="org")
console = Console()
err_console = Console(stderr=True)

USER_ERRORS: tuple[type[Exception], ...] = (OrgExistsError, OrgNotFoundError, WarehouseError, SettingsError)


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _run(action: Callable[[], Any]) -> Any:
    """Run a command body, turning our known errors into one clear line and a non-zero exit."""
    from ingestion.pipelines import IngestError

    try:
        return action()
    except InvalidSlugError as exc:
        _fail(str(exc), 2)
    except (IngestError, TransformError, *USER_ERRORS) as exc:
        _fail(str(exc))


@contextmanager
def _step(message: str) -> Iterator[None]:
    with console.status(message):
        yield
    console.print(f"[green]✓[/] {message}")


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        _fail(f"invalid settings: {exc}")
        raise


def _existing_org(settings: Settings, slug: str) -> str:
    validate_slug(slug)
    get_control_plane(settings).get_org(slug)
    return slug


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Company name, e.g. 'Acme Corp'")],
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line {org_slug, api_key}")] = False,
) -> None:
    """Onboard a company: its org, its dataset {org_slug}_prod and an API key (shown once)."""
    from cloudact.onboarding import onboard_org

    settings = _settings()

    def action() -> None:
        org = onboard_org(get_control_plane(settings), get_warehouse(settings), name)
        if as_json:
            print(json.dumps({"org_slug": org.org_slug, "api_key": org.api_key}))  # noqa: T201 (machine output)
            return
        console.print(f"org_slug: [bold]{org.org_slug}[/]\ndataset:  {org.dataset}")
        console.print(f"api_key:  [bold]{org.api_key}[/]  (shown once; store it now)", highlight=False)

    _run(action)


@org_app.command("list")
def org_list() -> None:
    """List organizations."""
    settings = _settings()
    table = Table("org_slug", "company", "plan", "status", "created_at")
    for org in _run(lambda: get_control_plane(settings).list_orgs()):
        table.add_row(org.org_slug, org.company_name, org.plan, org.status, f"{org.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command()
def ingest(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[str, typer.Option("--provider", help="openai or aws")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="aws: CUR file, folder or s3:// URL. openai: API base URL or a JSON file of "
                     "Costs API buckets/pages (served locally)."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CLOUDACT_OPENAI_ADMIN_KEY", help="OpenAI admin key",
                                 show_default=False)
    ] = None,
    account_id: Annotated[
        str | None, typer.Option("--account-id", envvar="CLOUDACT_OPENAI_ORGANIZATION_ID",
                                 help="OpenAI organization id (BillingAccountId); default: the org slug")
    ] = None,
) -> None:  # fmt: skip
    """Load one provider's raw data for one org into {org_slug}_prod with dlt."""
    from ingestion.pipelines import PROVIDERS

    settings = _settings()
    if provider not in PROVIDERS:
        _fail(f"unknown provider {provider!r}: expected one of {', '.join(PROVIDERS)}", 2)

    def action() -> None:
        slug = _existing_org(settings, org)
        with _step(f"ingest {provider} for {slug}"):
            result = _ingest(settings, slug, provider, source, api_key, account_id or slug)
        console.print(f"{result.rows_loaded} rows loaded into {slug}_prod.{result.table}")

    _run(action)


def _ingest(
    settings: Settings, slug: str, provider: str, source: str | None, api_key: str | None, account_id: str
) -> Any:
    from ingestion.pipelines import aws_source_for, ingest_openai_buckets, load_buckets, openai_source_for, run_ingest

    if provider == "aws":
        if not source:
            _fail("--source is required for aws (a CUR file, folder or s3:// URL)", 2)
        return run_ingest(settings, slug, "aws", aws_source_for(source))
    if source and not source.startswith(("http://", "https://")):
        return ingest_openai_buckets(settings, slug, load_buckets(Path(source)), account_id)
    if not api_key:
        _fail("an OpenAI admin key is required: --api-key or CLOUDACT_OPENAI_ADMIN_KEY", 2)
    assert api_key is not None
    run_settings = settings.model_copy(update={"openai_base_url": source}) if source else settings
    return run_ingest(settings, slug, "openai", openai_source_for(run_settings, api_key, account_id))


@app.command()
def transform(org: Annotated[str, typer.Option("--org", help="Org slug")]) -> None:
    """Build cost_data_standard_1_3 for one org with dbt (seeds, models and tests)."""
    from cloudact.transform import transform_org

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        with _step(f"dbt build for {slug}"):
            result = transform_org(settings, slug)
        console.print(f"{result.nodes} dbt nodes passed; {slug}_prod.cost_data_standard_1_3 is up to date")

    _run(action)


@app.command()
def export(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    out: Annotated[Path, typer.Option("--out", help="FILE.parquet or FILE.csv")],
) -> None:
    """Write one org's FOCUS rows to a Parquet or CSV file."""
    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        rows = get_warehouse(settings).export_focus(slug, out)
        console.print(f"{rows} FOCUS rows of {slug} written to {out}")

    _run(action)


@app.command()
def demo() -> None:
    """Two demo orgs with the public AWS and OpenAI samples plus 90 days of generated data, built and summarised."""
    from cloudact.demo import run_demo

    settings = _settings()
    _run(lambda: run_demo(settings, console))


if __name__ == "__main__":
    app()
