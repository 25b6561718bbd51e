"""AWS end to end: legacy CUR sample, generated CUR 2.0, legacy CUR parquet and a FOCUS 1.2 export → FOCUS 1.3.

One org, one dbt build (every FOCUS data test must pass), then the scenarios' FOCUS values, the reconciliation per
billing period computed from the raw files in Python, the FOCUS validator, and a restated month.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bench.generators.aws import AwsConfig, write_cur2, write_focus12, write_legacy
from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import aws_source_for, run_ingest
from tests.conftest import AWS_SAMPLE, SAMPLES, table_state
from tests.support.focus_validator import assert_focus_valid

pytestmark = pytest.mark.slow

CUR2_PAYER, PARQUET_PAYER, FOCUS_PAYER = "111122223333", "222233334444", "999988887777"
# What AWS supports (validator applicability criteria): no virtual currency, split cost allocation or contract
# commitments in these files.
AWS_CRITERIA = ",".join(
    f"{name}_SUPPORTED"
    for name in (
        "ACCOUNT_NAMING", "AVAILABILITY_ZONE", "CAPACITY_RESERVATION", "COMMITMENT_DISCOUNT",
        "MULTIPLE_PRICING_CATEGORIES", "NEGOTIATED_PRICING", "PUBLIC_PRICE_LIST", "USAGE_MEASUREMENT", "UNIT_PRICING",
        "SUB_ACCOUNT", "BILLING_BASED_ON_PROVISIONED_RESOURCES", "REGION", "TAGGING",
    )
)  # fmt: skip


def _number(value: Any) -> Decimal:
    return Decimal(0) if value is None or value == "" else Decimal(str(value))


def cur_totals(rows: list[dict[str, Any]], period_of: Any) -> dict[str, tuple[Decimal, Decimal]]:
    """Per billing period: the invoice total (sum of unblended cost over every line item) and AWS's amortised total.

    AWS's amortisation: covered usage at its effective cost, a RIFee at its unused up-front and recurring part, a
    SavingsPlanRecurringFee at its unused commitment, the reservation's up-front Fee, SavingsPlanUpfrontFee and
    SavingsPlanNegation at 0 (their money is in the effective cost of the covered usage), everything else unblended.
    """
    totals: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
    for row in rows:
        kind, cost = row["line_item_line_item_type"], _number(row["line_item_unblended_cost"])
        if kind == "DiscountedUsage":
            amortised = _number(row["reservation_effective_cost"])
        elif kind == "SavingsPlanCoveredUsage":
            amortised = _number(row["savings_plan_savings_plan_effective_cost"])
        elif kind == "RIFee":
            amortised = _number(row["reservation_unused_amortized_upfront_fee_for_billing_period"]) + _number(
                row["reservation_unused_recurring_fee"]
            )
        elif kind == "SavingsPlanRecurringFee":
            amortised = _number(row["savings_plan_total_commitment_to_date"]) - _number(
                row["savings_plan_used_commitment"]
            )
        elif kind in ("SavingsPlanNegation", "SavingsPlanUpfrontFee") or (
            kind == "Fee" and (row.get("reservation_reservation_a_r_n") or row.get("reservation_reservation_arn"))
        ):
            amortised = Decimal(0)
        else:
            amortised = cost
        billed, effective = totals[period_of(row)]
        totals[period_of(row)] = (billed + cost, effective + amortised)
    return dict(totals)


def _parquet_rows(files: list[Path]) -> list[dict[str, Any]]:
    return [row for path in files for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def aws_org(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("aws")
    settings = Settings(_env_file=None, data_dir=tmp / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    slug = onboard_org(
        get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "AWS Tenant"
    ).org_slug
    cur2 = write_cur2(tmp / "cur2", AwsConfig(payer=CUR2_PAYER, months=2, usage_rows=120))
    parquet = write_legacy(tmp / "legacy", AwsConfig(payer=PARQUET_PAYER, usage_rows=60, days=10), "parquet")
    focus = write_focus12(tmp / "focus", AwsConfig(payer=FOCUS_PAYER, usage_rows=60, days=10))
    for source in (AWS_SAMPLE, tmp / "cur2", tmp / "legacy", tmp / "focus"):
        run_ingest(settings, slug, "aws", aws_source_for(source))
    transform_org(settings, slug)  # dbt build: every FOCUS data test must pass
    return {"settings": settings, "slug": slug, "tmp": tmp, "cur2": cur2, "parquet": parquet, "focus": focus}


def _focus(org: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    return table_state(org["settings"], sql.replace("FOCUS", f"{org['slug']}_prod.cost_data_standard_1_3"))


def _focus_totals(org: dict[str, Any], account: str) -> dict[str, tuple[Decimal, Decimal]]:
    rows = _focus(
        org,
        f"""select strftime(BillingPeriodStart at time zone 'UTC', '%Y-%m'), sum(BilledCost), sum(EffectiveCost)
            from FOCUS where BillingAccountId = '{account}' group by 1""",
    )
    return {str(period): (Decimal(billed), Decimal(effective)) for period, billed, effective in rows}


def test_billed_and_effective_cost_reconcile_per_billing_period(aws_org: dict[str, Any]) -> None:
    def start_month(row: dict[str, Any]) -> str:
        return str(row["bill_billing_period_start_date"].strftime("%Y-%m"))

    expected = cur_totals(_parquet_rows(aws_org["cur2"]), start_month)
    assert set(expected) == {"2026-01", "2026-02"}
    assert _focus_totals(aws_org, CUR2_PAYER) == expected
    # Commitments make the two totals differ: the reservation's up-front fee is billed in January, amortised after.
    assert expected["2026-01"][0] != expected["2026-01"][1]

    legacy = [{**row, "bill_billing_period_start_date": row["bill_billing_period_start_date"][:7]}
              for row in _parquet_rows(aws_org["parquet"])]  # fmt: skip
    assert _focus_totals(aws_org, PARQUET_PAYER) == cur_totals(
        legacy, lambda row: row["bill_billing_period_start_date"]
    )

    with AWS_SAMPLE.open(newline="") as handle:
        sample = [
            {"line_item_line_item_type": row["lineItem/LineItemType"],
             "line_item_unblended_cost": row["lineItem/UnblendedCost"]}
            for row in csv.DictReader(handle)
        ]  # fmt: skip
    assert _focus_totals(aws_org, "123412340534") == cur_totals(sample, lambda row: "2023-11")

    focus = _parquet_rows(aws_org["focus"])
    assert _focus_totals(aws_org, FOCUS_PAYER) == {
        "2026-01": (sum(_number(r["BilledCost"]) for r in focus), sum(_number(r["EffectiveCost"]) for r in focus))
    }


def test_reservation_rows(aws_org: dict[str, Any]) -> None:
    rows = _focus(
        aws_org,
        f"""select strftime(BillingPeriodStart at time zone 'UTC', '%Y-%m'), x_LineItemType, ChargeCategory,
                   ChargeFrequency, CommitmentDiscountStatus, CommitmentDiscountType, CommitmentDiscountCategory,
                   PricingCategory, count(*), sum(BilledCost), sum(EffectiveCost),
                   bool_and(ResourceId = CommitmentDiscountId)
            from FOCUS where BillingAccountId = '{CUR2_PAYER}' and CommitmentDiscountType = 'Reservation'
            group by all order by all""",
    )
    january = {row[1:8]: row[8:] for row in rows if row[0] == "2026-01"}
    upfront, hours = Decimal("0.03") * 8760, 31 * 24
    assert january[("Fee", "Purchase", "One-Time", None, "Reservation", "Usage", "Standard")] == (1, upfront, 0, True)
    assert january[("RIFee", "Purchase", "Recurring", None, "Reservation", "Usage", "Standard")] == (
        1, Decimal("0.03") * hours, 0, True,
    )  # fmt: skip
    # 20 of 24 hours a day used at 0.06/h effective; the unused 4 h/day carry the amortised up-front + recurring fee.
    assert january[("DiscountedUsage", "Usage", "Usage-Based", "Used", "Reservation", "Usage", "Committed")] == (
        31, 0, Decimal("0.06") * 20 * 31, False,
    )  # fmt: skip
    assert january[("RIFee", "Usage", "Usage-Based", "Unused", "Reservation", "Usage", "Committed")] == (
        1, 0, Decimal("0.06") * 4 * 31, True,
    )  # fmt: skip
    assert not any(row[1] == "Fee" for row in rows if row[0] == "2026-02")  # the up-front fee is paid once


def test_savings_plan_rows(aws_org: dict[str, Any]) -> None:
    rows = _focus(
        aws_org,
        f"""select x_LineItemType, ChargeCategory, CommitmentDiscountStatus, CommitmentDiscountCategory,
                   CommitmentDiscountUnit, PricingCategory, count(*), sum(BilledCost), sum(EffectiveCost)
            from FOCUS where BillingAccountId = '{CUR2_PAYER}' and CommitmentDiscountType = 'Savings Plan'
              and BillingPeriodStart = timestamptz '2026-02-01 00:00:00+00'
            group by all order by all""",
    )
    days = 28
    assert rows == [
        ("SavingsPlanCoveredUsage", "Usage", "Used", "Spend", "USD", "Committed", days, 0, Decimal("0.96") * days),
        ("SavingsPlanRecurringFee", "Purchase", None, "Spend", "USD", "Standard", days, Decimal("1.2") * days, 0),
        ("SavingsPlanRecurringFee", "Usage", "Unused", "Spend", "USD", "Committed", days, 0, Decimal("0.24") * days),
    ]
    # FOCUS: per commitment, the usage's EffectiveCost (used + unused) is what the purchases billed.
    assert rows[0][8] + rows[2][8] == rows[1][7]
    assert _focus(aws_org, "select count(*) from FOCUS where x_LineItemType = 'SavingsPlanNegation'") == [(0,)]


def test_refund_tax_credits_and_discounts(aws_org: dict[str, Any]) -> None:
    rows = _focus(
        aws_org,
        f"""select x_LineItemType, ChargeCategory, ChargeClass, ChargeFrequency, PricingCategory, SkuPriceId,
                   bool_and(EffectiveCost = BilledCost and ListCost = BilledCost), count(*), sum(BilledCost)
            from FOCUS where BillingAccountId = '{CUR2_PAYER}'
              and x_LineItemType in ('Refund', 'Tax', 'Credit', 'EdpDiscount')
            group by all order by all""",
    )
    kinds = {row[0]: row[1:7] for row in rows}
    assert kinds == {
        "Credit": ("Credit", None, "One-Time", None, None, True),
        "EdpDiscount": ("Credit", None, "Usage-Based", None, None, True),
        "Refund": ("Credit", "Correction", "One-Time", None, None, True),
        "Tax": ("Tax", None, "Recurring", None, None, True),
    }
    counts = {row[0]: (row[7], row[8]) for row in rows}
    assert counts["Refund"] == (1, Decimal("-5.5")) and counts["Credit"] == (2, Decimal("-20"))
    assert counts["Tax"][0] == 6  # one per account per month


def test_marketplace_and_bedrock_rows(aws_org: dict[str, Any]) -> None:
    rows = _focus(
        aws_org,
        f"""select ServiceName, ServiceCategory, ServiceSubcategory, ServiceProviderName, HostProviderName,
                   InvoiceIssuerName, ProviderName, PublisherName, x_ServiceCode, x_AiModel, x_AiTokenType,
                   count(*)
            from FOCUS where BillingAccountId = '{CUR2_PAYER}'
              and (x_ProviderDetails like '%AWS Marketplace%' or x_ServiceCode = 'AmazonBedrock')
            group by all order by all""",
    )
    aws = ("AWS", "AWS", "Amazon Web Services, Inc.", "AWS", "AWS")
    genai = ("AI and Machine Learning", "Generative AI")
    assert [row[:11] for row in rows] == [
        ("Acme Observability SaaS", "Other", "Other (Other)", "Acme Software Inc.", "Acme Software Inc.",
         "Amazon Web Services, Inc.", "Acme Software Inc.", "Acme Software Inc.", "prod-7x2kq4acme", None, None),
        ("Amazon Bedrock", *genai, *aws, "AmazonBedrock", "Claude3Haiku", "input"),
        ("Amazon Bedrock", *genai, *aws, "AmazonBedrock", "Claude3Haiku", "output"),
        ("Amazon Bedrock", *genai, *aws, "AmazonBedrock", "NovaPro", "cached_input"),
        ("Claude 3 Haiku (Amazon Bedrock Edition)", *genai, "Anthropic, PBC", "AWS", "Amazon Web Services, Inc.",
         "Anthropic, PBC", "Anthropic, PBC", "AmazonBedrock", "Claude 3 Haiku", "output"),
    ]  # fmt: skip
    units = _focus(aws_org, "select distinct PricingUnit from FOCUS where x_AiModel = 'Claude3Haiku'")
    assert units == [("1000 Tokens",)]
    details = _focus(aws_org, "select x_ProviderDetails from FOCUS where x_AiModel = 'Claude 3 Haiku'")
    assert json.loads(str(details[0][0]))["x_ProductCode"] == "prod-4pmewlybdftbs"


def test_focus_export_rows_become_1_3(aws_org: dict[str, Any]) -> None:
    rows = _focus(
        aws_org,
        f"""select distinct ServiceProviderName, HostProviderName, ProviderName, x_SourceSystem
            from FOCUS where BillingAccountId = '{FOCUS_PAYER}' order by all""",
    )
    assert rows == [
        ("AWS", "AWS", "AWS", "aws_focus_export"),
        ("Acme Software Inc.", "AWS", "Acme Software Inc.", "aws_focus_export"),
        ("Anthropic, PBC", "AWS", "Anthropic, PBC", "aws_focus_export"),
    ]
    bedrock = _focus(
        aws_org,
        f"""select distinct x_AiModel, x_AiTokenType, ServiceCategory from FOCUS
            where BillingAccountId = '{FOCUS_PAYER}' and x_AiModel is not null order by all""",
    )
    assert ("Claude3Haiku", "input", "AI and Machine Learning") in bedrock
    assert ("Claude 3 Haiku", "output", "AI and Machine Learning") in bedrock


def test_exported_focus_file_passes_the_focus_validator(aws_org: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "aws.parquet"
    count = get_warehouse(aws_org["settings"]).export_focus(aws_org["slug"], out)
    assert count == _focus(aws_org, "select count(*) from FOCUS")[0][0]
    for criteria in ([AWS_CRITERIA], ["ALL"]):
        assert_focus_valid(out, tmp_path / f"validator{len(criteria)}", ",".join(criteria))


def test_restated_month_replaces_its_rows_without_duplicates(aws_org: dict[str, Any]) -> None:
    settings, slug, tmp = aws_org["settings"], aws_org["slug"], aws_org["tmp"]
    query = "select count(*), count(distinct x_ChargeId), sum(BilledCost) from FOCUS"
    before = _focus(aws_org, query)
    run_ingest(settings, slug, "aws", aws_source_for(tmp / "cur2"))  # the same delivery again: nothing changes
    transform_org(settings, slug)
    assert _focus(aws_org, query) == before

    # AWS re-delivers January (OVERWRITE_REPORT: same file name) with other usage rows.
    january = aws_org["cur2"][0]
    restated = write_cur2(tmp / "restated", AwsConfig(payer=CUR2_PAYER, usage_rows=40, seed=11))[0]
    shutil.copy(restated, january)
    run_ingest(settings, slug, "aws", aws_source_for(tmp / "cur2"))
    transform_org(settings, slug)

    def start_month(row: dict[str, Any]) -> str:
        return str(row["bill_billing_period_start_date"].strftime("%Y-%m"))

    assert _focus_totals(aws_org, CUR2_PAYER) == cur_totals(_parquet_rows(aws_org["cur2"]), start_month)
    count, distinct, _ = _focus(aws_org, query)[0]
    assert count == distinct  # no charge twice
    per_period = _focus(
        aws_org,
        f"""select count(*) from FOCUS where BillingAccountId = '{CUR2_PAYER}'
            and BillingPeriodStart = timestamptz '2026-01-01 00:00:00+00'""",
    )[0][0]
    raw = pq.read_table(january).to_pylist()
    negations = sum(row["line_item_line_item_type"] == "SavingsPlanNegation" for row in raw)
    recurring = sum(row["line_item_line_item_type"] == "SavingsPlanRecurringFee" for row in raw)
    # Negations give no FOCUS row; the RIFee and each SavingsPlanRecurringFee give an extra Unused row.
    assert per_period == len(raw) - negations + 1 + recurring
    assert before[0][0] - count == 80  # 120 usage rows became 40


def test_a_focus_export_supersedes_the_cur_of_the_same_payer_and_period(aws_org: dict[str, Any]) -> None:
    """A tenant that starts delivering AWS's FOCUS export next to its CUR is not counted twice: for that payer and
    billing period the FOCUS export's rows replace the CUR's (the incremental build rebuilds that period)."""
    settings, slug, tmp = aws_org["settings"], aws_org["slug"], aws_org["tmp"]
    before = _focus(aws_org, f"select count(*) from FOCUS where BillingAccountId = '{PARQUET_PAYER}'")[0][0]
    assert before > 0
    focus_files = write_focus12(tmp / "focus_same_payer", AwsConfig(payer=PARQUET_PAYER, usage_rows=30, days=10))
    run_ingest(settings, slug, "aws", aws_source_for(tmp / "focus_same_payer"))
    transform_org(settings, slug)
    rows = _focus(
        aws_org,
        f"""select x_SourceSystem, count(*), sum(BilledCost) from FOCUS
            where BillingAccountId = '{PARQUET_PAYER}' group by all""",
    )
    expected = [row for path in focus_files for row in pq.read_table(path).to_pylist()]
    assert [(system, count) for system, count, _ in rows] == [("aws_focus_export", len(expected))]
    assert rows[0][2] == sum(Decimal(str(row["BilledCost"])) for row in expected)
    # The next nights leave that period alone, also when its CUR is delivered again: its lines stay superseded, and
    # the changed periods are read from the CUR's raw periods with the superseded ones left out, as in staging.
    write_legacy(tmp / "legacy_again", AwsConfig(payer=PARQUET_PAYER, usage_rows=60, days=10), "parquet")
    run_ingest(settings, slug, "aws", aws_source_for(tmp / "legacy_again"))
    transform_org(settings, slug)
    changed = table_state(settings, f"select period_key from {slug}_prod.int_focus_changed_periods")
    assert not [key for (key,) in changed if PARQUET_PAYER in str(key)]
    again = _focus(
        aws_org,
        f"""select x_SourceSystem, count(*), sum(BilledCost) from FOCUS
            where BillingAccountId = '{PARQUET_PAYER}' group by all""",
    )
    assert again == rows
