"""A tiny run of the benchmark code, so `make bench` cannot silently rot (figures are not asserted)."""

from bench.bench_foundation import run


def test_benchmark_runs_on_tiny_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    results = run(accounts=1, days=3, repeat=1, out=tmp_path)
    assert [row["step"] for row in results] == ["CUR csv.gz ingest (dlt)", "FOCUS build (dbt build incl. tests)"]
    assert all(float(row["seconds"]) > 0 and float(row["rows_per_s"]) > 0 for row in results)  # type: ignore[arg-type]


def test_api_read_benchmark_runs_on_tiny_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench.bench_api_reads import run as run_api

    results = run_api(rows=2000, cached_requests=60, uncached_requests=10, out=tmp_path)
    assert [row["scenario"] for row in results] == [
        "cached: breakdown by service",
        "uncached: summary, distinct filters",
    ]
    assert all(row["requests"] in (60, 10) and float(row["p99_ms"]) >= float(row["p50_ms"]) > 0 for row in results)  # type: ignore[arg-type]
