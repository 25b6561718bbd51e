"""OCI FOCUS reports end to end: FOCUS Reports/YYYY/MM/DD/*.csv.gz (derived from the real cost report sample, with
Oracle's 1.0-preview/1.2 column mix) → ingest → dbt build → FOCUS 1.3, checked against the raw files."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from bench.generators.oci import focus_line, read_cost_report, write_focus_report
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
MONEY = Decimal("1e-12")
CRITERIA = (
    "ACCOUNT_NAMING_SUPPORTED,AVAILABILITY_ZONE_SUPPORTED,MULTIPLE_PRICING_CATEGORIES_SUPPORTED,"
    "NEGOTIATED_PRICING_SUPPORTED,PUBLIC_PRICE_LIST_SUPPORTED,USAGE_MEASUREMENT_SUPPORTED,UNIT_PRICING_SUPPORTED,"
    "SUB_ACCOUNT_SUPPORTED,BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED,RESOURCE_TYPE_ASSIGNMENT_SUPPORTED,"
    "REGION_SUPPORTED,TAGGING_SUPPORTED"
)


def _later_lines() -> list[dict[str, str]]:
    """A next report: a correction of an earlier line, a credit and December usage."""
    lines = read_cost_report(OCI_SAMPLE)
    corrected = lines[0]
    correction = dict(corrected)
    correction.update({
        "lineItem/referenceNo": "c0rrection0000000000000000000001", "lineItem/isCorrection": "true",
        "lineItem/backreferenceNo": corrected["lineItem/referenceNo"], "usage/billedQuantity": "-0.0416666666665",
        "cost/myCost": str(
            (Decimal("-0.0416666666665") * Decimal(corrected["cost/unitPrice"])).quantize(Decimal("1e-18"))
        ),
    })  # fmt: skip
    credit = dict(lines[1], **{"lineItem/referenceNo": "cred1t", "usage/billedQuantity": "", "cost/unitPrice": "",
                               "cost/myCost": "-0.5"})  # fmt: skip
    december = dict(lines[2], **{"lineItem/referenceNo": "dec0001", "lineItem/intervalUsageStart": "2023-12-01T00:00Z",
                                 "lineItem/intervalUsageEnd": "2023-12-01T01:00:00Z"})  # fmt: skip
    return [correction, credit, december]


def _raw(folder: Path) -> dict[str, tuple[int, Decimal, Decimal]]:
    """Per billing period (YYYY-MM): rows, sum BilledCost, sum EffectiveCost of every report file under ``folder``."""
    totals: dict[str, list[object]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for path in sorted(folder.rglob("*.csv.gz")):
        with gzip.open(path, "rt", newline="") as handle:
            for row in csv.DictReader(handle):
                entry = totals[row["BillingPeriodStart"][:7]]
                entry[0] += 1  # type: ignore[operator]
                entry[1] += Decimal(row["BilledCost"]).quantize(MONEY, rounding=ROUND_HALF_UP)  # type: ignore[operator]
                entry[2] += Decimal(row["EffectiveCost"]).quantize(MONEY, rounding=ROUND_HALF_UP)  # type: ignore[operator]
    return {key: (int(v[0]), v[1], v[2]) for key, v in totals.items()}  # type: ignore[misc]


@pytest.fixture(scope="module")
def oci_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, Path]:
    root = tmp_path_factory.mktemp("oci_focus")
    settings = Settings(_env_file=None, data_dir=root / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    slug = onboard_org(get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Oracle F").org_slug
    bucket = root / "bucket"
    write_focus_report(bucket, "2023-11-13", 1, [focus_line(line) for line in read_cost_report(OCI_SAMPLE)])
    write_focus_report(bucket, "2023-12-01", 2, [focus_line(line) for line in _later_lines()])
    # The tenancy's cost report for November is loaded too: the FOCUS reports supersede it.
    run_ingest(settings, slug, "oci", oci_source_for(OCI_SAMPLE))
    run_ingest(settings, slug, "oci", oci_source_for(bucket))
    transform_org(settings, slug)
    return settings, slug, root


def _focus_totals(settings: Settings, slug: str) -> dict[str, tuple[int, Decimal, Decimal]]:
    rows = table_state(
        settings,
        f"""select strftime(BillingPeriodStart at time zone 'UTC', '%Y-%m'), count(*), sum(BilledCost),
                   sum(EffectiveCost)
            from {slug}_prod.cost_data_standard_1_3 where x_Provider = 'oci' group by 1""",
    )
    return {str(p): (int(n), b, e) for p, n, b, e in rows}  # type: ignore[misc]


def test_billed_and_effective_cost_reconcile_per_billing_period(oci_org: tuple[Settings, str, Path]) -> None:
    settings, slug, root = oci_org
    assert _focus_totals(settings, slug) == _raw(root / "bucket")
    sources = table_state(settings, f"select distinct x_SourceSystem from {slug}_prod.cost_data_standard_1_3")
    assert sources == [("oci_focus_reports",)]  # the cost report lines of the same tenancy+month are superseded


def test_rows_are_normalised_to_focus_1_3(oci_org: tuple[Settings, str, Path]) -> None:
    settings, slug, _ = oci_org
    table = f"{slug}_prod.cost_data_standard_1_3"
    kinds = table_state(
        settings, f"select ChargeCategory, ChargeClass, count(*) from {table} group by all order by all"
    )
    assert kinds == [("Credit", None, 1), ("Usage", "Correction", 1), ("Usage", None, 507)]
    names = table_state(
        settings,
        f"""select distinct ServiceProviderName, HostProviderName, InvoiceIssuerName, ProviderName, ChargeFrequency
            from {table} where ChargeCategory = 'Usage'""",
    )
    assert names == [("Oracle", "Oracle", "Oracle", "Oracle", "Usage-Based")]  # 'Usage-based' fixed
    assert table_state(settings, f"select distinct x_ServiceCode from {table} where ServiceCategory = 'Other'") == []
    line = read_cost_report(OCI_SAMPLE)[0]
    row = table_state(
        settings,
        f"""select SkuId, SkuPriceId, PricingCategory, RegionId, AvailabilityZone, ResourceType, PricingUnit,
                   ConsumedQuantity, SubAccountId, SubAccountType, Tags, x_ProviderDetails
            from {table}
            where json_extract_string(x_ProviderDetails, '$.x_ReferenceNumber') = '{line["lineItem/referenceNo"]}'""",
    )
    assert len(row) == 1
    sku, price, category, region, zone, kind, unit, consumed, sub, sub_type, tags, details = row[0]
    assert (sku, price, category, region, zone, unit) == (
        line["cost/productSku"], line["cost/productSku"], "Standard", line["product/region"],
        line["product/availabilityDomain"], line["cost/skuUnitDescription"],
    )  # fmt: skip
    assert kind == line["product/resourceId"].split(".")[1]
    assert consumed == Decimal(line["usage/billedQuantity"])
    assert (sub, sub_type) == (line["lineItem/tenantId"], "Tenancy")
    assert json.loads(str(tags))["Valtest.Cat"] == line["tags/Valtest.Cat"]
    assert json.loads(str(details))["x_CompartmentName"] == line["product/compartmentName"]


def test_exported_focus_file_passes_the_validator(oci_org: tuple[Settings, str, Path]) -> None:
    settings, slug, root = oci_org
    out = root / "focus.parquet"
    assert get_warehouse(settings).export_focus(slug, out) == 509
    for criteria in ([], [CRITERIA]):
        assert_focus_valid(out, root / f"validation{len(criteria)}", ",".join(criteria))


def test_redelivered_report_replaces_its_rows_without_duplicates(oci_org: tuple[Settings, str, Path]) -> None:
    settings, slug, root = oci_org
    before = _focus_totals(settings, slug)
    # Report 1 delivered again, changed: its first 100 lines only, each at 0.25.
    again = root / "again"
    lines = [dict(line, **{"cost/myCost": "0.25"}) for line in read_cost_report(OCI_SAMPLE)[:100]]
    write_focus_report(again, "2023-11-13", 1, [focus_line(line) for line in lines])
    run_ingest(settings, slug, "oci", oci_source_for(again))
    transform_org(settings, slug)
    after = _focus_totals(settings, slug)
    december = _raw(root / "bucket")["2023-12"]
    # November = the re-delivered report (100 x 0.25) + the correction and credit of report 2.
    report2 = root / "report2"
    write_focus_report(report2, "2023-12-01", 2, [focus_line(line) for line in _later_lines()])
    november_later = _raw(report2)["2023-11"]
    assert after["2023-11"] == (
        100 + november_later[0],
        Decimal(25) + november_later[1],
        Decimal(25) + november_later[2],
    )
    assert after["2023-12"] == before["2023-12"] == december
    duplicates = table_state(
        settings, f"select count(*) - count(distinct x_ChargeId) from {slug}_prod.cost_data_standard_1_3"
    )
    assert duplicates == [(0,)]


def test_org_pipeline_ingests_an_oci_integration_from_its_export_path(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from cloudact.integrations import set_integration
    from cloudact.pipeline import PIPELINE_PROVIDERS, ingest_provider

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    warehouse, keyring = get_warehouse(settings), get_keyring(settings)
    slug = onboard_org(get_control_plane(settings), warehouse, keyring, "Oci Pipeline").org_slug
    write_focus_report(tmp_path / "synced", "2023-12-01", 2, [focus_line(line) for line in _later_lines()])
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    creds = {
        "tenancy_ocid": "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq",
        "user_ocid": "ocid1.user.oc1..aaaaaaaa4seqx6jeyma46ldy4cbuv35q4l26scz5p4rkz3rauuoioo26qwmq",
        "fingerprint": "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34", "private_key": key.decode(),
        "region": "us-ashburn-1", "export_path": str(tmp_path / "synced"),
    }  # fmt: skip
    set_integration(warehouse, keyring, slug, "oci", creds)
    assert "oci" in PIPELINE_PROVIDERS
    assert ingest_provider(settings, warehouse, keyring, slug, "oci") == 3
