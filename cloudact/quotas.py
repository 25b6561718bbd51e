"""Pipeline-run quotas: limits from the control plane, usage counted in the warehouse per UTC day and month.

Admission is one serialised warehouse transaction that reads today's and this month's usage and the org's
running runs, refuses past a limit, and otherwise counts the run and records it as ``queued``: with a limit of N,
N concurrent triggers pass and the rest are refused.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cloudact.control_plane import Organization
from cloudact.tenancy import validate_slug
from cloudact.warehouse import Sql, Warehouse

ACTIVE_RUN_STATUSES = ("queued", "running")
FINAL_RUN_STATUSES = ("succeeded", "partial", "failed")
# Statuses whose orgs may start pipelines; a suspended org keeps read access only.
RUNNABLE_ORG_STATUSES = ("active", "past_due")


class QuotaExceededError(RuntimeError):
    """A trigger refused by a limit; the message names the limit and when it resets (HTTP 429)."""

    def __init__(self, limit: str, allowed: int, used: int, resets_at: datetime | None) -> None:
        self.limit, self.allowed, self.used, self.resets_at = limit, allowed, used, resets_at
        when = f"; resets at {resets_at.isoformat()}" if resets_at else "; a slot frees when a running pipeline ends"
        super().__init__(f"{limit} limit reached ({used} of {allowed}){when}")


class OrgNotRunnableError(RuntimeError):
    """The org's status does not allow pipeline runs (HTTP 403)."""


@dataclass(frozen=True)
class Usage:
    """An org's usage against its limits at one moment."""

    org_slug: str
    usage_date: date
    pipeline_runs_today: int
    pipeline_runs_this_month: int
    running: int
    limit_daily: int
    limit_monthly: int
    limit_concurrent: int
    daily_resets_at: datetime
    monthly_resets_at: datetime


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return (month_start(day) + timedelta(days=32)).replace(day=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _counts(sql: Sql, warehouse: Warehouse, org_slug: str, today: date) -> tuple[int, int, int]:
    rows = sql.query(
        f"""select
              coalesce(sum(case when usage_date = @today then pipeline_runs end), 0) as today,
              coalesce(sum(pipeline_runs), 0) as month
            from {warehouse.shared_table("org_usage_quotas")}
            where org_slug = @org_slug and usage_month = @month""",
        {"org_slug": org_slug, "today": today, "month": month_start(today)},
    )
    running = sql.query(
        f"""select count(*) as n from {warehouse.shared_table("org_pipeline_runs")}
            where org_slug = @org_slug and status in ('queued', 'running')""",
        {"org_slug": org_slug},
    )
    return int(rows[0]["today"]), int(rows[0]["month"]), int(running[0]["n"])


def get_usage(warehouse: Warehouse, org: Organization, now: datetime | None = None) -> Usage:
    """The org's usage today, this month and right now."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    daily, monthly, running = _counts(warehouse, warehouse, org.org_slug, today)
    return Usage(
        org.org_slug,
        today,
        daily,
        monthly,
        running,
        org.limit_pipeline_runs_daily,
        org.limit_pipeline_runs_monthly,
        org.limit_concurrent_runs,
        _midnight(today + timedelta(days=1)),
        _midnight(next_month_start(today)),
    )


def admit_pipeline_run(
    warehouse: Warehouse, org: Organization, provider: str, trigger: str, now: datetime | None = None
) -> str:
    """Count a pipeline run against the org's limits and record it as ``queued``.

    Returns:
        The new run id.

    Raises:
        OrgNotRunnableError: If the org's status forbids runs.
        QuotaExceededError: If the daily, monthly or concurrency limit is reached.
    """
    if org.status not in RUNNABLE_ORG_STATUSES:
        raise OrgNotRunnableError(f"org {org.org_slug} is {org.status}: pipeline runs are disabled")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.date()
    slug = validate_slug(org.org_slug)
    quotas = warehouse.shared_table("org_usage_quotas")
    run_id = uuid.uuid4().hex
    with warehouse.transaction() as sql:
        daily, monthly, running = _counts(sql, warehouse, slug, today)
        if daily >= org.limit_pipeline_runs_daily:
            raise QuotaExceededError(
                "pipeline_runs_daily", org.limit_pipeline_runs_daily, daily, _midnight(today + timedelta(days=1))
            )
        if monthly >= org.limit_pipeline_runs_monthly:
            raise QuotaExceededError(
                "pipeline_runs_monthly", org.limit_pipeline_runs_monthly, monthly, _midnight(next_month_start(today))
            )
        if running >= org.limit_concurrent_runs:
            raise QuotaExceededError("concurrent_runs", org.limit_concurrent_runs, running, None)
        params = {"org_slug": slug, "today": today, "month": month_start(today), "now": now}
        _ensure_usage_row(sql, quotas, params)
        sql.execute(
            f"""update {quotas} set pipeline_runs = pipeline_runs + 1, updated_at = @now
                where org_slug = @org_slug and usage_date = @today""",
            params,
        )
        sql.execute(
            f"""insert into {warehouse.shared_table("org_pipeline_runs")}
                (run_id, org_slug, provider, trigger, status, queued_at)
                values (@run_id, @org_slug, @provider, @trigger, 'queued', @now)""",
            {**params, "run_id": run_id, "provider": provider, "trigger": trigger},
        )
    return run_id


def _ensure_usage_row(sql: Sql, quotas: str, params: dict[str, Any]) -> None:
    sql.execute(
        f"""insert into {quotas}
              (org_slug, usage_date, usage_month, pipeline_runs, pipeline_runs_succeeded, pipeline_runs_failed,
               updated_at)
            select @org_slug, @today, @month, 0, 0, 0, @now
            where not exists (select 1 from {quotas} where org_slug = @org_slug and usage_date = @today)""",
        params,
    )


def start_pipeline_run(warehouse: Warehouse, org_slug: str, run_id: str, flow_run_id: str | None = None) -> None:
    """Mark a queued run as running."""
    warehouse.execute(
        f"""update {warehouse.shared_table("org_pipeline_runs")}
            set status = 'running', started_at = @now, flow_run_id = coalesce(@flow_run_id, flow_run_id)
            where org_slug = @org_slug and run_id = @run_id""",
        {"org_slug": validate_slug(org_slug), "run_id": run_id, "now": datetime.now(UTC), "flow_run_id": flow_run_id},
    )


def finish_pipeline_run(
    warehouse: Warehouse,
    org_slug: str,
    run_id: str,
    status: str,
    rows_loaded: dict[str, int] | None = None,
    error: str | None = None,
) -> None:
    """Record a run's outcome, free its slot and count it as succeeded or failed for the day it was queued."""
    if status not in FINAL_RUN_STATUSES:
        raise ValueError(f"status must be one of {FINAL_RUN_STATUSES}, got {status!r}")
    slug = validate_slug(org_slug)
    runs, quotas = warehouse.shared_table("org_pipeline_runs"), warehouse.shared_table("org_usage_quotas")
    column = "pipeline_runs_succeeded" if status == "succeeded" else "pipeline_runs_failed"
    now = datetime.now(UTC)
    with warehouse.transaction() as sql:
        found = sql.query(
            f"""select queued_at from {runs}
                where org_slug = @org_slug and run_id = @run_id and status in ('queued', 'running')""",
            {"org_slug": slug, "run_id": run_id},
        )
        if not found:
            return  # already final (e.g. failed by the stale-run cleanup): keep the first outcome
        sql.execute(
            f"""update {runs} set status = @status, finished_at = @now, rows_loaded = @rows, error = @error
                where org_slug = @org_slug and run_id = @run_id""",
            {
                "status": status,
                "now": now,
                "rows": json.dumps(rows_loaded or {}, sort_keys=True),
                "error": error,
                "org_slug": slug,
                "run_id": run_id,
            },
        )
        sql.execute(
            f"""update {quotas} set {column} = {column} + 1, updated_at = @now
                where org_slug = @org_slug and usage_date = @day""",
            {"now": now, "org_slug": slug, "day": found[0]["queued_at"].astimezone(UTC).date()},
        )


def reset_daily(warehouse: Warehouse, org_slugs: list[str], day: date) -> int:
    """Open ``day``'s usage row (zero runs) for every org; idempotent. Returns the rows created."""
    return _open_rows(warehouse, org_slugs, day)


def reset_monthly(warehouse: Warehouse, org_slugs: list[str], day: date) -> int:
    """Open the month of ``day`` (its first day's zero row) for every org; idempotent. Returns the rows created."""
    return _open_rows(warehouse, org_slugs, month_start(day))


def _open_rows(warehouse: Warehouse, org_slugs: list[str], day: date) -> int:
    quotas = warehouse.shared_table("org_usage_quotas")
    created = 0
    with warehouse.transaction() as sql:
        for slug in org_slugs:
            params = {"org_slug": validate_slug(slug), "today": day, "month": month_start(day)}
            before = sql.query(
                f"select count(*) as n from {quotas} where org_slug = @org_slug and usage_date = @today", params
            )
            _ensure_usage_row(sql, quotas, {**params, "now": datetime.now(UTC)})
            created += 0 if before[0]["n"] else 1
    return created


def cleanup_usage(warehouse: Warehouse, keep_days: int, today: date | None = None) -> int:
    """Delete usage rows older than ``keep_days`` (never the current month's). Returns the rows deleted."""
    today = today or datetime.now(UTC).date()
    cutoff = min(today - timedelta(days=keep_days), month_start(today))
    quotas = warehouse.shared_table("org_usage_quotas")
    with warehouse.transaction() as sql:
        count = sql.query(f"select count(*) as n from {quotas} where usage_date < @cutoff", {"cutoff": cutoff})
        sql.execute(f"delete from {quotas} where usage_date < @cutoff", {"cutoff": cutoff})
    return int(count[0]["n"])
