"""The crucible BigQuery emulator for tests: start it on 127.0.0.1, and load dlt's normalized files into it.

The emulator (``crucible-emulator[server]``, pinned in the Makefile) runs from its own venv ``.venv-bq`` because it
pins duckdb 1.5.6 and sqlglot 30.22 (``make bq-emulator`` creates it; ``make test`` depends on it).

What the emulator refuses, by name (each a clear HTTP 400; see ../shared/STACK.md):
- JSON and Parquet load jobs, ``insertAll`` (so dlt's BigQuery load step, which sends JSONL or Parquet load jobs, and
  its merge/staging SQL cannot run): ``load_normalized`` below loads dlt's normalized files as CSV load jobs instead;
- DELETE and UPDATE: dlt's ``delete-insert`` merge of a restated period is replayed here as a CTAS that keeps the
  rows of other periods, followed by the CSV append;
- query parameters (``@name``): the warehouse runs with ``inline_params`` (typed, escaped literals);
- BIGNUMERIC (DuckDB's DECIMAL stops at 38 digits): the dbt target ``emulator`` types money as NUMERIC;
- scripting (multi-statement transactions, dynamic ``insert_overwrite``), INFORMATION_SCHEMA, the Storage API.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cloudact.settings import REPO_ROOT

EMULATOR_VENV = Path(os.environ.get("CLOUDACT_BQ_EMULATOR_VENV", REPO_ROOT / ".venv-bq"))
EMULATOR_BIN = EMULATOR_VENV / "bin" / "crucible"
EMULATOR_VERSION = "0.1.0a2"


class EmulatorUnavailable(RuntimeError):
    """The emulator venv is missing (run `make bq-emulator`) or the server did not become healthy."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def crucible_server(timeout: float = 30.0) -> Iterator[str]:
    """``crucible serve --dialect bigquery`` on a free 127.0.0.1 port; yields its URL, stops it on exit."""
    if not EMULATOR_BIN.exists():
        raise EmulatorUnavailable(f"{EMULATOR_BIN} not found: run `make bq-emulator` (creates {EMULATOR_VENV.name})")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = io.BytesIO()
    proc = subprocess.Popen(  # noqa: S603 (our own pinned binary, fixed arguments)
        [str(EMULATOR_BIN), "serve", "--dialect", "bigquery", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise EmulatorUnavailable(f"crucible exited with {proc.returncode}: {output[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_crucible/health", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EmulatorUnavailable(f"crucible not healthy at {url} after {timeout:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        del log


def _bq_type(data_type: str, column: dict[str, Any]) -> str:
    return {
        "text": "STRING",
        "double": "FLOAT64",
        "bool": "BOOL",
        "timestamp": "TIMESTAMP",
        "bigint": "INT64",
        "binary": "BYTES",
        "json": "STRING",
        "decimal": "NUMERIC",
        "wei": "NUMERIC",
        "date": "DATE",
        "time": "TIME",
    }[data_type]


def load_normalized(
    pipeline: Any, client: Any, dataset: str, merge_key: Sequence[str] | None = None, tables: Sequence[str] = ()
) -> dict[str, int]:
    """Load a dlt pipeline's normalized (not yet loaded) packages into ``dataset`` through CSV load jobs.

    Stands in for dlt's BigQuery load step, which the emulator cannot take (JSONL/Parquet loads, scripting). The
    files, the table schemas and the ``_dlt_load_id`` values are dlt's own. With ``merge_key``, rows of the target
    whose key occurs in the new data are dropped first (a CTAS instead of dlt's DELETE), as ``delete-insert`` does.
    Returns rows loaded per table.
    """
    import polars as pl
    from google.api_core.exceptions import NotFound
    from google.cloud import bigquery

    loaded: dict[str, int] = {}
    for load_id in pipeline.list_normalized_load_packages():
        package = pipeline.get_load_package_info(load_id)
        schema = pipeline.default_schema
        jobs = [job for state_jobs in package.jobs.values() for job in state_jobs]
        for job in jobs:
            table = job.job_file_info.table_name
            if table.startswith("_dlt") or (tables and table not in tables):
                continue
            path = Path(job.file_path)
            if path.suffix == ".parquet":
                frame = pl.read_parquet(path)
            elif ".jsonl" in path.name or ".typed-jsonl" in path.name:
                frame = pl.read_ndjson(_open_maybe_gzip(path))
            else:
                raise AssertionError(f"unexpected normalized file {path.name}")
            columns = schema.get_table_columns(table)
            fields = [bigquery.SchemaField(name, _bq_type(col["data_type"], col)) for name, col in columns.items()]
            frame = frame.select([pl.col(f.name) if f.name in frame.columns else pl.lit(None).alias(f.name)
                                  for f in fields])  # fmt: skip
            ref = f"{client.project}.{dataset}.{table}"
            exists = True
            try:
                client.get_table(ref)
            except NotFound:
                exists = False
            if exists and merge_key:
                keys = frame.select(list(merge_key)).unique().rows()
                if keys:
                    match = " or ".join(
                        "(" + " and ".join(f"{k} = {_lit(v)}" for k, v in zip(merge_key, key, strict=True)) + ")"
                        for key in keys
                    )
                    keep = f"create or replace table `{ref}` as select * from `{ref}` where not ({match})"
                    client.query(keep).result()
            buffer = io.BytesIO()
            frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f+00"))\
                .write_csv(buffer)  # fmt: skip
            buffer.seek(0)
            config = bigquery.LoadJobConfig(
                source_format="CSV", skip_leading_rows=1, schema=fields, write_disposition="WRITE_APPEND"
            )
            client.load_table_from_file(buffer, ref, job_config=config).result()
            loaded[table] = loaded.get(table, 0) + frame.height
        # Loaded: remove the package as dlt's load step would (drop_pending_packages would try to reach BigQuery).
        shutil.rmtree(Path(pipeline.working_dir) / "load" / "normalized" / load_id)
    return loaded


def _lit(value: Any) -> str:
    from cloudact.warehouse_bigquery import literal

    return literal(value)


def _open_maybe_gzip(path: Path) -> io.BytesIO:
    import gzip

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return io.BytesIO(data)
