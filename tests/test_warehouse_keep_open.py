"""DuckDBWarehouse.keep_open: one open database for an org's run, shared by every connection of the process."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from cloudact.settings import Settings
from cloudact.warehouse import DuckDBWarehouse, get_warehouse


def _memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]


def test_connections_inside_share_the_open_database_and_it_closes_after(settings: Settings) -> None:
    warehouse = get_warehouse(settings)
    assert isinstance(warehouse, DuckDBWarehouse)
    warehouse.bootstrap()
    path = str(warehouse.path)
    with duckdb.connect(path) as alone:
        default = _memory_limit(alone)
    with warehouse.keep_open():
        # dbt-duckdb SETs its settings on its own connection, the way this one does: a global setting is seen by
        # any other connection only if both share one database instance.
        with duckdb.connect(path) as first:
            first.execute("set memory_limit = '123MB'")
        with duckdb.connect(path) as second:
            shared = _memory_limit(second)
        assert shared != default
        with warehouse.connect() as ours:
            assert _memory_limit(ours) == shared
    with duckdb.connect(path) as after:  # the last connection closed the database: a fresh one has the defaults
        assert _memory_limit(after) == default


def test_an_opener_with_its_own_configuration_is_refused_inside(settings: Settings) -> None:
    """Why dlt and dbt must keep DuckDB's default configuration (their settings are SET after connecting)."""
    warehouse = get_warehouse(settings)
    assert isinstance(warehouse, DuckDBWarehouse)
    with warehouse.keep_open(), pytest.raises(duckdb.ConnectionException, match="different configuration"):
        duckdb.connect(str(warehouse.path), config={"memory_limit": "1GB"})


def test_another_process_waits_for_the_file_while_it_is_kept_open(settings: Settings) -> None:
    warehouse = get_warehouse(settings)
    assert isinstance(warehouse, DuckDBWarehouse)
    probe = [sys.executable, "-c", f"import duckdb; duckdb.connect({str(warehouse.path)!r}).close()"]
    with warehouse.keep_open():
        held = subprocess.run(probe, capture_output=True, text=True, check=False)
    assert held.returncode != 0 and "lock" in held.stderr.lower()
    assert subprocess.run(probe, capture_output=True, text=True, check=False).returncode == 0
