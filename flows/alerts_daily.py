"""``alerts_daily`` (08:00 UTC): quota above 80%, day-over-day cost spike, budget exceeded; recorded and posted."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger

from cloudact.alerts import evaluate, record_and_send
from cloudact.control_plane import iter_orgs
from cloudact.pipeline import runnable_orgs
from flows._runtime import runtime


@flow(name="alerts_daily")
def alerts_daily(day: str | None = None) -> dict[str, int]:
    """Evaluate every active org for ``day`` (ISO date, default today UTC), record new alerts, post them."""
    logger = get_run_logger()
    rt = runtime()
    target = datetime.fromisoformat(day).date() if day else datetime.now(UTC).date()
    alerts = []
    for org in runnable_orgs(iter_orgs(rt.control_plane)):
        found = evaluate(rt.settings, rt.warehouse, org, target)
        for alert in found:
            logger.info("%s: %s (%s)", org.org_slug, alert.alert_type, alert.message)
        alerts.extend(found)
    counts = record_and_send(rt.settings, rt.warehouse, alerts, target)
    if counts["undelivered"]:
        logger.warning("%d alerts could not be delivered; the next run retries them", counts["undelivered"])
    return counts
