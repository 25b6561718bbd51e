"""Azure exports in every format end to end: generated EA/MCA ActualCost+AmortizedCost and FocusCost (1.0r2, 1.2)
as CSV, CSV.gz and Parquet with manifests → ingest → dbt build → FOCUS 1.3, checked against the raw files."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bench.generators.azure import Account, Month, expected_totals, mca_account, write_export
from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import azure_source_for, run_ingest
from tests.conftest import SAMPLES, table_state
from tests.support.focus_validator import assert_focus_valid

pytestmark = pytest.mark.slow

MONTH = Month()
EA_COST = Account()  # ActualCost + AmortizedCost only (Parquet)
MCA_BOTH = mca_account()  # cost exports (CSV) and FocusCost 1.2 (CSV.gz): FocusCost supersedes
EA_FOCUS = Account(billing_account_id="7777777", name="Fabrikam")  # FocusCost 1.0r2 only (Parquet)
ALL_CRITERIA = [
    "ACCOUNT_NAMING_SUPPORTED", "AVAILABILITY_ZONE_SUPPORTED", "CAPACITY_RESERVATION_SUPPORTED",
    "COMMITMENT_DISCOUNT_SUPPORTED", "MULTIPLE_PRICING_CATEGORIES_SUPPORTED", "MULTIPLE_SUB_ACCOUNT_TYPES_SUPPORTED",
    "MULTIPLE_BILLING_ACCOUNT_TYPES_SUPPORTED", "NEGOTIATED_PRICING_SUPPORTED", "PUBLIC_PRICE_LIST_SUPPORTED",
    "USAGE_MEASUREMENT_SUPPORTED", "UNIT_PRICING_SUPPORTED", "SUB_ACCOUNT_SUPPORTED",
    "BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED", "RESOURCE_TYPE_ASSIGNMENT_SUPPORTED",
    "PRICING_BILLING_CURRENCY_DIFFERENCES_SUPPORTED", "REGION_SUPPORTED", "TAGGING_SUPPORTED",
]  # fmt: skip


@pytest.fixture(scope="module")
def azure_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, Path]:
    root = tmp_path_factory.mktemp("azure_formats")
    settings = Settings(_env_file=None, data_dir=root / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    slug = onboard_org(get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Az Org").org_slug
    exports = root / "exports"
    for kind in ("actual", "amortized"):
        write_export(exports, EA_COST, MONTH, kind, "parquet", chunk_rows=4)
        write_export(exports, MCA_BOTH, MONTH, kind, "csv", chunk_rows=4)
    write_export(exports, MCA_BOTH, MONTH, "focus", "csv.gz", version="1.2", chunk_rows=4)
    write_export(exports, EA_FOCUS, MONTH, "focus", "parquet", version="1.0r2", chunk_rows=4)
    run_ingest(settings, slug, "azure", azure_source_for(exports))
    transform_org(settings, slug)
    return settings, slug, root


def _totals(settings: Settings, slug: str) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
    rows = table_state(
        settings,
        f"""select BillingAccountId, x_SourceSystem, count(*), sum(BilledCost), sum(EffectiveCost)
            from {slug}_prod.cost_data_standard_1_3 where x_Provider = 'azure'
            and BillingPeriodStart = timestamptz '2026-03-01 00:00:00+00' group by all""",
    )
    return {(str(a), str(s)): (int(n), b, e) for a, s, n, b, e in rows}  # type: ignore[misc]


def test_each_billing_account_and_period_reconciles_to_its_raw_files(azure_org: tuple[Settings, str, Path]) -> None:
    settings, slug, _ = azure_org
    totals = _totals(settings, slug)
    _, actual, _ = expected_totals(EA_COST, MONTH, "actual")
    _, amortized, _ = expected_totals(EA_COST, MONTH, "amortized")
    # Cost exports: BilledCost = the ActualCost (invoice) total, EffectiveCost = the AmortizedCost total.
    assert totals[(EA_COST.scope_id, "azure_cost_details")][1:] == (actual, amortized)
    for account, version in ((MCA_BOTH, "1.2"), (EA_FOCUS, "1.0r2")):
        count, billed, effective = expected_totals(account, MONTH, "focus", version)
        assert totals[(account.scope_id, "azure_focus_cost")] == (count, billed, effective)
        # The generator's FocusCost is Microsoft's conversion of the same month: same invoice and amortized totals.
        assert (billed, effective) == (
            expected_totals(account, MONTH, "actual")[1],
            expected_totals(account, MONTH, "amortized")[1],
        )
    # The MCA profile exported both: its FocusCost supersedes its cost exports (no double counting).
    assert set(totals) == {
        (EA_COST.scope_id, "azure_cost_details"),
        (MCA_BOTH.scope_id, "azure_focus_cost"),
        (EA_FOCUS.scope_id, "azure_focus_cost"),
    }


def _rows(settings: Settings, slug: str, account: str) -> list[dict[str, object]]:
    columns = [
        "ChargeCategory", "ChargeClass", "ChargeFrequency", "PricingCategory", "CommitmentDiscountId",
        "CommitmentDiscountType", "CommitmentDiscountCategory", "CommitmentDiscountStatus", "BilledCost",
        "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "PricingUnit", "ConsumedQuantity",
        "ServiceProviderName", "HostProviderName", "InvoiceIssuerName", "ServiceName", "ServiceCategory",
        "ServiceSubcategory", "SkuPriceId", "Tags", "x_AiModel", "x_AiTokenType", "x_ProviderDetails", "ResourceId",
    ]  # fmt: skip
    rows = table_state(
        settings,
        f"select {', '.join(columns)} from {slug}_prod.cost_data_standard_1_3 where BillingAccountId = '{account}'",
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


@pytest.mark.parametrize("account", [EA_COST, MCA_BOTH, EA_FOCUS], ids=["ea-cost", "mca-focus-1.2", "ea-focus-1.0r2"])
def test_scenario_rows_have_the_expected_focus_values(azure_org: tuple[Settings, str, Path], account: Account) -> None:
    settings, slug, _ = azure_org
    rate = account.exchange_rate
    rows = _rows(settings, slug, account.scope_id)

    def one(**match: object) -> dict[str, object]:
        found = [row for row in rows if all(row[key] == value for key, value in match.items())]
        assert len(found) == 1, (match, found)
        return found[0]

    reservation = "/providers/Microsoft.Capacity/reservationOrders/ro-1/reservations/r-1"
    purchase = one(CommitmentDiscountId=reservation, ChargeCategory="Purchase")
    assert (purchase["BilledCost"], purchase["EffectiveCost"], purchase["ChargeFrequency"]) == (
        72 * rate,
        0,
        "Recurring",
    )
    assert purchase["CommitmentDiscountStatus"] is None and purchase["PricingCategory"] == "Standard"
    assert (purchase["ListCost"], purchase["ContractedCost"]) == (80 * rate, 72 * rate)  # list vs negotiated price
    used = one(CommitmentDiscountId=reservation, CommitmentDiscountStatus="Used")
    unused = one(CommitmentDiscountId=reservation, CommitmentDiscountStatus="Unused")
    assert (used["BilledCost"], used["EffectiveCost"], used["PricingCategory"]) == (0, 40 * rate, "Committed")
    assert (unused["BilledCost"], unused["EffectiveCost"], unused["ConsumedQuantity"]) == (0, 32 * rate, None)
    assert (used["CommitmentDiscountType"], used["CommitmentDiscountCategory"]) == ("Reservation", "Usage")
    # FOCUS: per commitment, the amortized usage (used + unused) equals the purchase.
    assert used["EffectiveCost"] + unused["EffectiveCost"] == purchase["BilledCost"]  # type: ignore[operator]

    plan = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/spo-1/savingsPlans/sp-1"
    plan_rows = [row for row in rows if row["CommitmentDiscountId"] == plan]
    assert {(r["ChargeCategory"], r["CommitmentDiscountStatus"], r["EffectiveCost"]) for r in plan_rows} == {
        ("Purchase", None, 0), ("Usage", "Used", 30 * rate), ("Usage", "Unused", 20 * rate)
    }  # fmt: skip
    assert {r["CommitmentDiscountType"] for r in plan_rows} == {"Savings Plan"}

    refund = one(ChargeClass="Correction")
    assert (refund["ChargeCategory"], refund["ChargeFrequency"], refund["BilledCost"], refund["EffectiveCost"]) == (
        "Purchase", "One-Time", -10 * rate, 0
    )  # fmt: skip
    tax = one(ChargeCategory="Tax")
    assert (tax["BilledCost"], tax["PricingCategory"], tax["SkuPriceId"]) == (Decimal("4.2") * rate, None, None)

    market = one(ServiceProviderName="Contoso Data")
    assert (market["ChargeCategory"], market["HostProviderName"], market["InvoiceIssuerName"]) == (
        "Purchase", "Microsoft", "Microsoft"
    )  # fmt: skip
    assert market["BilledCost"] == market["EffectiveCost"] == 10 * rate
    assert json.loads(str(market["Tags"])) == {"team": "data"}

    tokens = [row for row in rows if row["x_AiModel"] is not None]
    assert sorted((r["x_AiModel"], r["x_AiTokenType"]) for r in tokens) == [("gpt-4o", "input"), ("gpt-4o", "output")]
    for row in tokens:
        assert (row["ServiceName"], row["ServiceCategory"], row["ServiceSubcategory"]) == (
            "Azure OpenAI", "AI and Machine Learning", "Generative AI"
        )  # fmt: skip
        assert row["PricingUnit"] == "1000 Units"
        assert row["ConsumedQuantity"] == row["PricingQuantity"] * 1000  # type: ignore[operator]
    assert {json.loads(str(r["x_ProviderDetails"]))["x_SkuMeterCategory"] for r in tokens} == {"Azure OpenAI"}


def test_exported_focus_file_passes_the_validator(azure_org: tuple[Settings, str, Path]) -> None:
    settings, slug, root = azure_org
    out = root / "focus.parquet"
    assert get_warehouse(settings).export_focus(slug, out) == sum(
        len(_rows(settings, slug, account.scope_id)) for account in (EA_COST, MCA_BOTH, EA_FOCUS)
    )
    for criteria in ([], [",".join(ALL_CRITERIA)]):
        assert_focus_valid(out, root / f"validator{len(criteria)}", ",".join(criteria))


def test_restated_focus_month_replaces_rows_without_duplicates(azure_org: tuple[Settings, str, Path]) -> None:
    settings, slug, root = azure_org
    before = _totals(settings, slug)
    # A newer month-to-date run of the MCA FocusCost export: two VM rows fewer, everything else the same.
    restated = root / "restated"

    def keep(row: dict[str, object]) -> bool:
        return not str(row["ResourceId"] or "").endswith(("/vm-0", "/vm-2"))

    write_export(restated, MCA_BOTH, MONTH, "focus", "csv.gz", version="1.2", submitted=datetime(2026, 3, 25),
                 row_filter=keep)  # fmt: skip
    run_ingest(settings, slug, "azure", azure_source_for(restated))
    transform_org(settings, slug)
    after = _totals(settings, slug)
    kept = [row for row in _rows_of_focus(MCA_BOTH) if keep(row)]
    assert after[(MCA_BOTH.scope_id, "azure_focus_cost")] == (
        len(kept),
        sum((row["BilledCost"] for row in kept), Decimal(0)),
        sum((row["EffectiveCost"] for row in kept), Decimal(0)),
    )
    assert len(kept) == before[(MCA_BOTH.scope_id, "azure_focus_cost")][0] - 2
    for key in ((EA_COST.scope_id, "azure_cost_details"), (EA_FOCUS.scope_id, "azure_focus_cost")):
        assert after[key] == before[key]
    duplicates = table_state(
        settings, f"select count(*) - count(distinct x_ChargeId) from {slug}_prod.cost_data_standard_1_3"
    )
    assert duplicates == [(0,)]


def _rows_of_focus(account: Account) -> list[dict[str, object]]:
    from bench.generators.azure import rows

    return list(rows(account, MONTH, "focus", "1.2"))


def test_org_pipeline_ingests_an_azure_integration_from_its_export_path(tmp_path: Path) -> None:
    from cloudact.integrations import set_integration
    from cloudact.pipeline import PIPELINE_PROVIDERS, ingest_provider

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    warehouse, keyring = get_warehouse(settings), get_keyring(settings)
    slug = onboard_org(get_control_plane(settings), warehouse, keyring, "Az Pipeline").org_slug
    write_export(tmp_path / "synced", EA_FOCUS, MONTH, "focus", "parquet", version="1.0r2")
    creds = {
        "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        "client_secret": "SECRET~azure.Value_0123456789", "billing_account_id": EA_FOCUS.billing_account_id,
        "export_path": str(tmp_path / "synced"),
    }  # fmt: skip
    set_integration(warehouse, keyring, slug, "azure", creds)
    assert "azure" in PIPELINE_PROVIDERS
    rows = ingest_provider(settings, warehouse, keyring, slug, "azure")
    assert rows == expected_totals(EA_FOCUS, MONTH, "focus", "1.0r2")[0]
