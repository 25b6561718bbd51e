"""GCP detailed billing export reader: NDJSON(.gz) and Parquet rows, schema drift, bad input, restatements."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.generators.gcp import BILLING_ACCOUNT_ID, generate_rows, write_export, write_ndjson
from cloudact.settings import Settings
from ingestion.pipelines import IngestError, gcp_source_for, run_ingest
from tests.conftest import table_state

SLUG = "gcp_reader"
TABLE = f"{SLUG}_prod.gcp_billing_export"


def _json_rows(path: Path) -> list[dict[str, Any]]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        return [json.loads(line, parse_float=Decimal) for line in handle if line.strip()]


def _write_json_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))
    return path


def _raw_by_month(rows: list[dict[str, Any]]) -> dict[str, tuple[int, Decimal, Decimal]]:
    totals: dict[str, tuple[int, Decimal, Decimal]] = {}
    for row in rows:
        count, cost, credits = totals.get(row["invoice"]["month"], (0, Decimal(0), Decimal(0)))
        credit = sum((Decimal(str(c["amount"])) for c in row.get("credits", [])), Decimal(0))
        totals[row["invoice"]["month"]] = (count + 1, cost + Decimal(str(row["cost"])), credits + credit)
    return totals


def _loaded_by_month(settings: Settings) -> dict[str, tuple[int, Decimal]]:
    rows = table_state(
        settings,
        f"select invoice__month, count(*), sum(cast(cost as decimal(38, 12))) from {TABLE} group by all",
    )
    return {str(month): (int(count), total) for month, count, total in rows}  # type: ignore[misc]


def test_ndjson_gzip_and_parquet_load_the_same_rows_as_text(settings: Settings, tmp_path: Path) -> None:
    ndjson = tmp_path / "export" / "rows.jsonl.gz"
    write_export(ndjson, rows_per_month=30, seed=3)
    raw = _raw_by_month(_json_rows(ndjson))
    run_ingest(settings, SLUG, "gcp", gcp_source_for(ndjson))
    assert _loaded_by_month(settings) == {month: (count, cost) for month, (count, cost, _) in raw.items()}
    types = table_state(
        settings,
        f"""select column_name, data_type from information_schema.columns
            where table_schema = '{SLUG}_prod' and table_name = 'gcp_billing_export'""",
    )
    assert {name for name, _ in types} >= {"invoice__month", "service__description", "credits", "labels", "source_row"}
    assert {data_type for name, data_type in types if not name.startswith("_dlt")} == {"VARCHAR"}
    first = table_state(settings, f"select usage_start_time, export_time, credits from {TABLE} where source_row = '1'")
    start, export_time, credits = first[0]
    assert (start, export_time) == ("2025-10-03T10:00:00Z", "2025-10-03T15:17:03.281272Z")
    assert json.loads(str(credits))[0]["type"] == "SUSTAINED_USAGE_DISCOUNT"

    # The same rows as Parquet (BigQuery's nested types, FLOAT64 costs) replace the NDJSON rows one for one.
    parquet = tmp_path / "export" / "rows.parquet"
    write_export(parquet, rows_per_month=30, seed=3)
    run_ingest(settings, SLUG, "gcp", gcp_source_for(parquet))
    assert _loaded_by_month(settings) == {month: (count, cost) for month, (count, cost, _) in raw.items()}
    first = table_state(settings, f"select usage_start_time, credits from {TABLE} where source_row = '1'")
    assert first[0][0] == "2025-10-03T10:00:00.000000Z"
    assert json.loads(str(first[0][1]))[0]["amount"] == -0.151733


def test_unknown_fields_are_kept_and_missing_optional_fields_are_absent(settings: Settings, tmp_path: Path) -> None:
    rows = _json_rows(_write_ndjson(tmp_path / "base.jsonl"))
    for row in rows:
        row.pop("cost_at_list", None)
        row["price"].pop("list_price", None)
        row["carbon_footprint"] = {"kg_co2e": "0.12", "scope": "market"}
        row["new_flag"] = True
    run_ingest(settings, SLUG, "gcp", gcp_source_for(_write_json_rows(tmp_path / "drift" / "rows.json", rows)))
    columns = {
        name
        for (name,) in table_state(
            settings,
            f"""select column_name from information_schema.columns
                where table_schema = '{SLUG}_prod' and table_name = 'gcp_billing_export'""",
        )
    }
    assert {"carbon_footprint__kg_co2e", "carbon_footprint__scope", "new_flag"} <= columns
    assert "cost_at_list" not in columns
    assert table_state(settings, f"select distinct new_flag from {TABLE}") == [("true",)]


def _write_ndjson(path: Path) -> Path:
    write_ndjson(path, generate_rows(rows_per_month=3, months=("202510",)))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda rows: [r.pop("invoice") for r in rows], "missing required GCP billing export field(s) invoice.month"),
        (lambda rows: rows[2].update(cost="12,5"), "row 3: field 'cost' expected a decimal number, got '12,5'"),
        (lambda rows: rows[1].update(currency=""), "row 2: field 'currency' expected a value, got nothing"),
        (
            lambda rows: rows[3].update(usage_start_time="11/03/2025 10:00"),
            "row 4: field 'usage_start_time' expected a UTC timestamp",
        ),
        (
            lambda rows: rows[0]["invoice"].update(month="2025-10"),
            "row 1: field 'invoice.month' expected a month YYYYMM",
        ),
        (
            lambda rows: rows[4]["credits"].append({"name": "x", "amount": "lots", "type": "PROMOTION"}),
            "row 5: field 'credits' expected each credit with a decimal amount",
        ),
    ],
)
def test_bad_input_names_file_row_and_field_and_loads_nothing(
    settings: Settings, tmp_path: Path, change: Any, expected: str
) -> None:
    good = _write_ndjson(tmp_path / "good" / "rows.jsonl")
    run_ingest(settings, SLUG, "gcp", gcp_source_for(good))
    before = table_state(settings, f"select count(*), sum(cast(cost as decimal(38, 12))) from {TABLE}")
    rows = _json_rows(good)
    for row in rows:  # a new delivery of the same month: had it loaded, it would have replaced the good rows
        row["cost"] = Decimal(1)
    change(rows)
    bad = _write_json_rows(tmp_path / "bad" / "delivery.jsonl", rows)
    with pytest.raises(IngestError) as err:
        run_ingest(settings, SLUG, "gcp", gcp_source_for(bad))
    assert "delivery.jsonl" in str(err.value) and expected in str(err.value)
    assert table_state(settings, f"select count(*), sum(cast(cost as decimal(38, 12))) from {TABLE}") == before


def test_not_an_export_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(IngestError, match="neither .json"):
        gcp_source_for(text)
    with pytest.raises(IngestError, match="neither a file, a folder nor a URL"):
        gcp_source_for(tmp_path / "missing")


def test_a_new_delivery_of_a_month_replaces_only_that_month(settings: Settings, tmp_path: Path) -> None:
    first = tmp_path / "d1" / "rows.jsonl"
    write_export(first, rows_per_month=20, seed=5, months=("202510", "202511"))
    run_ingest(settings, SLUG, "gcp", gcp_source_for(first))
    october = _loaded_by_month(settings)["202510"]

    # November restated: more late rows, different usage; the same month delivered again in a later extract.
    again = tmp_path / "d2" / "rows.jsonl.gz"
    write_export(again, rows_per_month=35, seed=9, months=("202511",), cost_factor=Decimal(2))
    raw = _raw_by_month(_json_rows(again))
    run_ingest(settings, SLUG, "gcp", gcp_source_for(again))
    run_ingest(settings, SLUG, "gcp", gcp_source_for(again))  # re-reading the same delivery changes nothing
    loaded = _loaded_by_month(settings)
    assert loaded == {"202510": october, "202511": raw["202511"][:2]}
    keys = table_state(settings, f"select source_file, source_row from {TABLE} where invoice__month = '202511'")
    assert len(keys) == raw["202511"][0] and max(Counter(keys).values()) == 1
    accounts = table_state(settings, f"select distinct billing_account_id from {TABLE}")
    assert accounts == [(BILLING_ACCOUNT_ID,)]
