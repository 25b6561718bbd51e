"""AWS legacy CUR files through dlt's filesystem source into DuckDB."""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cloudact.demo_data import generate_cur
from cloudact.settings import Settings
from ingestion.pipelines import IngestError, aws_source_for, build_pipeline, run_ingest
from tests.conftest import AWS_SAMPLE, table_state

SLUG = "acme_t2"
TABLE = f"{SLUG}_prod.aws_cur_line_items"


def _per_period(settings: Settings) -> dict[str, tuple[int, Decimal]]:
    rows = table_state(
        settings,
        f"select billing_period, count(*), sum(cast(line_item_unblended_cost as decimal(38, 12))) from {TABLE} "
        "group by 1 order by 1",
    )
    return {str(period): (int(count), total) for period, count, total in rows}  # type: ignore[misc]


def _csv_total(path: Path) -> tuple[int, Decimal]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
        rows = list(csv.DictReader(handle))
    return len(rows), sum((Decimal(row["lineItem/UnblendedCost"]) for row in rows), Decimal(0))


def test_public_sample_loads_every_line_as_text(settings: Settings) -> None:
    result = run_ingest(settings, SLUG, "aws", aws_source_for(AWS_SAMPLE))
    count, total = _csv_total(AWS_SAMPLE)
    assert result.rows_loaded == count == 1281
    assert _per_period(settings) == {"2023-11": (count, total)}
    columns = build_pipeline(settings, SLUG, "aws").default_schema.get_table_columns("aws_cur_line_items")
    assert columns["line_item_unblended_cost"]["data_type"] == "text"  # cast to decimal in staging, never float
    assert {"billing_period", "source_file", "resource_tags", "identity_line_item_id"} <= set(columns)


def test_rerun_of_the_same_files_changes_nothing(settings: Settings) -> None:
    run_ingest(settings, SLUG, "aws", aws_source_for(AWS_SAMPLE))
    before = _per_period(settings)
    run_ingest(settings, SLUG, "aws", aws_source_for(AWS_SAMPLE))
    assert _per_period(settings) == before


def test_redelivered_month_replaces_that_month_only(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "cur"
    totals = generate_cur(folder, "111122223333", ["111122223333"], date(2026, 8, 20), 30, seed=3)
    run_ingest(settings, SLUG, "aws", aws_source_for(folder))
    before = _per_period(settings)
    assert {period: total for period, (_, total) in before.items()} == totals

    # AWS re-delivers September with changed rows: half the lines, different amounts.
    restated = tmp_path / "restated" / "20260901-20261001" / "cur-00001.csv.gz"
    restated.parent.mkdir(parents=True)
    with gzip.open(folder / "20260901-20261001" / "cloudact-demo-cur-00001.csv.gz", "rt", newline="") as handle:
        rows = list(csv.DictReader(handle))
    kept = rows[::2]
    for row in kept:
        row["lineItem/UnblendedCost"] = str(Decimal(row["lineItem/UnblendedCost"]) + Decimal("1.25"))
    with gzip.open(restated, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    run_ingest(settings, SLUG, "aws", aws_source_for(restated.parent.parent))

    after = _per_period(settings)
    assert after["2026-08"] == before["2026-08"]
    assert after["2026-09"] == _csv_total(restated)
    assert after["2026-09"][0] == len(kept) < before["2026-09"][0]


def test_missing_required_column_is_named_and_nothing_changes(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "aws", aws_source_for(AWS_SAMPLE))
    before = _per_period(settings)
    with AWS_SAMPLE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    broken = tmp_path / "broken" / "cur.csv"
    broken.parent.mkdir()
    columns = [name for name in rows[0] if name != "lineItem/UnblendedCost"]
    with broken.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(IngestError, match=r"cur\.csv: missing required CUR column\(s\) line_item_unblended_cost"):
        run_ingest(settings, SLUG, "aws", aws_source_for(broken))
    assert _per_period(settings) == before


def test_bad_value_names_file_row_and_column(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "aws", aws_source_for(AWS_SAMPLE))
    before = _per_period(settings)
    bad = tmp_path / "bad" / "cur.csv"
    bad.parent.mkdir()
    shutil.copy(AWS_SAMPLE, bad)
    lines = bad.read_text().splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[10]]))
    row[header.index("lineItem/UnblendedCost")] = "1,50 USD"
    lines[10] = ",".join(f'"{value}"' for value in row) + "\n"
    bad.write_text("".join(lines))
    with pytest.raises(IngestError, match=r"cur\.csv: row 11: column 'line_item_unblended_cost' expected a decimal"):
        run_ingest(settings, SLUG, "aws", aws_source_for(bad))
    assert _per_period(settings) == before


def test_unknown_source_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="neither a file, a folder nor a URL"):
        aws_source_for(tmp_path / "nope")
