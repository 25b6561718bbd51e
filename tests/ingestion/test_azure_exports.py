"""Azure Cost Management exports (EA/MCA cost details CSV) through dlt's filesystem source into DuckDB."""

from __future__ import annotations

import csv
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from cloudact.settings import Settings
from ingestion.pipelines import IngestError, azure_source_for, build_pipeline, run_ingest
from ingestion.sources.azure_exports.helpers import dataset_from_name
from tests.conftest import SAMPLES, table_state

SLUG = "acme_az"
TABLE = f"{SLUG}_prod.azure_cost_details"
AZURE = SAMPLES / "azure"
EA_ACTUAL = AZURE / "EA_ActualCost_Small.csv"
EA_AMORTIZED = AZURE / "EA_AmortizedCost_Small.csv"
EA_OLD = AZURE / "ea-actualcost-sample-anonymous-ea-export-dataset.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:  # type: ignore[operator]
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:  # type: ignore[operator]
        writer = csv.DictWriter(handle, fieldnames=columns or list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _cost(row: dict[str, str]) -> Decimal:
    return Decimal(row.get("Cost") or row["CostInBillingCurrency"])


def _state(settings: Settings) -> dict[tuple[str, str, str], tuple[int, Decimal]]:
    """(scope, period, dataset) → (rows, total cost) in the raw table."""
    rows = table_state(
        settings,
        f"""select billing_scope, billing_period, dataset, count(*),
                   sum(cast(cost_in_billing_currency as decimal(38, 28)))
            from {TABLE} group by all order by all""",
    )
    return {(str(s), str(p), str(d)): (int(n), Decimal(t).normalize()) for s, p, d, n, t in rows}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sample", "dataset", "scope", "count"),
    [
        (EA_ACTUAL, "actual", "8611537", 11),
        (EA_AMORTIZED, "amortized", "8611537", 28),
        (EA_OLD, "actual", "12345678", 27),
    ],
)
def test_each_sample_loads_every_row_as_text(
    settings: Settings, sample: Path, dataset: str, scope: str, count: int
) -> None:
    rows = _rows(sample)
    result = run_ingest(settings, SLUG, "azure", azure_source_for(sample))
    assert result.rows_loaded == len(rows) == count
    total = sum((_cost(row) for row in rows), Decimal(0))
    assert _state(settings) == {(scope, "2023-09", dataset): (count, total.normalize())}
    columns = build_pipeline(settings, SLUG, "azure").default_schema.get_table_columns("azure_cost_details")
    for name in ("cost_in_billing_currency", "quantity", "billing_currency", "tags", "charge_date"):
        assert columns[name]["data_type"] == "text"  # cast to decimal in staging, never float
    assert {"dataset", "schema", "billing_scope", "billing_period", "source_file", "source_row"} <= set(columns)
    dates = table_state(
        settings, f"select distinct billing_period_start_date, billing_period_end_date, schema from {TABLE}"
    )
    assert dates == [("2023-09-01", "2023-09-30", "ea")]  # US dates (9/1/2023 too) rewritten to ISO


def test_gzipped_file_and_rerun_change_nothing(settings: Settings, tmp_path: Path) -> None:
    gz = _write(tmp_path / "exp" / "EA_AmortizedCost.csv.gz", _rows(EA_AMORTIZED))
    run_ingest(settings, SLUG, "azure", azure_source_for(gz.parent))
    before = _state(settings)
    assert before[("8611537", "2023-09", "amortized")][0] == 28
    run_ingest(settings, SLUG, "azure", azure_source_for(gz.parent))
    assert _state(settings) == before


def test_bad_decimal_names_file_row_and_column_and_loads_nothing(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "azure", azure_source_for(EA_OLD))
    before = _state(settings)
    rows = _rows(EA_ACTUAL)
    rows[6]["Cost"] = "1,50 USD"
    bad = _write(tmp_path / "bad" / "EA_ActualCost.csv", rows)
    with pytest.raises(
        IngestError, match=r"EA_ActualCost\.csv: row 8: column 'cost_in_billing_currency' expected a decimal"
    ):
        run_ingest(settings, SLUG, "azure", azure_source_for(bad))
    assert _state(settings) == before


def test_bad_date_names_file_row_and_column(settings: Settings, tmp_path: Path) -> None:
    rows = _rows(EA_ACTUAL)
    rows[2]["Date"] = "02/30/2023"
    bad = _write(tmp_path / "bad" / "EA_ActualCost.csv", rows)
    with pytest.raises(IngestError, match=r"EA_ActualCost\.csv: row 4: column 'charge_date' expected a date"):
        run_ingest(settings, SLUG, "azure", azure_source_for(bad))
    assert _state(settings) == {}


def test_missing_required_column_is_named_and_nothing_changes(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "azure", azure_source_for(EA_ACTUAL))
    before = _state(settings)
    rows = _rows(EA_AMORTIZED)
    broken = _write(tmp_path / "broken" / "EA_AmortizedCost.csv", rows, [c for c in rows[0] if c != "Cost"])
    with pytest.raises(
        IngestError, match=r"EA_AmortizedCost\.csv: missing required column\(s\) cost_in_billing_currency"
    ):
        run_ingest(settings, SLUG, "azure", azure_source_for(broken))
    assert _state(settings) == before


def test_extra_unknown_column_is_kept_as_text(settings: Settings, tmp_path: Path) -> None:
    rows = _rows(EA_ACTUAL)
    for index, row in enumerate(rows):
        row["NewFutureColumn"] = f"v{index}"
    drifted = _write(tmp_path / "drift" / "EA_ActualCost.csv", rows)
    run_ingest(settings, SLUG, "azure", azure_source_for(drifted))
    columns = build_pipeline(settings, SLUG, "azure").default_schema.get_table_columns("azure_cost_details")
    assert columns["new_future_column"]["data_type"] == "text"
    assert table_state(settings, f"select count(distinct new_future_column) from {TABLE}") == [(11,)]


def test_redelivered_month_replaces_that_scope_and_month_only(settings: Settings, tmp_path: Path) -> None:
    first, other = _rows(EA_ACTUAL), _rows(EA_ACTUAL)
    for row in other:
        row["BillingAccountId"] = "9999999"
    _write(tmp_path / "d1" / "a" / "EA_ActualCost.csv", first)
    _write(tmp_path / "d1" / "b" / "EA_ActualCost.csv", other)
    run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path / "d1"))
    before = _state(settings)
    assert before[("8611537", "2023-09", "actual")][0] == before[("9999999", "2023-09", "actual")][0] == 11

    # The next month-to-date run restates September for scope 8611537: fewer rows, different amounts.
    restated = first[::2]
    for row in restated:
        row["Cost"] = str(Decimal(row["Cost"]) + Decimal("1.25"))
    _write(tmp_path / "d2" / "EA_ActualCost.csv", restated)
    run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path / "d2"))

    after = _state(settings)
    total = sum((Decimal(row["Cost"]) for row in restated), Decimal(0))
    assert after[("8611537", "2023-09", "actual")] == (len(restated), total.normalize())
    assert after[("9999999", "2023-09", "actual")] == before[("9999999", "2023-09", "actual")]


def _delivery(root: Path, run: str, submitted: str, export_type: str, rows: list[dict[str, str]]) -> None:
    """One export run as Cost Management writes it: data part + manifest.json listing it."""
    folder = root / "my-export" / "20230901-20230930" / run
    _write(folder / "part_0_0001.csv", rows)
    blob = f"costs/my-export/20230901-20230930/{run}/part_0_0001.csv"
    manifest = {
        "exportConfig": {"exportName": "my-export", "type": export_type, "timeFrame": "MonthToDate",
                         "resourceId": "/providers/Microsoft.Billing/billingAccounts/8611537"},
        "runInfo": {"runId": run, "startDate": "2023-09-01T00:00:00", "endDate": "2023-09-30T00:00:00",
                    "submittedTime": submitted},
        "blobs": [{"blobName": blob, "byteCount": 1}],
        "blobCount": 1,
        "dataRowCount": len(rows),
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_only_the_newest_manifest_delivery_of_a_month_is_loaded(settings: Settings, tmp_path: Path) -> None:
    rows = _rows(EA_AMORTIZED)
    _delivery(tmp_path, "202309050800", "2023-09-05T08:00:00Z", "AmortizedCost", rows)
    _delivery(tmp_path, "202309100800", "2023-09-10T08:00:00.1234567Z", "AmortizedCost", rows[:5])
    _delivery(tmp_path, "202309070800", "2023-09-07T08:00:00Z", "AmortizedCost", rows[:20])
    result = run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path))
    assert result.rows_loaded == 5
    total = sum((Decimal(row["Cost"]) for row in rows[:5]), Decimal(0))
    assert _state(settings) == {("8611537", "2023-09", "amortized"): (5, total.normalize())}
    assert table_state(settings, f"select distinct source_file from {TABLE}") == [
        ("my-export/20230901-20230930/202309100800/part_0_0001.csv",)
    ]


def test_file_without_manifest_or_telling_name_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    plain = _write(tmp_path / "x" / "part_0_0001.csv", _rows(EA_ACTUAL))
    with pytest.raises(IngestError, match="cannot tell ActualCost from AmortizedCost"):
        run_ingest(settings, SLUG, "azure", azure_source_for(plain))
    run_ingest(settings, SLUG, "azure", azure_source_for(plain, dataset="ActualCost"))
    assert _state(settings)[("8611537", "2023-09", "actual")][0] == 11


def test_dataset_from_name_and_unknown_source(tmp_path: Path) -> None:
    assert dataset_from_name("exports/amortized-daily/2023/part_1.csv") == "amortized"
    assert dataset_from_name("EA_ActualCost_Small.csv") == "actual"
    assert dataset_from_name("exports/part_1.csv") is None
    with pytest.raises(IngestError, match="neither a file, a folder nor a URL"):
        azure_source_for(tmp_path / "nope")
