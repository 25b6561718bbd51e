"""One org's pipeline run, as plain functions the Prefect flows call: ingest each integration, build, record.

The flow (``flows/org_pipeline.py``) adds retries, logging and the Prefect UI; everything it does to the warehouse and
the control plane lives here, so the API's in-process fallback and the flow record runs the same way.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudact.control_plane import ControlPlaneStore, Organization
from cloudact.integrations import get_credentials, list_integrations
from cloudact.keyring import Keyring
from cloudact.quotas import finish_pipeline_run
from cloudact.settings import Settings
from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse

log = logging.getLogger(__name__)

# Providers the pipeline can ingest today; others' integrations are stored but skipped (and named in the run log).
PIPELINE_PROVIDERS = ("openai", "aws", "gcp", "anthropic", "azure", "oci")
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
# Where each file-based provider's exports are read from: the credential fields, in order of preference.
EXPORT_LOCATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "aws": (("export_path", "cur_bucket"), ""),
    "azure": (("export_path", "export_container"), ""),
    "gcp": (("export_path",), " (reading the export table in BigQuery directly is not built yet)"),
    "oci": (("export_path",), " (reading the report bucket directly is not built yet)"),
}


class RunBusyError(RuntimeError):
    """Another run of the same org is still running (one run at a time per org)."""


class RunNotQueuedError(RuntimeError):
    """The run is no longer waiting to start (finished, or failed by stale_cleanup)."""


@dataclass
class RunOutcome:
    """The result of one org pipeline run."""

    run_id: str
    org_slug: str
    status: str = "running"
    rows: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    dbt_nodes: int = 0
    duration_s: float = 0.0


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend([item.__cause__, item.__context__, getattr(item, "exception", None)])


def is_transient(exc: BaseException) -> bool:
    """Whether an error is worth retrying: HTTP 429/5xx/408, timeouts and dropped connections, anywhere in its chain."""
    import httpx
    import requests

    for item in _chain(exc):
        response = getattr(item, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and status in TRANSIENT_STATUS:
            return True
        if isinstance(item, (TimeoutError, ConnectionError, requests.Timeout, requests.ConnectionError)):
            return True
        if isinstance(item, (httpx.TimeoutException, httpx.TransportError)):
            return True
    return False


def enabled_providers(warehouse: Warehouse, org_slug: str) -> tuple[list[str], list[str]]:
    """``(providers to ingest, providers with credentials the pipeline cannot ingest yet)``."""
    names = [item.provider for item in list_integrations(warehouse, org_slug) if item.status == "valid"]
    return [n for n in names if n in PIPELINE_PROVIDERS], [n for n in names if n not in PIPELINE_PROVIDERS]


def ingest_provider(settings: Settings, warehouse: Warehouse, keyring: Keyring, org_slug: str, provider: str) -> int:
    """Load one provider's raw data for the org with its stored credentials; returns the rows loaded.

    Raises:
        IngestError: If the load fails (nothing of it is kept).
    """
    from ingestion import pipelines

    creds = get_credentials(warehouse, keyring, org_slug, provider)
    if provider == "openai":
        source = pipelines.openai_source_for(settings, creds["admin_key"], creds.get("organization_id") or org_slug)
        return pipelines.run_ingest(settings, org_slug, "openai", source).rows_loaded
    if provider == "anthropic":
        # The Admin API does not name the organization: the org slug stands in as its BillingAccountId.
        source = pipelines.anthropic_source_for(settings, creds["admin_key"], creds.get("organization_id") or org_slug)
        return pipelines.run_ingest(settings, org_slug, "anthropic", source).rows_loaded
    if provider in EXPORT_LOCATIONS:
        # File-based providers: the first location the integration has (a local folder synced by the customer's
        # job, or the bucket / container URL, read with the credentials configured for dlt's filesystem source).
        fields, note = EXPORT_LOCATIONS[provider]
        location = next((creds[name] for name in fields if creds.get(name)), None)
        if not location:
            raise ValueError(f"the {provider} integration of {org_slug} has no {' or '.join(fields)}{note}")
        source = getattr(pipelines, f"{provider}_source_for")(location)
        return pipelines.run_ingest(settings, org_slug, provider, source).rows_loaded  # type: ignore[arg-type]
    raise ValueError(f"provider {provider!r} cannot be ingested by the pipeline yet")


def claim_run(warehouse: Warehouse, org_slug: str, run_id: str, wait_s: float, poll_s: float = 1.0) -> None:
    """Mark ``run_id`` running once no other run of the org is running (waits up to ``wait_s``).

    Raises:
        RunBusyError: If the org is still busy after ``wait_s``.
    """
    slug = validate_slug(org_slug)
    runs = warehouse.shared_table("org_pipeline_runs")
    deadline = time.monotonic() + wait_s
    while True:
        with warehouse.transaction() as sql:
            own = sql.query(
                f"select status from {runs} where org_slug = @org_slug and run_id = @run_id",
                {"org_slug": slug, "run_id": run_id},
            )
            if not own or own[0]["status"] != "queued":
                # e.g. failed by stale_cleanup while its flow waited to start: never revive (and recount) it
                raise RunNotQueuedError(f"run {run_id} of {slug} is {own[0]['status'] if own else 'unknown'}")
            busy = sql.query(
                f"""select run_id from {runs}
                    where org_slug = @org_slug and status = 'running' and run_id <> @run_id""",
                {"org_slug": slug, "run_id": run_id},
            )
            if not busy:
                sql.execute(
                    f"""update {runs} set status = 'running', started_at = @now
                        where org_slug = @org_slug and run_id = @run_id""",
                    {"org_slug": slug, "run_id": run_id, "now": datetime.now(UTC)},
                )
                return
        if time.monotonic() >= deadline:
            raise RunBusyError(f"org {slug} is busy with run {busy[0]['run_id']}; try again when it ends")
        time.sleep(poll_s)


def log_run(warehouse: Warehouse, org_slug: str, run_id: str, level: str, message: str) -> None:
    """Append a line to the run's log (``organizations.org_pipeline_logs``), visible through the API."""
    warehouse.execute(
        f"""insert into {warehouse.shared_table("org_pipeline_logs")} (run_id, org_slug, logged_at, level, message)
            values (@run_id, @org_slug, @now, @level, @message)""",
        {"run_id": run_id, "org_slug": validate_slug(org_slug), "now": datetime.now(UTC), "level": level,
         "message": message},
    )  # fmt: skip


def finish_run(warehouse: Warehouse, outcome: RunOutcome, started: float, failed: bool = False) -> RunOutcome:
    """Decide the final status (succeeded, partial, failed), record it and free the org's slot.

    A run is ``partial`` when some providers failed but the build ran; ``failed`` when nothing was built or the
    build itself failed (``failed=True``).
    """
    outcome.duration_s = round(time.monotonic() - started, 3)
    if failed:
        outcome.status = "failed"
    elif not outcome.errors:
        outcome.status = "succeeded"
    elif outcome.rows or outcome.dbt_nodes:
        outcome.status = "partial"
    else:
        outcome.status = "failed"
    error = "; ".join(f"{name}: {message}" for name, message in outcome.errors.items()) or None
    finish_pipeline_run(warehouse, outcome.org_slug, outcome.run_id, outcome.status, outcome.rows, error)
    return outcome


def get_run(warehouse: Warehouse, org_slug: str, run_id: str) -> dict[str, Any] | None:
    """One run of the org (``None`` if the org has no such run)."""
    rows = warehouse.query(
        f"""select run_id, org_slug, provider, trigger, status, queued_at, started_at, finished_at, rows_loaded,
                   error, flow_run_id
            from {warehouse.shared_table("org_pipeline_runs")} where org_slug = @org_slug and run_id = @run_id""",
        {"org_slug": validate_slug(org_slug), "run_id": run_id},
    )
    return _run(rows[0]) if rows else None


def list_runs(warehouse: Warehouse, org_slug: str, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The org's runs, newest first."""
    rows = warehouse.query(
        f"""select run_id, org_slug, provider, trigger, status, queued_at, started_at, finished_at, rows_loaded,
                   error, flow_run_id
            from {warehouse.shared_table("org_pipeline_runs")} where org_slug = @org_slug
            order by queued_at desc, run_id limit @limit offset @offset""",
        {"org_slug": validate_slug(org_slug), "limit": limit, "offset": offset},
    )
    return [_run(row) for row in rows]


def _run(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "rows_loaded": json.loads(row["rows_loaded"]) if row["rows_loaded"] else {}}


def fail_stale_runs(warehouse: Warehouse, timeout: timedelta, now: datetime | None = None) -> list[str]:
    """Runs queued or running for longer than ``timeout`` become ``failed`` and release their slot."""
    now = now or datetime.now(UTC)
    cutoff = now - timeout
    stale = warehouse.query(
        f"""select org_slug, run_id from {warehouse.shared_table("org_pipeline_runs")}
            where status in ('queued', 'running') and coalesce(started_at, queued_at) < @cutoff""",
        {"cutoff": cutoff},
    )
    minutes = int(timeout.total_seconds() // 60)
    for row in stale:
        finish_pipeline_run(warehouse, row["org_slug"], row["run_id"], "failed", None,
                            f"stale: no result after {minutes} minutes; marked failed by stale_cleanup")  # fmt: skip
    return [row["run_id"] for row in stale]


def runnable_orgs(orgs: list[Organization]) -> list[Organization]:
    """Orgs a scheduled job should run for."""
    from cloudact.quotas import RUNNABLE_ORG_STATUSES

    return [org for org in orgs if org.status in RUNNABLE_ORG_STATUSES]


Ingest = Callable[[str, str], int]


def execute_run(
    settings: Settings,
    control_plane: ControlPlaneStore,
    warehouse: Warehouse,
    org_slug: str,
    *,
    providers: list[str] | None,
    run_id: str | None,
    trigger: str,
    ingest: Ingest,
    build: Callable[[str], int],
    logger: logging.Logger | logging.LoggerAdapter[Any] = log,
) -> RunOutcome:
    """Run one org's pipeline with the given ingest and build steps (Prefect tasks in the flow, plain calls otherwise).

    Admits the run against the org's quotas when no ``run_id`` is given, waits for the org's previous run, ingests
    each enabled integration (one failure does not stop the others), builds, bumps the org's data version and
    records the outcome.

    Raises:
        QuotaExceededError: If the run is not admitted.
        RunBusyError: If the org's previous run does not end in time.
        TransformError: If the build fails (the run is recorded ``failed`` first).
    """
    from cloudact.quotas import admit_pipeline_run
    from cloudact.read_cache import invalidate

    org = control_plane.get_org(org_slug)
    if run_id is None:
        run_id = admit_pipeline_run(warehouse, org, ",".join(providers) if providers else "all", trigger)
    started = time.monotonic()
    outcome = RunOutcome(run_id, org.org_slug)
    try:
        claim_run(warehouse, org.org_slug, run_id, settings.pipeline_wait_seconds)
    except RunBusyError as exc:  # give the slot back: the run never started
        outcome.errors["pipeline"] = str(exc)
        finish_run(warehouse, outcome, started, failed=True)
        raise
    # From here the run holds the warehouse file open (see keep_open): not before, while it may wait for a run of
    # another process that needs the file.
    with warehouse.keep_open():
        try:
            wanted, outcome.skipped = enabled_providers(warehouse, org.org_slug)
            if providers is not None:
                outcome.errors.update({name: "no enabled integration" for name in providers if name not in wanted})
                wanted = [name for name in wanted if name in providers]
            if outcome.skipped:
                log_run(warehouse, org.org_slug, run_id, "warning",
                        f"integrations not ingested by this release: {', '.join(outcome.skipped)}")  # fmt: skip
            for provider in wanted:
                try:
                    rows = outcome.rows[provider] = ingest(org.org_slug, provider)
                    log_run(warehouse, org.org_slug, run_id, "info", f"{provider}: {rows} rows loaded")
                except Exception as exc:  # one failing provider does not stop the others
                    outcome.errors[provider] = str(exc)
                    logger.error("%s failed for %s: %s", provider, org.org_slug, exc)
                    log_run(warehouse, org.org_slug, run_id, "error", f"{provider}: {exc}")
            if outcome.rows or not wanted:
                outcome.dbt_nodes = build(org.org_slug)
                with warehouse.session():
                    log_run(warehouse, org.org_slug, run_id, "info", f"dbt build: {outcome.dbt_nodes} nodes passed")
                    invalidate(warehouse, org.org_slug, settings)
        except Exception as exc:  # the build (or the platform) failed: record it, then re-raise with the error
            outcome.errors["dbt" if "dbt" in str(exc) else "pipeline"] = str(exc)
            log_run(warehouse, org.org_slug, run_id, "error", f"run failed: {exc}")
            finish_run(warehouse, outcome, started, failed=True)
            raise
        with warehouse.session():
            finish_run(warehouse, outcome, started)
            log_run(warehouse, org.org_slug, run_id, "info", f"run {outcome.status} in {outcome.duration_s:.1f}s")
    if outcome.status == "partial":
        logger.warning("run %s of %s is partial: %s", run_id, org.org_slug, outcome.errors)
    return outcome


def with_retries(ingest: Ingest, delays: list[float]) -> Ingest:
    """Plain-Python retries for the in-process runner: transient errors only, waiting ``delays`` between tries."""

    def run(org_slug: str, provider: str) -> int:
        for attempt in range(len(delays) + 1):
            try:
                return ingest(org_slug, provider)
            except Exception as exc:
                if attempt == len(delays) or not is_transient(exc):
                    raise
                log.warning("%s for %s: transient error, retry %d in %.0fs: %s", provider, org_slug, attempt + 1,
                            delays[attempt], exc)  # fmt: skip
                time.sleep(delays[attempt])
        raise AssertionError("unreachable")

    return run


def run_in_process(
    settings: Settings, org_slug: str, providers: list[str] | None = None, run_id: str | None = None,
    trigger: str = "manual",
) -> RunOutcome:  # fmt: skip
    """The pipeline without Prefect (no server configured): same steps, same records, plain retries."""
    from cloudact.control_plane import get_control_plane
    from cloudact.keyring import get_keyring
    from cloudact.transform import transform_org
    from cloudact.warehouse import get_warehouse

    control_plane, warehouse, keyring = get_control_plane(settings), get_warehouse(settings), get_keyring(settings)
    return execute_run(
        settings, control_plane, warehouse, org_slug, providers=providers, run_id=run_id, trigger=trigger,
        ingest=with_retries(lambda slug, name: ingest_provider(settings, warehouse, keyring, slug, name),
                            settings.pipeline_retry_delays),
        build=lambda slug: transform_org(settings, slug).nodes,
    )  # fmt: skip
