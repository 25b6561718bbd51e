"""OCI cost reports end to end: onboard → ingest → dbt build (all FOCUS data tests) → export, checked vs the CSV."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import oci_source_for, run_ingest
from tests.conftest import SAMPLES, table_state
from tests.support.focus_validator import assert_focus_valid

pytestmark = pytest.mark.slow

OCI_SAMPLE = SAMPLES / "oci" / "reports_cost-csv_0000000030000269.csv"
# The money type keeps 12 fractional digits; OCI delivers up to 18, so each line is rounded (half away from zero).
MONEY = Decimal("1e-12")


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _later_report(folder: Path) -> Path:
    """A next report as OCI writes one: a correction of an earlier line, a credit, and December usage."""
    header, rows = _rows(OCI_SAMPLE)
    corrected = rows[0]
    correction = {
        **corrected,
        "lineItem/referenceNo": "c0rrection0000000000000000000001",
        "lineItem/isCorrection": "true",
        "lineItem/backreferenceNo": corrected["lineItem/referenceNo"],
        "usage/billedQuantity": "-0.041666666666500000",
        "cost/myCost": str(
            (Decimal("-0.041666666666500000") * Decimal(corrected["cost/unitPrice"])).quantize(Decimal("1e-18"))
        ),
    }
    credit = {
        **rows[1],
        "lineItem/referenceNo": "cred1t00000000000000000000000001",
        "usage/billedQuantity": "",
        "cost/unitPrice": "",
        "cost/myCost": "-0.500000000000000000",
    }
    december = {
        **rows[2],
        "lineItem/referenceNo": "dec000000000000000000000000000001",
        "lineItem/intervalUsageStart": "2023-12-01T00:00Z",
        "lineItem/intervalUsageEnd": "2023-12-01T01:00:00Z",
    }
    path = folder / "0000000030000270.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows([correction, credit, december])
    return path


def _raw_by_period(*paths: Path) -> dict[str, tuple[int, Decimal]]:
    totals: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for path in paths:
        for row in _rows(path)[1]:
            count, total = totals[row["lineItem/intervalUsageStart"][:7]]
            cost = Decimal(row["cost/myCost"]).quantize(MONEY, rounding=ROUND_HALF_UP)
            totals[row["lineItem/intervalUsageStart"][:7]] = (count + 1, total + cost)
    return dict(totals)


@pytest.fixture(scope="module")
def oci_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, list[Path]]:
    tmp = tmp_path_factory.mktemp("oci")
    settings = Settings(_env_file=None, data_dir=tmp / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    slug = onboard_org(
        get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Oracle Tenant"
    ).org_slug
    later = _later_report(tmp / "reports")
    for report in (OCI_SAMPLE, later):
        run_ingest(settings, slug, "oci", oci_source_for(report))
    transform_org(settings, slug)  # dbt build: every FOCUS data test must pass
    return settings, slug, [OCI_SAMPLE, later]


def test_billed_and_effective_cost_reconcile_to_my_cost_per_billing_period(
    oci_org: tuple[Settings, str, list[Path]],
) -> None:
    settings, slug, reports = oci_org
    rows = table_state(
        settings,
        f"""select strftime(BillingPeriodStart at time zone 'UTC', '%Y-%m'), count(*), sum(BilledCost),
                   sum(EffectiveCost)
            from {slug}_prod.cost_data_standard_1_3 where x_Provider = 'oci' group by all""",
    )
    focus = {str(period): (int(count), billed) for period, count, billed, _ in rows}  # type: ignore[misc]
    assert focus == _raw_by_period(*reports)
    assert set(focus) == {"2023-11", "2023-12"}
    # Nothing is amortised in OCI cost reports: EffectiveCost is the billed myCost, line by line.
    assert all(billed == effective for _, _, billed, effective in rows)


def test_rows_carry_oci_dimensions_corrections_and_credits(oci_org: tuple[Settings, str, list[Path]]) -> None:
    settings, slug, _ = oci_org
    table = f"{slug}_prod.cost_data_standard_1_3"
    kinds = table_state(
        settings, f"select ChargeCategory, ChargeClass, count(*) from {table} group by all order by all nulls first"
    )
    assert kinds == [("Credit", None, 1), ("Usage", None, 507), ("Usage", "Correction", 1)]
    names = table_state(
        settings,
        f"""select distinct ServiceProviderName, HostProviderName, InvoiceIssuerName, ProviderName, BillingAccountType,
                   SubAccountType, BillingAccountName from {table}""",
    )
    assert names == [("Oracle", "Oracle", "Oracle", "Oracle", "Tenancy", "Compartment", "platformpm2022")]
    unmapped = table_state(settings, f"select distinct x_ServiceCode from {table} where ServiceCategory = 'Other'")
    assert unmapped == []
    line = _rows(OCI_SAMPLE)[1][0]
    first = table_state(
        settings,
        f"""select distinct SkuId, SkuPriceId, RegionId, AvailabilityZone, ResourceType, PricingUnit, Tags
            from {table}
            where ChargeClass is null and ChargeDescription = '{line["product/Description"]}'
            and ResourceId = '{line["product/resourceId"]}'
            and ChargePeriodStart = timestamptz '2023-11-13 10:00:00+00'""",
    )
    assert len(first) == 1  # OCI meters this database in several lines per hour, all alike but the quantity
    sku, price_id, region, zone, resource_type, unit, tags = first[0]
    assert (sku, price_id, region, zone, resource_type, unit) == (
        "B92911",
        "B92911",
        "us-sanjose-1",
        "sj-1",
        "autonomousdatabase",
        "Hours",
    )
    assert json.loads(str(tags))["Valtest.Cat"] == "boots"


def test_exported_focus_file_passes_the_focus_validator(
    oci_org: tuple[Settings, str, list[Path]], tmp_path: Path
) -> None:
    settings, slug, _ = oci_org
    out = tmp_path / f"{slug}.parquet"
    assert get_warehouse(settings).export_focus(slug, out) == 509
    for criteria in ([], ["ALL"]):
        assert_focus_valid(out, tmp_path / "validation", ",".join(criteria))


def test_reingesting_the_same_reports_changes_nothing(oci_org: tuple[Settings, str, list[Path]]) -> None:
    settings, slug, reports = oci_org
    query = f"select count(*), sum(BilledCost) from {slug}_prod.cost_data_standard_1_3"
    before = table_state(settings, query)
    for report in reports:
        run_ingest(settings, slug, "oci", oci_source_for(report))
    transform_org(settings, slug)
    assert table_state(settings, query) == before
