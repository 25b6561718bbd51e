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

from cloudact.control_plane import ControlPlaneError, get_control_plane
from cloudact.control_plane.plans import DEFAULT_PLAN, PLANS, UnknownPlanError
from cloudact.settings import Settings, SettingsError, get_settings
from cloudact.tenancy import InvalidSlugError, validate_slug
from cloudact.transform import TransformError
from cloudact.warehouse import WarehouseError, get_warehouse

app = typer.Typer(help="CloudAct: cloud, GenAI and SaaS bills to one FinOps FOCUS 1.3 table per company.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
org_app = typer.Typer(help="Organizations (tenants).", no_args_is_help=True)
app.add_typer(org_app, name="org")
integration_app = typer.Typer(help="Provider credentials per org (encrypted; never shown again).", no_args_is_help=True)
app.add_typer(integration_app, name="integration")
keyring_app = typer.Typer(help="Key-encryption keys guarding credentials and API-key copies.", no_args_is_help=True)
app.add_typer(keyring_app, name="keyring")
quota_app = typer.Typer(help="Plan limits and pipeline-run usage.", no_args_is_help=True)
app.add_typer(quota_app, name="quota")
pipeline_app = typer.Typer(help="Org pipeline runs (ingest every integration, dbt build).", no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
prefect_app = typer.Typer(help="Prefect server, worker and deployments.", no_args_is_help=True)
app.add_typer(prefect_app, name="prefect")
saas_app = typer.Typer(help="SaaS subscriptions entered by hand (Canva, Slack, ChatGPT Plus…).", no_args_is_help=True)
app.add_typer(saas_app, name="saas")
console = Console()
err_console = Console(stderr=True)


def _user_errors() -> tuple[type[Exception], ...]:
    from cloudact.api_keys import ApiKeyNotFoundError
    from cloudact.credentials import CredentialError
    from cloudact.integrations import IntegrationNotFoundError, ProviderLimitError
    from cloudact.keyring import KeyringError

    return (ControlPlaneError, WarehouseError, SettingsError, UnknownPlanError, ApiKeyNotFoundError, CredentialError,
            IntegrationNotFoundError, KeyringError, ProviderLimitError)  # fmt: skip


def _fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _run(action: Callable[[], Any]) -> Any:
    """Run a command body, turning our known errors into one clear line and a non-zero exit."""
    from cloudact.credentials import CredentialError
    from ingestion.pipelines import IngestError

    try:
        return action()
    except (InvalidSlugError, UnknownPlanError, CredentialError) as exc:  # bad input: usage exit code
        _fail(str(exc), 2)
    except (IngestError, TransformError, *_user_errors()) as exc:
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


@app.command()
def migrate() -> None:
    """Apply the control-plane migrations (SQLite, Postgres or Supabase's Postgres via CLOUDACT_DATABASE_URL)."""
    from cloudact.control_plane.migrate import migrate as run_migrations

    settings = _settings()

    def action() -> None:
        if settings.control_plane == "sqlite":
            settings.ensure_data_dir()
        before, after = run_migrations(settings.resolved_database_url)
        changed = "already at" if before == after else f"migrated from {before or 'empty'} to"
        console.print(f"[green]✓[/] control plane {changed} revision {after}")

    _run(action)


@app.command()
def bootstrap() -> None:
    """Create or complete the shared warehouse dataset `organizations`: adds missing tables and columns only."""
    settings = _settings()

    def action() -> None:
        report = get_warehouse(settings).bootstrap()
        for table in report.created_tables:
            console.print(f"[green]+[/] table organizations.{table}")
        for column in report.added_columns:
            console.print(f"[green]+[/] column organizations.{column}")
        for mismatch in report.type_mismatches:
            console.print(f"[yellow]![/] type differs (left as is): {mismatch}")
        console.print("[green]✓[/] warehouse bootstrap: " + ("updated" if report.changed else "already current"))

    _run(action)


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Company name, e.g. 'Acme Corp'")],
    plan: Annotated[str, typer.Option("--plan", help=f"One of: {', '.join(PLANS)}")] = DEFAULT_PLAN,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner's email (first seat)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="End with one JSON line {org_slug, api_key}")] = False,
) -> None:
    """Onboard a company: its org, its dataset {org_slug}_prod, its quota row and an API key (shown once)."""
    from cloudact.keyring import get_keyring
    from cloudact.onboarding import onboard_org

    settings = _settings()

    def action() -> None:
        org = onboard_org(
            get_control_plane(settings), get_warehouse(settings), get_keyring(settings), name, plan, owner
        )
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


@org_app.command("recover-key")
def org_recover_key(
    org: Annotated[str, typer.Argument(help="Org slug")],
    key_id: Annotated[str | None, typer.Option("--key-id", help="A specific key; default the newest")] = None,
) -> None:
    """Operator only: decrypt the stored copy of an org's API key with the keyring (or Cloud KMS)."""
    from cloudact.api_keys import recover_api_key
    from cloudact.audit import write_audit
    from cloudact.keyring import get_keyring

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        warehouse = get_warehouse(settings)
        issued = recover_api_key(warehouse, get_keyring(settings), slug, key_id)
        write_audit(warehouse, slug, "api_key.recovered", actor="root", target=issued.key_id)
        print(issued.api_key)  # noqa: T201 (the one output of this command, for pipes)

    _run(action)


@org_app.command("member-add")
def org_member_add(
    org: Annotated[str, typer.Argument(help="Org slug")],
    email: Annotated[str, typer.Argument(help="Member's email")],
    role: Annotated[str, typer.Option("--role", help="owner, admin, member or viewer")] = "member",
) -> None:
    """Add a member (a seat of the plan)."""
    from cloudact.members import add_member

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        try:
            member = add_member(get_control_plane(settings), slug, email, role)
        except ValueError as exc:
            _fail(str(exc), 2)
            return
        console.print(f"[green]✓[/] {member.email} is now {member.role} of {slug}")

    _run(action)


@org_app.command("members")
def org_members(org: Annotated[str, typer.Argument(help="Org slug")]) -> None:
    """List an org's members and its seats."""
    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        store = get_control_plane(settings)
        table = Table("email", "role", "since")
        members = store.list_members(slug)
        for member in members:
            table.add_row(member.email, member.role, f"{member.created_at:%Y-%m-%d}")
        console.print(table)
        console.print(f"{len(members)} of {store.get_org(slug).limit_seats} seats used")

    _run(action)


@app.command("budget")
def budget_set(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    amount: Annotated[str, typer.Option("--amount", help="Monthly budget, e.g. 5000.00")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code")] = "USD",
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's cost")] = None,
) -> None:
    """Set a monthly budget (whole org, or one provider) that alerts_daily checks."""
    from decimal import Decimal, InvalidOperation

    from cloudact.budgets import set_budget

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        try:
            set_budget(get_warehouse(settings), slug, Decimal(amount), currency, provider)
        except (ValueError, InvalidOperation) as exc:
            _fail(f"--amount/--currency: {exc}", 2)
            return
        console.print(f"[green]✓[/] monthly budget of {amount} {currency.upper()} for {slug} "
                      f"({'provider ' + provider if provider else 'whole org'})")  # fmt: skip

    _run(action)


@integration_app.command("set")
def integration_set(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[str, typer.Option("--provider", help="openai, anthropic, gcp, aws, azure or oci")],
    file: Annotated[Path, typer.Option("--file", help="JSON credentials file, or - for stdin", allow_dash=True)],
) -> None:
    """Store (create or replace) an org's provider credentials, validated and encrypted."""
    from cloudact.integrations import check_provider_limit, set_integration
    from cloudact.keyring import get_keyring

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        try:
            text = typer.get_text_stream("stdin").read() if str(file) == "-" else file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"{file}: cannot read the credentials file ({exc.__class__.__name__}: {exc.args[-1]})", 2)
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            _fail(f"{file}: not JSON (line {exc.lineno}, column {exc.colno}): expected an object of credentials", 2)
        if not isinstance(payload, dict):
            _fail(f"{file}: expected a JSON object of credentials", 2)
        check_provider_limit(
            get_warehouse(settings), slug, provider, get_control_plane(settings).get_org(slug).limit_providers
        )
        item = set_integration(get_warehouse(settings), get_keyring(settings), slug, provider, payload)
        console.print(f"[green]✓[/] {provider} credentials stored for {slug}: {json.dumps(item.summary)}")

    _run(action)


@integration_app.command("list")
def integration_list(org: Annotated[str, typer.Option("--org", help="Org slug")]) -> None:
    """An org's integrations, redacted."""
    from cloudact.integrations import list_integrations

    settings = _settings()
    table = Table("provider", "status", "summary", "updated_at")
    for item in _run(lambda: list_integrations(get_warehouse(settings), _existing_org(settings, org))):
        table.add_row(item.provider, item.status, json.dumps(item.summary), f"{item.updated_at:%Y-%m-%d %H:%M}")
    console.print(table)


@integration_app.command("delete")
def integration_delete(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[str, typer.Option("--provider", help="Provider")],
) -> None:
    """Delete an org's credentials for one provider."""
    from cloudact.integrations import delete_integration

    settings = _settings()

    def action() -> None:
        delete_integration(get_warehouse(settings), _existing_org(settings, org), provider)
        console.print(f"[green]✓[/] {provider} credentials of {org} deleted")

    _run(action)


@keyring_app.command("rotate")
def keyring_rotate() -> None:
    """Local keyring: add a new primary KEK, then re-wrap every stored secret under it (Cloud KMS: re-wrap only)."""
    from cloudact.api_keys import rewrap_api_keys
    from cloudact.integrations import rewrap_integrations
    from cloudact.keyring import LocalKeyring, get_keyring

    settings = _settings()

    def action() -> None:
        keyring = get_keyring(settings)
        if isinstance(keyring, LocalKeyring):
            console.print(f"[green]✓[/] new primary key-encryption key {keyring.rotate()}")
        warehouse = get_warehouse(settings)
        moved = rewrap_integrations(warehouse, keyring) + rewrap_api_keys(warehouse, keyring)
        console.print(f"[green]✓[/] {moved} stored secrets re-wrapped under {keyring.primary_key_id()}")

    _run(action)


@quota_app.command("show")
def quota_show(org: Annotated[str, typer.Option("--org", help="Org slug")]) -> None:
    """An org's plan limits and today's, this month's and current pipeline-run usage."""
    from cloudact.quotas import get_usage

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        record = get_control_plane(settings).get_org(slug)
        usage = get_usage(get_warehouse(settings), record)
        table = Table("limit", "used", "allowed", "resets at (UTC)")
        table.add_row("pipeline runs today", str(usage.pipeline_runs_today), str(usage.limit_daily),
                      f"{usage.daily_resets_at:%Y-%m-%d %H:%M}")  # fmt: skip
        table.add_row("pipeline runs this month", str(usage.pipeline_runs_this_month), str(usage.limit_monthly),
                      f"{usage.monthly_resets_at:%Y-%m-%d %H:%M}")  # fmt: skip
        table.add_row("concurrent runs", str(usage.running), str(usage.limit_concurrent), "when a run ends")
        console.print(f"{record.org_slug}: plan [bold]{record.plan}[/] ({record.status})")
        console.print(table)

    _run(action)


@app.command()
def ingest(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[str, typer.Option("--provider", help="openai, aws, azure, oci or gcp")],
    source: Annotated[
        str | None,
        typer.Option("--source", help="aws/azure/oci/gcp: export file, folder or s3:// / az:// / oci:// / gs:// URL. "
                     "openai: API base URL or a JSON file of Costs API buckets/pages (served locally). anthropic: "
                     "API base URL or a JSON file {cost_report: [...], usage_report: [...]} of report pages."),
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
    from ingestion.pipelines import (
        aws_source_for,
        azure_source_for,
        gcp_source_for,
        ingest_openai_buckets,
        load_buckets,
        oci_source_for,
        openai_source_for,
        run_ingest,
    )

    file_sources = {"aws": (aws_source_for, "a CUR file, folder or s3:// URL"),
                    "azure": (azure_source_for, "a Cost Management export file, folder or az:// URL"),
                    "oci": (oci_source_for, "a cost report file, folder or oci:// URL"),
                    "gcp": (gcp_source_for, "an export rows file (NDJSON/Parquet), folder or gs:// URL")}  # fmt: skip
    if provider in file_sources:
        source_for, what = file_sources[provider]
        if not source:
            _fail(f"--source is required for {provider} ({what})", 2)
        return run_ingest(settings, slug, provider, source_for(source))
    if provider == "anthropic":
        return _ingest_anthropic(settings, slug, source, api_key, account_id)
    if source and not source.startswith(("http://", "https://")):
        return ingest_openai_buckets(settings, slug, load_buckets(Path(source)), account_id)
    if not api_key:
        _fail("an OpenAI admin key is required: --api-key or CLOUDACT_OPENAI_ADMIN_KEY", 2)
    assert api_key is not None
    run_settings = settings.model_copy(update={"openai_base_url": source}) if source else settings
    return run_ingest(settings, slug, "openai", openai_source_for(run_settings, api_key, account_id))


def _ingest_anthropic(settings: Settings, slug: str, source: str | None, api_key: str | None, account_id: str) -> Any:
    import os

    from ingestion.pipelines import anthropic_source_for, ingest_anthropic_pages, run_ingest

    if source and not source.startswith(("http://", "https://")):
        return ingest_anthropic_pages(settings, slug, Path(source), account_id)
    if not api_key or api_key.startswith("sk-admin-"):  # --api-key's env default is the OpenAI key
        api_key = os.environ.get("CLOUDACT_ANTHROPIC_ADMIN_KEY")
    if not api_key:
        _fail("an Anthropic admin key is required: --api-key or CLOUDACT_ANTHROPIC_ADMIN_KEY", 2)
    assert api_key is not None
    run_settings = settings.model_copy(update={"anthropic_base_url": source}) if source else settings
    return run_ingest(settings, slug, "anthropic", anthropic_source_for(run_settings, api_key, account_id))


@app.command()
def transform(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild every billing period, not only the re-delivered ones")
    ] = False,
) -> None:
    """Build cost_data_standard_1_3 for one org with dbt (seeds, models and tests), incrementally by billing period."""
    from cloudact.read_cache import invalidate
    from cloudact.transform import transform_org

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        with _step(f"dbt build for {slug}"):
            result = transform_org(settings, slug, full_refresh=full_refresh)
        invalidate(get_warehouse(settings), slug, settings)  # publish the API's read snapshot
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


@pipeline_app.command("run")
def pipeline_run(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[list[str] | None, typer.Option("--provider", help="Only these providers (repeatable)")] = None,
) -> None:
    """Run the org's pipeline now (quota-checked): a Prefect flow run if PREFECT_API_URL is set, else in-process."""
    from cloudact.pipeline import run_in_process
    from cloudact.pipeline_trigger import PipelineStartError, prefect_api_url, trigger_pipeline
    from cloudact.quotas import OrgNotRunnableError, QuotaExceededError

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        try:
            if prefect_api_url():
                run = trigger_pipeline(settings, get_control_plane(settings), get_warehouse(settings), slug,
                                       provider or None, trigger="cli")  # fmt: skip
                console.print(f"run {run.run_id} started as Prefect flow run {run.flow_run_id}")
                return
            with _step(f"pipeline run for {slug}"):
                outcome = run_in_process(settings, slug, provider or None, trigger="cli")
        except (QuotaExceededError, OrgNotRunnableError, PipelineStartError) as exc:
            _fail(str(exc))
            return
        rows = ", ".join(f"{name}: {count} rows" for name, count in outcome.rows.items()) or "no provider data"
        console.print(f"run {outcome.run_id} {outcome.status} in {outcome.duration_s:.1f}s ({rows}; "
                      f"{outcome.dbt_nodes} dbt nodes)", highlight=False)  # fmt: skip
        for name, error in outcome.errors.items():
            console.print(f"[red]✗[/] {escape(name)}: {escape(error)}", highlight=False)
        if outcome.status == "failed":
            raise typer.Exit(1)

    _run(action)


@saas_app.command("add")
def saas_add(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[str, typer.Option("--provider", help="e.g. Slack")],
    plan: Annotated[str, typer.Option("--plan", help="e.g. Business+")],
    seats: Annotated[int, typer.Option("--seats", min=1)],
    unit_price: Annotated[str, typer.Option("--unit-price", help="Per seat per billing cycle, e.g. 12.50")],
    cycle: Annotated[str, typer.Option("--cycle", help="monthly or annual")],
    start: Annotated[str, typer.Option("--start", help="YYYY-MM-DD")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code")] = "USD",
    end: Annotated[str | None, typer.Option("--end", help="YYYY-MM-DD (cancellation date)")] = None,
    timing: Annotated[str, typer.Option("--timing", help="advance (invoiced up front) or arrears")] = "advance",
) -> None:
    """Store a SaaS subscription (its FOCUS rows come with the SaaS models)."""
    from datetime import date
    from decimal import Decimal, InvalidOperation

    from cloudact.subscriptions import SubscriptionError, create_subscription

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        try:
            item = create_subscription(
                get_warehouse(settings), slug, provider=provider, plan=plan, seats=seats,
                unit_price=Decimal(unit_price), currency=currency.upper(), billing_cycle=cycle,
                start_date=date.fromisoformat(start), end_date=date.fromisoformat(end) if end else None,
                billing_timing=timing,
            )  # fmt: skip
        except SubscriptionError as exc:
            _fail(f"--{exc.field.replace('_', '-')}: {exc}", 2)
            return
        except (ValueError, InvalidOperation) as exc:
            _fail(f"invalid value: {exc} (dates are YYYY-MM-DD, --unit-price a decimal such as 12.50)", 2)
            return
        price = f"{item.unit_price} {item.currency}"
        console.print(f"[green]✓[/] subscription {item.subscription_id}: {item.provider} {item.plan}, "
                      f"{item.seats} seats × {price} per {item.billing_cycle} cycle, "
                      f"invoiced in {item.billing_timing}")  # fmt: skip

    _run(action)


@saas_app.command("list")
def saas_list(org: Annotated[str, typer.Option("--org", help="Org slug")]) -> None:
    """An org's SaaS subscriptions."""
    from cloudact.subscriptions import list_subscriptions

    settings = _settings()
    table = Table("id", "provider", "plan", "seats", "unit price", "cycle", "timing", "start", "end")
    for item in _run(lambda: list_subscriptions(get_warehouse(settings), _existing_org(settings, org), 1000)):
        table.add_row(item.subscription_id, item.provider, item.plan, str(item.seats),
                      f"{item.unit_price} {item.currency}", item.billing_cycle, item.billing_timing,
                      str(item.start_date), str(item.end_date or ""))  # fmt: skip
    console.print(table)


@saas_app.command("remove")
def saas_remove(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    subscription_id: Annotated[str, typer.Argument(help="Subscription id (from `saas list`)")],
) -> None:
    """Remove a SaaS subscription."""
    from cloudact.subscriptions import SubscriptionNotFoundError, delete_subscription

    settings = _settings()

    def action() -> None:
        try:
            delete_subscription(get_warehouse(settings), _existing_org(settings, org), subscription_id)
        except SubscriptionNotFoundError as exc:
            _fail(str(exc))
        console.print(f"[green]✓[/] subscription {subscription_id} removed")

    _run(action)


agreement_app = typer.Typer(help="SaaS spend agreements (commit to spend an amount over a term).", no_args_is_help=True)
saas_app.add_typer(agreement_app, name="agreement")
usage_app = typer.Typer(help="Monthly usage against a SaaS spend agreement.", no_args_is_help=True)
saas_app.add_typer(usage_app, name="usage")


def _agreement_call(action: Callable[[], Any]) -> Any:
    """Run a spend-agreement call, turning its input errors into a usage error (2) and a missing id into 1."""
    from decimal import InvalidOperation

    from cloudact.spend_agreements import AgreementError, AgreementNotFoundError

    try:
        return action()
    except AgreementError as exc:
        _fail(f"--{exc.field.replace('_', '-')}: {exc}", 2)
    except AgreementNotFoundError as exc:
        _fail(str(exc))
    except (ValueError, InvalidOperation) as exc:
        _fail(f"invalid value: {exc} (dates are YYYY-MM-DD, amounts decimals such as 12.50)", 2)
    return None


@agreement_app.command("add")
def saas_agreement_add(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    provider: Annotated[str, typer.Option("--provider", help="e.g. Acme Co")],
    service: Annotated[str, typer.Option("--service", help="e.g. AwesomeDB")],
    sku: Annotated[str, typer.Option("--sku", help="The usage SKU, e.g. U-123")],
    unit: Annotated[str, typer.Option("--unit", help="Usage unit, e.g. 'Server Hours'")],
    list_price: Annotated[str, typer.Option("--list-price", help="List price per unit")],
    contracted_price: Annotated[str, typer.Option("--contracted-price", help="Contracted price per unit")],
    commitment: Annotated[str, typer.Option("--commitment", help="Amount committed over the whole term")],
    start: Annotated[str, typer.Option("--start", help="YYYY-MM-01")],
    end: Annotated[str, typer.Option("--end", help="YYYY-MM-01 (exclusive)")],
    monthly_minimum: Annotated[str | None, typer.Option("--monthly-minimum", help="Spend floor per month")] = None,
    prepaid: Annotated[bool, typer.Option("--prepaid/--arrears", help="Paid up front, or billed monthly")] = False,
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code")] = "USD",
) -> None:
    """Store a spend agreement (its FOCUS rows come with the SaaS models)."""
    from datetime import date

    from cloudact.spend_agreements import create_agreement

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        item = _agreement_call(lambda: create_agreement(
            get_warehouse(settings), slug, provider=provider, service_name=service, sku_id=sku, usage_unit=unit,
            list_unit_price=list_price, contracted_unit_price=contracted_price, commitment_amount=commitment,
            monthly_minimum=monthly_minimum, prepaid=prepaid, currency=currency.upper(),
            start_date=date.fromisoformat(start), end_date=date.fromisoformat(end),
        ))  # fmt: skip
        console.print(f"[green]✓[/] agreement {item.agreement_id}: {item.provider} {item.service_name}, "
                      f"{item.commitment_amount} {item.currency} from {item.start_date} to {item.end_date}, "
                      f"{'prepaid' if item.prepaid else 'billed in arrears'}", highlight=False)  # fmt: skip

    _run(action)


@agreement_app.command("list")
def saas_agreement_list(org: Annotated[str, typer.Option("--org", help="Org slug")]) -> None:
    """An org's spend agreements."""
    from cloudact.spend_agreements import list_agreements

    settings = _settings()
    table = Table("id", "provider", "service", "sku", "unit price (list)", "commitment", "monthly min", "paid",
                  "start", "end")  # fmt: skip
    for item in _run(lambda: list_agreements(get_warehouse(settings), _existing_org(settings, org), 1000)):
        table.add_row(item.agreement_id, item.provider, item.service_name, item.sku_id,
                      f"{item.contracted_unit_price} ({item.list_unit_price}) {item.currency}/{item.usage_unit}",
                      f"{item.commitment_amount} {item.currency}", str(item.monthly_minimum or ""),
                      "prepaid" if item.prepaid else "arrears", str(item.start_date), str(item.end_date))  # fmt: skip
    console.print(table)


@agreement_app.command("remove")
def saas_agreement_remove(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    agreement_id: Annotated[str, typer.Argument(help="Agreement id (from `saas agreement list`)")],
) -> None:
    """Remove a spend agreement and its usage."""
    from cloudact.spend_agreements import delete_agreement

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        _agreement_call(lambda: delete_agreement(get_warehouse(settings), slug, agreement_id))
        console.print(f"[green]✓[/] agreement {agreement_id} removed")

    _run(action)


@usage_app.command("add")
def saas_usage_add(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    agreement_id: Annotated[str, typer.Argument(help="Agreement id (from `saas agreement list`)")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    quantity: Annotated[str, typer.Option("--quantity", help="Usage in the agreement's unit (replaces the month's)")],
) -> None:
    """Set one month's usage of a spend agreement."""
    from datetime import date

    from cloudact.spend_agreements import set_usage

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        item = _agreement_call(lambda: set_usage(get_warehouse(settings), slug, agreement_id,
                                                 date.fromisoformat(f"{month[:7]}-01"), quantity))  # fmt: skip
        console.print(f"[green]✓[/] {agreement_id} {item.usage_month:%Y-%m}: {item.quantity}", highlight=False)

    _run(action)


@usage_app.command("list")
def saas_usage_list(
    org: Annotated[str, typer.Option("--org", help="Org slug")],
    agreement_id: Annotated[str, typer.Argument(help="Agreement id (from `saas agreement list`)")],
) -> None:
    """The usage entered for a spend agreement, by month."""
    from cloudact.spend_agreements import list_usage

    settings = _settings()

    def action() -> None:
        slug = _existing_org(settings, org)
        table = Table("month", "quantity")
        for item in _agreement_call(lambda: list_usage(get_warehouse(settings), slug, agreement_id)):
            table.add_row(f"{item.usage_month:%Y-%m}", str(item.quantity))
        console.print(table)

    _run(action)


@prefect_app.command("up")
def prefect_up(port: Annotated[int, typer.Option("--port", help="Prefect server port")] = 4200) -> None:
    """Start a local Prefect server and worker on 127.0.0.1, deploy prefect.yaml, and run until Ctrl-C."""
    from cloudact import prefect_local

    settings = _settings()
    api_url = f"http://127.0.0.1:{port}/api"
    logs = settings.ensure_data_dir() / "prefect"
    logs.mkdir(exist_ok=True)
    server = prefect_local.start_server(settings, port, logs / "server.log")
    worker = None
    try:
        with _step(f"Prefect server on {api_url} (logs: {logs})"):
            prefect_local.wait_healthy(api_url, process=server)
        with _step("deployments from prefect.yaml on the process pool"):
            prefect_local.deploy_all(settings, api_url)
        worker = prefect_local.start_worker(settings, api_url, logs / "worker.log")
        console.print(f"UI: http://127.0.0.1:{port}  ·  worker running  ·  Ctrl-C stops both")
        server.wait()
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        _fail(str(exc))
    finally:
        if worker is not None:
            prefect_local.stop(worker)
        prefect_local.stop(server)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8000,
) -> None:
    """Start the REST API (uvicorn) on the configured warehouse and control plane."""
    import uvicorn

    _settings()
    uvicorn.run("api.main:app", host=host, port=port, log_level="info")


@app.command()
def demo() -> None:
    """Two demo orgs with the public AWS and OpenAI samples plus 90 days of generated data, built and summarised."""
    from cloudact.demo import run_demo

    settings = _settings()
    _run(lambda: run_demo(settings, console))


if __name__ == "__main__":
    app()
