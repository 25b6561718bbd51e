"""A tiny run of the benchmark code, so `make bench` cannot silently rot (figures are not asserted)."""

from bench.bench_foundation import run


def test_benchmark_runs_on_tiny_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    results = run(accounts=1, days=3, repeat=1, out=tmp_path)
    assert [row["step"] for row in results] == ["CUR csv.gz ingest (dlt)", "FOCUS build (dbt build incl. tests)"]
    assert all(float(row["seconds"]) > 0 and float(row["rows_per_s"]) > 0 for row in results)  # type: ignore[arg-type]
