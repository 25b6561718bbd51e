"""SaaS spend agreements end to end: enter agreement + monthly usage → sync → dbt build → FOCUS rows, to the cent.

The FOCUS spec's spend-agreement scenarios A2 (billed in arrears, $60 monthly minimum) and B2 (prepaid) from
``../shared/samples/saas`` are rebuilt as agreements and compared row by row with the spec's CSV. Where the CSV breaks
a FOCUS 1.3 rule our rows follow 1.3: the fee rows carry a ConsumedQuantity (ConsumedQuantity-C-006) and B2's
Purchase row a ServiceName and ServiceCategory (both MUST NOT be null); the category comes from our vendor seed.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.saas import sync_agreements, sync_subscriptions
from cloudact.settings import Settings
from cloudact.spend_agreements import (
    AgreementError,
    AgreementNotFoundError,
    create_agreement,
    delete_agreement,
    get_agreement,
    list_agreements,
    list_usage,
    set_usage,
)
from cloudact.transform import transform_org
from cloudact.warehouse import DuckDBWarehouse, get_warehouse
from tests.conftest import SAMPLES
from tests.support.focus_validator import assert_focus_valid

pytestmark = pytest.mark.slow

SPEC = SAMPLES / "saas"
TERM = {"start_date": date(2025, 4, 1), "end_date": date(2026, 4, 1)}
# The spec's baseline: $1200 over 12 months at $12 per server hour (list $15).
ACME = {"provider": "Acme Co", "service_name": "AwesomeDB", "sku_id": "U-123", "usage_unit": "Server Hours",
        "list_unit_price": Decimal("15"), "contracted_unit_price": Decimal("12"),
        "commitment_amount": Decimal("1200"), "currency": "USD"}  # fmt: skip
USAGE = {date(2025, 4, 1): Decimal("4"), date(2025, 5, 1): Decimal("10"), date(2025, 6, 1): Decimal("5")}


def _spec_rows(name: str) -> list[dict[str, str]]:
    with (SPEC / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _spec_date(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%y").date()


def _this_month() -> date:
    return datetime.now(UTC).date().replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class Org:
    def __init__(self, settings: Settings, slug: str) -> None:
        self.settings = settings
        self.slug = slug
        self.warehouse = get_warehouse(settings)
        self.ids: dict[str, str] = {}

    def add(self, name: str, usage: dict[date, Decimal] | None = None, **values: Any) -> str:
        item = create_agreement(self.warehouse, self.slug, **values)
        for month, quantity in (usage or {}).items():
            set_usage(self.warehouse, self.slug, item.agreement_id, month, quantity)
        self.ids[name] = item.agreement_id
        return item.agreement_id

    def rows(self, name: str) -> list[dict[str, Any]]:
        return self.warehouse.query_tenant(
            f"""select * from {self.slug}_prod.cost_data_standard_1_3 where ResourceId = @resource
                order by BillingPeriodStart, ChargeCategory desc, ChargeDescription desc""",
            {"resource": self.ids[name]},
        )


def _onboard(tmp: Path, name: str) -> Org:
    settings = Settings(_env_file=None, data_dir=tmp / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    warehouse = get_warehouse(settings)
    org = onboard_org(get_control_plane(settings), warehouse, get_keyring(settings), name)
    return Org(settings, org.org_slug)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = _onboard(tmp_path_factory.mktemp("agreements"), "Spend Agreements")
    # A2: billed in arrears, $60 minimum per month. B2: the same, prepaid. A1: no monthly minimum.
    org.add("a2", usage=USAGE, monthly_minimum=Decimal("60"), **ACME, **TERM)
    org.add("b2", usage=USAGE, monthly_minimum=Decimal("60"), prepaid=True, **ACME, **TERM)
    org.add("a1", usage=USAGE, **ACME, **TERM)
    # Prepaid $100 for 3 months, then 10 hours ($120) in the first month: $20 of overage is billed.
    org.add("overage", usage={date(2025, 1, 1): Decimal("10")}, monthly_minimum=Decimal("10"), prepaid=True,
            **{**ACME, "commitment_amount": Decimal("100")}, start_date=date(2025, 1, 1),
            end_date=date(2025, 4, 1))  # fmt: skip
    # Running: started two months ago, ends in ten: fees only for the two closed months, no end-of-term charge yet.
    start = _add_months(_this_month(), -2)
    org.add("running", usage={start: Decimal("1")}, monthly_minimum=Decimal("50"), **ACME, start_date=start,
            end_date=_add_months(start, 12))  # fmt: skip
    # Half a cent rounds up: 0.5 × $0.01 = $0.005 → $0.01; the rest of the $1 commitment is the end fee.
    org.add("cents", usage={date(2025, 2, 1): Decimal("0.5")},
            **{**ACME, "list_unit_price": Decimal("0.01"), "contracted_unit_price": Decimal("0.01"),
               "commitment_amount": Decimal("1.00")},
            start_date=date(2025, 2, 1), end_date=date(2025, 3, 1), hierarchy_node_id="node_db")  # fmt: skip
    sync_subscriptions(org.warehouse, org.slug)  # what transform_org calls: it copies the agreements too
    transform_org(org.settings, org.slug)
    return org


COMPARED = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
            "ChargeFrequency", "ChargeDescription", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
            "ListUnitPrice", "ContractedUnitPrice", "PricingUnit")  # fmt: skip
DATES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")


def _ours(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name].date() if name in DATES else row[name] for name in COMPARED)


def _spec(row: dict[str, str]) -> tuple[Any, ...]:
    return tuple(
        _spec_date(row[name]) if name in DATES else Decimal(row[name]) if "Cost" in name or "Price" in name
        else row[name]
        for name in COMPARED
    )  # fmt: skip


def _by_period(rows: list[dict[str, Any]], column: str) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row["BillingPeriodStart"].date()] += row[column]
    return {period: total for period, total in totals.items() if total}


def _spec_by_period(name: str, column: str) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for row in _spec_rows(name):
        totals[_spec_date(row["BillingPeriodStart"])] += Decimal(row[column])
    return {period: total for period, total in totals.items() if total}


def _check_scenario(rows: list[dict[str, Any]], sample: str) -> None:
    spec = _spec_rows(sample)
    for column in ("BilledCost", "EffectiveCost"):
        assert _by_period(rows, column) == _spec_by_period(sample, column), column
    key = lambda item: (item[0], item[4], item[6])  # noqa: E731  (billing period, category, description)
    assert sorted(map(_ours, rows), key=key) == sorted(map(_spec, spec), key=key)
    # Quantities: the fee's share of the commitment (0.01, 0.05, 0.4 Count) and the hours used, as in the spec.
    ours = sorted((row["BillingPeriodStart"].date(), row["ChargeDescription"], row["PricingQuantity"]) for row in rows)
    theirs = sorted((_spec_date(r["BillingPeriodStart"]), r["ChargeDescription"], Decimal(r["PricingQuantity"]))
                    for r in spec)  # fmt: skip
    assert [item[:2] for item in ours] == [item[:2] for item in theirs]
    assert all(abs(a[2] - b[2]) < Decimal("1e-15") for a, b in zip(ours, theirs, strict=True))
    usage = [row for row in rows if row["ChargeDescription"] == "Monthly usage charge"]
    assert {(row["ConsumedUnit"], row["SkuId"], row["ServiceName"]) for row in usage} == {
        ("Server Hours", "U-123", "AwesomeDB")
    }
    assert [row["ConsumedQuantity"] for row in usage] == list(USAGE.values())
    fees = [row for row in rows if "unused fee" in row["ChargeDescription"]]
    assert all(row["ConsumedQuantity"] == row["PricingQuantity"] and row["ConsumedUnit"] == "Count" for row in fees)


def test_a2_billed_in_arrears_with_a_monthly_minimum_matches_the_spec(org: Org) -> None:
    rows = org.rows("a2")
    _check_scenario(rows, "saas_spend_agreements_a2.csv")
    assert sum(row["BilledCost"] for row in rows) == sum(row["EffectiveCost"] for row in rows) == Decimal("1200")
    assert {row["ChargeFrequency"] for row in rows if row["ChargeDescription"] != "Monthly usage charge"} == {
        "One-Time"
    }


def test_b2_prepaid_with_a_monthly_minimum_matches_the_spec(org: Org) -> None:
    rows = org.rows("b2")
    _check_scenario(rows, "saas_spend_agreements_b2.csv")
    purchase = [row for row in rows if row["ChargeCategory"] == "Purchase"]
    assert len(purchase) == 1 and purchase[0]["EffectiveCost"] == 0 and purchase[0]["BilledCost"] == Decimal("1200")
    # FOCUS: Σ Usage EffectiveCost = Σ Purchase BilledCost; the spec leaves ServiceName/-Category empty, 1.3 does not.
    assert sum(row["EffectiveCost"] for row in rows if row["ChargeCategory"] == "Usage") == Decimal("1200")
    assert purchase[0]["ServiceName"] == "AwesomeDB" and purchase[0]["ServiceCategory"] == "Business Applications"


def test_a1_without_a_monthly_minimum_charges_the_unspent_commitment_at_the_end(org: Org) -> None:
    rows = org.rows("a1")
    # $48 + $120 + $60 of usage; $1200 - $228 = $972 unused, billed in March 2026 for the whole term.
    assert _by_period(rows, "BilledCost") == {
        date(2025, 4, 1): Decimal("48"),
        date(2025, 5, 1): Decimal("120"),
        date(2025, 6, 1): Decimal("60"),
        date(2026, 3, 1): Decimal("972"),
    }
    end = [row for row in rows if row["ChargeDescription"] == "End of contract unused fee"]
    assert len(end) == 1 and (end[0]["ChargePeriodStart"].date(), end[0]["ChargePeriodEnd"].date()) == (
        TERM["start_date"], TERM["end_date"])  # fmt: skip
    assert not [row for row in rows if row["ChargeDescription"] == "Monthly unused fee"]


def test_prepaid_usage_beyond_the_prepayment_is_billed(org: Org) -> None:
    rows = org.rows("overage")
    # $100 prepaid + $20 of overage in January; February's and March's minimums exceed the prepayment too.
    assert _by_period(rows, "BilledCost") == {date(2025, 1, 1): Decimal("120"), date(2025, 2, 1): Decimal("10"),
                                              date(2025, 3, 1): Decimal("10")}  # fmt: skip
    assert _by_period(rows, "EffectiveCost") == {date(2025, 1, 1): Decimal("120"), date(2025, 2, 1): Decimal("10"),
                                                 date(2025, 3, 1): Decimal("10")}  # fmt: skip
    usage = [row for row in rows if row["ChargeDescription"] == "Monthly usage charge"]
    assert [(row["BilledCost"], row["EffectiveCost"]) for row in usage] == [(Decimal("20"), Decimal("120"))]
    # Once spent, the monthly minimum is billed too; the commitment is met, so the end charge is March's minimum.
    fees = [(row["ChargeDescription"], row["BilledCost"]) for row in rows if "fee" in row["ChargeDescription"]]
    assert fees == [("Monthly unused fee", Decimal("10")), ("End of contract unused fee", Decimal("10"))]


def test_a_running_agreement_settles_only_the_closed_months(org: Org) -> None:
    rows = org.rows("running")
    start = _add_months(_this_month(), -2)
    fees = {row["BillingPeriodStart"].date(): row["BilledCost"] for row in rows
            if row["ChargeDescription"] == "Monthly unused fee"}  # fmt: skip
    assert fees == {start: Decimal("38"), _add_months(start, 1): Decimal("50")}  # $50 - $12, then $50
    assert not [row for row in rows if row["ChargeDescription"] == "End of contract unused fee"]


def test_usage_rounds_half_up_to_the_cent_and_keeps_exact_list_cost(org: Org) -> None:
    rows = org.rows("cents")
    usage = [row for row in rows if row["ChargeDescription"] == "Monthly usage charge"][0]
    assert usage["BilledCost"] == Decimal("0.01") and usage["ListCost"] == usage["ContractedCost"] == Decimal("0.005")
    end = [row for row in rows if row["ChargeDescription"] == "End of contract unused fee"][0]
    assert end["BilledCost"] == Decimal("0.99") and sum(row["BilledCost"] for row in rows) == Decimal("1.00")
    assert {row["Tags"] for row in rows} == {'{"cloudact:hierarchy_node_id":"node_db"}'}
    assert {row["x_SourceSystem"] for row in rows} == {"saas_spend_agreements"}
    assert all(row["x_LoadId"] for row in rows)


def test_agreement_input_is_validated_with_the_field_named(org: Org) -> None:
    bad = [
        ({"start_date": date(2025, 4, 2)}, "start_date"),
        ({"end_date": date(2025, 4, 1)}, "end_date"),
        ({"commitment_amount": Decimal("0")}, "commitment_amount"),
        ({"commitment_amount": Decimal("10.001")}, "commitment_amount"),
        ({"contracted_unit_price": Decimal("-1")}, "contracted_unit_price"),
        ({"currency": "usd"}, "currency"),
        ({"usage_unit": " "}, "usage_unit"),
    ]
    for change, field in bad:
        with pytest.raises(AgreementError) as caught:
            create_agreement(org.warehouse, org.slug, **{**ACME, **TERM, **change})
        assert caught.value.field == field, change
    for month, quantity, field in ((date(2026, 4, 1), "1", "usage_month"), (date(2025, 4, 1), "-1", "quantity"),
                                   (date(2025, 4, 1), "x", "quantity")):  # fmt: skip
        with pytest.raises(AgreementError) as caught:
            set_usage(org.warehouse, org.slug, org.ids["a2"], month, quantity)
        assert caught.value.field == field
    assert [(item.usage_month, item.quantity) for item in list_usage(org.warehouse, org.slug, org.ids["a2"])] == list(
        USAGE.items()
    )


def test_agreements_are_tenant_isolated_and_removal_clears_the_copy(org: Org, tmp_path: Path) -> None:
    other = _onboard(tmp_path, "Other Tenant")
    with pytest.raises(AgreementNotFoundError):
        get_agreement(other.warehouse, other.slug, org.ids["a2"])
    with pytest.raises(AgreementNotFoundError):
        set_usage(other.warehouse, other.slug, org.ids["a2"], date(2025, 4, 1), "1")
    with pytest.raises(AgreementNotFoundError):
        delete_agreement(other.warehouse, other.slug, org.ids["a2"])
    assert list_agreements(other.warehouse, other.slug) == []
    mine = other.add("mine", usage={date(2025, 4, 1): Decimal("2")}, **ACME, **TERM)
    assert sync_agreements(other.warehouse, other.slug) == (1, 1)
    copied = other.warehouse.query_tenant(f"select agreement_id, org_slug from {other.slug}_prod.saas_spend_agreements")
    assert copied == [{"agreement_id": mine, "org_slug": other.slug}]
    delete_agreement(other.warehouse, other.slug, mine)
    assert sync_agreements(other.warehouse, other.slug) == (0, 0)
    assert other.warehouse.query_tenant(f"select count(*) as n from {other.slug}_prod.saas_spend_agreement_usage") == [
        {"n": 0}
    ]
    # The first org's agreements are untouched.
    assert org.ids["a2"] in {item.agreement_id for item in list_agreements(org.warehouse, org.slug)}


def test_exported_agreement_rows_pass_the_focus_validator(org: Org, tmp_path: Path) -> None:
    out = tmp_path / "agreements.parquet"
    assert DuckDBWarehouse(org.settings.resolved_duckdb_path).export_focus(org.slug, out) > 0
    for criteria in ([], ["ALL"]):
        assert_focus_valid(out, tmp_path / "validation", ",".join(criteria))
