"""Deterministic AWS billing files: CUR 2.0 Data Exports parquet, legacy CUR (CSV, CSV.gz, parquet), FOCUS 1.2 export.

One billing month of one payer account is generated as CUR 2.0 line items (column names and types from aws.md §2,
the Glue types of AWS's CID framework), then written as the format asked for, in parts of ``chunk_rows`` rows, each
delivery with its manifest. Rows come in Arrow record batches, so a ten-million-row month streams with flat memory.

Every month holds, besides ``usage_rows`` on-demand usage rows spread over accounts, services, SKUs, resources and
tags: an EC2 reservation (its up-front ``Fee`` in the first month, a monthly ``RIFee`` with an unused part,
``DiscountedUsage``), a Compute Savings Plan (``SavingsPlanRecurringFee`` with an unused part,
``SavingsPlanCoveredUsage`` and its ``SavingsPlanNegation``), an EDP discount, a promotional credit, a refund, tax per
account, a marketplace SaaS charge, first-party Amazon Bedrock tokens and a Claude (Amazon Bedrock Edition)
marketplace charge. Amounts are decimals with at most 8 fractional digits and 14 significant ones, so the doubles of
the parquet files hold them exactly and totals reconcile to the last digit.

Usage: python -m bench.generators.aws OUT_DIR [--format cur2|legacy-csv|legacy-csv.gz|legacy-parquet|focus]
       [--months N] [--rows N] [--accounts N]
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# CUR 2.0 columns this generator writes, in order, with their parquet types (aws.md §2).
STRING, DOUBLE, TIMESTAMP = pa.string(), pa.float64(), pa.timestamp("ms", tz="UTC")
MAP_STRING, MAP_DOUBLE = pa.map_(pa.string(), pa.string()), pa.map_(pa.string(), pa.float64())
CUR2_SCHEMA = pa.schema(
    [
        ("identity_line_item_id", STRING), ("identity_time_interval", STRING),
        ("bill_invoice_id", STRING), ("bill_invoicing_entity", STRING), ("bill_billing_entity", STRING),
        ("bill_bill_type", STRING), ("bill_payer_account_id", STRING), ("bill_payer_account_name", STRING),
        ("bill_billing_period_start_date", TIMESTAMP), ("bill_billing_period_end_date", TIMESTAMP),
        ("line_item_usage_account_id", STRING), ("line_item_usage_account_name", STRING),
        ("line_item_line_item_type", STRING), ("line_item_usage_start_date", TIMESTAMP),
        ("line_item_usage_end_date", TIMESTAMP), ("line_item_product_code", STRING),
        ("line_item_usage_type", STRING), ("line_item_operation", STRING), ("line_item_availability_zone", STRING),
        ("line_item_resource_id", STRING), ("line_item_usage_amount", DOUBLE), ("line_item_currency_code", STRING),
        ("line_item_unblended_rate", STRING), ("line_item_unblended_cost", DOUBLE),
        ("line_item_net_unblended_cost", DOUBLE), ("line_item_line_item_description", STRING),
        ("line_item_legal_entity", STRING), ("product_sku", STRING), ("product_region_code", STRING),
        ("product_product_family", STRING), ("product_instance_type", STRING), ("product_servicecode", STRING),
        ("pricing_rate_code", STRING), ("pricing_term", STRING), ("pricing_unit", STRING),
        ("pricing_public_on_demand_cost", DOUBLE), ("pricing_public_on_demand_rate", STRING),
        ("pricing_purchase_option", STRING),
        ("reservation_reservation_a_r_n", STRING), ("reservation_effective_cost", DOUBLE),
        ("reservation_amortized_upfront_fee_for_billing_period", DOUBLE),
        ("reservation_unused_amortized_upfront_fee_for_billing_period", DOUBLE),
        ("reservation_unused_recurring_fee", DOUBLE), ("reservation_unused_quantity", DOUBLE),
        ("savings_plan_savings_plan_a_r_n", STRING), ("savings_plan_savings_plan_effective_cost", DOUBLE),
        ("savings_plan_total_commitment_to_date", DOUBLE), ("savings_plan_used_commitment", DOUBLE),
        ("resource_tags", MAP_STRING), ("cost_category", MAP_STRING), ("discount", MAP_DOUBLE),
        ("product", MAP_STRING),
    ]
)  # fmt: skip
# Legacy CUR headers: category/CamelCase; the reader's normalisation maps each back to its CUR 2.0 name.
LEGACY_PREFIXES = {
    "identity": "identity",
    "bill": "bill",
    "line_item": "lineItem",
    "product": "product",
    "pricing": "pricing",
    "reservation": "reservation",
    "savings_plan": "savingsPlan",
}
LEGACY_PRODUCT_KEYS = {
    "product_name": "product/ProductName",
    "region": "product/region",
    "location": "product/location",
}
INVOICING_ENTITY = "Amazon Web Services, Inc."
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class _Service:
    code: str
    name: str
    usage_type: str
    operation: str
    unit: str
    rate: Decimal
    amount: tuple[int, int]
    family: str
    instance_type: str | None = None


SERVICES = (
    _Service("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:m5.large", "RunInstances", "Hrs",
             Decimal("0.096"), (1, 24), "Compute Instance", "m5.large"),
    _Service("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "GB-Mo",
             Decimal("0.08"), (1, 40), "Storage"),
    _Service("AmazonS3", "Amazon Simple Storage Service", "USE1-TimedStorage-ByteHrs", "StandardStorage", "GB-Mo",
             Decimal("0.023"), (1, 300), "Storage"),
    _Service("AmazonRDS", "Amazon Relational Database Service", "USE1-InstanceUsage:db.t3.medium",
             "CreateDBInstance", "Hrs", Decimal("0.068"), (1, 24), "Database Instance", "db.t3.medium"),
    _Service("AWSLambda", "AWS Lambda", "USE1-Request", "Invoke", "Requests", Decimal("0.0000002"),
             (1_000, 900_000), "Serverless"),
    _Service("AmazonCloudWatch", "AmazonCloudWatch", "USE1-CW:MetricMonitorUsage", "MetricStorage", "Metrics",
             Decimal("0.3"), (1, 20), "Metric"),
    _Service("AmazonDynamoDB", "Amazon DynamoDB", "USE1-ReadRequestUnits", "GetItem", "ReadRequestUnits",
             Decimal("0.00000025"), (10_000, 5_000_000), "Amazon DynamoDB PayPerRequest Throughput"),
)  # fmt: skip
BEDROCK_USAGES = (
    ("USE1-Claude3Haiku-input-tokens", "1K tokens", Decimal("0.00025"), "InvokeModelInference"),
    ("USE1-Claude3Haiku-output-tokens", "1K tokens", Decimal("0.00125"), "InvokeModelInference"),
    ("USE1-NovaPro-cache-read-input-tokens", "1K tokens", Decimal("0.0002"), "InvokeModelInference"),
)
TEAMS = ("platform", "data", "ml", "web")
ENVS = ("prod", "staging", "dev")


@dataclass(frozen=True)
class AwsConfig:
    """What to generate: one payer account, ``months`` billing months from ``first_month``."""

    payer: str = "111122223333"
    payer_name: str = "CloudAct Demo Payer"
    accounts: int = 3
    first_month: date = date(2026, 1, 1)
    months: int = 1
    days: int | None = None  # days of usage per month (default: the whole month)
    usage_rows: int = 200  # on-demand usage rows per month, besides the scenario rows
    scenarios: bool = True
    seed: int = 7
    # A re-delivery of the same months: revision N > 0 changes the usage amounts (and costs) of each month's last
    # ``revised_days`` days and nothing else, as AWS re-sends an open month whose last days' usage was updated.
    revision: int = 0
    revised_days: int = 2

    def account_ids(self) -> list[str]:
        return [self.payer] + [f"{444455556666 + index * 1111:012d}" for index in range(1, self.accounts)]


def month_range(config: AwsConfig) -> list[tuple[datetime, datetime]]:
    """(start, end) of each billing month, UTC, end exclusive."""
    out = []
    year, month = config.first_month.year, config.first_month.month
    for _ in range(config.months):
        start = datetime(year, month, 1, tzinfo=UTC)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append((start, datetime(year, month, 1, tzinfo=UTC)))
    return out


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-8"))


class _Month:
    """Line items of one billing month, as dicts of CUR 2.0 columns."""

    def __init__(self, config: AwsConfig, start: datetime, end: datetime, index: int) -> None:
        self.config, self.start, self.end, self.index = config, start, end, index
        self.random = random.Random(f"{config.seed}-{config.payer}-{start:%Y%m}")
        self.days = min(config.days or (end - start).days, (end - start).days)
        self.accounts = config.account_ids()
        self.counter = 0

    def row(self, account: str, line_type: str, day: int | None, **values: Any) -> dict[str, Any]:
        self.counter += 1
        usage_start = self.start + timedelta(days=day) if day is not None else self.start
        usage_end = usage_start + timedelta(days=1) if day is not None else self.end
        row: dict[str, Any] = {
            "identity_line_item_id": f"{self.config.payer}{self.start:%Y%m}{self.counter:010d}",
            "identity_time_interval": f"{usage_start:%Y-%m-%dT%H:%M:%SZ}/{usage_end:%Y-%m-%dT%H:%M:%SZ}",
            "bill_invoice_id": f"{self.start:%Y%m}{self.config.payer[-6:]}",
            "bill_invoicing_entity": INVOICING_ENTITY,
            "bill_billing_entity": "AWS",
            "bill_bill_type": "Anniversary",
            "bill_payer_account_id": self.config.payer,
            "bill_payer_account_name": self.config.payer_name,
            "bill_billing_period_start_date": self.start,
            "bill_billing_period_end_date": self.end,
            "line_item_usage_account_id": account,
            "line_item_usage_account_name": f"account-{account[-4:]}",
            "line_item_line_item_type": line_type,
            "line_item_usage_start_date": usage_start,
            "line_item_usage_end_date": usage_end,
            "line_item_currency_code": "USD",
            "line_item_legal_entity": INVOICING_ENTITY,
        }
        row.update(values)
        return row

    def usage(self, count: int) -> Iterator[dict[str, Any]]:
        rnd = self.random
        for number in range(count):
            service = SERVICES[number % len(SERVICES)]
            account = self.accounts[rnd.randrange(len(self.accounts))]
            day = rnd.randrange(self.days)
            amount = Decimal(rnd.randint(*service.amount))
            if self.config.revision and day >= self.days - self.config.revised_days:
                amount += self.config.revision  # the random stream is untouched: every other row stays the same
            cost = _money(service.rate * amount)
            resource = f"{service.code.lower()}-{account[-4:]}-{rnd.randrange(50):03d}"
            yield self.row(
                account,
                "Usage",
                day,
                **self._priced(service.code, service.name, service.usage_type, service.operation, service.unit),
                line_item_resource_id=resource,
                line_item_availability_zone="us-east-1a" if service.instance_type else None,
                line_item_usage_amount=amount,
                line_item_unblended_rate=service.rate,
                line_item_unblended_cost=cost,
                line_item_line_item_description=f"${service.rate} per {service.unit} of {service.usage_type}",
                product_product_family=service.family,
                product_instance_type=service.instance_type,
                pricing_term="OnDemand",
                pricing_public_on_demand_cost=cost,
                pricing_public_on_demand_rate=service.rate,
                resource_tags={"user_team": rnd.choice(TEAMS), "user_env": rnd.choice(ENVS)},
                cost_category={"business_unit": "engineering"},
            )

    def _priced(self, code: str, name: str, usage_type: str, operation: str, unit: str) -> dict[str, Any]:
        sku = _sku(code, usage_type)
        return {
            "line_item_product_code": code,
            "line_item_usage_type": usage_type,
            "line_item_operation": operation,
            "product_sku": sku,
            "product_region_code": "us-east-1",
            "product_servicecode": code,
            "pricing_rate_code": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
            "pricing_unit": unit,
            "product": {"product_name": name, "region": "us-east-1", "location": "US East (N. Virginia)"},
        }

    def scenarios(self) -> Iterator[dict[str, Any]]:
        yield from self._reservation()
        yield from self._savings_plan()
        yield from self._bedrock()
        yield from self._marketplace()
        yield from self._adjustments()

    def _reservation(self) -> Iterator[dict[str, Any]]:
        """One m5.large reservation, 1 year partial up-front: 0.03/h amortised up-front + 0.03/h recurring."""
        payer = self.config.payer
        arn = f"arn:aws:ec2:us-east-1:{payer}:reserved-instances/4b2a7c1e-0000-4000-8000-{payer}"
        upfront_hourly, recurring_hourly, used_hours = Decimal("0.03"), Decimal("0.03"), 20
        hours = Decimal(self.days * HOURS_PER_DAY)
        unused = hours - Decimal(self.days * used_hours)
        priced = self._priced("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-HeavyUsage:m5.large",
                              "RunInstances", "Hrs")  # fmt: skip
        common = {"reservation_reservation_a_r_n": arn, "pricing_term": "Reserved",
                  "pricing_purchase_option": "Partial Upfront", "product_instance_type": "m5.large"}  # fmt: skip
        if self.index == 0:
            upfront = _money(upfront_hourly * 8760)
            yield self.row(
                payer, "Fee", None, **priced, **common, bill_bill_type="Purchase",
                line_item_usage_amount=Decimal(1), line_item_unblended_rate=upfront,
                line_item_unblended_cost=upfront,
                line_item_line_item_description="Sign up charge for subscription: 1yr Partial Upfront m5.large",
            )  # fmt: skip
        yield self.row(
            payer, "RIFee", None, **priced, **common,
            line_item_usage_amount=hours, line_item_unblended_rate=recurring_hourly,
            line_item_unblended_cost=_money(recurring_hourly * hours),
            line_item_line_item_description="USD 0.03 hourly fee per Linux/UNIX (Amazon VPC), m5.large instance",
            reservation_amortized_upfront_fee_for_billing_period=_money(upfront_hourly * hours),
            reservation_unused_amortized_upfront_fee_for_billing_period=_money(upfront_hourly * unused),
            reservation_unused_recurring_fee=_money(recurring_hourly * unused),
            reservation_unused_quantity=unused,
        )  # fmt: skip
        on_demand = Decimal("0.096")
        for day in range(self.days):
            usage = self._priced("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:m5.large",
                                 "RunInstances", "Hrs")  # fmt: skip
            yield self.row(
                payer, "DiscountedUsage", day, **usage, **common,
                line_item_resource_id=f"i-0reserved{payer[-6:]}", line_item_availability_zone="us-east-1a",
                line_item_usage_amount=Decimal(used_hours), line_item_unblended_rate=Decimal(0),
                line_item_unblended_cost=Decimal(0),
                line_item_line_item_description="USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), m5.large reserved",
                pricing_public_on_demand_rate=on_demand, pricing_public_on_demand_cost=on_demand * used_hours,
                reservation_effective_cost=_money((upfront_hourly + recurring_hourly) * used_hours),
                resource_tags={"user_team": "platform", "user_env": "prod"},
            )  # fmt: skip

    def _savings_plan(self) -> Iterator[dict[str, Any]]:
        """A Compute Savings Plan, no up-front, 0.05/h; c5.xlarge usage at 0.04/h against 0.17/h on demand."""
        payer = self.config.payer
        account = self.accounts[-1]
        arn = f"arn:aws:savingsplans::{payer}:savingsplan/9f3e1d2c-0000-4000-8000-{payer}"
        commitment, sp_rate, on_demand, hours = Decimal("1.2"), Decimal("0.04"), Decimal("0.17"), 24
        for day in range(self.days):
            fee = self._priced("ComputeSavingsPlans", "Savings Plans for AWS Compute usage",
                               "ComputeSP:1yrNoUpfront", "", "Hrs")  # fmt: skip
            yield self.row(
                payer, "SavingsPlanRecurringFee", day, **fee, savings_plan_savings_plan_a_r_n=arn,
                line_item_usage_amount=Decimal(hours), line_item_unblended_rate=commitment / hours,
                line_item_unblended_cost=commitment, pricing_purchase_option="No Upfront",
                line_item_line_item_description="1 year No Upfront Compute Savings Plan",
                savings_plan_total_commitment_to_date=commitment,
                savings_plan_used_commitment=_money(sp_rate * hours),
            )  # fmt: skip
            usage = self._priced("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:c5.xlarge",
                                 "RunInstances", "Hrs")  # fmt: skip
            covered = {**usage, "line_item_resource_id": f"i-0spcovered{account[-6:]}",
                       "line_item_availability_zone": "us-east-1b", "product_instance_type": "c5.xlarge",
                       "savings_plan_savings_plan_a_r_n": arn, "pricing_term": "OnDemand"}  # fmt: skip
            yield self.row(
                account, "SavingsPlanCoveredUsage", day, **covered, line_item_usage_amount=Decimal(hours),
                line_item_unblended_rate=on_demand, line_item_unblended_cost=on_demand * hours,
                line_item_line_item_description="Linux/UNIX c5.xlarge covered by Compute Savings Plan",
                pricing_public_on_demand_rate=on_demand, pricing_public_on_demand_cost=on_demand * hours,
                savings_plan_savings_plan_effective_cost=_money(sp_rate * hours),
                resource_tags={"user_team": "data", "user_env": "prod"},
            )  # fmt: skip
            yield self.row(
                account, "SavingsPlanNegation", day, **covered, line_item_usage_amount=Decimal(hours),
                line_item_unblended_rate=-on_demand, line_item_unblended_cost=-(on_demand * hours),
                line_item_line_item_description="SavingsPlanNegation used by AccountId and UsageType",
            )  # fmt: skip

    def _bedrock(self) -> Iterator[dict[str, Any]]:
        account = self.accounts[min(1, len(self.accounts) - 1)]
        for day in range(0, self.days, 3):
            for usage_type, unit, rate, operation in BEDROCK_USAGES:
                amount = Decimal(self.random.randint(10, 5000))
                priced = self._priced("AmazonBedrock", "Amazon Bedrock", usage_type, operation, unit)
                yield self.row(
                    account, "Usage", day, **priced, line_item_usage_amount=amount, line_item_unblended_rate=rate,
                    line_item_unblended_cost=_money(rate * amount), pricing_term="OnDemand",
                    line_item_resource_id=f"arn:aws:bedrock:us-east-1::foundation-model/{usage_type.split('-')[1]}",
                    line_item_line_item_description=f"Amazon Bedrock {usage_type}",
                    pricing_public_on_demand_rate=rate, pricing_public_on_demand_cost=_money(rate * amount),
                    resource_tags={"user_team": "ml", "user_env": "prod"},
                )  # fmt: skip

    def _marketplace(self) -> Iterator[dict[str, Any]]:
        account = self.accounts[0]
        market = {"bill_billing_entity": "AWS Marketplace", "pricing_term": "OnDemand"}
        saas = self._priced("prod-7x2kq4acme", "Acme Observability SaaS", "USE1-MP:Hosts", "Usage", "Units")
        amount, rate = Decimal(40), Decimal("1.25")
        yield self.row(
            account, "Usage", None, **saas, **market, line_item_legal_entity="Acme Software Inc.",
            line_item_usage_amount=amount, line_item_unblended_rate=rate, line_item_unblended_cost=rate * amount,
            line_item_line_item_description="Acme Observability SaaS hosts", pricing_public_on_demand_rate=rate,
            pricing_public_on_demand_cost=rate * amount,
        )  # fmt: skip
        claude = self._priced("prod-4pmewlybdftbs", "Claude 3 Haiku (Amazon Bedrock Edition)",
                              "USE1-MP:USE1_OutputTokenCount-Units", "Usage", "Units")  # fmt: skip
        amount, rate = Decimal(2_000_000), Decimal("0.00000125")
        yield self.row(
            account, "Usage", None, **claude, **market, line_item_legal_entity="Anthropic, PBC",
            line_item_usage_amount=amount, line_item_unblended_rate=rate, line_item_unblended_cost=rate * amount,
            line_item_line_item_description="Claude 3 Haiku output tokens | Bedrock | Units",
            pricing_public_on_demand_rate=rate, pricing_public_on_demand_cost=rate * amount,
            line_item_resource_id=f"arn:aws:bedrock:us-east-1:{account}:inference-profile/us.anthropic.claude-3-haiku",
        )  # fmt: skip

    def _adjustments(self) -> Iterator[dict[str, Any]]:
        payer = self.config.payer
        for account in self.accounts:
            tax = _money(Decimal(self.random.randint(100, 5000)) / 100)
            yield self.row(
                account, "Tax", None, line_item_product_code="AmazonEC2", line_item_usage_type="",
                line_item_unblended_cost=tax, line_item_line_item_description="Tax for product code AmazonEC2",
                product={"product_name": "Amazon Elastic Compute Cloud"},
            )  # fmt: skip
        edp = _money(Decimal(-self.random.randint(100, 900)) / 100)
        yield self.row(
            payer, "EdpDiscount", None, line_item_product_code="AmazonEC2", line_item_unblended_cost=edp,
            line_item_line_item_description="Enterprise Discount Program discount",
            discount={"edp_discount": float(edp)},
            product={"product_name": "Amazon Elastic Compute Cloud"},
        )  # fmt: skip
        yield self.row(
            payer, "Credit", None, line_item_product_code="AmazonS3", line_item_unblended_cost=Decimal("-10"),
            line_item_line_item_description="AWS Promotional Credit", product={"product_name": "Amazon S3"},
        )  # fmt: skip
        if self.index == 0:
            yield self.row(
                payer, "Refund", None, bill_bill_type="Refund", line_item_product_code="AmazonRDS",
                line_item_unblended_cost=Decimal("-5.5"),
                line_item_line_item_description="Refund for Amazon RDS charges of the previous month",
                product={"product_name": "Amazon Relational Database Service"},
            )  # fmt: skip


@functools.cache
def _sku(code: str, usage_type: str) -> str:
    """A stable 16-character SKU per (service, usage type), like AWS's."""
    text = f"{code}/{usage_type}"
    value = 0
    for char in text:
        value = (value * 131 + ord(char)) % (36**16)
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(16):
        value, rest = divmod(value, 36)
        out += digits[rest]
    return out


def month_rows(config: AwsConfig, start: datetime, end: datetime, index: int) -> Iterator[dict[str, Any]]:
    """Every line item of one billing month, scenario rows first."""
    month = _Month(config, start, end, index)
    if config.scenarios:
        yield from month.scenarios()
    yield from month.usage(config.usage_rows)


def cur2_batches(
    config: AwsConfig, start: datetime, end: datetime, index: int, chunk_rows: int
) -> Iterator[pa.RecordBatch]:
    """One month's line items as CUR 2.0 record batches of at most ``chunk_rows`` rows."""
    for chunk in _chunks(month_rows(config, start, end, index), chunk_rows):
        yield _batch(chunk)


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    columns = []
    for field in CUR2_SCHEMA:
        values = [row.get(field.name) for row in rows]
        if field.type == DOUBLE:
            values = [None if value is None else float(value) for value in values]
        elif field.type == STRING:
            values = [None if value is None or value == "" else str(value) for value in values]
        elif pa.types.is_map(field.type):
            values = [list(value.items()) if value else None for value in values]
        columns.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=CUR2_SCHEMA)


def write_cur2(out: Path, config: AwsConfig, export: str = "cloudact-cur2", chunk_rows: int = 500_000) -> list[Path]:
    """A CUR 2.0 Data Export as AWS delivers it: ``<export>/data/BILLING_PERIOD=YYYY-MM/<export>-0000N.snappy.parquet``
    and ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` listing the parts. Returns the parts."""
    parts: list[Path] = []
    for index, (start, end) in enumerate(month_range(config)):
        folder = out / export / "data" / f"BILLING_PERIOD={start:%Y-%m}"
        folder.mkdir(parents=True, exist_ok=True)
        month_parts = []
        for number, batch in enumerate(cur2_batches(config, start, end, index, chunk_rows), start=1):
            path = folder / f"{export}-{number:05d}.snappy.parquet"
            pq.write_table(pa.Table.from_batches([batch]), path, compression="snappy")
            month_parts.append(path)
        manifest = out / export / "metadata" / f"BILLING_PERIOD={start:%Y-%m}" / f"{export}-Manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({
            "executionId": f"{start:%Y%m}-{config.seed}",
            "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{config.payer}:export/{export}",
            "exportName": export,
            "billingPeriod": {"start": f"{start:%Y-%m-%dT00:00:00.000Z}", "end": f"{end:%Y-%m-%dT00:00:00.000Z}"},
            "dataFiles": [f"s3://billing-bucket/cur/{path.relative_to(out).as_posix()}" for path in month_parts],
            "columns": [{"name": field.name, "type": str(field.type)} for field in CUR2_SCHEMA],
        }, indent=2))  # fmt: skip
        parts.extend(month_parts)
    return parts


@functools.cache
def legacy_header(name: str) -> str:
    """The legacy CUR header of a CUR 2.0 column (``line_item_unblended_cost`` → ``lineItem/UnblendedCost``)."""
    for prefix, legacy in LEGACY_PREFIXES.items():
        if name.startswith(prefix + "_"):
            rest = name[len(prefix) + 1 :].replace("a_r_n", "arn")
            words = rest.split("_")
            camel = "".join(word.upper() if word == "arn" else word.capitalize() for word in words)
            if prefix in ("product", "pricing") and len(words) == 1:
                camel = words[0]  # product/sku, product/region, pricing/term, pricing/unit
            return f"{legacy}/{camel}"
    raise ValueError(name)


def legacy_rows(config: AwsConfig, start: datetime, end: datetime, index: int) -> Iterator[dict[str, str]]:
    """One month's line items with legacy CUR headers, every value as CUR CSV text (tags one column per key)."""
    prefixes = {"resource_tags": "resourceTags/", "cost_category": "costCategory/", "discount": "discount/"}
    scalars = [(field.name, legacy_header(field.name)) for field in CUR2_SCHEMA if not pa.types.is_map(field.type)]
    for row in month_rows(config, start, end, index):
        out: dict[str, str] = {}
        for name, header in scalars:
            value = row.get(name)
            if isinstance(value, datetime):
                out[header] = f"{value:%Y-%m-%dT%H:%M:%SZ}"
            elif value is not None and value != "":
                out[header] = str(value)
        for name, prefix in prefixes.items():
            for key, item in (row.get(name) or {}).items():
                key = key.replace("user_", "user:", 1) if name == "resource_tags" else key
                out[prefix + key] = str(item)
        for key, item in (row.get("product") or {}).items():
            if key in LEGACY_PRODUCT_KEYS:
                out[LEGACY_PRODUCT_KEYS[key]] = str(item)
        yield out


def write_legacy(
    out: Path,
    config: AwsConfig,
    file_format: str = "csv.gz",
    report: str = "cloudact-cur",
    chunk_rows: int = 200_000,
    last_months: int | None = None,
) -> list[Path]:
    """A legacy CUR report: ``<report>/YYYYMMDD-YYYYMMDD/<assembly>/<report>-1.<csv|csv.gz|parquet>`` plus the
    delivery's ``<report>-Manifest.json`` (``reportKeys``), in the assembly and the period folder. Parquet uses the
    snake_case names of CUR's Athena format (``resource_tags_user_team``...). Returns the data files.

    Rows are written ``chunk_rows`` at a time, so a month of millions of rows streams with flat memory. The header is
    every column of the month's first chunk (the scenario rows and the first usage rows hold them all); a later row
    with another column is an error, not a silently dropped value.

    ``last_months``: write only the config's last N months (a re-delivery of the open month): each month's lines
    depend on its place in the config (the first month buys the commitments), so a month is only the same month again
    when written from the same config."""
    files = []
    months = month_range(config)
    for index, (start, end) in enumerate(months):
        if last_months is not None and index < len(months) - last_months:
            continue
        period = f"{start:%Y%m%d}-{end:%Y%m%d}"
        assembly = f"{config.seed:08d}-{config.revision:04d}-4000-8000-{start:%Y%m}00000000"
        path = out / report / period / assembly / f"{report}-1.{file_format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = _write_legacy_file(path, legacy_rows(config, start, end, index), file_format, chunk_rows)
        manifest = {
            "assemblyId": assembly,
            "account": config.payer,
            "reportName": report,
            "billingPeriod": {"start": f"{start:%Y%m%dT000000.000Z}", "end": f"{end:%Y%m%dT000000.000Z}"},
            "bucket": "billing-bucket",
            "reportKeys": [f"cur/{path.relative_to(out).as_posix()}"],
            "columns": [{"category": key.split("/")[0], "name": key.split("/")[-1]} for key in header],
        }
        # AWS writes the manifest twice: in the assembly folder (it stays with that delivery) and in the period folder
        # (replaced by each re-delivery), so an older assembly left in the bucket is still known to be older.
        (path.parent / f"{report}-Manifest.json").write_text(json.dumps(manifest, indent=2))
        (out / report / period / f"{report}-Manifest.json").write_text(json.dumps(manifest, indent=2))
        files.append(path)
    return files


def _write_legacy_file(path: Path, rows: Iterator[dict[str, str]], file_format: str, chunk_rows: int) -> list[str]:
    """Write one legacy CUR file chunk by chunk; returns its header (legacy column names)."""
    header: list[str] = []
    parquet: pq.ParquetWriter | None = None
    text: io.TextIOWrapper | None = None
    binary = path.open("wb") if file_format != "parquet" else None
    if binary is not None:
        stream: Any = binary
        if file_format.endswith(".gz"):  # no name and no time in the gzip header: the same rows, the same bytes
            stream = gzip.GzipFile(filename="", mode="wb", fileobj=binary, mtime=0)
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    writer: csv.DictWriter | None = None
    from ingestion.sources.aws_cur.helpers import normalize_column

    try:
        for chunk in _chunks(rows, chunk_rows):
            keys = {key for row in chunk for key in row}
            header = header or sorted(keys)
            extra = keys.difference(header)
            if extra:
                raise ValueError(f"{path}: columns {sorted(extra)} appear after the first {chunk_rows} rows")
            if file_format == "parquet":
                table = pa.table({normalize_column(key): pa.array([row.get(key) for row in chunk], STRING)
                                  for key in header})  # fmt: skip
                parquet = parquet or pq.ParquetWriter(path, table.schema)
                parquet.write_table(table)
            else:
                assert text is not None
                if writer is None:
                    writer = csv.DictWriter(text, fieldnames=header)
                    writer.writeheader()
                writer.writerows(chunk)
        if file_format == "parquet" and parquet is None:  # a month without rows: an empty file
            pq.write_table(pa.table({}), path)
    finally:
        if parquet is not None:
            parquet.close()
        if text is not None:
            text.close()  # closes the gzip stream, which leaves the file it writes to open
        if binary is not None:
            binary.close()
    return header


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Consecutive lists of at most ``size`` rows."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


FOCUS12_COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId", "CapacityReservationStatus",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus", "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity",
    "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName",
    "ListCost", "ListUnitPrice", "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory",
    "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId",
    "SubAccountName", "SubAccountType", "Tags", "x_Discounts", "x_Operation", "x_ServiceCode",
)  # fmt: skip
_FOCUS_DOUBLES = {"BilledCost", "CommitmentDiscountQuantity", "ConsumedQuantity", "ContractedCost",
                  "ContractedUnitPrice", "EffectiveCost", "ListCost", "ListUnitPrice",
                  "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
                  "PricingQuantity"}  # fmt: skip
_FOCUS_TIMES = {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
_FOCUS_MAPS = {"SkuPriceDetails": MAP_STRING, "Tags": MAP_STRING, "x_Discounts": MAP_DOUBLE}


def focus12_rows(config: AwsConfig, start: datetime, end: datetime, index: int) -> Iterator[dict[str, Any]]:
    """One month as AWS's FOCUS 1.2 export would show it (usage, covered and unused commitment, purchase, tax, credit,
    marketplace): each CUR line item converted by AWS's amortisation rules, SavingsPlanNegation left out."""
    for row in month_rows(config, start, end, index):
        line_type = row["line_item_line_item_type"]
        if line_type == "SavingsPlanNegation":
            continue
        cost = Decimal(row.get("line_item_unblended_cost") or 0)
        commitment = row.get("reservation_reservation_a_r_n") or row.get("savings_plan_savings_plan_a_r_n")
        category = {"Tax": "Tax", "Credit": "Credit", "Refund": "Credit", "EdpDiscount": "Credit",
                    "Fee": "Purchase", "RIFee": "Purchase", "SavingsPlanRecurringFee": "Purchase"}.get(
            line_type, "Usage")  # fmt: skip
        effective = {
            "DiscountedUsage": row.get("reservation_effective_cost"),
            "SavingsPlanCoveredUsage": row.get("savings_plan_savings_plan_effective_cost"),
            "Fee": Decimal(0),
            "RIFee": Decimal(0),
            "SavingsPlanRecurringFee": Decimal(0),
        }.get(line_type, cost)
        billed = Decimal(0) if line_type == "SavingsPlanCoveredUsage" else cost
        priced = category in ("Usage", "Purchase")
        quantity = row.get("line_item_usage_amount")
        list_price = row.get("pricing_public_on_demand_rate") or row.get("line_item_unblended_rate")
        if priced and (quantity is None or list_price is None):
            priced = False
        list_cost = Decimal(list_price) * Decimal(quantity) if priced else billed
        product = row.get("product") or {}
        marketplace = row["bill_billing_entity"] == "AWS Marketplace"
        yield {
            "AvailabilityZone": row.get("line_item_availability_zone"),
            "BilledCost": billed,
            "BillingAccountId": row["bill_payer_account_id"],
            "BillingAccountName": row["bill_payer_account_name"],
            "BillingAccountType": "Billing Account",
            "BillingCurrency": "USD",
            "BillingPeriodEnd": end,
            "BillingPeriodStart": start,
            "ChargeCategory": category,
            "ChargeClass": "Correction" if line_type == "Refund" else None,
            "ChargeDescription": row.get("line_item_line_item_description"),
            "ChargeFrequency": (
                "Usage-Based" if category == "Usage" else ("One-Time" if line_type == "Fee" else "Recurring")
            ),
            "ChargePeriodEnd": row["line_item_usage_end_date"],
            "ChargePeriodStart": row["line_item_usage_start_date"],
            "CommitmentDiscountCategory": (("Usage" if "reserved" in commitment else "Spend") if commitment else None),
            "CommitmentDiscountId": commitment,
            "CommitmentDiscountStatus": "Used" if commitment and category == "Usage" else None,
            "CommitmentDiscountType": (("Reserved Instance" if "reserved" in commitment else "Savings Plan")
                                       if commitment else None),  # fmt: skip
            "ConsumedQuantity": quantity if priced and category == "Usage" else None,
            "ConsumedUnit": row.get("pricing_unit") if priced and category == "Usage" else None,
            "ContractedCost": list_cost,
            "ContractedUnitPrice": list_price if priced else None,
            "EffectiveCost": effective,
            "InvoiceId": row["bill_invoice_id"],
            "InvoiceIssuerName": INVOICING_ENTITY,
            "ListCost": list_cost,
            "ListUnitPrice": list_price if priced else None,
            "PricingCategory": ("Committed" if commitment and category == "Usage" else "Standard") if priced else None,
            "PricingCurrency": "USD",
            "PricingCurrencyContractedUnitPrice": list_price if priced else None,
            "PricingCurrencyEffectiveCost": effective,
            "PricingCurrencyListUnitPrice": list_price if priced else None,
            "PricingQuantity": quantity if priced else None,
            "PricingUnit": row.get("pricing_unit") if priced else None,
            "ProviderName": "AWS",
            "PublisherName": row["line_item_legal_entity"] if marketplace else "AWS",
            "RegionId": row.get("product_region_code"),
            "RegionName": product.get("location"),
            "ResourceId": row.get("line_item_resource_id"),
            "ServiceCategory": "Compute",
            "ServiceName": product.get("product_name") or row["line_item_product_code"],
            "ServiceSubcategory": "Other (Compute)",
            "SkuId": row.get("product_sku") if priced else None,
            "SkuMeter": row.get("line_item_usage_type") or None,
            "SkuPriceDetails": (
                {"InstanceType": row["product_instance_type"]} if priced and row.get("product_instance_type") else None
            ),
            "SkuPriceId": row.get("pricing_rate_code") if priced else None,
            "SubAccountId": row["line_item_usage_account_id"],
            "SubAccountName": row["line_item_usage_account_name"],
            "SubAccountType": "Linked Account",
            "Tags": row.get("resource_tags"),
            "x_Discounts": row.get("discount"),
            "x_Operation": row.get("line_item_operation"),
            "x_ServiceCode": row["line_item_product_code"],
        }  # fmt: skip


def write_focus12(
    out: Path, config: AwsConfig, export: str = "cloudact-focus", file_format: str = "parquet"
) -> list[Path]:
    """AWS's FOCUS 1.2 Data Export (``FOCUS_1_2_AWS``), laid out and manifested like CUR 2.0. Returns the parts."""
    parts = []
    for index, (start, end) in enumerate(month_range(config)):
        rows = list(focus12_rows(config, start, end, index))
        folder = out / export / "data" / f"BILLING_PERIOD={start:%Y-%m}"
        folder.mkdir(parents=True, exist_ok=True)
        columns = {}
        for name in FOCUS12_COLUMNS:
            values = [row.get(name) for row in rows]
            if name in _FOCUS_DOUBLES:
                columns[name] = pa.array([None if v is None else float(v) for v in values], DOUBLE)
            elif name in _FOCUS_TIMES:
                columns[name] = pa.array(values, TIMESTAMP)
            elif name in _FOCUS_MAPS:
                columns[name] = pa.array([list(v.items()) if v else None for v in values], _FOCUS_MAPS[name])
            else:
                columns[name] = pa.array([None if v is None else str(v) for v in values], STRING)
        table = pa.table(columns)
        if file_format == "parquet":
            path = folder / f"{export}-00001.snappy.parquet"
            pq.write_table(table, path)
        else:
            import pyarrow.csv as pv

            path = folder / f"{export}-00001.csv.gz"
            flat = table.drop_columns(list(_FOCUS_MAPS))
            for name in _FOCUS_TIMES:
                index = flat.schema.get_field_index(name)
                flat = flat.set_column(index, name, pc.strftime(flat[name], format="%Y-%m-%dT%H:%M:%SZ"))
            buffer = io.BytesIO()
            pv.write_csv(flat, buffer)
            path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
        manifest = out / export / "metadata" / f"BILLING_PERIOD={start:%Y-%m}" / f"{export}-Manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({
            "exportName": export,
            "billingPeriod": {"start": f"{start:%Y-%m-%dT00:00:00.000Z}", "end": f"{end:%Y-%m-%dT00:00:00.000Z}"},
            "dataFiles": [f"s3://billing-bucket/focus/{path.relative_to(out).as_posix()}"],
        }, indent=2))  # fmt: skip
        parts.append(path)
    return parts


def main(argv: list[str] | None = None) -> None:
    """Write generated AWS billing files to a folder (benchmark input)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--format", default="cur2",
                        choices=["cur2", "legacy-csv", "legacy-csv.gz", "legacy-parquet", "focus"])  # fmt: skip
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--rows", type=int, default=1000, help="on-demand usage rows per month")
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    config = AwsConfig(accounts=args.accounts, months=args.months, usage_rows=args.rows, seed=args.seed)
    if args.format == "cur2":
        write_cur2(args.out, config)
    elif args.format == "focus":
        write_focus12(args.out, config)
    else:
        write_legacy(args.out, config, args.format.removeprefix("legacy-"))


if __name__ == "__main__":
    main()
