"""SaaS subscriptions end to end: enter → sync → dbt build (all FOCUS data tests) → FOCUS rows, to the cent.

The FOCUS spec's SaaS scenarios (``../shared/samples/saas``, FOCUS_Spec ``appendix/saas_examples``) are rebuilt as
subscriptions and their BilledCost per billing period compared with the spec's CSV. Our rows differ from the spec's
by design where we amortise: the invoice row's EffectiveCost is 0 and daily Usage rows carry the cost (the spec's A/C
rows realise it on the invoice row because their generators send no daily records).

Scenario B (billed in arrears) is a subscription with ``billing_timing="arrears"``. The spend agreements
(``saas_spend_agreements_*``: usage against a spend commitment) are not subscriptions: see test_saas_agreements.py.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.saas import sync_subscriptions
from cloudact.settings import Settings
from cloudact.subscriptions import SubscriptionError, create_subscription, delete_subscription, list_subscriptions
from cloudact.transform import transform_org
from cloudact.warehouse import DuckDBWarehouse, get_warehouse
from tests.conftest import SAMPLES
from tests.support.focus_validator import assert_focus_valid

pytestmark = pytest.mark.slow

SPEC = SAMPLES / "saas"
CENT = Decimal("0.01")


def _spec_rows(name: str) -> list[dict[str, str]]:
    with (SPEC / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _money(text: str) -> Decimal:
    """The spec CSVs' illustrative money ("$50,000.00 ") as a Decimal."""
    return Decimal(text.strip().replace("$", "").replace(",", ""))


def _spec_date(text: str) -> date:
    """The spec CSVs' US dates (4/1/25)."""
    return datetime.strptime(text, "%m/%d/%y").date()


def _spec_billed_by_period(name: str) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for row in _spec_rows(name):
        totals[_spec_date(row["BillingPeriodStart"])] += _money(row["BilledCost"])
    return dict(totals)


class Org:
    """One onboarded org with its settings, warehouse and subscriptions by name."""

    def __init__(self, settings: Settings, slug: str) -> None:
        self.settings = settings
        self.slug = slug
        self.warehouse = get_warehouse(settings)
        self.ids: dict[str, str] = {}

    def add(self, name: str, **values: Any) -> str:
        values.setdefault("currency", "USD")
        item = create_subscription(self.warehouse, self.slug, **values)
        self.ids[name] = item.subscription_id
        return item.subscription_id

    def build(self) -> int:
        copied = sync_subscriptions(self.warehouse, self.slug)
        transform_org(self.settings, self.slug)
        return copied

    def rows(self, name: str, category: str | None = None) -> list[dict[str, Any]]:
        where = "and ChargeCategory = @category" if category else ""
        return self.warehouse.query_tenant(
            f"""select * from {self.slug}_prod.cost_data_standard_1_3
                where ResourceId = @resource {where} order by ChargePeriodStart, ChargeCategory""",
            {"resource": self.ids[name], "category": category},
        )


def _onboard(tmp: Path, name: str) -> Org:
    settings = Settings(_env_file=None, data_dir=tmp / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    warehouse = get_warehouse(settings)
    org = onboard_org(get_control_plane(settings), warehouse, get_keyring(settings), name)
    return Org(settings, org.org_slug)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    org = _onboard(tmp_path_factory.mktemp("saas"), "Saas Scenarios")
    annual = {"billing_cycle": "annual", "start_date": date(2025, 4, 1), "end_date": date(2026, 4, 1)}
    # A1: one 12-month service term at $10,000. A2: 500 licences × $100 for the same term.
    org.add("a1", provider="ACMECORP", plan="Service", seats=1, unit_price=Decimal("10000"), **annual)
    org.add("a2", provider="ACMECORP", plan="Licenses", seats=500, unit_price=Decimal("100"), **annual)
    # A3: on June 1st, 10 more licences at the full $100. A subscription record has no link to the A2 term, so the
    # full-price add-on is its own 12-month purchase; co-terming it (end 2026-04-01) would prorate it (see below).
    org.add("a3", provider="ACMECORP", plan="Licenses", seats=10, unit_price=Decimal("100"), billing_cycle="annual",
            start_date=date(2025, 6, 1), end_date=date(2026, 6, 1))  # fmt: skip
    # A3 co-termed: the same add-on ending with the A2 term pays 304 of its 365 days.
    org.add("a3_coterm", provider="ACMECORP", plan="Licenses", seats=10, unit_price=Decimal("100"),
            billing_cycle="annual", start_date=date(2025, 6, 1), end_date=date(2026, 4, 1))  # fmt: skip
    # B: A2's 500 licences × $100 for the same term, invoiced in arrears (after the term's last day).
    org.add("b", provider="ACMECORP", plan="Licenses", seats=500, unit_price=Decimal("100"), billing_timing="arrears",
            **annual)  # fmt: skip
    # In arrears and open-ended, started 40 days ago: the ended cycle is invoiced, the open one only accrues.
    org.add("arrears_open", provider="Zoom", plan="Pro", seats=4, unit_price=Decimal("15.50"), billing_timing="arrears",
            billing_cycle="monthly", start_date=datetime.now(UTC).date() - timedelta(days=40))  # fmt: skip
    # C: $20 per licence per month; 505, 650 then 635 licences: a seat change is a new version of the subscription.
    for month, seats in ((4, 505), (5, 650), (6, 635)):
        org.add(f"c{month}", provider="ACMECORP", plan="Licenses", seats=seats, unit_price=Decimal("20"),
                billing_cycle="monthly", start_date=date(2025, month, 1),
                end_date=date(2025, month + 1, 1))  # fmt: skip
    # $100.00 over 31 days: 3.22 a day, the 1.80 remainder on the last day.
    org.add("remainder", provider="Notion", plan="Plus", seats=1, unit_price=Decimal("100.00"),
            billing_cycle="monthly", start_date=date(2025, 1, 1), end_date=date(2025, 2, 1))  # fmt: skip
    # Cancelled on 2025-03-16 (exclusive): January and February in full, 15 of March's 31 days.
    org.add("cancelled", provider="Slack", plan="Pro", seats=10, unit_price=Decimal("10.00"),
            billing_cycle="monthly", start_date=date(2025, 1, 1), end_date=date(2025, 3, 16))  # fmt: skip
    # Mid-cycle seat change on 2025-05-11: 10 seats end there (10 of May's 31 days), 15 seats run from it.
    org.add("seats_before", provider="Canva", plan="Teams", seats=10, unit_price=Decimal("12.00"),
            billing_cycle="monthly", start_date=date(2025, 5, 1), end_date=date(2025, 5, 11))  # fmt: skip
    org.add("seats_after", provider="Canva", plan="Teams", seats=15, unit_price=Decimal("12.00"),
            billing_cycle="monthly", start_date=date(2025, 5, 11), end_date=date(2025, 7, 11))  # fmt: skip
    # Open-ended, started 40 days ago: invoices up to the open cycle, none ahead of it.
    org.add("open", provider="ChatGPT", plan="Team", seats=3, unit_price=Decimal("30.00"), currency="EUR",
            billing_cycle="monthly", start_date=datetime.now(UTC).date() - timedelta(days=40),
            hierarchy_node_id="node_ai")  # fmt: skip
    assert org.build() == len(org.ids)
    return org


def _billed_by_period(rows: list[dict[str, Any]]) -> dict[date, Decimal]:
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["BilledCost"]:
            totals[row["BillingPeriodStart"].date()] += row["BilledCost"]
    return dict(totals)


def _days(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["ChargeCategory"] == "Usage"]


def _check_invoice(rows: list[dict[str, Any]], billed: Decimal) -> None:
    """One Purchase row of ``billed`` (EffectiveCost 0) and its days, one per paid day, summing to it exactly."""
    purchases = [row for row in rows if row["ChargeCategory"] == "Purchase"]
    assert len(purchases) == 1
    invoice = purchases[0]
    assert invoice["BilledCost"] == billed and invoice["EffectiveCost"] == 0
    days = [row for row in _days(rows) if row["InvoiceId"] == invoice["InvoiceId"]]
    span = (invoice["ChargePeriodEnd"] - invoice["ChargePeriodStart"]).days
    assert len(days) == span
    assert [row["ChargePeriodStart"] for row in days] == [
        invoice["ChargePeriodStart"] + timedelta(days=index) for index in range(span)
    ]
    assert all(row["ChargePeriodEnd"] - row["ChargePeriodStart"] == timedelta(days=1) for row in days)
    assert all(row["BilledCost"] == 0 for row in days)
    assert all(row["EffectiveCost"] == row["EffectiveCost"].quantize(CENT) for row in days)
    assert sum(row["EffectiveCost"] for row in days) == billed


def test_a1_a2_annual_up_front_purchase(org: Org) -> None:
    for name, sample in (("a1", "simple_saas_agreements_a1.csv"), ("a2", "simple_saas_agreements_a2.csv")):
        spec = _spec_rows(sample)[0]
        rows = org.rows(name)
        assert _billed_by_period(rows) == _spec_billed_by_period(sample)
        invoice = org.rows(name, "Purchase")[0]
        assert invoice["ChargeFrequency"] == spec["ChargeFrequency"] == "One-Time"
        assert invoice["ChargePeriodStart"].date() == _spec_date(spec["ChargePeriodStart"])
        assert invoice["ChargePeriodEnd"].date() == _spec_date(spec["ChargePeriodEnd"])
        assert invoice["BillingPeriodEnd"].date() == _spec_date(spec["BillingPeriodEnd"])
        assert invoice["ListCost"] == invoice["ContractedCost"] == _money(spec["ListCost"])
        assert invoice["ListUnitPrice"] == _money(spec["ListUnitPrice"])
        assert invoice["PricingQuantity"] == Decimal(spec["PricingQuantity"])
        assert invoice["PricingUnit"] == "Seat-Years"
        assert invoice["ServiceCategory"] == spec["ServiceCategory"] == "Business Applications"
        assert invoice["ServiceProviderName"] == invoice["InvoiceIssuerName"] == spec["InvoiceIssuerName"]
        _check_invoice(rows, _money(spec["BilledCost"]))
        assert len(_days(rows)) == 365


def test_b_billed_in_arrears_is_invoiced_in_the_terms_last_month(org: Org) -> None:
    sample = "simple_saas_agreements_b.csv"
    spec = _spec_rows(sample)[0]
    rows = org.rows("b")
    assert _billed_by_period(rows) == _spec_billed_by_period(sample) == {date(2026, 3, 1): Decimal("50000.00")}
    invoice = org.rows("b", "Purchase")[0]
    assert invoice["ChargeFrequency"] == spec["ChargeFrequency"] == "One-Time"
    assert invoice["ChargePeriodStart"].date() == _spec_date(spec["ChargePeriodStart"])
    assert invoice["ChargePeriodEnd"].date() == _spec_date(spec["ChargePeriodEnd"])
    assert invoice["BillingPeriodStart"].date() == _spec_date(spec["BillingPeriodStart"])
    assert invoice["BillingPeriodEnd"].date() == _spec_date(spec["BillingPeriodEnd"])
    assert invoice["ListCost"] == _money(spec["ListCost"]) and invoice["PricingQuantity"] == Decimal("500")
    _check_invoice(rows, _money(spec["BilledCost"]))
    # The days accrue exactly as when invoiced up front (A2): same days, same cents, in the months they fall in.
    accrual = [(day["ChargePeriodStart"], day["EffectiveCost"], day["BillingPeriodStart"]) for day in _days(rows)]
    assert accrual == [(day["ChargePeriodStart"], day["EffectiveCost"], day["BillingPeriodStart"])
                       for day in _days(org.rows("a2"))]  # fmt: skip
    assert sum(day[1] for day in accrual) == Decimal("50000.00") and len(accrual) == 365


def test_arrears_invoice_exists_only_once_the_cycles_last_day_has_passed(org: Org) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    purchases = org.rows("arrears_open", "Purchase")
    assert len(purchases) == 1  # the first cycle ended; the open one is not invoiced yet
    invoice = purchases[0]
    assert invoice["ChargePeriodEnd"] <= today and invoice["BilledCost"] == Decimal("62.00")
    last_day = invoice["ChargePeriodEnd"] - timedelta(days=1)
    assert invoice["BillingPeriodStart"] == last_day.replace(day=1)
    _check_invoice([row for row in org.rows("arrears_open") if row["InvoiceId"] == invoice["InvoiceId"]],
                   Decimal("62.00"))  # fmt: skip
    open_days = [row for row in _days(org.rows("arrears_open")) if row["InvoiceId"] != invoice["InvoiceId"]]
    assert open_days and open_days[0]["ChargePeriodStart"] == invoice["ChargePeriodEnd"] <= today
    assert sum(row["EffectiveCost"] for row in open_days) == Decimal("62.00")  # the open cycle accrues in full


def test_billing_timing_is_validated_and_listed(org: Org) -> None:
    with pytest.raises(SubscriptionError) as caught:
        org.add("bad_timing", provider="Slack", plan="Pro", seats=1, unit_price=Decimal("1"), billing_cycle="monthly",
                start_date=date(2025, 1, 1), billing_timing="later")  # fmt: skip
    assert caught.value.field == "billing_timing"
    timings = {item.subscription_id: item.billing_timing for item in list_subscriptions(org.warehouse, org.slug, 1000)}
    assert timings[org.ids["b"]] == "arrears" and timings[org.ids["a2"]] == "advance"


def test_a3_mid_term_add_on_is_billed_in_its_month(org: Org) -> None:
    expected = _spec_billed_by_period("simple_saas_agreements_a2.csv")
    for period, billed in _spec_billed_by_period("simple_saas_agreements_a3.csv").items():
        expected[period] = expected.get(period, Decimal(0)) + billed
    actual = _billed_by_period(org.rows("a2") + org.rows("a3"))
    assert actual == expected == {date(2025, 4, 1): Decimal("50000.00"), date(2025, 6, 1): Decimal("1000.00")}
    _check_invoice(org.rows("a3"), Decimal("1000.00"))


def test_a3_co_termed_add_on_is_prorated_by_days(org: Org) -> None:
    rows = org.rows("a3_coterm")
    # 10 × $100 × 304 / 365 = 832.876… → 832.88, spread over the 304 paid days (2025-06-01 to 2026-04-01).
    assert _billed_by_period(rows) == {date(2025, 6, 1): Decimal("832.88")}
    _check_invoice(rows, Decimal("832.88"))
    invoice = org.rows("a3_coterm", "Purchase")[0]
    assert invoice["ChargePeriodEnd"] == datetime(2026, 4, 1, tzinfo=UTC)
    assert abs(invoice["PricingQuantity"] - Decimal(10 * 304) / 365) < Decimal("1e-11")


def test_c_monthly_seats_billed_per_month(org: Org) -> None:
    spec = _spec_rows("simple_saas_agreements_c.csv")
    for month, row in zip((4, 5, 6), spec, strict=True):
        rows = org.rows(f"c{month}")
        assert _billed_by_period(rows) == {_spec_date(row["BillingPeriodStart"]): _money(row["BilledCost"])}
        invoice = org.rows(f"c{month}", "Purchase")[0]
        # Charge and billing period are the month, as in the spec; a Purchase is Recurring, never Usage-Based.
        assert invoice["ChargePeriodStart"] == invoice["BillingPeriodStart"]
        assert invoice["ChargePeriodEnd"] == invoice["BillingPeriodEnd"]
        assert invoice["ChargePeriodEnd"].date() == _spec_date(row["ChargePeriodEnd"])
        assert invoice["ChargeFrequency"] == "Recurring"
        assert invoice["PricingQuantity"] == Decimal(row["PricingQuantity"])
        assert invoice["ListUnitPrice"] == _money(row["ListUnitPrice"])
        assert invoice["PricingUnit"] == "Seat-Months"
        _check_invoice(rows, _money(row["BilledCost"]))
        days = _days(rows)
        assert {day["ConsumedQuantity"] for day in days} == {Decimal(row["PricingQuantity"])}
        assert {day["ConsumedUnit"] for day in days} == {"Seat-Days"}
        assert {day["ChargeFrequency"] for day in days} == {"Recurring"}


def test_rounding_remainder_lands_on_the_last_day(org: Org) -> None:
    rows = org.rows("remainder")
    _check_invoice(rows, Decimal("100.00"))
    effective = [row["EffectiveCost"] for row in _days(rows)]
    assert effective == [Decimal("3.22")] * 30 + [Decimal("3.40")]
    assert _days(rows)[-1]["ChargePeriodStart"] == datetime(2025, 1, 31, tzinfo=UTC)


def test_cancellation_stops_invoices_and_prorates_the_cut_cycle(org: Org) -> None:
    rows = org.rows("cancelled")
    # 10 × $10 × 15 / 31 = 48.387… → 48.39 for 1-15 March; nothing from 16 March on.
    assert _billed_by_period(rows) == {
        date(2025, 1, 1): Decimal("100.00"),
        date(2025, 2, 1): Decimal("100.00"),
        date(2025, 3, 1): Decimal("48.39"),
    }
    assert max(row["ChargePeriodEnd"] for row in rows) == datetime(2025, 3, 16, tzinfo=UTC)
    march = [row for row in rows if row["ChargePeriodStart"] >= datetime(2025, 3, 1, tzinfo=UTC)]
    _check_invoice(march, Decimal("48.39"))
    assert len(_days(rows)) == 31 + 28 + 15


def test_mid_cycle_seat_change_prorates_the_old_seats(org: Org) -> None:
    before, after = org.rows("seats_before"), org.rows("seats_after")
    # 10 seats × $12 × 10 / 31 days = 38.709… → 38.71; the 15 seats bill $180 on the 11th of May and of June.
    assert _billed_by_period(before) == {date(2025, 5, 1): Decimal("38.71")}
    _check_invoice(before, Decimal("38.71"))
    assert _billed_by_period(after) == {date(2025, 5, 1): Decimal("180.00"), date(2025, 6, 1): Decimal("180.00")}
    # Each day is paid by exactly one of the two versions.
    paid = [row["ChargePeriodStart"] for row in _days(before) + _days(after)]
    assert len(paid) == len(set(paid)) == (date(2025, 7, 11) - date(2025, 5, 1)).days


def test_only_the_open_cycle_is_generated_ahead_of_today(org: Org) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    purchases = org.rows("open", "Purchase")
    assert len(purchases) == 2  # started 40 days ago: last month's cycle and the open one
    assert all(row["ChargePeriodStart"] <= today < purchases[-1]["ChargePeriodEnd"] for row in purchases)
    assert all(row["BilledCost"] == Decimal("90.00") and row["BillingCurrency"] == "EUR" for row in purchases)
    for invoice in purchases:
        _check_invoice([row for row in org.rows("open") if row["InvoiceId"] == invoice["InvoiceId"]], Decimal("90.00"))
    assert max(row["ChargePeriodEnd"] for row in org.rows("open")) == purchases[-1]["ChargePeriodEnd"]
    # The hierarchy node rides along as a tag, for the node's tag rules.
    assert {row["Tags"] for row in org.rows("open")} == {'{"cloudact:hierarchy_node_id":"node_ai"}'}
    assert {row["Tags"] for row in org.rows("a2")} == {None}


def test_rows_are_categorised_and_priced_per_focus(org: Org) -> None:
    rows = org.warehouse.query_tenant(
        f"""select x_Provider, x_SourceSystem, ServiceName, ServiceCategory, ServiceSubcategory, SkuId,
                   HostProviderName, BillingAccountId, count(*) as n
            from {org.slug}_prod.cost_data_standard_1_3 group by all"""
    )
    by_service = {row["ServiceName"]: row for row in rows}
    assert {row["x_Provider"] for row in rows} == {"saas"}
    assert {row["BillingAccountId"] for row in rows} == {org.slug}
    assert by_service["Slack"]["ServiceSubcategory"] == "Productivity and Collaboration"
    assert by_service["ChatGPT"]["ServiceCategory"] == "AI and Machine Learning"
    assert by_service["ACMECORP"]["ServiceSubcategory"] == "Other (Business Applications)"
    assert by_service["Notion"]["SkuId"] == "Notion Plus"
    assert all(row["HostProviderName"] == row["ServiceName"] for row in rows)


def test_sync_replaces_the_copy_and_an_org_without_subscriptions_builds(tmp_path: Path) -> None:
    org = _onboard(tmp_path, "Saas Empty")
    assert org.build() == 0
    columns = org.warehouse.query_tenant(
        """select column_name, data_type from information_schema.columns
           where table_schema = @schema and table_name = 'saas_subscriptions'""",
        {"schema": f"{org.slug}_prod"},
    )
    types = {row["column_name"]: row["data_type"] for row in columns}
    assert types["unit_price"] == "DECIMAL(38,12)" and types["start_date"] == "DATE" and len(types) == 15
    focus = f"select count(*) as n from {org.slug}_prod.cost_data_standard_1_3"
    assert org.warehouse.query_tenant(focus) == [{"n": 0}]
    january = {"billing_cycle": "monthly", "start_date": date(2025, 1, 1), "end_date": date(2025, 2, 1)}
    subscription_id = org.add("one", provider="Zoom", plan="Pro", seats=2, unit_price=Decimal("13.33"), **january)
    assert org.build() == 1
    assert _billed_by_period(org.rows("one")) == {date(2025, 1, 1): Decimal("26.66")}
    # A subscription stored before billing_timing existed (null there) is invoiced up front, as it was.
    org.warehouse.execute(
        f"update {org.warehouse.shared_table('org_subscriptions')} set billing_timing = null where org_slug = @org",
        {"org": org.slug},
    )
    assert [item.billing_timing for item in list_subscriptions(org.warehouse, org.slug)] == ["advance"]
    assert org.build() == 1
    assert _billed_by_period(org.rows("one")) == {date(2025, 1, 1): Decimal("26.66")}
    delete_subscription(org.warehouse, org.slug, subscription_id)
    assert org.build() == 0
    assert org.warehouse.query_tenant(focus) == [{"n": 0}]


def test_exported_saas_rows_pass_the_focus_validator(org: Org, tmp_path: Path) -> None:
    out = tmp_path / "saas.parquet"
    assert DuckDBWarehouse(org.settings.resolved_duckdb_path).export_focus(org.slug, out) > 0
    for criteria in ([], ["ALL"]):
        assert_focus_valid(out, tmp_path / "validation", ",".join(criteria))
