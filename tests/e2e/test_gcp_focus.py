"""GCP billing export end to end: onboard → ingest NDJSON and Parquet → dbt build → FOCUS, checked vs the raw files."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bench.generators.gcp import CUD_ID, write_export
from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import gcp_source_for, run_ingest
from tests.conftest import SAMPLES, table_state
from tests.support.focus_validator import assert_focus_valid

pytestmark = pytest.mark.slow

# What Cloud Billing supports (validator README): no virtual currency, contract commitments, capacity reservations,
# split cost allocation or multiple billing account types in the detailed export.
GCP_CRITERIA = ",".join(
    [
        "ACCOUNT_NAMING_SUPPORTED",
        "AVAILABILITY_ZONE_SUPPORTED",
        "COMMITMENT_DISCOUNT_SUPPORTED",
        "MULTIPLE_PRICING_CATEGORIES_SUPPORTED",
        "MULTIPLE_SUB_ACCOUNT_TYPES_SUPPORTED",
        "NEGOTIATED_PRICING_SUPPORTED",
        "PUBLIC_PRICE_LIST_SUPPORTED",
        "USAGE_MEASUREMENT_SUPPORTED",
        "UNIT_PRICING_SUPPORTED",
        "SUB_ACCOUNT_SUPPORTED",
        "BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED",
        "RESOURCE_TYPE_ASSIGNMENT_SUPPORTED",
        "PRICING_BILLING_CURRENCY_DIFFERENCES_SUPPORTED",
        "REGION_SUPPORTED",
        "TAGGING_SUPPORTED",
    ]
)
FOCUS_BY_MONTH = """
    select json_extract_string(x_ProviderDetails, '$.invoice_month') as month, count(*), sum(BilledCost),
           sum(EffectiveCost), sum(case when ChargeCategory = 'Credit' then BilledCost end)
    from {table} where x_Provider = 'gcp' group by all"""


def _raw_rows(path: Path) -> list[dict[str, Any]]:
    """Export rows with exact decimal costs, from NDJSON(.gz) or Parquet."""
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        for row in rows:
            row["cost"] = Decimal(repr(row["cost"]))
            for credit in row["credits"]:
                credit["amount"] = Decimal(repr(credit["amount"]))
        return rows
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return [json.loads(line, parse_float=Decimal) for line in handle if line.strip()]


def _raw_by_month(*paths: Path) -> dict[str, tuple[int, Decimal, Decimal]]:
    """Per invoice month: FOCUS rows expected (1 per row + 1 per credit), sum(cost) + sum(credits), sum(credits)."""
    totals: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
    for path in paths:
        for row in _raw_rows(path):
            credits = row.get("credits") or []
            total = totals[row["invoice"]["month"]]
            total[0] += 1 + len(credits)
            total[1] += Decimal(row["cost"]) + sum((Decimal(c["amount"]) for c in credits), Decimal(0))
            total[2] += sum((Decimal(c["amount"]) for c in credits), Decimal(0))
    return {month: (count, billed, credits) for month, (count, billed, credits) in totals.items()}


def _focus_by_month(settings: Settings, slug: str) -> dict[str, tuple[int, Decimal, Decimal]]:
    rows = table_state(settings, FOCUS_BY_MONTH.format(table=f"{slug}_prod.cost_data_standard_1_3"))
    for month, _, billed, effective, _ in rows:
        # Amortising commitment fees moves effective cost between rows, never in or out of a month.
        assert abs(billed - effective) < Decimal("1e-9"), month  # type: ignore[operator]
    return {str(m): (int(n), billed, credits) for m, n, billed, _, credits in rows}  # type: ignore[misc]


@pytest.fixture(scope="module")
def gcp_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, list[Path]]:
    tmp = tmp_path_factory.mktemp("gcp")
    settings = Settings(_env_file=None, data_dir=tmp / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    slug = onboard_org(
        get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Google Shop"
    ).org_slug
    ndjson = tmp / "extract" / "october-november.jsonl.gz"
    write_export(ndjson, rows_per_month=40, seed=11, months=("202510", "202511"))
    parquet = tmp / "extract" / "december.parquet"
    write_export(parquet, rows_per_month=25, seed=12, months=("202511", "202512"))
    # The Parquet extract restates November too, so only its November rows count (it was delivered last).
    run_ingest(settings, slug, "gcp", gcp_source_for(ndjson))
    run_ingest(settings, slug, "gcp", gcp_source_for(parquet))
    transform_org(settings, slug)  # dbt build: every FOCUS data test must pass
    return settings, slug, [ndjson, parquet]


def test_billed_cost_reconciles_to_cost_plus_credits_per_invoice_month(
    gcp_org: tuple[Settings, str, list[Path]],
) -> None:
    settings, slug, (ndjson, parquet) = gcp_org
    expected = _raw_by_month(parquet)
    expected["202510"] = _raw_by_month(ndjson)["202510"]
    assert _focus_by_month(settings, slug) == expected
    assert set(expected) == {"202510", "202511", "202512"} and all(credits < 0 for _, _, credits in expected.values())


def test_scenarios_map_to_the_expected_focus_values(gcp_org: tuple[Settings, str, list[Path]]) -> None:
    settings, slug, _ = gcp_org
    table = f"{slug}_prod.cost_data_standard_1_3"
    rows = table_state(
        settings,
        f"""select json_extract_string(Tags, '$.scenario'), ChargeCategory, ChargeClass, ChargeFrequency,
                   PricingCategory, BilledCost, EffectiveCost, CommitmentDiscountId, CommitmentDiscountStatus,
                   ServiceCategory, ServiceSubcategory, x_AiModel, x_AiTokenType, SkuId,
                   json_extract_string(x_ProviderDetails, '$.credit_type')
            from {table}
            where json_extract_string(x_ProviderDetails, '$.invoice_month') = '202510' and Tags like '%scenario%'""",
    )
    by_scenario: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_scenario[str(row[0])].append(row[1:])

    def one(scenario: str, category: str = "Usage") -> tuple[Any, ...]:
        matches = [row for row in by_scenario[scenario] if row[0] == category]
        assert len(matches) == 1, (scenario, category, by_scenario[scenario])
        return matches[0]

    vm_cost = Decimal("0.758664")
    credit = one("sud_vm", "Credit")
    assert credit[:5] == ("Credit", None, "Usage-Based", None, Decimal("-0.151733"))
    assert credit[5] == credit[4] and credit[-1] == "SUSTAINED_USAGE_DISCOUNT" and credit[-2] is None
    assert one("sud_vm")[:5] == ("Usage", None, "Usage-Based", "Standard", vm_cost)
    assert len(by_scenario["gcs_promotion"]) == 3  # usage + PROMOTION + SUSTAINED_USAGE_DISCOUNT credits

    fee, covered = one("cud_fee", "Purchase"), one("cud_covered_vm")
    assert fee[:8] == ("Purchase", None, "Recurring", "Standard", Decimal("0.47796"), Decimal(0), CUD_ID, None)
    assert covered[:8] == ("Usage", None, "Usage-Based", "Committed", vm_cost, vm_cost + fee[4], CUD_ID, "Used")
    cud_credit = one("cud_covered_vm", "Credit")
    assert cud_credit[4] == -vm_cost and cud_credit[-1] == "COMMITTED_USAGE_DISCOUNT"

    tax = one("tax", "Tax")
    assert tax[:6] == ("Tax", None, "One-Time", None, Decimal("1.234567"), Decimal("1.234567")) and tax[12] is None

    gemini = {
        scenario: one(scenario)[8:12]
        for scenario in ("gemini_input", "gemini_output", "gemini_cached", "gemini_grounding", "gemini_api_output")
    }
    genai = ("AI and Machine Learning", "Generative AI")
    assert gemini == {
        "gemini_input": (*genai, "gemini-2.5-flash", "input"),
        "gemini_output": (*genai, "gemini-2.5-flash", "output"),
        "gemini_cached": (*genai, "gemini-2.5-pro", "cached_input"),
        "gemini_grounding": (*genai, None, "web_search"),
        "gemini_api_output": (*genai, "gemini-2.0-flash", "output"),
    }
    assert one("sud_vm")[8:10] == ("Compute", "Virtual Machines")
    assert one("late_row")[:2] == ("Usage", None)

    correction = table_state(
        settings,
        f"""select ChargeCategory, ChargeClass, BilledCost, ChargePeriodStart < BillingPeriodStart,
                   json_extract_string(x_ProviderDetails, '$.adjustment_type')
            from {table} where json_extract_string(Tags, '$.scenario') = 'correction'
            and json_extract_string(x_ProviderDetails, '$.invoice_month') = '202512'""",
    )
    assert correction == [("Adjustment", "Correction", Decimal("-0.063222"), True, "USAGE_CORRECTION")]


def test_dimensions_tags_and_billing_periods(gcp_org: tuple[Settings, str, list[Path]]) -> None:
    settings, slug, _ = gcp_org
    table = f"{slug}_prod.cost_data_standard_1_3"
    row = table_state(
        settings,
        f"""select Tags, SubAccountId, SubAccountType, RegionId, AvailabilityZone, PricingUnit, ConsumedUnit,
                   SkuPriceId, BillingPeriodStart, BillingPeriodEnd, ProviderName, HostProviderName, InvoiceIssuerName
            from {table}
            where json_extract_string(Tags, '$.scenario') = 'sud_vm' and ChargeCategory = 'Usage'
            and json_extract_string(x_ProviderDetails, '$.invoice_month') = '202511'""",
    )
    assert len(row) == 1
    tags, *rest = row[0]
    assert json.loads(str(tags)) == {
        "app": "shop",
        "scenario": "sud_vm",
        "project:env": "prod",
        "tag:cost-center": "cc-42",
        "compute.googleapis.com/machine_spec": "n2-standard-4",
    }
    start, end = rest[7].isoformat(), rest[8].isoformat()  # type: ignore[attr-defined]
    assert rest[:7] == ["shop-prod-4711", "Project", "us-central1", "us-central1-a", "Hours", "Seconds",
                        "CP-N2-CORE/7754-699E-0EBF"]  # fmt: skip
    # Invoice months are Pacific time: November 2025 starts 07:00 UTC (PDT) and ends 08:00 UTC (PST).
    assert (start, end) == ("2025-11-01T07:00:00+00:00", "2025-12-01T08:00:00+00:00")
    assert rest[9:] == ["Google Cloud", "Google Cloud", "Google Cloud"]


def test_exported_focus_file_passes_the_focus_validator(
    gcp_org: tuple[Settings, str, list[Path]], tmp_path: Path
) -> None:
    settings, slug, _ = gcp_org
    out = tmp_path / f"{slug}.parquet"
    assert get_warehouse(settings).export_focus(slug, out) > 0
    for criteria in ([GCP_CRITERIA], ["ALL"]):
        assert_focus_valid(out, tmp_path / f"validation{len(criteria[0])}", ",".join(criteria))


def test_a_restated_month_replaces_its_rows_without_duplicates(
    gcp_org: tuple[Settings, str, list[Path]], tmp_path: Path
) -> None:
    settings, slug, (ndjson, parquet) = gcp_org
    before = _focus_by_month(settings, slug)
    restated = tmp_path / "restated" / "december.jsonl"
    write_export(restated, rows_per_month=60, seed=99, months=("202512",), cost_factor=Decimal(3))
    run_ingest(settings, slug, "gcp", gcp_source_for(restated))
    transform_org(settings, slug)
    after = _focus_by_month(settings, slug)
    assert after["202512"] == _raw_by_month(restated)["202512"] != before["202512"]
    assert {m: v for m, v in after.items() if m != "202512"} == {m: v for m, v in before.items() if m != "202512"}
    duplicates = table_state(
        settings,
        f"""select x_ChargeId from {slug}_prod.cost_data_standard_1_3 group by all having count(*) > 1""",
    )
    assert duplicates == []
