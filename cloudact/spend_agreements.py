"""SaaS spend agreements entered by hand, stored in ``organizations.org_spend_agreements`` with their monthly usage.

A spend agreement commits the org to spend ``commitment_amount`` over a term of whole calendar months (start and
end on a month's first day, end exclusive) in exchange for a contracted unit price (below the list price). Usage is
entered per calendar month as a quantity of the agreement's usage unit (``org_spend_agreement_usage``) and charged
at the contracted unit price. An optional ``monthly_minimum`` is a use-it-or-lose-it floor per month; whatever of the
commitment is still unspent at the end of the term is charged then. A ``prepaid`` agreement is paid in full on its
first day and its usage draws that payment down. The FOCUS rows come from
``dbt_project/models/staging/saas/stg_saas__spend_agreement_charges.sql`` (rules in its _saas__models.yml entry).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse

MAX_TERM_MONTHS = 120


class AgreementError(ValueError):
    """Invalid spend-agreement or usage input; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class AgreementNotFoundError(LookupError):
    """No such spend agreement in the org."""


@dataclass(frozen=True)
class SpendAgreement:
    """One spend agreement."""

    agreement_id: str
    provider: str
    service_name: str
    sku_id: str
    usage_unit: str
    list_unit_price: Decimal
    contracted_unit_price: Decimal
    commitment_amount: Decimal
    monthly_minimum: Decimal | None
    prepaid: bool
    currency: str
    start_date: date
    end_date: date
    hierarchy_node_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AgreementUsage:
    """The usage entered for one month of a spend agreement."""

    agreement_id: str
    usage_month: date
    quantity: Decimal
    updated_at: datetime


def _decimal(value: Any, field: str, places: int, positive: bool = False) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise AgreementError(f"{field} must be a decimal number", field) from None
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise AgreementError(f"{field} must be a {'positive' if positive else 'non-negative'} amount", field)
    if number.as_tuple().exponent < -places:  # type: ignore[operator]
        raise AgreementError(f"{field} must have at most {places} decimals", field)
    if abs(number) >= Decimal(10) ** 15:
        raise AgreementError(f"{field} is too large", field)
    return number


def _plain(value: Any) -> Decimal:
    """The stored DECIMAL(38, 12) without trailing zeros and without an exponent (1200, not 1.2E+3)."""
    return Decimal(format(Decimal(value).normalize(), "f"))


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _validate(values: dict[str, Any]) -> dict[str, Any]:
    for field in ("provider", "service_name", "sku_id", "usage_unit"):
        text = str(values.get(field) or "").strip()
        if not text or len(text) > 100:
            raise AgreementError(f"{field} is required (at most 100 characters)", field)
        values[field] = text
    values["list_unit_price"] = _decimal(values["list_unit_price"], "list_unit_price", 6)
    values["contracted_unit_price"] = _decimal(values["contracted_unit_price"], "contracted_unit_price", 6)
    values["commitment_amount"] = _decimal(values["commitment_amount"], "commitment_amount", 2, positive=True)
    if values.get("monthly_minimum") is not None:
        values["monthly_minimum"] = _decimal(values["monthly_minimum"], "monthly_minimum", 2)
    currency = str(values["currency"])
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise AgreementError("currency must be an ISO 4217 code such as USD", "currency")
    start, end = values["start_date"], values["end_date"]
    if start.day != 1:
        raise AgreementError("start_date must be the first day of a month (terms run in whole months)", "start_date")
    if end.day != 1:
        raise AgreementError("end_date must be the first day of a month (exclusive)", "end_date")
    if not 1 <= _months(start, end) <= MAX_TERM_MONTHS:
        raise AgreementError(f"the term must be 1 to {MAX_TERM_MONTHS} months (end_date after start_date)", "end_date")
    values["prepaid"] = bool(values.get("prepaid"))
    return values


def create_agreement(warehouse: Warehouse, org_slug: str, **values: Any) -> SpendAgreement:
    """Store a spend agreement.

    Raises:
        AgreementError: If a field is invalid (named in ``field``).
    """
    values.setdefault("monthly_minimum", None)
    values.setdefault("hierarchy_node_id", None)
    values = _validate(values)
    agreement_id = "sa_" + uuid.uuid4().hex[:13]
    now = datetime.now(UTC)
    warehouse.execute(
        f"""insert into {warehouse.shared_table("org_spend_agreements")}
            (org_slug, agreement_id, provider, service_name, sku_id, usage_unit, list_unit_price,
             contracted_unit_price, commitment_amount, monthly_minimum, prepaid, currency, start_date, end_date,
             hierarchy_node_id, status, created_at, updated_at)
            values (@org_slug, @agreement_id, @provider, @service_name, @sku_id, @usage_unit, @list_unit_price,
                    @contracted_unit_price, @commitment_amount, @monthly_minimum, @prepaid, @currency, @start_date,
                    @end_date, @hierarchy_node_id, 'active', @now, @now)""",
        {**values, "org_slug": validate_slug(org_slug), "agreement_id": agreement_id, "now": now},
    )
    return get_agreement(warehouse, org_slug, agreement_id)


def _agreement(row: dict[str, Any]) -> SpendAgreement:
    money = ("list_unit_price", "contracted_unit_price", "commitment_amount", "monthly_minimum")
    return SpendAgreement(**{
        **row, **{name: _plain(row[name]) for name in money if row[name] is not None},
    })  # fmt: skip


def list_agreements(warehouse: Warehouse, org_slug: str, limit: int = 100, offset: int = 0) -> list[SpendAgreement]:
    """The org's spend agreements, oldest first."""
    rows = warehouse.query(
        f"""select agreement_id, provider, service_name, sku_id, usage_unit, list_unit_price, contracted_unit_price,
                   commitment_amount, monthly_minimum, prepaid, currency, start_date, end_date, hierarchy_node_id,
                   status, created_at, updated_at
            from {warehouse.shared_table("org_spend_agreements")} where org_slug = @org_slug
            order by created_at, agreement_id limit @limit offset @offset""",
        {"org_slug": validate_slug(org_slug), "limit": limit, "offset": offset},
    )
    return [_agreement(row) for row in rows]


def get_agreement(warehouse: Warehouse, org_slug: str, agreement_id: str) -> SpendAgreement:
    """One spend agreement.

    Raises:
        AgreementNotFoundError: If the org has no such agreement.
    """
    rows = warehouse.query(
        f"""select agreement_id, provider, service_name, sku_id, usage_unit, list_unit_price, contracted_unit_price,
                   commitment_amount, monthly_minimum, prepaid, currency, start_date, end_date, hierarchy_node_id,
                   status, created_at, updated_at
            from {warehouse.shared_table("org_spend_agreements")}
            where org_slug = @org_slug and agreement_id = @agreement_id""",
        {"org_slug": validate_slug(org_slug), "agreement_id": agreement_id},
    )
    if not rows:
        raise AgreementNotFoundError(f"org {org_slug} has no spend agreement {agreement_id}")
    return _agreement(rows[0])


def delete_agreement(warehouse: Warehouse, org_slug: str, agreement_id: str) -> None:
    """Remove a spend agreement and its usage.

    Raises:
        AgreementNotFoundError: If the org has no such agreement.
    """
    get_agreement(warehouse, org_slug, agreement_id)
    params = {"org_slug": validate_slug(org_slug), "agreement_id": agreement_id}
    with warehouse.transaction() as sql:
        for table in ("org_spend_agreement_usage", "org_spend_agreements"):
            sql.execute(
                f"""delete from {warehouse.shared_table(table)}
                    where org_slug = @org_slug and agreement_id = @agreement_id""",
                params,
            )


def set_usage(
    warehouse: Warehouse, org_slug: str, agreement_id: str, usage_month: date, quantity: Any
) -> AgreementUsage:
    """Set (replace) the usage of one month of an agreement.

    ``usage_month`` may be any day of the month; it is stored as the month's first day.

    Raises:
        AgreementNotFoundError: If the org has no such agreement.
        AgreementError: If the month is outside the term or the quantity invalid.
    """
    agreement = get_agreement(warehouse, org_slug, agreement_id)
    month = usage_month.replace(day=1)
    if not agreement.start_date <= month < agreement.end_date:
        raise AgreementError(
            f"usage_month must fall in the agreement's term ({agreement.start_date} to {agreement.end_date})",
            "usage_month",
        )
    amount = _decimal(quantity, "quantity", 6)
    now = datetime.now(UTC)
    params = {"org_slug": validate_slug(org_slug), "agreement_id": agreement_id, "month": month,
              "quantity": amount, "now": now}  # fmt: skip
    table = warehouse.shared_table("org_spend_agreement_usage")
    with warehouse.transaction() as sql:
        sql.execute(
            f"""delete from {table}
                where org_slug = @org_slug and agreement_id = @agreement_id and usage_month = @month""",
            params,
        )
        sql.execute(
            f"""insert into {table} (org_slug, agreement_id, usage_month, quantity, created_at, updated_at)
                values (@org_slug, @agreement_id, @month, @quantity, @now, @now)""",
            params,
        )
    return AgreementUsage(agreement_id, month, _plain(amount), now)


def list_usage(warehouse: Warehouse, org_slug: str, agreement_id: str) -> list[AgreementUsage]:
    """The usage entered for an agreement, by month.

    Raises:
        AgreementNotFoundError: If the org has no such agreement.
    """
    get_agreement(warehouse, org_slug, agreement_id)
    rows = warehouse.query(
        f"""select agreement_id, usage_month, quantity, updated_at
            from {warehouse.shared_table("org_spend_agreement_usage")}
            where org_slug = @org_slug and agreement_id = @agreement_id order by usage_month""",
        {"org_slug": validate_slug(org_slug), "agreement_id": agreement_id},
    )
    return [AgreementUsage(**{**row, "quantity": _plain(row["quantity"])}) for row in rows]
