"""The warehouse behind one interface: DuckDB locally (one file under the data directory), BigQuery in production."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import duckdb

from cloudact.settings import Settings
from cloudact.tenancy import SHARED_DATASET, tenant_dataset, validate_slug
from cloudact.warehouse_schema import DUCKDB_TYPES, SHARED_TABLES, BootstrapReport

FOCUS_TABLE = "cost_data_standard_1_3"
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
# One writer at a time per DuckDB file in this process: shared-table transactions (quota admission above all) are
# serialised here instead of failing with DuckDB's optimistic "Conflict on update". Other processes cannot open the
# file for writing while we hold it, so this makes admission exact for the embedded warehouse.
_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


class WarehouseError(RuntimeError):
    """A warehouse operation that cannot be done (e.g. the tenant has no FOCUS table yet)."""


class WarehouseBusyError(WarehouseError):
    """The warehouse file stayed locked by another process past the wait (HTTP 503, retry later)."""


class Sql(Protocol):
    """Runs SQL with ``@name`` parameters (BigQuery's style; translated for DuckDB)."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None: ...


class Warehouse(Sql, Protocol):
    """Operations the CLI, API and flows need from the warehouse."""

    SQL_TYPES: ClassVar[dict[str, str]]

    def shared_table(self, name: str) -> str: ...
    def query_tenant(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...
    def execute_tenant(self, sql: str, params: dict[str, Any] | None = None) -> None: ...
    def transaction(self) -> AbstractContextManager[Sql]: ...
    def session(self) -> AbstractContextManager[None]: ...
    def keep_open(self) -> AbstractContextManager[None]: ...
    def bootstrap(self) -> BootstrapReport: ...
    def ensure_dataset(self, dataset: str) -> None: ...
    def drop_dataset(self, dataset: str) -> None: ...
    def dataset_exists(self, dataset: str) -> bool: ...
    def dataset_tables(self, dataset: str) -> set[str]: ...
    def export_focus(self, org_slug: str, out: Path) -> int: ...
    def focus_summary(self, org_slug: str) -> list[dict[str, Any]]: ...


@dataclass
class _DuckSql:
    con: duckdb.DuckDBPyConnection

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(*_duck(sql, params))
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.con.execute(*_duck(sql, params))


def _duck(sql: str, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """``@name`` → ``$name``, passing only the parameters the statement uses (DuckDB refuses extra ones)."""
    used = set(_PARAM.findall(sql))
    return _PARAM.sub(r"$\1", sql), {name: value for name, value in (params or {}).items() if name in used}


@dataclass
class DuckDBWarehouse:
    """DuckDB warehouse in two files.

    ``path`` holds the tenant datasets (a schema ``{org_slug}_prod`` each), written at length by dlt and dbt in the
    pipeline's process. ``platform_path`` holds the shared ``organizations`` dataset (keys, quotas, runs...), which
    the API and the pipelines both touch in short transactions. DuckDB lets one process write a file at a time: kept
    apart, a pipeline building an org never blocks the API's key checks, and the API's cost reads come from
    snapshots (``cloudact.snapshots``), not from this file.
    """

    # The warehouse's names of the neutral column types (warehouse_schema.py), for tables built by our own SQL.
    SQL_TYPES: ClassVar[dict[str, str]] = DUCKDB_TYPES

    path: Path
    platform_path: Path | None = None
    # This thread's connections held open by session(), by file: {"warehouse": con, "platform": con}.
    _held: threading.local = field(default_factory=threading.local, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.platform_path is None:
            name = "platform.duckdb" if self.path.name == "warehouse.duckdb" else f"{self.path.stem}.platform.duckdb"
            self.platform_path = self.path.with_name(name)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the tenant-data file, in UTC; closed on exit so dlt and dbt can open the file next.

        Always read-write: DuckDB refuses a second in-process connection to one file with another configuration,
        and dbt (run in-process) holds a read-write one.
        """
        with self._open(self.path, "warehouse") as con:
            yield con

    @contextmanager
    def connect_platform(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection to the shared platform file, in UTC (waits while another process holds it)."""
        assert self.platform_path is not None
        with self._open(self.platform_path, "platform") as con:
            yield con

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keep this thread's connections to both files open for the block: the calls inside reuse them.

        Opening a DuckDB file costs 20-50 ms and grows with its catalog (every tenant's tables), and one org's run
        makes a dozen calls. Other processes wait for the files while the block runs, so keep it short. For a block
        that runs dlt or dbt, use ``keep_open`` instead: they open the warehouse file on their own connections.
        """
        if getattr(self._held, "files", None) is not None:  # nested: the outer session holds them
            yield
            return
        self._held.files = {}
        try:
            yield
        finally:
            files, self._held.files = self._held.files, None
            for con in files.values():
                con.close()

    @contextmanager
    def keep_open(self) -> Iterator[None]:
        """Keep the tenant-data file's database open in this process for the block (one org's run).

        DuckDB reads a file's whole catalog (every tenant's tables and views) each time a process opens it, and one
        org's run opens it about 16 times (dlt, dbt, our steps): at 100 tenants that is 0.2 s per open. While this
        block holds a connection, the others share the open database and connect in 0.1 ms, and DuckDB
        checkpoints once at the end instead of at every close. Every opener must use DuckDB's default configuration
        (ours, dlt's and dbt-duckdb's do: their settings are SET on the connection), or DuckDB refuses to share.
        Other processes wait for the file while the block runs, as they already do while dlt or dbt hold it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keeper = _connect_with_retry(self.path)
        try:
            yield
        finally:
            keeper.close()

    @contextmanager
    def _open(self, path: Path, name: str) -> Iterator[duckdb.DuckDBPyConnection]:
        held = getattr(self._held, "files", None)
        if held is not None and name in held:
            yield held[name]
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect_with_retry(path)
        con.execute("set TimeZone = 'UTC'")
        if held is not None:  # kept for the rest of the session
            held[name] = con
            yield con
            return
        try:
            yield con
        finally:
            con.close()

    def query_tenant(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query on tenant datasets (``{org_slug}_prod.*``)."""
        with self.connect() as con:
            return _DuckSql(con).query(sql, params)

    def execute_tenant(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run one statement on tenant datasets."""
        with self._tenant_lock(), self.connect() as con:
            _DuckSql(con).execute(sql, params)

    def shared_table(self, name: str) -> str:
        """The qualified name of a shared platform table."""
        if name not in SHARED_TABLES:
            raise WarehouseError(f"{name!r} is not a shared table")
        return f"{SHARED_DATASET}.{name}"

    @contextmanager
    def transaction(self) -> Iterator[Sql]:
        """One serialised read-write transaction on the shared tables; rolled back if the block raises."""
        with self._lock(), self.connect_platform() as con:
            con.execute("begin transaction")
            try:
                yield _DuckSql(con)
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query on the shared tables, as dicts."""
        with self.connect_platform() as con:
            return _DuckSql(con).query(sql, params)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run one statement on the shared tables."""
        with self._lock(), self.connect_platform() as con:
            _DuckSql(con).execute(sql, params)

    def bootstrap(self) -> BootstrapReport:
        """Create or complete the shared ``organizations`` dataset: add what is missing, never drop or rewrite."""
        report = BootstrapReport()
        with self._lock(), self.connect_platform() as con:
            con.execute(f"create schema if not exists {SHARED_DATASET}")
            existing: dict[str, dict[str, str]] = {}
            for table, column, data_type in con.execute(
                "select table_name, column_name, data_type from information_schema.columns where table_schema = ?",
                [SHARED_DATASET],
            ).fetchall():
                existing.setdefault(table, {})[column] = data_type
            for table, columns in SHARED_TABLES.items():
                if table not in existing:
                    body = ", ".join(f"{name} {DUCKDB_TYPES[kind]}" for name, kind in columns)
                    con.execute(f"create table {SHARED_DATASET}.{table} ({body})")
                    report.created_tables.append(table)
                    continue
                for name, kind in columns:
                    wanted = DUCKDB_TYPES[kind]
                    found = existing[table].get(name)
                    if found is None:
                        con.execute(f"alter table {SHARED_DATASET}.{table} add column {name} {wanted}")
                        report.added_columns.append(f"{table}.{name}")
                    elif found.replace(" ", "") != wanted.replace(" ", ""):
                        report.type_mismatches.append(f"{table}.{name}: {found}, expected {wanted}")
        return report

    def dataset_exists(self, dataset: str) -> bool:
        """Whether a tenant dataset exists."""
        rows = self.query_tenant(
            "select count(*) as n from information_schema.schemata where schema_name = @name",
            {"name": _identifier(dataset)},
        )
        return bool(rows[0]["n"])

    def dataset_tables(self, dataset: str) -> set[str]:
        """Names of the tables and views in a tenant dataset (lower case; empty when it does not exist)."""
        rows = self.query_tenant(
            "select lower(table_name) as name from information_schema.tables where table_schema = @name",
            {"name": _identifier(dataset)},
        )
        return {row["name"] for row in rows}

    def _lock(self) -> threading.RLock:
        assert self.platform_path is not None
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(self.platform_path.resolve(), threading.RLock())

    def _tenant_lock(self) -> threading.RLock:
        with _LOCKS_GUARD:
            return _LOCKS.setdefault(self.path.resolve(), threading.RLock())

    def ensure_dataset(self, dataset: str) -> None:
        """Create a tenant dataset (schema) if it does not exist."""
        with self._tenant_lock(), self.connect() as con:
            con.execute(f"create schema if not exists {_identifier(dataset)}")

    def drop_dataset(self, dataset: str) -> None:
        """Drop a tenant dataset and everything in it (used to undo a failed onboarding)."""
        with self._tenant_lock(), self.connect() as con:
            con.execute(f"drop schema if exists {_identifier(dataset)} cascade")

    def export_focus(self, org_slug: str, out: Path) -> int:
        """Write the org's FOCUS rows to ``out`` (.parquet or .csv); returns the row count."""
        table = self._focus_table(org_slug)
        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise WarehouseError(f"export file {out} must end in .parquet or .csv")
        out.parent.mkdir(parents=True, exist_ok=True)
        options = "(format parquet, compression zstd)" if suffix == ".parquet" else "(format csv, header true)"
        target = str(out.resolve()).replace("'", "''")
        with self.connect() as con:
            self._require(con, org_slug)
            con.execute(f"copy (select * from {table} order by ChargePeriodStart, x_ChargeId) to '{target}' {options}")
            row = con.execute(f"select count(*) from {table}").fetchone()
        return int(row[0]) if row else 0

    def focus_summary(self, org_slug: str) -> list[dict[str, Any]]:
        """Rows and BilledCost per provider and service of one org's FOCUS table."""
        table = self._focus_table(org_slug)
        with self.connect() as con:
            self._require(con, org_slug)
            rows = con.execute(
                f"""select x_Provider, ServiceName, count(*) as row_count, sum(BilledCost) as billed_cost,
                       min(BillingCurrency) as currency
                    from {table} group by all order by x_Provider, billed_cost desc"""
            ).fetchall()
        keys = ("provider", "service", "rows", "billed_cost", "currency")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _focus_table(self, org_slug: str) -> str:
        return f"{tenant_dataset(org_slug)}.{FOCUS_TABLE}"

    def _require(self, con: duckdb.DuckDBPyConnection, org_slug: str) -> None:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [tenant_dataset(org_slug), FOCUS_TABLE],
        ).fetchone()
        if not found or not found[0]:
            raise WarehouseError(f"org {org_slug} has no {FOCUS_TABLE} yet: run `cloudact transform --org {org_slug}`")


LOCK_WAIT_SECONDS = 30.0


def _connect_with_retry(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting while another process holds its write lock (short platform transactions)."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.005
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise WarehouseBusyError(f"{path.name} is busy in another process: {exc}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _identifier(name: str) -> str:
    """A dataset name built from a validated slug (``{slug}_prod``) or the shared dataset."""
    if name != SHARED_DATASET:
        validate_slug(name.removesuffix("_prod"))
        if not name.endswith("_prod"):
            raise WarehouseError(f"{name!r} is not a tenant dataset name")
    return name


def get_warehouse(settings: Settings) -> Warehouse:
    """The warehouse selected by ``CLOUDACT_WAREHOUSE``: ``DuckDBWarehouse`` or ``BigQueryWarehouse``."""
    if settings.warehouse == "bigquery":
        from cloudact.warehouse_bigquery import BigQueryWarehouse

        return BigQueryWarehouse.from_settings(settings)
    return DuckDBWarehouse(settings.resolved_duckdb_path, settings.resolved_platform_path)
