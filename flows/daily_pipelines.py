"""``daily_pipelines``: the nightly run of every active org, one after the other; one org's failure stops no other."""

from __future__ import annotations

from prefect import flow, get_run_logger

from cloudact.control_plane import iter_orgs
from cloudact.pipeline import runnable_orgs
from cloudact.quotas import OrgNotRunnableError, QuotaExceededError, admit_pipeline_run
from flows._runtime import runtime
from flows.org_pipeline import org_pipeline


@flow(name="daily_pipelines")
def daily_pipelines() -> dict[str, str]:
    """Admit and run ``org_pipeline`` for every active org; returns each org's outcome."""
    logger = get_run_logger()
    rt = runtime()
    results: dict[str, str] = {}
    for org in runnable_orgs(iter_orgs(rt.control_plane)):
        try:
            run_id = admit_pipeline_run(rt.warehouse, org, "all", "schedule")
        except (QuotaExceededError, OrgNotRunnableError) as exc:
            logger.warning("skipping %s: %s", org.org_slug, exc)
            results[org.org_slug] = f"skipped: {exc}"
            continue
        try:
            results[org.org_slug] = org_pipeline(org.org_slug, run_id=run_id, trigger="schedule")["status"]
        except Exception as exc:  # recorded on the run by org_pipeline; go on with the next org
            logger.error("%s failed: %s", org.org_slug, exc)
            results[org.org_slug] = "failed"
    return results
