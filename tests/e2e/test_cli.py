"""The `cloudact` CLI on the embedded defaults: org create → ingest → transform → export, and its errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from typer.testing import CliRunner

from cloudact.api_keys import hash_api_key
from cloudact.cli import app
from tests.conftest import AWS_SAMPLE, OPENAI_SAMPLE, SHARED

runner = CliRunner()
SPEC = [row["column"] for row in csv.DictReader((SHARED / "focus" / "focus_1_3_columns.csv").open())]


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _query(data_dir: Path, sql: str, file: str = "warehouse.duckdb") -> list[tuple[object, ...]]:
    con = duckdb.connect(str(data_dir / file))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_org_create_ingest_transform_export(cli_env: Path, tmp_path: Path) -> None:
    code, output = _cli("org", "create", "Initech LLC", "--json")
    assert code == 0, output
    created = json.loads(output.strip().splitlines()[-1])
    slug, api_key = created["org_slug"], created["api_key"]
    assert slug.startswith("initech_llc_") and len(api_key) >= 43
    stored = _query(cli_env, f"select key_sha256 from organizations.org_api_keys where org_slug = '{slug}'",
                    "platform.duckdb")  # fmt: skip
    assert stored == [(hash_api_key(api_key),)]  # only the hash is kept

    code, output = _cli("org", "create", "INITECH llc")
    assert code == 1 and "already onboarded" in output

    code, output = _cli("ingest", "--org", slug, "--provider", "aws", "--source", str(AWS_SAMPLE))
    assert code == 0 and "1281 rows loaded" in output, output
    code, output = _cli("ingest", "--org", slug, "--provider", "openai", "--source", str(OPENAI_SAMPLE))
    assert code == 0 and "1 rows loaded" in output, output
    code, output = _cli("transform", "--org", slug)
    assert code == 0, output

    for suffix in ("parquet", "csv"):
        out = tmp_path / f"focus.{suffix}"
        code, output = _cli("export", "--org", slug, "--out", str(out))
        assert code == 0 and "1282 FOCUS rows" in output, output
    columns = pq.read_schema(tmp_path / "focus.parquet").names
    assert columns[:65] == SPEC and all(name.startswith("x_") for name in columns[65:])
    with (tmp_path / "focus.csv").open() as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 1282


def test_rerunning_ingest_and_transform_changes_nothing(cli_env: Path) -> None:
    code, output = _cli("org", "create", "Hooli", "--json")
    slug = json.loads(output.strip().splitlines()[-1])["org_slug"]
    totals = []
    for _ in range(2):
        assert _cli("ingest", "--org", slug, "--provider", "aws", "--source", str(AWS_SAMPLE))[0] == 0
        assert _cli("ingest", "--org", slug, "--provider", "openai", "--source", str(OPENAI_SAMPLE))[0] == 0
        assert _cli("transform", "--org", slug)[0] == 0
        totals.append(_query(cli_env, f"select count(*), sum(BilledCost) from {slug}_prod.cost_data_standard_1_3"))
    assert totals[0] == totals[1] and totals[0][0][0] == 1282


def test_invalid_slug_is_rejected_before_anything_runs(cli_env: Path) -> None:
    code, output = _cli("ingest", "--org", "acme; drop schema x", "--provider", "aws", "--source", str(AWS_SAMPLE))
    assert code == 2 and "invalid org slug" in output and "^[a-zA-Z0-9_]{3,50}$" in output
    assert not (cli_env / "warehouse.duckdb").exists()
    code, output = _cli("transform", "--org", "ab")
    assert code == 2 and "invalid org slug" in output


def test_unknown_org_and_provider_are_clear_errors(cli_env: Path) -> None:
    code, output = _cli("transform", "--org", "nobody_here")
    assert code == 1 and "no org 'nobody_here'" in output
    code, output = _cli("ingest", "--org", "nobody_here", "--provider", "digitalocean")
    assert code == 2 and "unknown provider 'digitalocean'" in output
    code, output = _cli("org", "create", "Hooli", "--json")
    slug = json.loads(output.strip().splitlines()[-1])["org_slug"]
    code, output = _cli("export", "--org", slug, "--out", "x.parquet")
    assert code == 1 and "has no cost_data_standard_1_3 yet" in output
