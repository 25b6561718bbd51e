"""The warehouse behind one interface: DuckDB locally (one file under the data directory), BigQuery in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb

from cloudact.settings import Settings, SettingsError
from cloudact.tenancy import SHARED_DATASET, tenant_dataset, validate_slug

FOCUS_TABLE = "cost_data_standard_1_3"

# Shared platform tables; every one is filtered by org_slug.
SHARED_TABLES_DDL = (
    f"""create table if not exists {SHARED_DATASET}.org_api_keys (
        org_slug varchar not null,
        key_id varchar not null primary key,
        key_prefix varchar not null,
        key_sha256 varchar not null unique,
        created_at timestamp with time zone not null,
        revoked_at timestamp with time zone
    )""",
)


class WarehouseError(RuntimeError):
    """A warehouse operation that cannot be done (e.g. the tenant has no FOCUS table yet)."""


class Warehouse(Protocol):
    """Operations the CLI, API and flows need from the warehouse."""

    def bootstrap(self) -> None: ...
    def ensure_dataset(self, dataset: str) -> None: ...
    def drop_dataset(self, dataset: str) -> None: ...
    def store_api_key(self, org_slug: str, key_id: str, key_prefix: str, key_sha256: str) -> None: ...
    def delete_api_keys(self, org_slug: str) -> None: ...
    def export_focus(self, org_slug: str, out: Path) -> int: ...
    def focus_summary(self, org_slug: str) -> list[dict[str, Any]]: ...


@dataclass
class DuckDBWarehouse:
    """DuckDB file warehouse: a tenant dataset is a schema ``{org_slug}_prod``."""

    path: Path

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection in UTC; closed on exit so dlt and dbt can open the file next.

        Always read-write: DuckDB refuses a second in-process connection to one file with another configuration,
        and dbt (run in-process) holds a read-write one.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()

    def bootstrap(self) -> None:
        """Create the shared ``organizations`` dataset and its tables (idempotent)."""
        with self.connect() as con:
            con.execute(f"create schema if not exists {SHARED_DATASET}")
            for ddl in SHARED_TABLES_DDL:
                con.execute(ddl)

    def ensure_dataset(self, dataset: str) -> None:
        """Create a tenant dataset (schema) if it does not exist."""
        with self.connect() as con:
            con.execute(f"create schema if not exists {_identifier(dataset)}")

    def drop_dataset(self, dataset: str) -> None:
        """Drop a tenant dataset and everything in it (used to undo a failed onboarding)."""
        with self.connect() as con:
            con.execute(f"drop schema if exists {_identifier(dataset)} cascade")

    def store_api_key(self, org_slug: str, key_id: str, key_prefix: str, key_sha256: str) -> None:
        """Record an org API key by its SHA-256 hash (the key itself is never stored)."""
        self.bootstrap()
        with self.connect() as con:
            con.execute(
                f"insert into {SHARED_DATASET}.org_api_keys values (?, ?, ?, ?, ?, null)",
                [validate_slug(org_slug), key_id, key_prefix, key_sha256, datetime.now(UTC)],
            )

    def delete_api_keys(self, org_slug: str) -> None:
        """Remove every key of an org (used to undo a failed onboarding)."""
        self.bootstrap()
        with self.connect() as con:
            con.execute(f"delete from {SHARED_DATASET}.org_api_keys where org_slug = ?", [validate_slug(org_slug)])

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


def _identifier(name: str) -> str:
    """A dataset name built from a validated slug (``{slug}_prod``) or the shared dataset."""
    if name != SHARED_DATASET:
        validate_slug(name.removesuffix("_prod"))
        if not name.endswith("_prod"):
            raise WarehouseError(f"{name!r} is not a tenant dataset name")
    return name


def get_warehouse(settings: Settings) -> DuckDBWarehouse:
    """The warehouse selected by ``CLOUDACT_WAREHOUSE``."""
    if settings.warehouse != "duckdb":
        raise SettingsError(
            "CLOUDACT_WAREHOUSE=bigquery: dbt (--target bigquery) and dlt support it, but the CLI's warehouse "
            "operations (onboarding, export) run on DuckDB only in this release"
        )
    return DuckDBWarehouse(settings.resolved_duckdb_path)
