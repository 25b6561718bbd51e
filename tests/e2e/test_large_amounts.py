"""Large quantities and prices build: unit price × quantity must not overflow DuckDB's 38-digit decimals."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import aws_source_for, run_ingest
from tests.conftest import AWS_SAMPLE

SLUG = "big_numbers_org"


def test_a_month_of_an_expensive_instance_builds_with_exact_list_cost(settings: Settings, tmp_path: Path) -> None:
    with AWS_SAMPLE.open(newline="") as source:
        rows = list(csv.DictReader(source))
    usage = next(
        row for row in rows
        if row["lineItem/LineItemType"] == "Usage" and row["pricing/RateCode"] and row["pricing/unit"]
    )  # fmt: skip
    usage.update({
        "lineItem/UsageAmount": "1234567.5", "lineItem/UnblendedRate": "123.5", "pricing/publicOnDemandRate": "130.25",
        "lineItem/UnblendedCost": str(Decimal("1234567.5") * Decimal("123.5")),
        "pricing/publicOnDemandCost": str(Decimal("1234567.5") * Decimal("130.25")),
    })  # fmt: skip
    path = tmp_path / "cur" / "big.csv"
    path.parent.mkdir()
    with path.open("w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    get_warehouse(settings).ensure_dataset(f"{SLUG}_prod")
    run_ingest(settings, SLUG, "aws", aws_source_for(path))
    transform_org(settings, SLUG)  # every FOCUS data test passes, nothing overflows
    found = get_warehouse(settings).query_tenant(
        f"""select ListCost, ContractedCost, PricingQuantity from {SLUG}_prod.cost_data_standard_1_3
            where PricingQuantity = 1234567.5"""
    )
    assert found == [{"ListCost": Decimal("160802416.875"), "ContractedCost": Decimal("152469086.25"),
                      "PricingQuantity": Decimal("1234567.5")}]  # fmt: skip
