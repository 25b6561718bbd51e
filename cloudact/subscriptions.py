"""SaaS subscriptions entered by hand (Canva, Slack, ChatGPT Plus…), stored in ``organizations.org_subscriptions``.

The unit price is per seat per billing cycle (an annual plan's price is per seat per year). A cycle is invoiced up front
(``billing_timing`` "advance", the default) or in arrears ("arrears": once its last paid day has passed).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse

CYCLES = ("monthly", "annual")
# When a cycle is invoiced: on its first day ("advance", the default) or once its last paid day has passed ("arrears").
TIMINGS = ("advance", "arrears")


class SubscriptionError(ValueError):
    """Invalid subscription input; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class SubscriptionNotFoundError(LookupError):
    """No such subscription in the org."""


@dataclass(frozen=True)
class Subscription:
    """One SaaS subscription."""

    subscription_id: str
    provider: str
    plan: str
    seats: int
    unit_price: Decimal
    currency: str
    billing_cycle: str
    start_date: date
    end_date: date | None
    hierarchy_node_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    billing_timing: str = "advance"


def _validate(values: dict[str, Any]) -> None:
    if not str(values["provider"]).strip():
        raise SubscriptionError("provider is required", "provider")
    if int(values["seats"]) < 1:
        raise SubscriptionError("seats must be at least 1", "seats")
    price = Decimal(values["unit_price"])
    if price < 0 or price.as_tuple().exponent < -6:  # type: ignore[operator]
        raise SubscriptionError("unit_price must be a non-negative amount with at most 6 decimals", "unit_price")
    currency = str(values["currency"])
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise SubscriptionError("currency must be an ISO 4217 code such as USD", "currency")
    if values["billing_cycle"] not in CYCLES:
        raise SubscriptionError(f"billing_cycle must be one of {', '.join(CYCLES)}", "billing_cycle")
    if values.get("billing_timing") not in TIMINGS:
        raise SubscriptionError(f"billing_timing must be one of {', '.join(TIMINGS)}", "billing_timing")
    if values.get("end_date") is not None and values["end_date"] < values["start_date"]:
        raise SubscriptionError("end_date is before start_date", "end_date")


def create_subscription(warehouse: Warehouse, org_slug: str, **values: Any) -> Subscription:
    """Store a subscription.

    Raises:
        SubscriptionError: If a field is invalid (named in ``field``).
    """
    values.setdefault("end_date", None)
    values.setdefault("hierarchy_node_id", None)
    if values.get("billing_timing") is None:
        values["billing_timing"] = "advance"
    _validate(values)
    now = datetime.now(UTC)
    subscription_id = uuid.uuid4().hex[:16]
    warehouse.execute(
        f"""insert into {warehouse.shared_table("org_subscriptions")}
            (org_slug, subscription_id, provider, plan, seats, unit_price, currency, billing_cycle, start_date,
             end_date, hierarchy_node_id, status, created_at, updated_at, billing_timing)
            values (@org_slug, @subscription_id, @provider, @plan, @seats, @unit_price, @currency, @billing_cycle,
                    @start_date, @end_date, @hierarchy_node_id, 'active', @now, @now, @billing_timing)""",
        {**values, "unit_price": Decimal(values["unit_price"]), "org_slug": validate_slug(org_slug),
         "subscription_id": subscription_id, "now": now},
    )  # fmt: skip
    return get_subscription(warehouse, org_slug, subscription_id)


def list_subscriptions(warehouse: Warehouse, org_slug: str, limit: int = 100, offset: int = 0) -> list[Subscription]:
    """The org's subscriptions, oldest first."""
    rows = warehouse.query(
        f"""select subscription_id, provider, plan, seats, unit_price, currency, billing_cycle, start_date, end_date,
                   hierarchy_node_id, status, created_at, updated_at,
                   coalesce(billing_timing, 'advance') as billing_timing
            from {warehouse.shared_table("org_subscriptions")} where org_slug = @org_slug
            order by created_at, subscription_id limit @limit offset @offset""",
        {"org_slug": validate_slug(org_slug), "limit": limit, "offset": offset},
    )
    return [Subscription(**{**row, "unit_price": Decimal(row["unit_price"]).normalize()}) for row in rows]


def get_subscription(warehouse: Warehouse, org_slug: str, subscription_id: str) -> Subscription:
    """One subscription.

    Raises:
        SubscriptionNotFoundError: If the org has no such subscription.
    """
    for item in list_subscriptions(warehouse, org_slug, limit=100_000):
        if item.subscription_id == subscription_id:
            return item
    raise SubscriptionNotFoundError(f"org {org_slug} has no subscription {subscription_id}")


def update_subscription(warehouse: Warehouse, org_slug: str, subscription_id: str, **changes: Any) -> Subscription:
    """Change seats, price, plan, end date, node or billing timing (a seat change from today on is the usual edit).

    Raises:
        SubscriptionNotFoundError: If the org has no such subscription.
        SubscriptionError: If a field is invalid.
    """
    current = get_subscription(warehouse, org_slug, subscription_id)
    values = {**current.__dict__, **{k: v for k, v in changes.items() if v is not None}}
    _validate(values)
    warehouse.execute(
        f"""update {warehouse.shared_table("org_subscriptions")}
            set plan = @plan, seats = @seats, unit_price = @unit_price, end_date = @end_date,
                hierarchy_node_id = @hierarchy_node_id, billing_timing = @billing_timing, updated_at = @now
            where org_slug = @org_slug and subscription_id = @subscription_id""",
        {**values, "unit_price": Decimal(values["unit_price"]), "now": datetime.now(UTC),
         "org_slug": validate_slug(org_slug)},
    )  # fmt: skip
    return get_subscription(warehouse, org_slug, subscription_id)


def delete_subscription(warehouse: Warehouse, org_slug: str, subscription_id: str) -> None:
    """Remove a subscription.

    Raises:
        SubscriptionNotFoundError: If the org has no such subscription.
    """
    get_subscription(warehouse, org_slug, subscription_id)
    warehouse.execute(
        f"""delete from {warehouse.shared_table("org_subscriptions")}
            where org_slug = @org_slug and subscription_id = @subscription_id""",
        {"org_slug": validate_slug(org_slug), "subscription_id": subscription_id},
    )
