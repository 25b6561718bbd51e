"""``quota_reset_monthly`` (00:05 UTC on the 1st): open the new month's usage for every org."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger

from cloudact.control_plane import iter_orgs
from cloudact.quotas import reset_monthly
from flows._runtime import runtime


@flow(name="quota_reset_monthly")
def quota_reset_monthly(day: str | None = None) -> int:
    """Open the month of ``day`` (ISO date, default today UTC); returns the rows created."""
    rt = runtime()
    target = datetime.fromisoformat(day).date() if day else datetime.now(UTC).date()
    created = reset_monthly(rt.warehouse, [org.org_slug for org in iter_orgs(rt.control_plane)], target)
    get_run_logger().info("monthly quotas opened for %s: %d new rows", target.replace(day=1), created)
    return created
