"""A tiny run of the benchmark code, so `make bench` cannot silently rot (figures are not asserted)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import bench_pipeline
from bench.__main__ import table

pytestmark = pytest.mark.slow


def test_pipeline_benchmarks_run_on_tiny_data(tmp_path: Path) -> None:
    results = bench_pipeline.bench_ingest(tmp_path / "ingest", rows=600, repeat=1)
    results += bench_pipeline.bench_build(tmp_path / "build", rows=600, repeat=1, incremental=True)
    results += bench_pipeline.bench_tenants(tmp_path / "tenants", tenants=2, repeat=1)
    assert [row["step"] for row in results] == [
        "ingest CUR 2.0 parquet (dlt)",
        "ingest legacy CUR parquet (dlt)",
        "ingest legacy CUR csv.gz (dlt)",
        "ingest JSON API pages (dlt REST)",
        "full FOCUS build (dbt run)",
        "full FOCUS build (dbt run, project parsed)",
        "full FOCUS build + data tests (dbt build)",
        "incremental: last month re-delivered, 2 days changed (dbt run)",
        "incremental: the same, project parsed",
        "incremental: the FOCUS model's own time",
        "nightly run, 2 orgs (first night)",
        "nightly run, 2 orgs (next night)",
    ]
    assert not [row for row in results if row.get("error") or math.isnan(row["seconds"])]
    assert all(row["seconds"] > 0 and row["rows"] > 0 for row in results)
    build = results[4]
    assert build["baseline_seconds"] > 0 and build["rss_mb"] > 0 and build["baseline_rss_mb"] > 0
    # The warm figure is the run alone, a part of the cold child's whole process.
    assert results[5]["seconds"] < build["seconds"] and results[8]["seconds"] < results[7]["seconds"]
    printed = table(results, [], 0)
    assert printed.count("\n") == len(results) + 1  # header, rule, one line per step
    # The re-delivered month is the history's last month with only its last 2 days changed: the incremental build
    # rebuilt those 2 days, nothing else.
    import duckdb

    con = duckdb.connect(str(tmp_path / "build" / "build" / "warehouse.duckdb"), read_only=True)
    try:
        units = con.execute("select charge_date from bench_org_prod.int_focus_changed_units order by 1").fetchall()
    finally:
        con.close()
    assert units == [("2025-12-30",), ("2025-12-31",)]


def test_the_baseline_statement_produces_the_focus_columns(tmp_path: Path) -> None:
    """The hand-written baseline builds the same columns, in the same order, as cost_data_standard_1_3."""
    import duckdb

    bench_pipeline.bench_build(tmp_path, rows=600, repeat=1, incremental=False)
    con = duckdb.connect(str(tmp_path / "build" / "warehouse.duckdb"), read_only=True)
    try:
        focus = [row[0] for row in con.execute("describe bench_org_prod.cost_data_standard_1_3").fetchall()]
        base = [row[0] for row in con.execute("describe bench_org_prod.baseline_focus").fetchall()]
        totals = [
            con.execute(
                f"""select ChargeCategory, count(*), sum(BilledCost), sum(x_SourceRowHash) from bench_org_prod.{table}
                    where x_LineItemType in ('Usage', 'Tax') group by all order by all"""
            ).fetchall()
            for table in ("cost_data_standard_1_3", "baseline_focus")
        ]
    finally:
        con.close()
    assert base == focus
    # On-demand usage and tax (all but a few rows a month; commitments get Unused rows only the model adds): the
    # same rows by category, the same billed cost and the same line fingerprints.
    assert totals[0] == totals[1] and len(totals[0]) == 2


def test_api_read_benchmark_runs_on_tiny_data(tmp_path: Path) -> None:
    from bench.bench_api_reads import run as run_api

    results = run_api(rows=2000, cached_requests=60, uncached_requests=10, out=tmp_path)
    assert [row["scenario"] for row in results] == [
        "cached: breakdown by service",
        "cached at 1,000 req/s offered (open loop)",
        "uncached: summary, distinct filters",
    ]
    assert all(row["requests"] in (60, 10) and float(row["p99_ms"]) >= float(row["p50_ms"]) > 0 for row in results)  # type: ignore[arg-type]
    # The open loop paces its requests: 60 requests due 1 ms apart cannot finish in less than 59 ms.
    assert float(results[1]["req_per_s"]) <= 60 / 0.059  # type: ignore[arg-type]
