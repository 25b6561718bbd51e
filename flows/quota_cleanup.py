"""``quota_cleanup`` (01:00 UTC): drop usage rows past the retention (never the current month's)."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cloudact.quotas import cleanup_usage
from flows._runtime import runtime


@flow(name="quota_cleanup")
def quota_cleanup() -> int:
    """Delete usage rows older than ``CLOUDACT_QUOTA_RETENTION_DAYS``; returns the rows deleted."""
    rt = runtime()
    deleted = cleanup_usage(rt.warehouse, rt.settings.quota_retention_days)
    get_run_logger().info("deleted %d usage rows older than %d days", deleted, rt.settings.quota_retention_days)
    return deleted
