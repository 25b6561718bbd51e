"""``quota_reset_daily`` (00:00 UTC): open today's zero usage row for every org."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger

from cloudact.control_plane import iter_orgs
from cloudact.quotas import reset_daily
from flows._runtime import runtime


@flow(name="quota_reset_daily")
def quota_reset_daily(day: str | None = None) -> int:
    """Open the usage rows of ``day`` (ISO date, default today UTC); returns the rows created."""
    rt = runtime()
    target = datetime.fromisoformat(day).date() if day else datetime.now(UTC).date()
    created = reset_daily(rt.warehouse, [org.org_slug for org in iter_orgs(rt.control_plane)], target)
    get_run_logger().info("daily quotas opened for %s: %d new rows", target, created)
    return created
