"""Realistic generated provider data for the demo and the tests: legacy CUR CSV files and OpenAI cost buckets.

Deterministic for a given seed. Amounts are exact decimals (written as text), so tests can reconcile to the cent.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

CUR_HEADER = [
    "identity/LineItemId", "identity/TimeInterval", "bill/InvoiceId", "bill/InvoicingEntity", "bill/BillingEntity",
    "bill/BillType", "bill/PayerAccountId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate",
    "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UsageEndDate",
    "lineItem/ProductCode", "lineItem/UsageType", "lineItem/Operation", "lineItem/AvailabilityZone",
    "lineItem/ResourceId", "lineItem/UsageAmount", "lineItem/CurrencyCode", "lineItem/UnblendedRate",
    "lineItem/UnblendedCost", "lineItem/LineItemDescription", "lineItem/LegalEntity", "product/ProductName",
    "product/region", "product/location", "product/sku", "product/instanceType", "pricing/RateCode",
    "pricing/publicOnDemandCost", "pricing/publicOnDemandRate", "pricing/term", "pricing/unit",
    "resourceTags/user:team", "resourceTags/user:env",
]  # fmt: skip


@dataclass(frozen=True)
class _AwsUsage:
    product_code: str
    product_name: str
    usage_type: str
    operation: str
    unit: str
    rate: Decimal
    daily_amount: tuple[int, int]
    instance_type: str = ""


AWS_USAGES = (
    _AwsUsage("AmazonEC2", "Amazon Elastic Compute Cloud", "BoxUsage:m5.large", "RunInstances", "Hrs",
              Decimal("0.096"), (24, 96), "m5.large"),
    _AwsUsage("AmazonEC2", "Amazon Elastic Compute Cloud", "EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "GB-Mo",
              Decimal("0.08"), (3, 40)),
    _AwsUsage("AmazonS3", "Amazon Simple Storage Service", "TimedStorage-ByteHrs", "StandardStorage", "GB-Mo",
              Decimal("0.023"), (10, 300)),
    _AwsUsage("AmazonRDS", "Amazon Relational Database Service", "InstanceUsage:db.t3.medium", "CreateDBInstance",
              "Hrs", Decimal("0.068"), (24, 48), "db.t3.medium"),
    _AwsUsage("AWSLambda", "AWS Lambda", "Request", "Invoke", "Requests", Decimal("0.0000002"), (10_000, 900_000)),
    _AwsUsage("AmazonCloudWatch", "AmazonCloudWatch", "CW:MetricMonitorUsage", "MetricStorage", "Metrics",
              Decimal("0.3"), (1, 20)),
    _AwsUsage("AmazonBedrock", "Amazon Bedrock", "USE1-Claude3Haiku-input-tokens", "InvokeModel", "Tokens",
              Decimal("0.00000025"), (100_000, 5_000_000)),
)  # fmt: skip
TEAMS = ("platform", "data", "ml", "web")
ENVS = ("prod", "staging", "dev")


def _period(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def generate_cur(
    folder: Path, payer: str, accounts: list[str], first_day: date, days: int, seed: int
) -> dict[str, Decimal]:
    """Write one legacy CUR CSV.gz per billing period under ``folder``.

    Returns:
        The invoice-basis total (sum of lineItem/UnblendedCost) per billing period ``YYYY-MM``.
    """
    rng = random.Random(seed)
    rows_by_period: dict[date, list[list[str]]] = {}
    usage_by_period_product: dict[tuple[date, str], Decimal] = {}
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        period_start, period_end = _period(day)
        rows = rows_by_period.setdefault(period_start, [])
        for account in accounts:
            for usage in AWS_USAGES:
                amount = Decimal(rng.randint(*usage.daily_amount))
                if usage.unit == "GB-Mo":
                    amount = (amount / Decimal(30)).quantize(Decimal("0.0000001"))
                cost = (amount * usage.rate).quantize(Decimal("0.0000000001"))
                team, env = rng.choice(TEAMS), rng.choice(ENVS)
                resource = f"i-{hashlib.md5(f'{account}{usage.usage_type}'.encode()).hexdigest()[:17]}"
                usage_by_period_product[(period_start, usage.product_code)] = (
                    usage_by_period_product.get((period_start, usage.product_code), Decimal(0)) + cost
                )
                sku = hashlib.md5(usage.usage_type.encode()).hexdigest()[:16].upper()
                rows.append([
                    hashlib.sha1(f"{seed}{account}{usage.usage_type}{day}".encode()).hexdigest(),
                    f"{_iso(day)}/{_iso(day + timedelta(days=1))}", "", "Amazon Web Services, Inc.", "AWS",
                    "Anniversary", payer, _iso(period_start), _iso(period_end), account, "Usage", _iso(day),
                    _iso(day + timedelta(days=1)), usage.product_code, usage.usage_type, usage.operation,
                    "us-east-1a" if usage.product_code in ("AmazonEC2", "AmazonRDS") else "", resource,
                    str(amount), "USD", str(usage.rate), str(cost),
                    f"${usage.rate} per {usage.unit} for {usage.usage_type}", "Amazon Web Services, Inc.",
                    usage.product_name, "us-east-1", "US East (N. Virginia)", sku, usage.instance_type,
                    f"{sku}.JRTCKXETXF.6YS6EN2CT7", str(cost), str(usage.rate), "OnDemand", usage.unit,
                    team, env,
                ])  # fmt: skip
    totals: dict[str, Decimal] = {}
    for (period_start, product), usage_total in sorted(usage_by_period_product.items()):
        tax = (usage_total * Decimal("0.05")).quantize(Decimal("0.01"))
        period_end = _period(period_start)[1]
        rows_by_period[period_start].append([
            hashlib.sha1(f"{seed}tax{product}{period_start}".encode()).hexdigest(),
            f"{_iso(period_start)}/{_iso(period_end)}", "", "Amazon Web Services, Inc.", "AWS", "Anniversary", payer,
            _iso(period_start), _iso(period_end), accounts[0], "Tax", _iso(period_start), _iso(period_end), product,
            "", "", "", "", "1", "USD", "", str(tax), f"Tax for product code {product}", "Amazon Web Services, Inc.",
            "", "", "", "", "", "", "", "", "", "", "", "",
        ])  # fmt: skip
    for period_start, rows in sorted(rows_by_period.items()):
        period_end = _period(period_start)[1]
        rows.append([
            hashlib.sha1(f"{seed}credit{period_start}".encode()).hexdigest(),
            f"{_iso(period_start)}/{_iso(period_end)}", "", "Amazon Web Services, Inc.", "AWS", "Anniversary", payer,
            _iso(period_start), _iso(period_end), accounts[0], "Credit", _iso(period_start), _iso(period_end),
            "AmazonEC2", "", "", "", "", "", "USD", "", "-10.0", "AWS Activate credit", "Amazon Web Services, Inc.",
            "Amazon Elastic Compute Cloud", "", "", "", "", "", "", "", "", "", "", "",
        ])  # fmt: skip
        target = folder / f"{period_start:%Y%m%d}-{period_end:%Y%m%d}" / "cloudact-demo-cur-00001.csv.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wt", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CUR_HEADER)
            writer.writerows(rows)
        totals[f"{period_start:%Y-%m}"] = sum((Decimal(row[21]) for row in rows), Decimal(0))
    return totals


OPENAI_LINE_ITEMS = (
    ("gpt-4o, input", Decimal("0.0000025"), (200_000, 8_000_000)),
    ("gpt-4o, output", Decimal("0.00001"), (50_000, 2_000_000)),
    ("gpt-4o-mini, input", Decimal("0.00000015"), (1_000_000, 30_000_000)),
    ("text-embedding-3-small, input", Decimal("0.00000002"), (1_000_000, 50_000_000)),
)


def generate_openai_buckets(first_day: date, days: int, projects: list[str], seed: int) -> list[dict[str, Any]]:
    """Daily Costs API buckets (``group_by=project_id,line_item``) with token quantities and exact amounts."""
    rng = random.Random(seed)
    buckets = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        results = []
        for project in projects:
            for line_item, price, bounds in OPENAI_LINE_ITEMS:
                quantity = rng.randint(*bounds)
                amount = (price * quantity).quantize(Decimal("0.000001"))
                results.append({
                    "object": "organization.costs.result",
                    "amount": {"value": float(amount), "currency": "usd"},
                    "line_item": line_item, "project_id": project, "api_key_id": None,
                    "quantity": quantity, "quantity_unit": "tokens",
                })  # fmt: skip
        buckets.append({"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": results})
    return buckets


def openai_totals(buckets: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Invoice-basis total (sum of amount.value) per calendar month ``YYYY-MM`` of the buckets."""
    totals: dict[str, Decimal] = {}
    for bucket in buckets:
        month = datetime.fromtimestamp(bucket["start_time"], UTC).strftime("%Y-%m")
        for result in bucket["results"]:
            totals[month] = totals.get(month, Decimal(0)) + Decimal(repr(result["amount"]["value"]))
    return totals
