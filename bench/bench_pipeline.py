"""Pipeline benchmarks of issue 7: raw ingest per format, full FOCUS build, incremental day, many tenants.

Every figure is a median over ``--repeat`` runs next to a baseline measured in the same run on the same machine:

- raw ingest: rows/s of ``run_ingest`` (dlt) per format, against DuckDB reading the same files into a table;
- full FOCUS build: ``dbt run`` of cost_data_standard_1_3 and its parents (``--full-refresh``) in a child process
  (wall time, rows/s, peak RSS), against one hand-written DuckDB statement producing the same columns
  (``bench/baseline_focus.sql``), also in a child process;
- incremental day: the last billing month re-delivered with its last 2 days changed (AWS re-sends the whole open
  month) over 12 months of history, then the incremental build, against a full rebuild;
- both builds are timed cold (the whole child process: imports, dbt's parse, the run) and warm (the run alone, after
  the parse, as a nightly worker runs an org: it parses the project once for all its orgs);
- many tenants: the nightly pipeline (ingest + build + snapshot, ``run_in_process``) of N orgs with small data each,
  against one org; the overhead per org is T(N) / N - T(1), what an org's run costs more among N than alone.

Usage: python -m bench.bench_pipeline [--rows 1000000] [--tenants 100] [--repeat 3]
       [--only ingest,build,incremental,tenants]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

SLUG = "bench_org"
REPO = Path(__file__).resolve().parent.parent
BASELINE_SQL = Path(__file__).with_name("baseline_focus.sql")


def _settings(data_dir: Path) -> Any:
    from cloudact.settings import Settings

    return Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]


def _median(action: Callable[[int], object], repeat: int) -> float:
    times = []
    for attempt in range(repeat):
        started = time.perf_counter()
        action(attempt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _count(sql: str) -> int:
    con = duckdb.connect()
    try:
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def _aws(rows: int, months: int = 12, first: date = date(2025, 1, 1), seed: int = 7, accounts: int = 50) -> Any:
    from bench.generators.aws import AwsConfig

    return AwsConfig(first_month=first, months=months, usage_rows=max(rows // months, 1), accounts=accounts, seed=seed)


def _row(step: str, seconds: float, rows: int, baseline: str, baseline_s: float | None, **extra: Any) -> dict[str, Any]:
    return {
        "step": step, "seconds": seconds, "rows": rows, "rows_per_s": rows / seconds if seconds else None,
        "baseline": baseline, "baseline_seconds": baseline_s,
        "ratio": seconds / baseline_s if baseline_s else None, **extra,
    }  # fmt: skip


# --- raw ingest ---------------------------------------------------------------------------------------------------


def bench_ingest(out: Path, rows: int, repeat: int) -> list[dict[str, Any]]:
    """rows/s of each format's dlt ingest against DuckDB reading the same files."""
    from bench.generators.aws import write_cur2, write_legacy
    from cloudact.demo_data import generate_openai_buckets
    from ingestion.pipelines import aws_source_for, ingest_openai_buckets, run_ingest

    results = []
    formats: list[tuple[str, Callable[[Path], list[Path]], str]] = [
        ("CUR 2.0 parquet", lambda d: write_cur2(d, _aws(rows)), "read_parquet({files})"),
        ("legacy CUR parquet", lambda d: write_legacy(d, _aws(rows), "parquet"), "read_parquet({files})"),
        ("legacy CUR csv.gz", lambda d: write_legacy(d, _aws(rows), "csv.gz"), "read_csv({files}, all_varchar = true)"),
    ]
    for name, write, reader in formats:
        folder = out / name.replace(" ", "_").replace(".", "_")
        written = write(folder / "src")
        files = [str(p) for p in written]
        count = _count(f"select count(*) from {reader.format(files=files)}")

        def baseline(attempt: int, reader: str = reader, files: list[str] = files, folder: Path = folder) -> None:
            con = duckdb.connect(str(folder / f"baseline{attempt}.duckdb"))
            con.execute(f"create table raw as select * from {reader.format(files=files)}")
            con.close()

        def ingest(attempt: int, folder: Path = folder) -> None:
            run_ingest(_settings(folder / f"data{attempt}"), SLUG, "aws", aws_source_for(folder / "src"))

        base = _median(baseline, repeat)
        try:
            seconds = _median(ingest, repeat)
        except Exception as exc:  # a format our readers do not take yet is reported, not hidden
            results.append(_row(f"ingest {name} (dlt)", float("nan"), count, "DuckDB read", base, error=str(exc)[:120]))
            continue
        results.append(_row(f"ingest {name} (dlt)", seconds, count, "DuckDB reads the files", base))

    # JSON API pages: OpenAI Costs buckets served on 127.0.0.1 and paged through by the dlt REST source.
    projects = [f"proj_{index:04d}" for index in range(max(rows // (365 * 20), 1))]
    buckets = generate_openai_buckets(date(2025, 1, 1), 365, projects, seed=3)
    pages = out / "openai_pages.json"
    pages.write_text(json.dumps([{"object": "page", "data": buckets}]))
    count = sum(len(bucket["results"]) for bucket in buckets)

    def json_baseline(attempt: int) -> None:
        con = duckdb.connect(str(out / f"json{attempt}.duckdb"))
        con.execute(
            f"""create table raw as select unnest(bucket.results, recursive := true), bucket.start_time
                from (select unnest(data) as bucket from read_json('{pages}', maximum_object_size = 1000000000))"""
        )
        con.close()

    def json_ingest(attempt: int) -> None:
        ingest_openai_buckets(_settings(out / f"json_data{attempt}"), SLUG, buckets, "org-bench")

    base = _median(json_baseline, repeat)
    results.append(
        _row("ingest JSON API pages (dlt REST)", _median(json_ingest, repeat), count, "DuckDB read_json", base)
    )
    return results


# --- full build and incremental ---------------------------------------------------------------------------------


def _child(mode: str, data_dir: Path) -> dict[str, Any]:
    """Run one build step in a child process; returns its wall seconds (measured inside) and peak RSS."""
    command = [sys.executable, "-m", "bench.bench_pipeline", "--child", mode, "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    stdout = process.stdout.read() if process.stdout else ""
    _, status, _ = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"child {mode} failed with status {status}: {stdout[-500:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    return {
        "seconds": figures["seconds"], "rss_mb": figures["peak_rss_mb"], "model_s": figures.get("model_seconds"),
        "warm_s": figures.get("warm_seconds"),
    }  # fmt: skip


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not the parent's wait4 ru_maxrss: Linux keeps that high-water mark
    across fork and exec, so a child would report the (large) benchmark process it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, data_dir: Path) -> None:
    """Child process side of ``_child``: one timed step, printed as JSON."""
    from cloudact.transform import (
        _build_state,
        _needless_nodes,
        _parsed_manifest,
        _point_manifest_at,
        _rawless_models,
        focus_fingerprint,
        run_dbt,
    )
    from cloudact.warehouse import get_warehouse

    settings = _settings(data_dir)
    model_seconds = warm_seconds = None
    started = time.perf_counter()
    if mode == "baseline":
        sql = BASELINE_SQL.read_text().format(
            raw=f"{SLUG}_prod.aws_cur_line_items", seed=f"{SLUG}_prod.aws_service_categories",
            target=f"{SLUG}_prod.baseline_focus", slug=SLUG,
        )  # fmt: skip
        con = duckdb.connect(str(settings.resolved_duckdb_path))
        con.execute("set TimeZone = 'UTC'")
        # The engine settings of dbt's builds (profiles.yml): the same memory limit, or the statement may use ten
        # times the memory the model is allowed and the ratio measures the limit, not the build.
        con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
        con.execute(sql)
        con.close()
    else:
        # The project is parsed first, once, and pointed at the org, as a nightly worker does for all its orgs
        # (transform_org); the run after it is the warm figure, the whole process (imports, parse, run) the cold one.
        manifest = _point_manifest_at(_parsed_manifest(settings), SLUG)
        # As transform_org: the staging models without raw tables are recorded (focus_rawless), and an incremental
        # run leaves out those the last build already made empty (the other providers' views of an AWS-only org).
        warehouse = get_warehouse(settings)
        with warehouse.session():
            existing = warehouse.dataset_tables(f"{SLUG}_prod")
            state = _build_state(warehouse, SLUG, existing)
        rawless = _rawless_models(manifest, existing)
        variables = {
            "org_slug": SLUG,
            "focus_fingerprint": focus_fingerprint(),
            "focus_rawless": " ".join(sorted(rawless)),
        }
        excluded = ["resource_type:seed"]
        if mode == "incremental":
            excluded += [name for name in _needless_nodes(manifest, existing, state) if name in rawless]
        args = ["run", "--select", "+cost_data_standard_1_3", "--exclude", *excluded, "--vars", json.dumps(variables)]
        if mode == "full":
            args.append("--full-refresh")
        warm_started = time.perf_counter()
        result = run_dbt(settings, args, manifest)
        if not result.success:
            raise SystemExit(f"dbt run failed: {result.exception}")
        warm_seconds = time.perf_counter() - warm_started
        # The FOCUS model's own time (its node in run_results), without dbt's start-up and the staging views.
        node = next(r for r in result.result.results if r.node.name == "cost_data_standard_1_3")
        model_seconds = node.execution_time
    figures = {"seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}
    if mode != "baseline":
        figures.update(model_seconds=model_seconds, warm_seconds=warm_seconds)
    sys.stdout.write(json.dumps(figures) + "\n")


def bench_build(out: Path, rows: int, repeat: int, incremental: bool) -> list[dict[str, Any]]:
    """Full FOCUS build vs the hand-written statement; then the incremental re-delivery vs a full rebuild."""
    from bench.generators.aws import write_legacy
    from cloudact.transform import transform_org
    from ingestion.pipelines import aws_source_for, run_ingest

    data_dir = out / "build"
    settings = _settings(data_dir)
    write_legacy(out / "history", _aws(rows), "parquet")
    run_ingest(settings, SLUG, "aws", aws_source_for(out / "history"))
    started = time.perf_counter()
    transform_org(settings, SLUG, reuse_manifest=False)  # seeds, models and every data test, once
    build_with_tests = time.perf_counter() - started
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    counted = con.execute(f"select count(*) from {SLUG}_prod.cost_data_standard_1_3").fetchone()
    con.close()
    count = int(counted[0]) if counted else 0
    full = [_child("full", data_dir) for _ in range(repeat)]
    base = [_child("baseline", data_dir) for _ in range(repeat)]
    full_s, base_s = statistics.median(r["seconds"] for r in full), statistics.median(r["seconds"] for r in base)
    results = [
        _row("full FOCUS build (dbt run)", full_s, count, "one hand-written DuckDB statement", base_s,
             rss_mb=max(r["rss_mb"] for r in full), baseline_rss_mb=max(r["rss_mb"] for r in base)),
        _row("full FOCUS build (dbt run, project parsed)", statistics.median(r["warm_s"] for r in full), count,
             "one hand-written DuckDB statement", base_s, rss_mb=max(r["rss_mb"] for r in full)),
        _row("full FOCUS build + data tests (dbt build)", build_with_tests, count, "-", None),
    ]  # fmt: skip
    if not incremental:
        return results
    # Re-deliver the last month with its last 2 days changed: AWS sends the whole open month again.
    last = _aws(rows)
    months = last.months
    times = []
    for attempt in range(repeat):
        redelivery = out / f"redelivery{attempt}"
        # The history's last month again, each revision with other usage amounts on its last 2 days and every other
        # line as it was.
        write_legacy(redelivery, dataclasses.replace(last, revision=attempt + 1), "parquet", last_months=1)
        run_ingest(settings, SLUG, "aws", aws_source_for(redelivery))
        times.append(_child("incremental", data_dir))
    incremental_s = statistics.median(r["seconds"] for r in times)
    full_model_s = statistics.median(r["model_s"] for r in full)
    incremental_model_s = statistics.median(r["model_s"] for r in times)
    full_warm_s = statistics.median(r["warm_s"] for r in full)
    results += [
        _row("incremental: last month re-delivered, 2 days changed (dbt run)", incremental_s, count // months,
             "full rebuild (dbt run)",
             full_s, rss_mb=max(r["rss_mb"] for r in times)),
        _row("incremental: the same, project parsed", statistics.median(r["warm_s"] for r in times), count // months,
             "full rebuild, project parsed", full_warm_s),
        _row("incremental: the FOCUS model's own time", incremental_model_s, count // months,
             "full rebuild: the FOCUS model's own time", full_model_s),
    ]  # fmt: skip
    return results


# --- many tenants -----------------------------------------------------------------------------------------------


def _tenants_child(data_dir: Path, tenants: int) -> None:
    """Onboard ``tenants`` orgs with a small AWS export each, then time their nightly runs one after the other."""
    from bench.generators.aws import write_legacy
    from cloudact.control_plane import get_control_plane
    from cloudact.integrations import set_integration
    from cloudact.keyring import get_keyring
    from cloudact.onboarding import onboard_org
    from cloudact.pipeline import run_in_process
    from cloudact.warehouse import get_warehouse

    settings = _settings(data_dir)
    control_plane, warehouse, keyring = get_control_plane(settings), get_warehouse(settings), get_keyring(settings)
    slugs = []
    for index in range(tenants):
        slug = onboard_org(control_plane, warehouse, keyring, f"Tenant {index:03d}").org_slug
        folder = data_dir.parent / f"exports{index}"
        write_legacy(folder, _aws(600, months=1, first=date(2026, 10, 1), seed=index, accounts=3), "csv.gz")
        set_integration(warehouse, keyring, slug, "aws", {"export_path": str(folder)})
        slugs.append(slug)
    # dbt parses the project once per process, whatever the number of orgs: timed apart, not in either night.
    from cloudact.transform import _parsed_manifest

    started = time.perf_counter()
    _parsed_manifest(settings)
    figures = {"parse": time.perf_counter() - started}
    for night in ("first", "next"):
        if night == "next":  # every org's provider re-delivers its month (AWS re-sends the open month daily)
            for index in range(tenants):
                folder = data_dir.parent / f"exports{index}"
                write_legacy(
                    folder, _aws(600, months=1, first=date(2026, 10, 1), seed=1000 + index, accounts=3), "csv.gz"
                )
        started = time.perf_counter()
        for slug in slugs:
            outcome = run_in_process(settings, slug, trigger="schedule")
            if outcome.status != "succeeded":
                raise SystemExit(f"{slug}: {outcome.status}")
        figures[night] = time.perf_counter() - started
    sys.stdout.write(json.dumps(figures) + "\n")


def bench_tenants(out: Path, tenants: int, repeat: int) -> list[dict[str, Any]]:
    """Nightly run of N small orgs vs one org, each in a fresh process (its one dbt parse timed apart): the first night
    after onboarding (seeds loaded, every view built) and the next night (a re-delivered month). The N orgs share one
    warehouse, as tenants do; the one org has a warehouse of its own."""

    def timed(count: int, attempt: int) -> dict[str, float]:
        data_dir = out / f"tenants{count}_{attempt}" / "data"
        data_dir.mkdir(parents=True)
        command = [
            sys.executable,
            "-m",
            "bench.bench_pipeline",
            "--tenants-child",
            str(count),
            "--data-dir",
            str(data_dir),
        ]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"tenants child failed: {done.stderr[-800:]}")
        return {key: float(value) for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items()}

    ones = [timed(1, attempt) for attempt in range(repeat)]
    manys = [timed(tenants, attempt) for attempt in range(max(repeat // 2, 1))]
    results = []
    for night in ("first", "next"):
        one = statistics.median(run[night] for run in ones)
        many = statistics.median(run[night] for run in manys)
        # Overhead: what an org's run costs more in a night of N orgs than alone (many / N - one). The marginal cost
        # of one more org, (many - one) / (N - 1), is the whole run of an org: reported beside it.
        results.append(
            _row(
                f"nightly run, {tenants} orgs ({night} night)",
                many,
                tenants,
                "one org",
                one,
                overhead_per_org_s=many / tenants - one,
                marginal_per_org_s=(many - one) / (tenants - 1) if tenants > 1 else one,
                parse_s=statistics.median(run["parse"] for run in [*ones, *manys]),
            )
        )
    return results


def _print(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'step':50} {'median s':>9} {'rows/s':>11} {'baseline':36} {'base s':>8} {'ratio':>7} {'RSS MB':>8} extra"
    )
    sys.stdout.write(header + "\n")
    for row in results:
        base = f"{row['baseline_seconds']:.2f}" if row["baseline_seconds"] is not None else "-"
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        rate = f"{row['rows_per_s']:,.0f}" if row["rows_per_s"] else "-"
        rss = f"{row['rss_mb']:.0f}" if row.get("rss_mb") else "-"
        shown = ("baseline_rss_mb", "overhead_per_org_s", "marginal_per_org_s", "parse_s", "error")
        extra = {k: v for k, v in row.items() if k in shown}
        extra_text = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in extra.items())
        sys.stdout.write(
            f"{row['step']:50} {row['seconds']:9.2f} {rate:>11} {row['baseline']:36} {base:>8} {ratio:>7} {rss:>8} "
            f"{extra_text}\n"
        )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="ingest,build,incremental,tenants")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tenants-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.data_dir)
        return 0
    if args.tenants_child:
        _tenants_child(args.data_dir, args.tenants_child)
        return 0
    parts = set(args.only.split(","))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cloudact-bench-") as tmp:
        out = Path(tmp)
        if "ingest" in parts:
            results += bench_ingest(out / "ingest", args.rows, args.repeat)
        if parts & {"build", "incremental"}:
            results += bench_build(out / "build", args.rows, args.repeat, "incremental" in parts)
        if "tenants" in parts:
            results += bench_tenants(out / "tenants", args.tenants, args.repeat)
    if args.json:
        sys.stdout.write(json.dumps(results, default=str) + "\n")
    else:
        _print(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
