"""Foundation benchmark: CUR ingest and FOCUS build, each against a DuckDB baseline measured in the same run.

Usage: python -m bench.bench_foundation [--accounts N] [--days D] [--repeat R]
Prints one table: medians over R runs, rows/s, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from cloudact.demo_data import generate_cur
from cloudact.settings import Settings
from cloudact.transform import transform_org
from ingestion.pipelines import aws_source_for, run_ingest

SLUG = "bench_org"


def _median_seconds(action: Callable[[int], object], repeat: int) -> float:
    times = []
    for attempt in range(repeat):
        started = time.perf_counter()
        action(attempt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(accounts: int, days: int, repeat: int, out: Path) -> list[dict[str, object]]:
    """Generate the data, measure, and return one dict per measured step."""
    cur = out / "cur"
    generate_cur(cur, "111122223333", [f"{100000000000 + i}" for i in range(accounts)], date(2026, 1, 1), days, 1)
    files = sorted(cur.rglob("*.csv.gz"))
    settings = Settings(_env_file=None, data_dir=out / "data")  # type: ignore[call-arg]

    def baseline_ingest(attempt: int) -> None:
        con = duckdb.connect(str(out / f"baseline{attempt}.duckdb"))
        con.execute(f"create table cur as select * from read_csv({[str(f) for f in files]}, all_varchar = true)")
        con.close()

    counted = duckdb.connect()
    rows = counted.execute(f"select count(*) from read_csv({[str(f) for f in files]}, all_varchar = true)").fetchone()
    counted.close()
    row_count = int(rows[0]) if rows else 0
    baseline = _median_seconds(baseline_ingest, repeat)
    ingest = _median_seconds(lambda _: run_ingest(settings, SLUG, "aws", aws_source_for(cur)), repeat)
    build = _median_seconds(lambda _: transform_org(settings, SLUG), repeat)
    return [
        {"step": "CUR csv.gz ingest (dlt)", "seconds": ingest, "rows_per_s": row_count / ingest,
         "baseline": "DuckDB read_csv into a table", "baseline_seconds": baseline, "ratio": ingest / baseline},
        {"step": "FOCUS build (dbt build incl. tests)", "seconds": build, "rows_per_s": row_count / build,
         "baseline": "-", "baseline_seconds": None, "ratio": None},
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cloudact-bench-") as tmp:
        results = run(args.accounts, args.days, args.repeat, Path(tmp))
    if args.json:
        sys.stdout.write(json.dumps(results, default=str) + "\n")
        return 0
    sys.stdout.write(f"{'step':40} {'median s':>9} {'rows/s':>10} {'baseline s':>11} {'ratio':>7}\n")
    for row in results:
        base = f"{row['baseline_seconds']:.2f}" if row["baseline_seconds"] is not None else "-"
        ratio = f"{row['ratio']:.1f}x" if row["ratio"] is not None else "-"
        sys.stdout.write(f"{row['step']:40} {row['seconds']:9.2f} {row['rows_per_s']:10,.0f} {base:>11} {ratio:>7}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
