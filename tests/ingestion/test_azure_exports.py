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


# Generated exports (bench/generators/azure.py): every dataset × schema × format the issue names.
FOCUS_TABLE = f"{SLUG}_prod.azure_focus_cost"


def _generated(root: Path, file_format: str, version: str = "1.2") -> None:
    from bench.generators.azure import Account, Month, mca_account, write_export

    for account in (Account(), mca_account()):
        for kind in ("actual", "amortized", "focus"):
            write_export(root, account, Month(), kind, file_format, version=version, chunk_rows=5)  # type: ignore[arg-type]


def _focus_state(settings: Settings) -> dict[str, tuple[str, int, Decimal, Decimal]]:
    rows = table_state(
        settings,
        f"""select billing_scope, focus_version, count(*), sum(cast(billed_cost as decimal(38, 18))),
                   sum(cast(effective_cost as decimal(38, 18)))
            from {FOCUS_TABLE} group by all""",
    )
    return {str(s): (str(v), int(n), Decimal(b).normalize(), Decimal(e).normalize()) for s, v, n, b, e in rows}  # type: ignore[arg-type]


@pytest.mark.parametrize(("file_format", "version"), [("csv", "1.0r2"), ("csv.gz", "1.2"), ("parquet", "1.2")])
def test_ea_and_mca_actual_amortized_and_focus_exports_load_in_every_format(
    settings: Settings, tmp_path: Path, file_format: str, version: str
) -> None:
    from bench.generators.azure import Account, Month, expected_totals, mca_account

    _generated(tmp_path / "exports", file_format, version)
    result = run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path / "exports"))
    state = _state(settings)
    expected_rows = 0
    for account in (Account(), mca_account()):
        for kind in ("actual", "amortized"):
            count, total, _ = expected_totals(account, Month(), kind)  # type: ignore[arg-type]
            assert state[(account.scope_id, "2026-03", kind)] == (count, total.normalize())
            expected_rows += count
        count, billed, effective = expected_totals(account, Month(), "focus", version)
        assert _focus_state(settings)[account.scope_id] == (version, count, billed.normalize(), effective.normalize())
        expected_rows += count
    assert result.rows_loaded == expected_rows
    # Parquet dates and timestamps arrive as the same ISO text as CSV; money stays text (never a float).
    assert table_state(settings, f"select distinct charge_date from {TABLE} order by 1")[0] == ("2026-03-01",)
    starts = table_state(settings, f"select distinct billing_period_start from {FOCUS_TABLE}")
    assert starts == [("2026-03-01T00:00:00Z",)]
    columns = build_pipeline(settings, SLUG, "azure").default_schema.get_table_columns("azure_focus_cost")
    assert columns["billed_cost"]["data_type"] == columns["effective_cost"]["data_type"] == "text"
    models = table_state(
        settings, f"select distinct ai_model, ai_token_type from {FOCUS_TABLE} where ai_model is not null order by 2"
    )
    assert models == [("gpt-4o", "input"), ("gpt-4o", "output")]


def _focus_file(tmp_path: Path, drop: str | None = None, extra: bool = False) -> Path:
    from bench.generators.azure import Account, Month, columns_of, rows

    header = [c for c in columns_of(Account(), "focus", "1.2") if c != drop] + (["x_NewColumn"] if extra else [])
    path = tmp_path / "focus" / "FocusCost_part_1.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows(Account(), Month(), "focus", "1.2"):
            row["x_NewColumn"] = "new"
            writer.writerow(["" if row.get(c) is None else _text(row.get(c)) for c in header])
    return path


def _text(value: object) -> str:
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def test_focus_file_missing_required_column_is_named_and_nothing_changes(settings: Settings, tmp_path: Path) -> None:
    run_ingest(settings, SLUG, "azure", azure_source_for(_focus_file(tmp_path / "good")))
    before = _focus_state(settings)
    assert before["8611537"][1] == 17
    broken = _focus_file(tmp_path / "broken", drop="BilledCost")
    # Without BilledCost the header is no longer FOCUS-like: the dataset has to be named, and then the column is.
    with pytest.raises(IngestError, match=r"FocusCost_part_1\.csv: missing required FOCUS column\(s\) billed_cost"):
        run_ingest(settings, SLUG, "azure", azure_source_for(broken, dataset="FocusCost"))
    assert _focus_state(settings) == before


def test_focus_file_extra_column_loads_and_missing_optional_is_null(settings: Settings, tmp_path: Path) -> None:
    path = _focus_file(tmp_path, drop="SkuPriceDetails", extra=True)
    assert run_ingest(settings, SLUG, "azure", azure_source_for(path)).rows_loaded == 17
    assert table_state(settings, f"select distinct x_new_column from {FOCUS_TABLE}") == [("new",)]
    assert "sku_price_details" not in {
        str(row[0]) for row in table_state(settings, f"describe {FOCUS_TABLE}")
    }  # staging's pinned_source turns the missing column into a typed null


def test_focus_bad_timestamp_names_file_row_and_column(settings: Settings, tmp_path: Path) -> None:
    path = _focus_file(tmp_path)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("2026-03-02T00:00:00Z", "03/02/2026 00:00", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"FocusCost_part_1\.csv: row 4: column '\w+' expected a UTC timestamp"):
        run_ingest(settings, SLUG, "azure", azure_source_for(path))
    assert _focus_state(settings) == {}


def test_manifest_decides_the_file_set_of_a_run(settings: Settings, tmp_path: Path) -> None:
    from bench.generators.azure import Account, Month, expected_totals, write_export

    run = write_export(tmp_path, Account(), Month(), "focus", "csv", chunk_rows=5)
    # A leftover part in the run folder that the manifest does not list is not part of the delivery.
    (run / "part_9_0001.csv").write_bytes((run / "part_0_0001.csv").read_bytes())
    result = run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path))
    count, billed, effective = expected_totals(Account(), Month(), "focus")
    assert result.rows_loaded == count
    assert _focus_state(settings)["8611537"] == ("1.2", count, billed.normalize(), effective.normalize())


def test_newer_focus_delivery_replaces_the_month(settings: Settings, tmp_path: Path) -> None:
    from datetime import datetime

    from bench.generators.azure import Account, Month, write_export

    write_export(tmp_path / "d1", Account(), Month(), "focus", "parquet")
    run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path / "d1"))
    assert _focus_state(settings)["8611537"][1] == 17
    write_export(tmp_path / "d2", Account(), Month(), "focus", "parquet", submitted=datetime(2026, 3, 20),
                 row_filter=lambda row: not str(row["ResourceId"] or "").endswith(("vm-1", "vm-3")))  # fmt: skip
    run_ingest(settings, SLUG, "azure", azure_source_for(tmp_path / "d2"))
    assert _focus_state(settings)["8611537"][1] == 15
    assert table_state(settings, f"select count(*), count(distinct source_file || source_row) from {FOCUS_TABLE}") == [
        (15, 15)
    ]


@pytest.mark.parametrize(
    ("category", "subcategory", "meter", "expected"),
    [
        ("Azure OpenAI", "gpt 4o 0513 Input global Tokens", "gpt-4o-0513-Input-glbl", ("gpt-4o", "input")),
        ("Azure OpenAI", "gpt 4o 0513 Output global Tokens", None, ("gpt-4o", "output")),
        ("Azure OpenAI", None, "gpt-4o-mini-0718-Inp-glbl", ("gpt-4o-mini", "input")),
        ("Azure OpenAI", None, "gpt-4o-0806-cached-Inp-glbl", ("gpt-4o", "cached_input")),
        ("Azure OpenAI", None, "gpt-35-turbo-0125-Output", ("gpt-35-turbo", "output")),
        ("Cognitive Services", "Azure OpenAI", "o1 Input regional", ("o1", "input")),
        ("Azure OpenAI", None, "text-embedding-3-small", ("text-embedding-3-small", None)),
        ("Cognitive Services", "Speech", "S1 Speech To Text", (None, None)),
        ("Virtual Machines", "Dsv3 Series", "D2s v3", (None, None)),
    ],
)
def test_openai_meter_names_parse_to_model_and_token_type(
    category: str, subcategory: str | None, meter: str | None, expected: tuple[str | None, str | None]
) -> None:
    from ingestion.sources.azure_exports.helpers import parse_openai_meter

    assert parse_openai_meter(category, subcategory, meter) == expected
