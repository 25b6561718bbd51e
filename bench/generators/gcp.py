"""A deterministic GCP detailed billing export (``gcp_billing_export_resource_v1_*``) with its nested schema.

Rows follow the documented BigQuery schema (../shared/providers/gcp.md §2): ``service``, ``sku``, ``project``,
``location``, ``price``, ``usage``, ``invoice`` records, repeated ``credits[]``, ``labels[]``, ``system_labels[]``,
``project.labels[]`` and resource manager ``tags[]``. Every invoice month holds the same fixed scenarios (see
:data:`SCENARIOS`) plus ``rows_per_month`` random usage rows, so tests can assert exact FOCUS values and a benchmark
can ask for a million rows. Rows are produced in chunks and written chunk by chunk (NDJSON as ``bq extract
--destination_format NEWLINE_DELIMITED_JSON`` writes it, or Parquet), never as one giant list.

Usage: ``python -m bench.generators.gcp OUT.jsonl[.gz]|OUT.parquet [--rows N] [--seed S] [--months 202510,202511]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BILLING_ACCOUNT_ID = "01A2B3-C4D5E6-F7A8B9"
CURRENCY = "USD"
COMPUTE = {"id": "6F81-5844-456A", "description": "Compute Engine"}
BIGQUERY = {"id": "24E6-581D-38E5", "description": "BigQuery"}
STORAGE = {"id": "95FF-2EF5-5EA1", "description": "Cloud Storage"}
VERTEX = {"id": "C7E2-9256-1C43", "description": "Vertex AI"}
GEMINI_API = {"id": "AEFD-7695-64FA", "description": "Gemini API"}
INVOICE = {"id": "2062-016F-44A2", "description": "Invoice"}
PROJECTS = (
    {
        "id": "shop-prod-4711",
        "number": "104638659710",
        "name": "Shop Production",
        "labels": [{"key": "env", "value": "prod"}],
    },
    {"id": "shop-dev-4712", "number": "104638659711", "name": "Shop Dev", "labels": [{"key": "env", "value": "dev"}]},
    {"id": "ml-research-4713", "number": "104638659712", "name": "ML Research", "labels": []},
)
# (service, sku id, sku description, usage unit, pricing unit, unit list price per pricing unit, units per pricing unit)
RANDOM_SKUS = (
    (COMPUTE, "CP-N2-CORE", "N2 Instance Core running in Americas", "seconds", "hour", Decimal("0.031611"), 3600),
    (
        COMPUTE,
        "CP-N2-RAM",
        "N2 Instance Ram running in Americas",
        "byte-seconds",
        "gibibyte hour",
        Decimal("0.004237"),
        3865470566400,
    ),
    (BIGQUERY, "BQ-ANALYSIS", "Analysis", "bytes", "tebibyte", Decimal("6.25"), 1099511627776),
    (
        STORAGE,
        "GCS-STD",
        "Standard Storage US Multi-region",
        "byte-seconds",
        "gibibyte month",
        Decimal("0.026"),
        2852126720000000,
    ),
)
REGIONS = (("us-central1", "US", "us-central1-a"), ("europe-west4", "NL", "europe-west4-b"), ("us-east1", "US", None))
CUD_ID = "commitment-cud-n2-1y-0001"
CREDIT_TYPES = ("SUSTAINED_USAGE_DISCOUNT", "COMMITTED_USAGE_DISCOUNT", "FREE_TIER", "PROMOTION")
#: The fixed rows every month holds (by ``labels.scenario``), in this order, before the random rows.
SCENARIOS = (
    "sud_vm",
    "cud_covered_vm",
    "cud_fee",
    "bq_free_tier",
    "gcs_promotion",
    "gemini_input",
    "gemini_output",
    "gemini_cached",
    "gemini_grounding",
    "gemini_api_output",
    "late_row",
    "tax",
)
SCENARIOS_LATER_MONTHS = ("correction",)

KV = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
SCHEMA = pa.schema(
    [
        ("billing_account_id", pa.string()),
        ("service", pa.struct([("id", pa.string()), ("description", pa.string())])),
        ("sku", pa.struct([("id", pa.string()), ("description", pa.string())])),
        ("usage_start_time", pa.timestamp("us", tz="UTC")),
        ("usage_end_time", pa.timestamp("us", tz="UTC")),
        (
            "project",
            pa.struct(
                [
                    ("id", pa.string()),
                    ("number", pa.string()),
                    ("name", pa.string()),
                    ("labels", KV),
                    ("ancestry_numbers", pa.string()),
                ]
            ),
        ),
        ("labels", KV),
        ("system_labels", KV),
        (
            "location",
            pa.struct(
                [("location", pa.string()), ("country", pa.string()), ("region", pa.string()), ("zone", pa.string())]
            ),
        ),
        ("resource", pa.struct([("name", pa.string()), ("global_name", pa.string())])),
        (
            "tags",
            pa.list_(
                pa.struct(
                    [
                        ("key", pa.string()),
                        ("value", pa.string()),
                        ("inherited", pa.bool_()),
                        ("namespace", pa.string()),
                    ]
                )
            ),
        ),
        (
            "price",
            pa.struct(
                [
                    ("effective_price", pa.float64()),
                    ("tier_start_amount", pa.float64()),
                    ("unit", pa.string()),
                    ("pricing_unit_quantity", pa.float64()),
                    ("list_price", pa.float64()),
                ]
            ),
        ),
        ("subscription", pa.struct([("instance_id", pa.string())])),
        ("transaction_type", pa.string()),
        ("seller_name", pa.string()),
        ("export_time", pa.timestamp("us", tz="UTC")),
        ("cost", pa.float64()),
        ("currency", pa.string()),
        ("currency_conversion_rate", pa.float64()),
        (
            "usage",
            pa.struct(
                [
                    ("amount", pa.float64()),
                    ("unit", pa.string()),
                    ("amount_in_pricing_units", pa.float64()),
                    ("pricing_unit", pa.string()),
                ]
            ),
        ),
        (
            "credits",
            pa.list_(
                pa.struct(
                    [
                        ("name", pa.string()),
                        ("amount", pa.float64()),
                        ("full_name", pa.string()),
                        ("id", pa.string()),
                        ("type", pa.string()),
                    ]
                )
            ),
        ),
        ("invoice", pa.struct([("month", pa.string()), ("publisher_type", pa.string())])),
        ("cost_type", pa.string()),
        (
            "adjustment_info",
            pa.struct(
                [("id", pa.string()), ("description", pa.string()), ("mode", pa.string()), ("type", pa.string())]
            ),
        ),
        ("cost_at_list", pa.float64()),
        ("consumption_model", pa.struct([("id", pa.string()), ("description", pa.string())])),
    ]
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001"))


def _month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[4:]), 1, tzinfo=UTC)


def _row(
    month: str,
    hour: datetime,
    service: dict[str, str],
    sku_id: str,
    sku_description: str,
    project: dict[str, Any],
    region: tuple[str, str, str | None],
    usage: tuple[Decimal, str, Decimal, str],
    unit_price: Decimal,
    list_price: Decimal,
    *,
    credits: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    cost_type: str = "regular",
    cost: Decimal | None = None,
    export_time: datetime | None = None,
) -> dict[str, Any]:
    amount, unit, pricing_amount, pricing_unit = usage
    cost = _money(unit_price * pricing_amount) if cost is None else cost
    location, country, zone = region
    resource = f"{project['id']}-{sku_id.lower()}"
    return {
        "billing_account_id": BILLING_ACCOUNT_ID,
        "service": dict(service),
        "sku": {"id": sku_id, "description": sku_description},
        "usage_start_time": hour,
        "usage_end_time": hour + timedelta(hours=1),
        "project": {
            "id": project["id"],
            "number": project["number"],
            "name": project["name"],
            "labels": list(project["labels"]),
            "ancestry_numbers": f"/123456789012/{project['number']}/",
        },
        "labels": [{"key": key, "value": value} for key, value in (labels or {}).items()],
        "system_labels": (
            [{"key": "compute.googleapis.com/machine_spec", "value": "n2-standard-4"}] if service is COMPUTE else []
        ),
        "location": {"location": location, "country": country, "region": location, "zone": zone},
        "resource": {
            "name": resource,
            "global_name": f"//{service['description'].lower().replace(' ', '')}.googleapis.com"
            f"/projects/{project['number']}/{resource}",
        },
        "tags": (
            [{"key": "cost-center", "value": "cc-42", "inherited": True, "namespace": "123456789012"}]
            if project is PROJECTS[0]
            else []
        ),
        "price": {
            "effective_price": float(unit_price),
            "tier_start_amount": 0.0,
            "unit": pricing_unit,
            "pricing_unit_quantity": 1.0,
            "list_price": float(list_price),
        },
        "subscription": {"instance_id": None},
        "transaction_type": "GOOGLE",
        "seller_name": None,
        "export_time": export_time or hour + timedelta(hours=5, minutes=17, seconds=3, microseconds=281272),
        "cost": float(cost),
        "currency": CURRENCY,
        "currency_conversion_rate": 1.0,
        "usage": {
            "amount": float(amount),
            "unit": unit,
            "amount_in_pricing_units": float(pricing_amount),
            "pricing_unit": pricing_unit,
        },
        "credits": credits or [],
        "invoice": {"month": month, "publisher_type": "GOOGLE"},
        "cost_type": cost_type,
        "adjustment_info": {"id": None, "description": None, "mode": None, "type": None},
        "cost_at_list": float(_money(list_price * pricing_amount)),
        "consumption_model": {"id": "7754-699E-0EBF", "description": "Default"},
    }


def _credit(kind: str, amount: Decimal, name: str, credit_id: str) -> dict[str, Any]:
    return {"name": name, "amount": float(amount), "full_name": name, "id": credit_id, "type": kind}


def _gemini(month: str, hour: datetime, service: dict[str, str], sku: str, description: str, tokens: int,
            price_per_1k: Decimal) -> dict[str, Any]:  # fmt: skip
    thousands = Decimal(tokens) / 1000
    return _row(
        month, hour, service, sku, description, PROJECTS[2], REGIONS[1],
        (Decimal(tokens), "count", thousands, "count"), price_per_1k, price_per_1k,
        labels={"team": "research", "scenario": ""},
    )  # fmt: skip


def scenario_rows(month: str, first_month: bool = True) -> list[dict[str, Any]]:
    """The fixed rows of one invoice month (labels.scenario names each one)."""
    start = _month_start(month) + timedelta(days=2, hours=10)
    region = REGIONS[0]
    core_hours = Decimal(24)
    rows: dict[str, dict[str, Any]] = {}
    vm_cost = _money(Decimal("0.031611") * core_hours)
    rows["sud_vm"] = _row(
        month, start, COMPUTE, "CP-N2-CORE", "N2 Instance Core running in Americas", PROJECTS[0], region,
        (core_hours * 3600, "seconds", core_hours, "hour"), Decimal("0.031611"), Decimal("0.031611"),
        credits=[_credit("SUSTAINED_USAGE_DISCOUNT", -_money(vm_cost * Decimal("0.2")), "Sustained Usage Discount",
                         "SUD-N2-CORE")],
        labels={"app": "shop"},
    )  # fmt: skip
    rows["cud_covered_vm"] = _row(
        month, start, COMPUTE, "CP-N2-CORE", "N2 Instance Core running in Americas", PROJECTS[0], region,
        (core_hours * 3600, "seconds", core_hours, "hour"), Decimal("0.031611"), Decimal("0.031611"),
        credits=[_credit("COMMITTED_USAGE_DISCOUNT", -vm_cost, "Committed use discount: CPU", CUD_ID)],
        labels={"app": "shop"},
    )  # fmt: skip
    fee = _row(
        month, start, COMPUTE, "CP-CUD-N2-CORE-1Y", "Commitment v1: N2 Cpu in Americas for 1 Year", PROJECTS[0], region,
        (core_hours * 3600, "seconds", core_hours, "hour"), Decimal("0.019915"), Decimal("0.019915"),
    )  # fmt: skip
    fee["subscription"] = {"instance_id": CUD_ID}
    fee["resource"] = {
        "name": CUD_ID,
        "global_name": f"//compute.googleapis.com/projects/{PROJECTS[0]['number']}"
        f"/regions/us-central1/commitments/{CUD_ID}",
    }
    rows["cud_fee"] = fee
    tib = Decimal("0.5")
    rows["bq_free_tier"] = _row(
        month, start, BIGQUERY, "BQ-ANALYSIS", "Analysis", PROJECTS[1], ("US", "US", None),
        (tib * 1099511627776, "bytes", tib, "tebibyte"), Decimal("6.25"), Decimal("6.25"),
        credits=[_credit("FREE_TIER", Decimal("-3.125"), "Free Tier: Analysis", "FREE-TIER-BQ")],
    )  # fmt: skip
    gib_months = Decimal("120.5")
    storage_cost = _money(Decimal("0.026") * gib_months)
    rows["gcs_promotion"] = _row(
        month, start, STORAGE, "GCS-STD", "Standard Storage US Multi-region", PROJECTS[1], ("us", "US", None),
        (gib_months * 2852126720000000, "byte-seconds", gib_months, "gibibyte month"), Decimal("0.026"),
        Decimal("0.026"),
        credits=[
            _credit("PROMOTION", -_money(storage_cost / 2), "Free trial credit", "PROMO-TRIAL-1"),
            _credit("SUSTAINED_USAGE_DISCOUNT", Decimal("-0.01"), "Sustained Usage Discount", "SUD-GCS"),
        ],
    )  # fmt: skip
    for name, service, sku, description, tokens, price in (
        ("gemini_input", VERTEX, "FDAB-647C-5A22", "Gemini 2.5 Flash GA Text Input - Predictions", 1_250_000, "0.0003"),
        (
            "gemini_output", VERTEX, "A253-E8A3-DE5C", "Gemini 2.5 Flash GA Text Output (Thinking On) - Predictions",
            310_000, "0.0025",
        ),
        ("gemini_cached", VERTEX, "B1C2-7A9D-4E11", "Gemini 2.5 Pro GA Cached Text Input - Predictions", 800_000,
         "0.00031"),
        ("gemini_grounding", VERTEX, "F307-73C9-C204", "LLM Grounding with Google Search tool - Predictions", 2_000,
         "35"),
        ("gemini_api_output", GEMINI_API, "D3A1-55E0-9B07", "Gemini 2.0 Flash Text Output Tokens", 420_000, "0.0004"),
    ):  # fmt: skip
        rows[name] = _gemini(month, start, service, sku, description, tokens, Decimal(price))
    # Usage of the last hours of the previous month that arrives late, on this month's invoice.
    late = _row(
        month, _month_start(month) - timedelta(hours=2), STORAGE, "GCS-STD", "Standard Storage US Multi-region",
        PROJECTS[0], ("us", "US", None), (Decimal(2852126720000000), "byte-seconds", Decimal(1), "gibibyte month"),
        Decimal("0.026"), Decimal("0.026"),
    )  # fmt: skip
    rows["late_row"] = late
    tax = _row(
        month, _month_start(month), INVOICE, "TAX-US-CA", "Sales tax", PROJECTS[0], ("", "", None),
        (Decimal(0), "", Decimal(0), ""), Decimal(0), Decimal(0), cost_type="tax", cost=Decimal("1.234567"),
    )  # fmt: skip
    tax["usage_end_time"] = _month_start(month) + timedelta(days=1)
    tax["location"] = {"location": None, "country": None, "region": None, "zone": None}
    tax["usage"] = {"amount": None, "unit": None, "amount_in_pricing_units": None, "pricing_unit": None}
    tax["price"] = {"effective_price": None, "tier_start_amount": None, "unit": None, "pricing_unit_quantity": None,
                    "list_price": None}  # fmt: skip
    tax["cost_at_list"] = None
    tax["resource"] = {"name": None, "global_name": None}
    tax["system_labels"] = []
    rows["tax"] = tax
    if not first_month:
        previous = _month_start(month) - timedelta(days=20)
        correction = _row(
            month, previous, COMPUTE, "CP-N2-CORE", "N2 Instance Core running in Americas", PROJECTS[0], region,
            (Decimal(-7200), "seconds", Decimal(-2), "hour"), Decimal("0.031611"), Decimal("0.031611"),
            cost_type="adjustment",
        )  # fmt: skip
        correction["adjustment_info"] = {
            "id": "ADJ-2025-0001",
            "description": "Usage correction for over-reported VM hours",
            "mode": "PARTIAL_CORRECTION",
            "type": "USAGE_CORRECTION",
        }
        rows["correction"] = correction
    for name, row in rows.items():
        row["labels"] = [label for label in row["labels"] if label["key"] != "scenario"]
        row["labels"].append({"key": "scenario", "value": name})
    return list(rows.values())


def generate_rows(
    rows_per_month: int = 200,
    seed: int = 7,
    months: tuple[str, ...] = ("202510", "202511"),
    chunk_rows: int = 50_000,
    cost_factor: Decimal = Decimal(1),
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of export rows: per month the scenarios, then ``rows_per_month`` random usage rows.

    Args:
        rows_per_month: Random usage rows per invoice month (on top of the fixed scenarios).
        seed: Seed of the random rows; the same arguments always give the same rows.
        months: Invoice months ``YYYYMM``; the scenarios of later months include a correction of the month before.
        chunk_rows: Rows per yielded chunk.
        cost_factor: Multiplies the random rows' usage (a restated delivery of a month differs this way).
    """
    rng = random.Random(seed)
    chunk: list[dict[str, Any]] = []
    for index, month in enumerate(months):
        for row in scenario_rows(month, first_month=index == 0):
            chunk.append(row)
        start = _month_start(month)
        for number in range(rows_per_month):
            service, sku_id, description, unit, pricing_unit, price, per_unit = rng.choice(RANDOM_SKUS)
            project = rng.choice(PROJECTS)
            region = rng.choice(REGIONS)
            hour = start + timedelta(hours=rng.randrange(24 * 27))
            pricing_amount = (Decimal(rng.randrange(1, 500_000)) / 10_000 * cost_factor).quantize(Decimal("0.0001"))
            credits = []
            if rng.random() < 0.25:
                kind = rng.choice(("SUSTAINED_USAGE_DISCOUNT", "FREE_TIER", "PROMOTION"))
                amount = -_money(price * pricing_amount * Decimal("0.1"))
                credits.append(_credit(kind, amount, kind.replace("_", " ").title(), f"{kind[:3]}-{sku_id}"))
            labels = {"app": rng.choice(("shop", "search", "batch"))} if rng.random() < 0.6 else {}
            row = _row(
                month, hour, service, sku_id, description, project, region,
                (pricing_amount * per_unit, unit, pricing_amount, pricing_unit), price, price,
                credits=credits, labels=labels,
            )  # fmt: skip
            row["resource"]["name"] = f"{row['resource']['name']}-{number % 50}"
            chunk.append(row)
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _json_value(value: Any) -> Any:
    # bq extract writes TIMESTAMP as "2025-11-12 18:00:00.281272 UTC".
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
        return f"{text} UTC"
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value


def write_ndjson(path: Path, chunks: Iterator[list[dict[str, Any]]]) -> int:
    """Write rows as newline-delimited JSON (gzip if the name ends .gz); returns the row count.

    Null fields are left out, as BigQuery's JSON export does.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.writelines(json.dumps(_json_value(row), separators=(",", ":")) + "\n" for row in chunk)
            count += len(chunk)
    return count


def write_parquet(path: Path, chunks: Iterator[list[dict[str, Any]]]) -> int:
    """Write rows as Parquet with the export's nested schema, one row group per chunk; returns the row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with pq.ParquetWriter(path, SCHEMA) as writer:
        for chunk in chunks:
            writer.write_table(pa.Table.from_pylist(chunk, schema=SCHEMA))
            count += len(chunk)
    return count


def write_export(path: Path, **kwargs: Any) -> int:
    """Generate (see :func:`generate_rows`) and write to ``path`` (``.parquet``, else NDJSON); returns the row count."""
    chunks = generate_rows(**kwargs)
    return write_parquet(path, chunks) if path.suffix == ".parquet" else write_ndjson(path, chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1000, help="random usage rows per month")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", default="202510,202511")
    args = parser.parse_args()
    count = write_export(args.out, rows_per_month=args.rows, seed=args.seed, months=tuple(args.months.split(",")))
    print(f"{count} rows → {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
