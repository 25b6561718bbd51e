"""``stale_cleanup`` (02:00 UTC): runs stuck past the timeout become failed and release their slot."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, get_run_logger

from cloudact.pipeline import fail_stale_runs
from flows._runtime import runtime


@flow(name="stale_cleanup")
def stale_cleanup() -> list[str]:
    """Fail runs queued or running for longer than ``CLOUDACT_PIPELINE_STALE_MINUTES``; returns their ids."""
    rt = runtime()
    failed = fail_stale_runs(rt.warehouse, timedelta(minutes=rt.settings.pipeline_stale_minutes))
    get_run_logger().info("%d stale runs marked failed", len(failed))
    return failed
