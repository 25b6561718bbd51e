"""Daily alerts per org: quota above a ratio, day-over-day cost spike, budget exceeded; recorded once, then posted.

Each alert has one row per (org, type, scope, day) in ``organizations.org_alerts``: a rerun of the job does not
record or send an alert twice, and retries only the deliveries that failed.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from cloudact.control_plane import Organization
from cloudact.quotas import get_usage
from cloudact.settings import Settings
from cloudact.tenancy import tenant_dataset, validate_slug
from cloudact.warehouse import FOCUS_TABLE, Warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """One alert to record and deliver."""

    org_slug: str
    alert_type: str
    scope: str
    message: str
    details: dict[str, Any]


def _focus_exists(warehouse: Warehouse, org_slug: str) -> bool:
    rows = warehouse.query_tenant(
        """select count(*) as n from information_schema.tables
           where table_schema = @schema and table_name = @table""",
        {"schema": tenant_dataset(org_slug), "table": FOCUS_TABLE},
    )
    return bool(rows[0]["n"])


def evaluate(settings: Settings, warehouse: Warehouse, org: Organization, day: date) -> list[Alert]:
    """The alerts that hold for ``org`` on ``day`` (a UTC date; costs are read up to the day before)."""
    slug = validate_slug(org.org_slug)
    alerts: list[Alert] = []
    usage = get_usage(warehouse, org, datetime.combine(day, datetime.min.time(), tzinfo=UTC))
    for scope, used, allowed in (
        ("pipeline_runs_daily", usage.pipeline_runs_today, usage.limit_daily),
        ("pipeline_runs_monthly", usage.pipeline_runs_this_month, usage.limit_monthly),
    ):
        if allowed and used / allowed >= settings.alert_quota_ratio:
            alerts.append(Alert(slug, "quota", scope, f"{scope}: {used} of {allowed} used ({used / allowed:.0%})",
                                {"used": used, "allowed": allowed}))  # fmt: skip
    if not _focus_exists(warehouse, slug):
        return alerts
    table = f"{tenant_dataset(slug)}.{FOCUS_TABLE}"
    yesterday, before = day - timedelta(days=1), day - timedelta(days=2)
    rows = warehouse.query_tenant(
        f"""select cast(ChargePeriodStart as date) as charge_day, BillingCurrency as currency,
                   sum(BilledCost) as cost
            from {table}
            where ChargePeriodStart >= @start and ChargePeriodStart < @end
            group by all""",
        {"start": datetime.combine(before, datetime.min.time(), tzinfo=UTC),
         "end": datetime.combine(day, datetime.min.time(), tzinfo=UTC)},
    )  # fmt: skip
    by_currency: dict[str, dict[date, Decimal]] = {}
    for row in rows:
        by_currency.setdefault(row["currency"], {})[row["charge_day"]] = Decimal(row["cost"])
    for currency, days in by_currency.items():
        last, previous = days.get(yesterday, Decimal(0)), days.get(before, Decimal(0))
        increase = last - previous
        if (
            previous > 0
            and last / previous > Decimal(str(settings.alert_spike_ratio))
            and increase >= Decimal(str(settings.alert_spike_min_amount))
        ):
            alerts.append(Alert(slug, "cost_spike", currency,
                                f"cost {yesterday}: {last:.2f} {currency}, {last / previous:.1f}x the day before",
                                {"day": str(yesterday), "cost": str(last), "previous": str(previous)}))  # fmt: skip
    month_start = day.replace(day=1) if day.day > 1 else (day - timedelta(days=1)).replace(day=1)
    for budget in warehouse.query(
        f"""select budget_id, scope, scope_value, amount, currency from {warehouse.shared_table("org_budgets")}
            where org_slug = @org_slug""",
        {"org_slug": slug},
    ):
        provider_filter = "and x_Provider = @provider" if budget["scope"] == "provider" else ""
        spent_rows = warehouse.query_tenant(
            f"""select coalesce(sum(BilledCost), 0) as spent from {table}
                where ChargePeriodStart >= @start and ChargePeriodStart < @end and BillingCurrency = @currency
                {provider_filter}""",
            {"start": datetime.combine(month_start, datetime.min.time(), tzinfo=UTC),
             "end": datetime.combine(day, datetime.min.time(), tzinfo=UTC),
             "currency": budget["currency"], "provider": budget["scope_value"]},
        )  # fmt: skip
        spent = Decimal(spent_rows[0]["spent"])
        if spent > budget["amount"]:
            scope = f"{budget['scope']}:{budget['scope_value'] or '*'}"
            alerts.append(Alert(slug, "budget_exceeded", scope,
                                f"month to date {spent:.2f} {budget['currency']} exceeds the budget of "
                                f"{budget['amount']:.2f} ({scope})",
                                {"budget_id": budget["budget_id"], "spent": str(spent),
                                 "amount": str(budget["amount"])}))  # fmt: skip
    return alerts


def record_and_send(settings: Settings, warehouse: Warehouse, alerts: list[Alert], day: date) -> dict[str, int]:
    """Record new alerts, then post every undelivered alert of ``day`` to the webhook; returns counts."""
    table = warehouse.shared_table("org_alerts")
    created = 0
    for alert in alerts:
        key = {"org_slug": alert.org_slug, "alert_type": alert.alert_type, "scope": alert.scope, "day": day}
        with warehouse.transaction() as sql:
            found = sql.query(
                f"""select alert_id from {table} where org_slug = @org_slug and alert_type = @alert_type
                    and scope = @scope and alert_date = @day""",
                key,
            )
            if found:
                continue
            sql.execute(
                f"""insert into {table} (org_slug, alert_id, alert_type, alert_date, scope, message, details,
                                         delivered, delivery_error, created_at)
                    values (@org_slug, @alert_id, @alert_type, @day, @scope, @message, @details, false, null, @now)""",
                {**key, "alert_id": uuid.uuid4().hex, "message": alert.message,
                 "details": json.dumps(alert.details, sort_keys=True), "now": datetime.now(UTC)},
            )  # fmt: skip
            created += 1
    pending = warehouse.query(
        f"""select org_slug, alert_id, alert_type, alert_date, scope, message, details from {table}
            where alert_date = @day and not delivered order by org_slug, alert_type, scope""",
        {"day": day},
    )
    delivered = 0
    for row in pending:
        error = _post(settings, row)
        warehouse.execute(
            f"""update {table} set delivered = @ok, delivery_error = @error
                where org_slug = @org_slug and alert_id = @id""",
            {"ok": error is None, "error": error, "org_slug": row["org_slug"], "id": row["alert_id"]},
        )
        delivered += error is None
    return {"recorded": created, "delivered": delivered, "undelivered": len(pending) - delivered}


def _post(settings: Settings, row: dict[str, Any]) -> str | None:
    if not settings.alert_webhook_url:
        return "no webhook configured (CLOUDACT_ALERT_WEBHOOK_URL)"
    body = {**row, "alert_date": str(row["alert_date"]), "details": json.loads(row["details"] or "{}")}
    try:
        httpx.post(settings.alert_webhook_url, json=body, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("alert %s of %s not delivered: %s", row["alert_id"], row["org_slug"], exc)
        return str(exc)[:500]
    return None
