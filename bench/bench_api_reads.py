"""API read benchmark: cached and uncached cost reads over HTTP at concurrency 50, against a bare DuckDB query.

The API runs as `cloudact serve` (one uvicorn process); this process is the load generator, so load and server never
share an interpreter. The org's FOCUS snapshot is synthetic (realistic cardinalities, 12 months) at ``--rows`` rows.
Three scenarios: cached reads in a closed loop (50 clients, each sending as soon as answered: saturation
throughput), the same reads offered at 1,000 req/s in an open loop (at most 50 in flight: the latency at the target
rate), and uncached reads (a distinct filter each) in a closed loop.

Usage: python -m bench.bench_api_reads [--rows 1000000] [--cached-requests 3000] [--uncached-requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse

CONCURRENCY = 50
TARGET_RATE = 1000  # requests/s of issue 7's cached-read target
ROOT_KEY = "bench-root-key-0123456789abcdef0123"


def make_snapshot(path: Path, rows: int) -> None:
    """A FOCUS-shaped Parquet file with the columns the cost reads use."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"""
        copy (
          select
            timestamptz '2025-12-01' + to_days((i * 7919) % 365) as ChargePeriodStart,
            date_trunc('month', timestamptz '2025-12-01' + to_days((i * 7919) % 365)) as BillingPeriodStart,
            'USD' as BillingCurrency,
            cast(((i * 104729) % 100000) / 1000.0 as decimal(38, 12)) as BilledCost,
            cast(((i * 104729) % 100000) / 1100.0 as decimal(38, 12)) as EffectiveCost,
            cast(((i * 104729) % 100000) / 900.0 as decimal(38, 12)) as ListCost,
            cast(((i * 104729) % 100000) / 1000.0 as decimal(38, 12)) as ContractedCost,
            ['aws', 'gcp', 'azure', 'openai'][1 + i % 4] as x_Provider,
            'Service ' || (i % 50) as ServiceName,
            case when i % 4 = 3 then 'AI and Machine Learning' else 'Compute' end as ServiceCategory,
            'Other (Compute)' as ServiceSubcategory,
            'acct-' || (i % 200) as SubAccountId,
            'billing-' || (i % 3) as BillingAccountId,
            'region-' || (i % 20) as RegionId,
            case when i % 50 = 0 then 'Credit' else 'Usage' end as ChargeCategory,
            'res-' || (i % 100000) as ResourceId,
            'resource ' || (i % 100000) as ResourceName,
            'model-' || (i % 8) || ', ' || ['input', 'output'][1 + i % 2] as SkuId,
            cast(i % 5000 as decimal(38, 12)) as ConsumedQuantity,
            'tokens' as ConsumedUnit,
            '{{"team": "team-' || (i % 12) || '", "env": "' || ['prod', 'dev'][1 + i % 2] || '"}}' as Tags,
            'charge-' || i as x_ChargeId
          from range({rows}) t(i)
        ) to '{path}' (format parquet, compression zstd)""")
    con.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _load(urls: list[str], headers: dict[str, str], rate: float | None = None) -> tuple[list[float], float]:
    """GET every URL over CONCURRENCY keep-alive connections; returns the latencies and the wall time.

    Closed loop (``rate`` None): each connection sends its next request as soon as the last one is answered, so the
    figure is the server's saturation throughput and a latency is mostly waiting behind the other 49. Open loop
    (``rate`` requests/s): request i is due at start + i / rate, at most CONCURRENCY in flight, and its latency counts
    from when it was due, so a server that falls behind is charged its queueing (no coordinated omission).

    A minimal HTTP/1.1 client on asyncio streams: a general-purpose client (httpx) spends more CPU per request than
    the server does on a cached read, and would measure itself instead of the API.
    """
    latencies: list[float] = []
    targets = [httpx.URL(url).raw_path.decode() for url in urls]
    first = httpx.URL(urls[0])
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    taken = 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal taken
        reader, writer = await asyncio.open_connection(first.host, first.port)
        try:
            while taken < len(targets):
                index, taken = taken, taken + 1
                due = started + index / rate if rate else time.perf_counter()
                if (delay := due - time.perf_counter()) > 0:
                    await asyncio.sleep(delay)
                writer.write(f"GET {targets[index]} HTTP/1.1\r\nHost: {first.host}\r\n{extra}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - due)
                if status != 200:
                    raise RuntimeError(f"{targets[index]}: {status} {body[:200]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies, time.perf_counter() - started


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(rows: int, cached_requests: int, uncached_requests: int, out: Path) -> list[dict[str, object]]:
    """Build the org and snapshot, start the API, measure; one dict per scenario."""
    settings = Settings(_env_file=None, data_dir=out / "data", root_api_key=ROOT_KEY)  # type: ignore[call-arg]
    org = onboard_org(get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Bench Reads",
                      "scale")  # fmt: skip
    folder = settings.resolved_data_dir / "snapshots" / org.org_slug
    folder.mkdir(parents=True)
    snapshot = folder / "focus_v1.parquet"
    make_snapshot(snapshot, rows)
    (folder / "CURRENT").write_text(snapshot.name)

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDACT_")}
    env.update({"CLOUDACT_DATA_DIR": str(settings.resolved_data_dir), "CLOUDACT_ROOT_API_KEY": ROOT_KEY})
    cli = Path(sys.executable).parent / "cloudact"
    server = subprocess.Popen([str(cli), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1/orgs/{org.org_slug}/costs"
    headers = {"X-API-Key": org.api_key}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        results = []
        cached_url = f"{base}/breakdown/service?limit=20"
        httpx.get(cached_url, headers=headers, timeout=120)  # warm: the first read fills the cache
        latencies, wall = asyncio.run(_load([cached_url] * cached_requests, headers))
        baseline = _duckdb_median(
            f"""select ServiceName, BillingCurrency, sum(BilledCost), sum(EffectiveCost), count(*)
                from '{snapshot}' group by all order by 3 desc limit 20"""
        )
        results.append(_row("cached: breakdown by service", latencies, wall, baseline))
        # The same reads offered at the target's rate: the latency a client sees at 1,000 req/s.
        latencies, wall = asyncio.run(_load([cached_url] * cached_requests, headers, rate=TARGET_RATE))
        results.append(_row(f"cached at {TARGET_RATE:,} req/s offered (open loop)", latencies, wall, baseline))
        # Distinct filters: every request is a miss.
        urls = [f"{base}/summary?start=2025-12-{1 + i % 28:02d}&end=2026-{1 + (i // 28) % 11:02d}-28&provider="
                f"{['aws', 'gcp', 'azure', 'openai'][i % 4]}" for i in range(uncached_requests)]  # fmt: skip
        latencies, wall = asyncio.run(_load(urls, headers))
        baseline = _duckdb_median(
            f"""select BillingCurrency, sum(BilledCost), sum(EffectiveCost), sum(ListCost), sum(ContractedCost),
                       count(*) from '{snapshot}'
                where ChargePeriodStart >= timestamptz '2025-12-05' and ChargePeriodStart < timestamptz '2026-06-29'
                  and x_Provider = 'aws' group by all"""
        )
        results.append(_row("uncached: summary, distinct filters", latencies, wall, baseline))
        return results
    finally:
        server.terminate()
        server.wait(20)


def _duckdb_median(sql: str, repeat: int = 15) -> float:
    con = duckdb.connect()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute(sql).fetchall()
        times.append(time.perf_counter() - started)
    con.close()
    return statistics.median(times)


def _row(name: str, latencies: list[float], wall: float, baseline: float) -> dict[str, object]:
    return {
        "scenario": name,
        "requests": len(latencies),
        "p50_ms": round(_quantile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(_quantile(latencies, 0.99) * 1000, 2),
        "req_per_s": round(len(latencies) / wall, 1),
        "baseline_duckdb_ms": round(baseline * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cached-requests", type=int, default=3000)
    parser.add_argument("--uncached-requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cloudact-bench-api-") as folder:
        results = run(args.rows, args.cached_requests, args.uncached_requests, Path(folder))
    print(f"API reads at {args.rows:,} FOCUS rows, concurrency {CONCURRENCY}, load from a second process")  # noqa: T201
    print("| scenario | requests | p50 ms | p99 ms | req/s | bare DuckDB query ms (baseline) |")  # noqa: T201
    print("|---|---|---|---|---|---|")  # noqa: T201
    for row in results:
        print("| " + " | ".join(str(value) for value in row.values()) + " |")  # noqa: T201


if __name__ == "__main__":
    main()
