"""Monthly budgets per org (whole org or one provider), checked by the daily alerts job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse


def set_budget(warehouse: Warehouse, org_slug: str, amount: Decimal, currency: str, provider: str | None = None) -> str:
    """Create or replace the org's monthly budget for the whole org or one provider; returns its id."""
    if amount <= 0:
        raise ValueError(f"budget amount must be positive, got {amount}")
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency must be an ISO 4217 code such as USD, got {currency!r}")
    slug = validate_slug(org_slug)
    scope, value = ("provider", provider) if provider else ("org", "")
    table = warehouse.shared_table("org_budgets")
    budget_id = uuid.uuid4().hex
    with warehouse.transaction() as sql:
        sql.execute(f"delete from {table} where org_slug = @org_slug and scope = @scope and scope_value = @value",
                    {"org_slug": slug, "scope": scope, "value": value})  # fmt: skip
        sql.execute(
            f"insert into {table} values (@org_slug, @budget_id, @scope, @value, @amount, @currency, @now)",
            {"org_slug": slug, "budget_id": budget_id, "scope": scope, "value": value, "amount": amount,
             "currency": currency.upper(), "now": datetime.now(UTC)},
        )  # fmt: skip
    return budget_id


def list_budgets(warehouse: Warehouse, org_slug: str) -> list[dict[str, Any]]:
    """The org's budgets."""
    return warehouse.query(
        f"""select budget_id, scope, scope_value, amount, currency, created_at
            from {warehouse.shared_table("org_budgets")} where org_slug = @org_slug order by scope, scope_value""",
        {"org_slug": validate_slug(org_slug)},
    )
