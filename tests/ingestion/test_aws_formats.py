"""AWS CUR 2.0 parquet, legacy CUR parquet and the FOCUS 1.2 Data Export through dlt's filesystem source into DuckDB."""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.generators.aws import AwsConfig, write_cur2, write_focus12, write_legacy
from cloudact.settings import Settings
from ingestion.pipelines import IngestError, aws_source_for, build_pipeline, run_ingest
from tests.conftest import table_state

SLUG = "acme_aws"
CUR = f"{SLUG}_prod.aws_cur_line_items"
FOCUS = f"{SLUG}_prod.aws_focus_export"
SMALL = AwsConfig(months=2, usage_rows=40, days=5)


def _raw_totals(files: list[Path], period_column: str, cost_column: str) -> dict[str, tuple[int, Decimal]]:
    totals: dict[str, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal(0)))
    for path in files:
        for row in pq.read_table(path).to_pylist():
            count, total = totals[row[period_column].strftime("%Y-%m")]
            totals[row[period_column].strftime("%Y-%m")] = (count + 1, total + Decimal(str(row[cost_column] or 0)))
    return dict(totals)


def _loaded(settings: Settings, table: str, cost: str) -> dict[str, tuple[int, Decimal]]:
    rows = table_state(
        settings, f"select billing_period, count(*), sum(cast({cost} as decimal(38, 12))) from {table} group by 1"
    )
    return {str(period): (int(count), Decimal(total)) for period, count, total in rows}  # type: ignore[call-overload]


def test_cur2_parquet_loads_maps_as_json_text(settings: Settings, tmp_path: Path) -> None:
    files = write_cur2(tmp_path / "exports", SMALL)
    result = run_ingest(settings, SLUG, "aws", aws_source_for(tmp_path / "exports"))
    expected = _raw_totals(files, "bill_billing_period_start_date", "line_item_unblended_cost")
    assert _loaded(settings, CUR, "line_item_unblended_cost") == expected
    assert result.rows_loaded == sum(count for count, _ in expected.values())
    columns = build_pipeline(settings, SLUG, "aws").default_schema.get_table_columns("aws_cur_line_items")
    for name in ("resource_tags", "discount", "cost_category", "product", "line_item_unblended_cost"):
        assert columns[name]["data_type"] == "text", name  # JSON objects and exact numbers as text
    # CUR 2.0 spells ARN a_r_n; it lands under the legacy name staging reads.
    assert "reservation_reservation_arn" in columns and "reservation_reservation_a_r_n" not in columns
    tags, discount, product_name = table_state(
        settings,
        f"""select resource_tags, discount, product_product_name from {CUR}
            where line_item_line_item_type = 'DiscountedUsage' limit 1""",
    )[0]
    assert json.loads(str(tags)) == {"user_env": "prod", "user_team": "platform"}
    assert discount is None and product_name == "Amazon Elastic Compute Cloud"
    edp = table_state(settings, f"select discount from {CUR} where line_item_line_item_type = 'EdpDiscount'")
    assert all(json.loads(str(row[0]))["edp_discount"] < 0 for row in edp) and len(edp) == 2


def test_legacy_parquet_and_csv_gz_land_in_the_same_table(settings: Settings, tmp_path: Path) -> None:
    parquet = write_legacy(tmp_path / "parquet", AwsConfig(payer="222233334444", usage_rows=20, days=3), "parquet")
    write_legacy(tmp_path / "csv", AwsConfig(payer="333344445555", usage_rows=20, days=3), "csv.gz")
    run_ingest(settings, SLUG, "aws", aws_source_for(tmp_path / "parquet"))
    run_ingest(settings, SLUG, "aws", aws_source_for(tmp_path / "csv"))
    rows = table_state(
        settings,
        f"""select bill_payer_account_id, count(*), sum(cast(line_item_unblended_cost as decimal(38, 12)))
            from {CUR} group by 1 order by 1""",
    )
    table = pq.read_table(parquet[0])
    raw = sum(Decimal(value) for value in table["line_item_unblended_cost"].to_pylist())
    assert rows[0] == ("222233334444", table.num_rows, raw)
    assert rows[1][0] == "333344445555" and rows[1][1] == table.num_rows  # same seed and size, other payer
    tags = table_state(settings, f"select distinct resource_tags from {CUR} where resource_tags like '%platform%'")
    keys = {key for (text,) in tags for key in json.loads(str(text))}
    assert keys == {"user_team", "user_env", "user:team", "user:env"}  # parquet and CSV keep AWS's own key spelling


def test_focus_export_lands_in_its_own_table(settings: Settings, tmp_path: Path) -> None:
    files = write_focus12(tmp_path / "focus", SMALL)
    result = run_ingest(settings, SLUG, "aws", aws_source_for(tmp_path / "focus"))
    expected = _raw_totals(files, "BillingPeriodStart", "BilledCost")
    assert _loaded(settings, FOCUS, "billed_cost") == expected
    assert result.rows_loaded == sum(count for count, _ in expected.values())
    assert table_state(settings, f"select count(*) from {CUR}") == []  # no CUR table: nothing else was loaded
    tags, details = table_state(
        settings,
        f"select tags, sku_price_details from {FOCUS} where sku_price_details is not null and tags is not null limit 1",
    )[0]
    assert set(json.loads(str(tags))) == {"user_team", "user_env"}
    assert json.loads(str(details)) == {"InstanceType": "m5.large"}


def test_focus_export_csv_gz_is_read_too(settings: Settings, tmp_path: Path) -> None:
    files = write_focus12(tmp_path / "focus", AwsConfig(usage_rows=10, days=2), file_format="csv.gz")
    run_ingest(settings, SLUG, "aws", aws_source_for(files[0]))
    assert table_state(settings, f"select count(*), min(source_row) from {FOCUS}")[0][0] > 10


def _one_cur2_file(tmp_path: Path) -> Path:
    return write_cur2(tmp_path / "one", AwsConfig(usage_rows=10, days=2))[0]


def test_unknown_extra_column_loads_and_missing_optional_column_is_fine(settings: Settings, tmp_path: Path) -> None:
    path = _one_cur2_file(tmp_path)
    table = pq.read_table(path)
    table = table.append_column("line_item_brand_new_column", pa.array(["x"] * table.num_rows))
    table = table.drop_columns(["pricing_rate_code", "discount", "line_item_net_unblended_cost"])
    drifted = tmp_path / "drift" / "cur.parquet"
    drifted.parent.mkdir()
    pq.write_table(table, drifted)
    run_ingest(settings, SLUG, "aws", aws_source_for(drifted))
    columns = build_pipeline(settings, SLUG, "aws").default_schema.get_table_columns("aws_cur_line_items")
    assert "line_item_brand_new_column" in columns and "pricing_rate_code" not in columns
    assert table_state(settings, f"select count(*) from {CUR}")[0][0] == table.num_rows


@pytest.mark.parametrize("column", ["line_item_unblended_cost", "bill_payer_account_id"])
def test_missing_required_column_is_named_and_nothing_changes(settings: Settings, tmp_path: Path, column: str) -> None:
    run_ingest(settings, SLUG, "aws", aws_source_for(_one_cur2_file(tmp_path)))
    before = _loaded(settings, CUR, "line_item_unblended_cost")
    broken = tmp_path / "broken" / "cur-broken.parquet"
    broken.parent.mkdir()
    pq.write_table(pq.read_table(_one_cur2_file(tmp_path)).drop_columns([column]), broken)
    with pytest.raises(IngestError, match=rf"cur-broken\.parquet: missing required CUR column\(s\) {column}"):
        run_ingest(settings, SLUG, "aws", aws_source_for(broken))
    assert _loaded(settings, CUR, "line_item_unblended_cost") == before


def test_missing_required_focus_column_is_named(settings: Settings, tmp_path: Path) -> None:
    path = write_focus12(tmp_path / "focus", AwsConfig(usage_rows=5, days=1))[0]
    broken = tmp_path / "broken" / "focus.parquet"
    broken.parent.mkdir()
    pq.write_table(pq.read_table(path).drop_columns(["EffectiveCost"]), broken)
    with pytest.raises(IngestError, match=r"focus\.parquet: missing required FOCUS column\(s\) effective_cost"):
        run_ingest(settings, SLUG, "aws", aws_source_for(broken))


def test_bad_value_in_parquet_names_file_row_and_column(settings: Settings, tmp_path: Path) -> None:
    table = pq.read_table(_one_cur2_file(tmp_path))
    rates = table["line_item_unblended_rate"].to_pylist()
    rates[4] = "0,096 USD"
    table = table.set_column(table.schema.get_field_index("line_item_unblended_rate"), "line_item_unblended_rate",
                             pa.array(rates))  # fmt: skip
    bad = tmp_path / "bad" / "cur.parquet"
    bad.parent.mkdir()
    pq.write_table(table, bad)
    with pytest.raises(IngestError, match=r"cur\.parquet: row 5: column 'line_item_unblended_rate' expected a decimal"):
        run_ingest(settings, SLUG, "aws", aws_source_for(bad))


def _age(path: Path, seconds: int) -> None:
    stamp = path.stat().st_mtime - seconds
    os.utime(path, (stamp, stamp))


def test_newest_legacy_assembly_wins(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "cur"
    old_file = write_legacy(root, AwsConfig(usage_rows=30, days=4), "csv.gz")[0]
    period = old_file.parent.parent
    old_manifest = period / "cloudact-cur-Manifest.json"
    # AWS re-delivers the month as a new assembly (fewer rows) and rewrites the period's manifest to list it; the
    # old assembly folder keeps its copy of the old manifest.
    shutil.copy(old_manifest, old_file.parent / old_manifest.name)
    _age(old_file.parent / old_manifest.name, 3600)
    newer = write_legacy(tmp_path / "newer", AwsConfig(usage_rows=5, days=2), "csv.gz")[0]
    new_file = period / "ffffffff-new-assembly" / "cloudact-cur-1.csv.gz"
    new_file.parent.mkdir()
    shutil.copy(newer, new_file)
    body = json.loads(old_manifest.read_text())
    body["assemblyId"] = "ffffffff-new-assembly"
    body["reportKeys"] = [f"cur/{new_file.relative_to(root).as_posix()}"]
    old_manifest.write_text(json.dumps(body))
    run_ingest(settings, SLUG, "aws", aws_source_for(root))
    files = table_state(settings, f"select distinct source_file from {CUR}")
    assert files == [(new_file.relative_to(root).as_posix(),)]


def test_newest_cur2_execution_wins_and_replaces_the_period(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    first = write_cur2(root, SMALL)
    run_ingest(settings, SLUG, "aws", aws_source_for(root))
    before = _loaded(settings, CUR, "line_item_unblended_cost")
    # A later execution re-delivers January (smaller) in a new file; its manifest is the newest of the period.
    again = write_cur2(tmp_path / "again", AwsConfig(months=1, usage_rows=3, days=2, seed=99))[0]
    target = first[0].parent / "exec-2" / "cloudact-cur2-00001.snappy.parquet"
    target.parent.mkdir()
    shutil.copy(again, target)
    metadata = root / "cloudact-cur2" / "metadata" / "BILLING_PERIOD=2026-01"
    old = metadata / "cloudact-cur2-Manifest.json"
    _age(old, 3600)
    body = json.loads(old.read_text())
    body["dataFiles"] = [f"s3://billing-bucket/cur/{target.relative_to(root).as_posix()}"]
    (metadata / "exec-2").mkdir()
    (metadata / "exec-2" / "cloudact-cur2-Manifest.json").write_text(json.dumps(body))
    run_ingest(settings, SLUG, "aws", aws_source_for(root))
    after = _loaded(settings, CUR, "line_item_unblended_cost")
    assert after["2026-02"] == before["2026-02"]
    assert (
        after["2026-01"]
        == _raw_totals([again], "bill_billing_period_start_date", "line_item_unblended_cost")["2026-01"]
    )
    assert after["2026-01"][0] < before["2026-01"][0]


def test_unreadable_manifest_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    write_cur2(root, AwsConfig(usage_rows=3, days=1))
    (root / "cloudact-cur2" / "metadata" / "BILLING_PERIOD=2026-01" / "cloudact-cur2-Manifest.json").write_text("{}")
    with pytest.raises(IngestError, match=r"cloudact-cur2-Manifest\.json: manifest lists no data files"):
        run_ingest(settings, SLUG, "aws", aws_source_for(root))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York"])
def test_timestamp_text_is_the_iso_utc_text_of_strftime(unit: str, zone: str | None) -> None:
    """The fast timestamp text (naive cast, Arrow's text re-punctuated) equals strftime's in UTC, for every unit."""
    import pyarrow.compute as pc

    from ingestion.sources.file_checks import timestamp_text

    seconds = [1_700_000_000, 1_735_689_600, 951_782_400, None]  # a leap day (2000-02-29), a new year, a null
    values = pa.chunked_array([pa.array(seconds, pa.timestamp("s")).cast(pa.timestamp(unit))])
    column = values.cast(pa.timestamp(unit, zone)) if zone else values
    in_utc = column.cast(pa.timestamp(unit, "UTC")) if zone else column
    expected = pc.strftime(in_utc, format="%Y-%m-%dT%H:%M:%SZ")
    text = timestamp_text(column)
    assert text.to_pylist() == expected.to_pylist()
    assert text[2].as_py().startswith("2000-02-29T00:00:00") and text[3].as_py() is None


def test_map_columns_become_sorted_json_in_row_order_across_chunks() -> None:
    """Maps pass through DuckDB in many small batches (both cores); every row keeps its own map, keys sorted."""
    from ingestion.sources.aws_cur.helpers import MAP_CHUNK_ROWS, _maps_as_json

    rows = MAP_CHUNK_ROWS * 3 + 17
    tags = [{"z_env": f"e{index}", "a_team": f"t{index % 7}"} if index % 5 else {} for index in range(rows)]
    table = pa.table(
        {
            "row": pa.array(range(rows), pa.int64()),
            "resource_tags": pa.array([list(tag.items()) for tag in tags], pa.map_(pa.string(), pa.string())),
            "product": pa.array(
                [[("region", f"r{index}")] for index in range(rows)], pa.map_(pa.string(), pa.string())
            ),
        }
    )
    out = _maps_as_json(table)
    assert out.column_names == ["row", "resource_tags", "product", "product_region"]
    assert out["row"].to_pylist() == list(range(rows))
    texts = out["resource_tags"].to_pylist()
    assert texts == [json.dumps(dict(sorted(tag.items())), separators=(",", ":")) if tag else None for tag in tags]
    assert out["product_region"].to_pylist() == [f"r{index}" for index in range(rows)]


def test_date_columns_become_midnight_utc_text() -> None:
    from ingestion.sources.aws_cur.helpers import _as_text

    table = pa.table({"bill_billing_period_start_date": pa.array([20_028, None], pa.date32())})
    assert _as_text(table, "f.parquet")["bill_billing_period_start_date"].to_pylist() == ["2024-11-01T00:00:00Z", None]
