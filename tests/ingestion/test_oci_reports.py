"""OCI cost reports (reports/cost-csv) through dlt's filesystem source into DuckDB."""

from __future__ import annotations

import csv
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from cloudact.settings import Settings
from ingestion.pipelines import IngestError, build_pipeline, oci_source_for, run_ingest
from ingestion.sources.oci_reports.helpers import report_name
from tests.conftest import SAMPLES, table_state

OCI_SAMPLE = SAMPLES / "oci" / "reports_cost-csv_0000000030000269.csv"
SLUG = "acme_t3"
TABLE = f"{SLUG}_prod.oci_cost_reports"


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="") as handle:  # type: ignore[operator]
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _csv_total(*paths: Path) -> tuple[int, Decimal]:
    rows = [row for path in paths for row in _read(path)[1]]
    return len(rows), sum((Decimal(row["cost/myCost"]) for row in rows), Decimal(0))


def _per_period(settings: Settings) -> dict[str, tuple[int, Decimal]]:
    # decimal(38, 18): OCI delivers 18 fractional digits, the raw text keeps them all.
    rows = table_state(
        settings,
        f"select billing_period, count(*), sum(cast(cost_my_cost as decimal(38, 18))) from {TABLE} "
        "group by 1 order by 1",
    )
    return {str(period): (int(count), total) for period, count, total in rows}  # type: ignore[misc]


def _split_sample(folder: Path) -> tuple[Path, Path]:
    """The sample as two consecutive OCI reports (the way OCI delivers: each new file holds new lines)."""
    header, rows = _read(OCI_SAMPLE)
    half = len(rows) // 2
    first = _write(folder / "0000000030000269.csv", header, rows[:half])
    second = _write(folder / "0000000030000270.csv.gz", header, rows[half:])
    return first, second


def test_public_sample_loads_every_line_as_text_with_tags_as_one_json_object(settings: Settings) -> None:
    result = run_ingest(settings, SLUG, "oci", oci_source_for(OCI_SAMPLE))
    count, total = _csv_total(OCI_SAMPLE)
    assert result.rows_loaded == count == 506
    assert _per_period(settings) == {"2023-11": (count, total)}

    columns = build_pipeline(settings, SLUG, "oci").default_schema.get_table_columns("oci_cost_reports")
    assert columns["cost_my_cost"]["data_type"] == "text"  # cast to decimal in staging, never float
    assert {"billing_scope", "billing_period", "report_name", "source_file", "tags", "line_item_reference_no"} <= set(
        columns
    )
    assert not [name for name in columns if name.startswith("tags_") or name.startswith("__tag")]

    header, rows = _read(OCI_SAMPLE)
    expected = {
        row["lineItem/referenceNo"]: {
            key[len("tags/") :]: value for key, value in row.items() if key.startswith("tags/") and value
        }
        for row in rows
    }
    loaded = dict(table_state(settings, f"select line_item_reference_no, tags from {TABLE}"))  # type: ignore[arg-type]
    assert {ref: json.loads(tags) if tags else {} for ref, tags in loaded.items()} == expected  # type: ignore[arg-type]
    first = json.loads(loaded["7108a1f83bdbad70487bf0cf99cbe260"])  # type: ignore[arg-type]
    assert first["Oracle-Tags.CreatedBy"] == "default/phil.newman@oracle.com" and first["Valtest.Cat"] == "boots"
    assert sum(1 for tags in loaded.values() if tags is None) == sum(1 for tags in expected.values() if not tags) > 0

    scope = table_state(settings, f"select distinct billing_scope, report_name, source_file from {TABLE}")
    assert scope == [(rows[0]["lineItem/tenantId"], "reports_cost-csv_0000000030000269", OCI_SAMPLE.name)]


def test_rerun_of_the_same_report_changes_nothing(settings: Settings) -> None:
    run_ingest(settings, SLUG, "oci", oci_source_for(OCI_SAMPLE))
    before = _per_period(settings)
    run_ingest(settings, SLUG, "oci", oci_source_for(OCI_SAMPLE))
    assert _per_period(settings) == before


def test_a_new_report_adds_its_lines_and_keeps_the_earlier_reports_of_the_month(
    settings: Settings, tmp_path: Path
) -> None:
    # OCI reports are additive: a merge key on the billing period would make the second file delete the first.
    first, second = _split_sample(tmp_path / "reports")
    run_ingest(settings, SLUG, "oci", oci_source_for(first))
    assert _per_period(settings) == {"2023-11": _csv_total(first)}
    run_ingest(settings, SLUG, "oci", oci_source_for(second))
    assert _per_period(settings) == {"2023-11": _csv_total(OCI_SAMPLE)}


def test_redelivered_report_replaces_only_its_own_lines_never_doubled(settings: Settings, tmp_path: Path) -> None:
    first, second = _split_sample(tmp_path / "reports")
    run_ingest(settings, SLUG, "oci", oci_source_for(first.parent))
    assert _per_period(settings) == {"2023-11": _csv_total(OCI_SAMPLE)}

    # The second report arrives again (uncompressed this time, another folder) with fewer, changed lines.
    header, rows = _read(second)
    kept = rows[::2]
    for row in kept:
        row["cost/myCost"] = str(Decimal(row["cost/myCost"]) + Decimal("1.25"))
    again = _write(tmp_path / "again" / "reports" / "0000000030000270.csv", header, kept)
    run_ingest(settings, SLUG, "oci", oci_source_for(again))

    assert _per_period(settings) == {"2023-11": _csv_total(first, again)}
    per_report = dict(table_state(settings, f"select report_name, count(*) from {TABLE} group by 1"))
    assert per_report == {"0000000030000269": len(_read(first)[1]), "0000000030000270": len(kept)}


def test_missing_required_column_is_named_and_nothing_changes(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "oci", oci_source_for(OCI_SAMPLE))
    before = _per_period(settings)
    header, rows = _read(OCI_SAMPLE)
    broken = _write(tmp_path / "broken" / "cost.csv", [name for name in header if name != "cost/myCost"], rows)
    with pytest.raises(IngestError, match=r"cost\.csv: missing required OCI cost report column\(s\) cost_my_cost"):
        run_ingest(settings, SLUG, "oci", oci_source_for(broken))
    assert _per_period(settings) == before


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("cost/myCost", "1,50 USD", "column 'cost_my_cost' expected a decimal number, got '1,50 USD'"),
        ("lineItem/intervalUsageStart", "13/11/2023 10:00", "column 'line_item_interval_usage_start' expected a UTC"),
        ("lineItem/isCorrection", "maybe", "column 'line_item_is_correction' expected true or false"),
    ],
)
def test_bad_value_names_file_row_and_column_and_nothing_is_loaded(
    settings: Settings, tmp_path: Path, column: str, value: str, expected: str
) -> None:
    good, bad = tmp_path / "in" / "0000000000000001.csv", tmp_path / "in" / "0000000000000002.csv"
    header, rows = _read(OCI_SAMPLE)
    _write(good, header, rows)
    rows[9][column] = value  # line 11 of the file (header is line 1)
    _write(bad, header, rows)
    with pytest.raises(IngestError, match=rf"0000000000000002\.csv: row 11: {expected}"):
        run_ingest(settings, SLUG, "oci", oci_source_for(good.parent))
    assert _per_period(settings) == {}  # the good report of the same run was not loaded either


def test_unknown_extra_column_loads_as_text(settings: Settings, tmp_path: Path) -> None:
    header, rows = _read(OCI_SAMPLE)
    for row in rows:
        row["cost/attributedCost"] = "0.5"
    drifted = _write(tmp_path / "drift" / "cost.csv", [*header, "cost/attributedCost"], rows)
    run_ingest(settings, SLUG, "oci", oci_source_for(drifted))
    columns = build_pipeline(settings, SLUG, "oci").default_schema.get_table_columns("oci_cost_reports")
    assert columns["cost_attributed_cost"]["data_type"] == "text"
    assert table_state(settings, f"select distinct cost_attributed_cost from {TABLE}") == [("0.5",)]


def test_missing_optional_column_loads_as_null(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "oci", oci_source_for(OCI_SAMPLE))
    header, rows = _read(OCI_SAMPLE)
    for row in rows:
        row["lineItem/referenceNo"] = "x" + row["lineItem/referenceNo"]
    slim = _write(
        tmp_path / "slim" / "0000000030000270.csv", [h for h in header if h != "product/availabilityDomain"], rows
    )
    run_ingest(settings, SLUG, "oci", oci_source_for(slim))
    nulls = table_state(
        settings,
        f"select report_name, count(*), count(product_availability_domain) from {TABLE} group by 1 order by 1",
    )
    with_domain = sum(1 for row in rows if row["product/availabilityDomain"])
    assert nulls == [("0000000030000270", 506, 0), ("reports_cost-csv_0000000030000269", 506, with_domain)]


def test_tag_keys_that_normalise_alike_stay_distinct(settings: Settings, tmp_path: Path) -> None:
    header, rows = _read(OCI_SAMPLE)
    header = [h for h in header if not h.startswith("tags/")] + [
        "tags/ns.cost-center",
        "tags/ns.cost_center",
        "tags/Env",
    ]
    for row in rows:
        row.update({"tags/ns.cost-center": "a", "tags/ns.cost_center": "b", "tags/Env": ""})
    path = _write(tmp_path / "tags" / "cost.csv", header, rows)
    run_ingest(settings, SLUG, "oci", oci_source_for(path))
    assert table_state(settings, f"select distinct tags from {TABLE}") == [
        ('{"ns.cost-center": "a", "ns.cost_center": "b"}',)
    ]


def test_report_name_ignores_folders_and_compression() -> None:
    assert report_name("reports/cost-csv/0000000030000269.csv.gz") == "0000000030000269"
    assert report_name("0000000030000269.csv") == report_name("x/0000000030000269.CSV.GZ") == "0000000030000269"


def test_unknown_source_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="neither a file, a folder nor a URL"):
        oci_source_for(tmp_path / "nope")


# OCI FOCUS reports (FOCUS Reports/YYYY/MM/DD/*.csv.gz), generated from the real cost report sample.
FOCUS_TABLE = f"{SLUG}_prod.oci_focus_reports"


def _focus_reports(root: Path, lines: list[dict[str, str]] | None = None, number: int = 1) -> Path:
    from bench.generators.oci import focus_line, read_cost_report, write_focus_report

    lines = read_cost_report(OCI_SAMPLE) if lines is None else lines
    return write_focus_report(root, "2023-11-13", number, [focus_line(line) for line in lines])


def _focus_state(settings: Settings) -> list[tuple[object, ...]]:
    return table_state(
        settings,
        f"""select billing_scope, billing_period, report_name, count(*), sum(cast(billed_cost as decimal(38, 18)))
            from {FOCUS_TABLE} group by all order by all""",
    )


def test_focus_reports_land_in_their_own_table_next_to_cost_reports(settings: Settings, tmp_path: Path) -> None:
    _focus_reports(tmp_path / "bucket")
    result = run_ingest(settings, SLUG, "oci", oci_source_for(tmp_path / "bucket"))
    count, total = _csv_total(OCI_SAMPLE)
    assert result.rows_loaded == count == 506
    tenancy = _read(OCI_SAMPLE)[1][0]["lineItem/tenantId"]
    assert _focus_state(settings) == [(tenancy, "2023-11", "2023/11/13/0000000000000001-00001", count, total)]
    # 1.0-preview names are mapped to 1.3 names; oci_* columns keep theirs; timestamps are normalised UTC text.
    row = table_state(
        settings,
        f"""select consumed_quantity, provider_name, region_id, charge_frequency, oci_reference_number,
                   charge_period_start, billing_period_start
            from {FOCUS_TABLE} where oci_reference_number = '{_read(OCI_SAMPLE)[1][0]["lineItem/referenceNo"]}'""",
    )
    first = _read(OCI_SAMPLE)[1][0]
    assert row == [
        (first["usage/billedQuantity"], "Oracle", first["product/region"], "Usage-based", first["lineItem/referenceNo"],
         "2023-11-13T10:00:00Z", "2023-11-01T00:00:00Z")
    ]  # fmt: skip
    assert table_state(settings, f"select count(*) from {TABLE}") == []  # no cost report table was created


def test_focus_report_delivered_again_replaces_its_rows_only(settings: Settings, tmp_path: Path) -> None:
    lines = _read(OCI_SAMPLE)[1]
    _focus_reports(tmp_path / "a", lines[:100], number=1)
    _focus_reports(tmp_path / "a", lines[100:200], number=2)
    run_ingest(settings, SLUG, "oci", oci_source_for(tmp_path / "a"))
    assert [row[3] for row in _focus_state(settings)] == [100, 100]
    changed = [dict(line, **{"cost/myCost": "1.5"}) for line in lines[:40]]
    _focus_reports(tmp_path / "b", changed, number=1)
    run_ingest(settings, SLUG, "oci", oci_source_for(tmp_path / "b"))
    state = _focus_state(settings)
    assert [(row[3], row[4]) for row in state][0] == (40, Decimal(60))
    assert state[1][3] == 100


def test_focus_report_missing_required_column_is_named_and_nothing_changes(settings: Settings, tmp_path: Path) -> None:
    path = _focus_reports(tmp_path / "ok", _read(OCI_SAMPLE)[1][:10])
    run_ingest(settings, SLUG, "oci", oci_source_for(path))
    before = _focus_state(settings)
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = [c for c in reader.fieldnames or [] if c != "ChargePeriodStart"], list(reader)
    broken = tmp_path / "broken" / "0000000000000009-00001.csv.gz"
    broken.parent.mkdir(parents=True)
    with gzip.open(broken, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(IngestError, match=r"0000000000000009-00001\.csv\.gz: missing required FOCUS column\(s\) "
                                          r"charge_period_start \(ChargePeriodStart\)"):  # fmt: skip
        run_ingest(settings, SLUG, "oci", oci_source_for(broken))
    assert _focus_state(settings) == before
