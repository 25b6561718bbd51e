"""Azure exports end to end: ingest (EA samples + a generated MCA month) → dbt build → FOCUS 1.3, checked."""

from __future__ import annotations

import csv
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import azure_source_for, run_ingest
from tests.conftest import SAMPLES, table_state
from tests.support.focus_validator import assert_focus_valid

AZURE = SAMPLES / "azure"
EA_ACTUAL = AZURE / "EA_ActualCost_Small.csv"
EA_AMORTIZED = AZURE / "EA_AmortizedCost_Small.csv"
EA_OLD = AZURE / "ea-actualcost-sample-anonymous-ea-export-dataset.csv"
MCA_PROFILE = "AB12-CD34-BG7-TGB"
RESERVATION = "/providers/Microsoft.Capacity/reservationOrders/ro-1/reservations/r-1"
MONEY = Decimal("0.000000000001")  # money is DECIMAL(38, 12): each row rounds half up to 12 places

MCA_COLUMNS = [
    "invoiceId", "previousInvoiceId", "billingAccountId", "billingAccountName", "billingProfileId",
    "billingProfileName", "invoiceSectionId", "invoiceSectionName", "billingPeriodStartDate", "billingPeriodEndDate",
    "servicePeriodStartDate", "servicePeriodEndDate", "date", "serviceFamily", "productOrderId", "productOrderName",
    "consumedService", "meterId", "meterName", "meterCategory", "meterSubCategory", "meterRegion", "ProductId",
    "ProductName", "SubscriptionId", "subscriptionName", "publisherType", "publisherName", "resourceGroupName",
    "ResourceId", "resourceLocation", "location", "effectivePrice", "quantity", "unitOfMeasure", "chargeType",
    "billingCurrency", "pricingCurrency", "costInBillingCurrency", "costInPricingCurrency", "costInUsd",
    "paygCostInBillingCurrency", "paygCostInUsd", "exchangeRatePricingToBilling", "exchangeRateDate",
    "isAzureCreditEligible", "serviceInfo1", "serviceInfo2", "additionalInfo", "tags", "PayGPrice", "frequency",
    "term", "reservationId", "reservationName", "pricingModel", "unitPrice", "costAllocationRuleName", "benefitId",
    "benefitName",
]  # fmt: skip


def _mca_row(key: str, **values: str) -> dict[str, str]:
    """One MCA cost details row of March 2026 in EUR, priced in USD at 0.9 EUR per USD."""
    row = dict.fromkeys(MCA_COLUMNS, "")
    row |= {
        "invoiceId": "G012345678", "billingAccountId": "ba-1:mca", "billingAccountName": "Contoso",
        "billingProfileId": MCA_PROFILE, "billingProfileName": "Contoso EU", "invoiceSectionId": "is-1",
        "invoiceSectionName": "Platform", "billingPeriodStartDate": "03/01/2026", "billingPeriodEndDate": "03/31/2026",
        "date": "03/02/2026", "SubscriptionId": "sub-1", "subscriptionName": "prod", "billingCurrency": "EUR",
        "pricingCurrency": "USD", "exchangeRatePricingToBilling": "0.9", "exchangeRateDate": "03/01/2026",
        "publisherType": "Microsoft", "publisherName": "Microsoft", "frequency": "UsageBased", "chargeType": "Usage",
        "pricingModel": "OnDemand", "resourceLocation": "westeurope", "resourceGroupName": "rg-app",
        "additionalInfo": key,  # keeps every generated row distinguishable in assertions
    }  # fmt: skip
    return row | values


def _vm(key: str, **values: str) -> dict[str, str]:
    vm = dict(
        consumedService="Microsoft.Compute", meterId="m-d2s", meterName="D2s v3", meterCategory="Virtual Machines",
        meterSubCategory="Dsv3 Series", ProductId="DZH318Z0BQ4J", ProductName="Virtual Machines Dsv3 - D2s v3",
        ResourceId="/subscriptions/sub-1/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm-1",
        unitOfMeasure="1 Hour", unitPrice="0.1", PayGPrice="0.1", effectivePrice="0", reservationId="r-1",
        reservationName="RI D2s",
    )  # fmt: skip
    return _mca_row(key, **(vm | values))


def _mca_month() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(ActualCost rows, AmortizedCost rows) of one consistent MCA month with a reservation."""
    storage = _mca_row(
        "storage", consumedService="Microsoft.Storage", meterId="m-ops", meterName="Write Operations",
        meterCategory="Storage", ProductId="DZH318Z0BPVW", ProductName="Blob Storage - Write Operations",
        ResourceId="/subscriptions/sub-1/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/sa1",
        unitOfMeasure="10K", quantity="0.5", unitPrice="0.1", PayGPrice="0.1", effectivePrice="0.09",
        costInBillingCurrency="0.045", tags='"env": "prod","team": "data"',
    )  # fmt: skip
    marketplace = _mca_row(
        "marketplace", publisherType="Marketplace", publisherName="Contoso Data", consumedService="Microsoft.SaaS",
        meterId="m-saas", meterName="Seat", ProductName="Contoso Data Platform", unitOfMeasure="1/Month",
        quantity="1", unitPrice="10", PayGPrice="10", effectivePrice="10", costInBillingCurrency="9",
        tags='{"env": "prod"}',
    )  # fmt: skip
    purchase = dict(chargeType="Purchase", frequency="Recurring", pricingModel="Reservation", date="03/01/2026",
                    consumedService="Microsoft.Capacity", quantity="1", unitPrice="80", PayGPrice="0",
                    effectivePrice="80", costInBillingCurrency="72", benefitId=RESERVATION, benefitName="RI D2s",
                    ResourceId=RESERVATION)  # fmt: skip
    actual = [
        _vm("purchase", **purchase),
        _vm("covered", pricingModel="Reservation", quantity="24", costInBillingCurrency="0", benefitId=RESERVATION,
            benefitName="RI D2s"),
        storage,
        marketplace,
        _vm("refund", **(purchase | {"chargeType": "Refund", "frequency": "OneTime", "date": "03/15/2026",
                                     "costInBillingCurrency": "-20"})),
    ]  # fmt: skip
    amortized = [
        _vm("covered", pricingModel="Reservation", quantity="24", effectivePrice="1.6666666667",
            costInBillingCurrency="40", benefitId=RESERVATION, benefitName="RI D2s"),
        _vm("unused", chargeType="UnusedReservation", pricingModel="Reservation", date="03/03/2026", quantity="2",
            costInBillingCurrency="4", benefitId=RESERVATION, benefitName="RI D2s"),
        storage,
        marketplace,
    ]  # fmt: skip
    return actual, amortized


def _write_run(folder: Path, export_type: str, rows: list[dict[str, str]]) -> None:
    """An export run with a neutral part name, so the dataset can only come from its manifest."""
    folder.mkdir(parents=True)
    with (folder / "part_0_0001.csv").open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=MCA_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    manifest = {
        "exportConfig": {
            "exportName": folder.parent.name,
            "type": export_type,
            "resourceId": f"/providers/Microsoft.Billing/billingAccounts/ba-1/billingProfiles/{MCA_PROFILE}",
        },
        "runInfo": {"submittedTime": "2026-03-16T06:00:00Z", "startDate": "2026-03-01T00:00:00",
                    "endDate": "2026-03-31T00:00:00"},
        "blobs": [{"blobName": f"exports/{folder.parent.name}/{folder.name}/part_0_0001.csv", "byteCount": 1}],
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def azure_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, Path]:
    root = tmp_path_factory.mktemp("azure")
    settings = Settings(_env_file=None, data_dir=root / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    slug = onboard_org(
        get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Azure Org"
    ).org_slug
    actual, amortized = _mca_month()
    _write_run(root / "mca" / "actual-export" / "run1", "ActualCost", actual)
    _write_run(root / "mca" / "amortized-export" / "run1", "AmortizedCost", amortized)
    assert run_ingest(settings, slug, "azure", azure_source_for(AZURE)).rows_loaded == 11 + 28 + 27
    assert run_ingest(settings, slug, "azure", azure_source_for(root / "mca")).rows_loaded == 9
    transform_org(settings, slug)  # dbt build: every FOCUS data test must pass for every row
    return settings, slug, root


def _focus_totals(settings: Settings, slug: str) -> dict[str, tuple[Decimal, Decimal]]:
    rows = table_state(
        settings,
        f"""select BillingAccountId || ' ' || strftime(BillingPeriodStart at time zone 'UTC', '%Y-%m'),
                   sum(BilledCost), sum(EffectiveCost)
            from {slug}_prod.cost_data_standard_1_3 where x_Provider = 'azure' group by 1""",
    )
    return {str(key): (billed, effective) for key, billed, effective in rows}  # type: ignore[misc]


def _money_sum(rows: list[dict[str, str]], keep: object = None) -> Decimal:
    total = Decimal(0)
    for row in rows:
        if keep is None or keep(row):  # type: ignore[operator]
            value = row.get("Cost") or row.get("CostInBillingCurrency") or row["costInBillingCurrency"]
            total += Decimal(value).quantize(MONEY, rounding=ROUND_HALF_UP)
    return total


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_billed_and_effective_cost_reconcile_to_the_raw_exports(azure_org: tuple[Settings, str, Path]) -> None:
    settings, slug, _ = azure_org
    totals = _focus_totals(settings, slug)
    actual, amortized = _mca_month()
    # A consistent MCA month: BilledCost is the invoice (ActualCost) total, EffectiveCost the amortized total.
    assert (
        totals[f"{MCA_PROFILE} 2026-03"]
        == (_money_sum(actual), _money_sum(amortized))
        == (Decimal("61.045"), Decimal("53.045"))
    )
    # A scope with only ActualCost data: the rows stand as delivered (no amortisation available).
    old = _csv(EA_OLD)
    assert totals["12345678 2023-09"] == (_money_sum(old), _money_sum(old))
    # The EA pair: EffectiveCost is the AmortizedCost total. The two toolkit test files are independent extracts
    # (ActualCost holds 10 of the 26 on-demand rows of AmortizedCost), so BilledCost follows the rule — amortized
    # rows with covered usage zeroed, plus ActualCost's commitment purchases — instead of the ActualCost total.
    ea_actual, ea_amortized = _csv(EA_ACTUAL), _csv(EA_AMORTIZED)
    purchases = _money_sum(
        ea_actual, lambda r: r["ChargeType"] in ("Purchase", "Refund") and r["PricingModel"] != "OnDemand"
    )
    on_demand = _money_sum(ea_amortized, lambda r: r["PricingModel"] not in ("Reservation", "SavingsPlan"))
    assert totals["8611537 2023-09"] == (on_demand + purchases, _money_sum(ea_amortized))
    assert set(totals) == {f"{MCA_PROFILE} 2026-03", "12345678 2023-09", "8611537 2023-09"}


def test_mca_reservation_purchase_usage_unused_and_refund(azure_org: tuple[Settings, str, Path]) -> None:
    settings, slug, _ = azure_org
    rows = table_state(
        settings,
        f"""select x_LineItemType, ChargeCategory, ChargeClass, ChargeFrequency, PricingCategory,
                   CommitmentDiscountId, CommitmentDiscountType, CommitmentDiscountCategory, CommitmentDiscountStatus,
                   BilledCost, EffectiveCost, ConsumedQuantity, PricingQuantity, PricingUnit, ListUnitPrice,
                   ServiceProviderName, InvoiceIssuerName, HostProviderName, BillingAccountType, Tags,
                   strftime(ChargePeriodStart at time zone 'UTC', '%Y-%m-%d'),
                   strftime(BillingPeriodEnd at time zone 'UTC', '%Y-%m-%d'), ServiceName, ServiceCategory
            from {slug}_prod.cost_data_standard_1_3 where BillingAccountId = '{MCA_PROFILE}'
            order by ChargePeriodStart, x_LineItemType, BilledCost""",
    )
    by_type = {}
    for row in rows:
        by_type.setdefault(row[0], []).append(row)
    assert sorted(by_type) == ["Purchase", "Refund", "UnusedReservation", "Usage"]  # covered actual usage dropped
    assert len(by_type["Usage"]) == 3

    purchase = by_type["Purchase"][0]
    assert purchase[1:9] == ("Purchase", None, "Recurring", "Standard", RESERVATION, "Reservation", "Usage", None)
    assert purchase[9:11] == (Decimal(72), Decimal(0))
    refund = by_type["Refund"][0]
    assert refund[1:4] == ("Purchase", "Correction", "One-Time")
    assert refund[9:11] == (Decimal(-20), Decimal(0))

    unused = by_type["UnusedReservation"][0]
    assert unused[1] == "Usage" and unused[4] == "Committed" and unused[8] == "Unused"
    assert unused[9:12] == (Decimal(0), Decimal(4), None)
    covered = storage = marketplace = None
    for row in by_type["Usage"]:
        if row[5] == RESERVATION:
            covered = row
        elif row[15] == "Contoso Data":
            marketplace = row
        else:
            storage = row
    assert covered is not None and storage is not None and marketplace is not None
    assert covered[4] == "Committed" and covered[8] == "Used"
    assert covered[9:12] == (Decimal(0), Decimal(40), Decimal(24))
    # Azure prices storage operations per 10K: PricingQuantity counts blocks, ConsumedQuantity operations.
    assert storage[11:15] == (Decimal(5000), Decimal("0.5"), "10000 Units", Decimal("0.09"))
    assert storage[4] == "Standard" and storage[9] == storage[10] == Decimal("0.045")
    assert json.loads(storage[19]) == {"env": "prod", "team": "data"}
    assert storage[20:22] == ("2026-03-02", "2026-04-01")  # inclusive Azure end date → exclusive FOCUS end
    assert (storage[22], storage[23]) == ("Storage Accounts", "Storage")
    assert marketplace[15:18] == ("Contoso Data", "Microsoft", "Microsoft")
    assert marketplace[18] == "Billing Profile" and json.loads(marketplace[19]) == {"env": "prod"}


@pytest.mark.slow
def test_exported_focus_file_passes_the_validator(azure_org: tuple[Settings, str, Path]) -> None:
    settings, slug, root = azure_org
    out = root / "focus.parquet"
    assert get_warehouse(settings).export_focus(slug, out) == 29 + 27 + 6  # EA pair, older EA, MCA month
    for criteria in ([], ["ALL"]):
        assert_focus_valid(out, root / f"validator{len(criteria)}", ",".join(criteria))
