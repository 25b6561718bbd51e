"""The BigQuery warehouse: the same operations as ``DuckDBWarehouse``, through google-cloud-bigquery.

Layout: one dataset per tenant (``{org_slug}_prod``, plus the ``{org_slug}_prod_staging`` dataset dlt uses for
merges, whose tables expire on their own), and the shared ``organizations`` dataset with the platform tables.

Parameters: statements use ``@name`` parameters, sent as real BigQuery query parameters. An emulator without query
parameters (crucible) gets them rendered as typed, escaped literals instead (``CLOUDACT_BQ_INLINE_PARAMS=true``):
strings become backslash-escaped BigQuery string literals, so no value can end the literal or add SQL.

Transactions: BigQuery runs multi-statement transactions only as scripts or in sessions. ``transaction()`` runs its
statements one after the other under a process-local lock and does not roll back: the control code's statements are
written to be idempotent (``insert … where not exists``, ``update … set x = x + 1`` of one row), so a failure half-way
leaves a state the next call completes. Across processes nothing is serialised: two API replicas may both admit the
last pipeline run of a quota (the limit can be exceeded by the number of concurrent admitters). Run one API replica
per project, or accept that margin, when quotas must be exact.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudact.settings import Settings, SettingsError
from cloudact.tenancy import SHARED_DATASET, tenant_dataset, validate_slug
from cloudact.warehouse_schema import SHARED_TABLES, BootstrapReport

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    from google.cloud import bigquery

FOCUS_TABLE = "cost_data_standard_1_3"
# Neutral type → BigQuery type (warehouse_schema.py). Money the users enter (budgets, seat prices) fits NUMERIC's
# 9 fractional digits; JSON documents are kept as STRING (FOCUS KeyValueFormat is serialised JSON text).
BIGQUERY_TYPES = {
    "string": "STRING",
    "int": "INT64",
    "bool": "BOOL",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "decimal": "NUMERIC",
    "json": "STRING",
}
STAGING_TABLE_EXPIRATION_MS = 24 * 3600 * 1000  # dlt's <dataset>_staging tables: leftovers of a crashed load vanish
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
_PROJECT = re.compile(r"^[a-z0-9][a-z0-9.:-]{0,98}[a-z0-9]$")
# The columns an API read needs (api/services/costs.py): a snapshot selects only these, never SELECT *.
READ_COLUMNS = (
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "RegionId",
    "ResourceId",
    "ServiceCategory",
    "ServiceSubcategory",
    "ServiceName",
    "SkuId",
    "ResourceName",
    "x_AiModel",
    "x_AiTokenType",
    "SubAccountId",
    "Tags",
    "x_Provider",
)
_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


class BigQueryParameterError(ValueError):
    """A query parameter that is missing or of a type that cannot be sent to BigQuery."""


def _lock(project: str) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(project, threading.RLock())


def string_literal(value: str) -> str:
    """A BigQuery string literal for any text: backslash escapes only, so nothing can close the quotes."""
    out = []
    for char in value:
        code = ord(char)
        if char in "\\'\"":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


def literal(value: Any) -> str:
    """A typed BigQuery literal for one parameter value (the emulator path; production sends real parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise BigQueryParameterError(f"integer {value} does not fit INT64")
        return f"CAST({value} AS INT64)"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BigQueryParameterError(f"float {value} is not finite")
        return f"CAST({string_literal(repr(value))} AS FLOAT64)"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BigQueryParameterError(f"decimal {value} is not finite")
        text = format(value, "f")
        kind = "NUMERIC" if -value.as_tuple().exponent <= 9 else "BIGNUMERIC"  # type: ignore[operator]
        return f"{kind} {string_literal(text)}"
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return f"TIMESTAMP {string_literal(moment.isoformat(sep=' '))}"
    if isinstance(value, date):
        return f"DATE {string_literal(value.isoformat())}"
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise BigQueryParameterError(f"cannot send a {type(value).__name__} as a BigQuery parameter")


def render_inline(sql: str, params: dict[str, Any] | None) -> str:
    """Replace every ``@name`` with the literal of its value; a name without a value is an error."""
    values = params or {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise BigQueryParameterError(f"query parameter @{name} has no value")
        return literal(values[name])

    return _PARAM.sub(replace, sql)


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, Decimal):
        return "NUMERIC" if -value.as_tuple().exponent <= 9 else "BIGNUMERIC"  # type: ignore[operator]
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, str):
        return "STRING"
    raise BigQueryParameterError(f"cannot send a {type(value).__name__} as a BigQuery parameter")


def query_parameters(sql: str, params: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """The statement and the BigQuery query parameters it uses; ``None`` values become a NULL literal.

    A NULL parameter would need a declared type that matches its column; a NULL literal fits any column.
    """
    from google.cloud import bigquery

    values = params or {}
    used = set(_PARAM.findall(sql))
    missing = used - set(values)
    if missing:
        raise BigQueryParameterError(f"query parameters without a value: {', '.join(sorted(missing))}")
    nulls = {name for name in used if values[name] is None}
    if nulls:
        sql = _PARAM.sub(lambda m: "NULL" if m.group(1) in nulls else m.group(0), sql)
    out: list[Any] = []
    for name in sorted(used - nulls):
        value = values[name]
        if isinstance(value, (list, tuple)):
            kind = _scalar_type(value[0]) if value else "STRING"
            out.append(bigquery.ArrayQueryParameter(name, kind, list(value)))
        else:
            kind = _scalar_type(value)
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            out.append(bigquery.ScalarQueryParameter(name, kind, value))
    return sql, out


@dataclass
class _BqSql:
    warehouse: BigQueryWarehouse

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.warehouse.query(sql, params)

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self.warehouse.execute(sql, params)


@dataclass
class BigQueryWarehouse:
    """The warehouse on BigQuery (or an emulator of its REST API)."""

    SQL_TYPES: ClassVar[dict[str, str]] = BIGQUERY_TYPES

    project: str
    location: str = "US"
    keyfile: Path | None = None
    api_endpoint: str | None = None
    inline_params: bool = False
    max_bytes_billed: int | None = None
    _client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not _PROJECT.fullmatch(self.project or ""):
            raise SettingsError(f"CLOUDACT_BQ_PROJECT {self.project!r} is not a BigQuery project id")

    @classmethod
    def from_settings(cls, settings: Settings) -> BigQueryWarehouse:
        """The warehouse described by ``CLOUDACT_BQ_*``."""
        if not settings.bq_project:
            raise SettingsError("CLOUDACT_BQ_PROJECT is required when CLOUDACT_WAREHOUSE=bigquery")
        return cls(
            project=settings.bq_project,
            location=settings.bq_location,
            keyfile=settings.bq_keyfile,
            api_endpoint=settings.bq_api_endpoint,
            inline_params=settings.bq_inline_params,
            max_bytes_billed=settings.bq_max_bytes_billed,
        )

    @property
    def client(self) -> bigquery.Client:
        """The BigQuery client (created on first use; thread-safe for concurrent requests)."""
        if self._client is None:
            from google.cloud import bigquery

            options = {"api_endpoint": self.api_endpoint} if self.api_endpoint else None
            self._client = bigquery.Client(
                project=self.project, location=self.location, credentials=self._credentials(), client_options=options
            )
        return self._client

    def _credentials(self) -> Any:
        if self.keyfile:
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_file(
                str(self.keyfile), scopes=["https://www.googleapis.com/auth/cloud-platform"]
            )
        if self.api_endpoint:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()  # an emulator checks no identity
        return None  # application default credentials (the VM's or workload identity's service account)

    # -- SQL ----------------------------------------------------------------------------------------------------

    def _job(self, sql: str, params: dict[str, Any] | None, labels: dict[str, str] | None = None) -> Any:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(labels={"app": "cloudact", **(labels or {})})
        if self.max_bytes_billed:
            config.maximum_bytes_billed = self.max_bytes_billed
        if self.inline_params:
            sql = render_inline(sql, params)
        else:
            sql, config.query_parameters = query_parameters(sql, params)
        return self.client.query(sql, job_config=config)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query, as dicts (NUMERIC → Decimal, TIMESTAMP → aware datetime)."""
        return [dict(row.items()) for row in self._job(sql, params).result()]

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run one statement and wait for it."""
        self._job(sql, params).result()

    query_tenant = query
    execute_tenant = execute

    def arrow(self, sql: str, params: dict[str, Any] | None = None, labels: dict[str, str] | None = None) -> pa.Table:
        """A query's result as Arrow, without the BigQuery Storage client (used when installed: see README)."""
        return (
            self._job(sql, params, labels)
            .result()
            .to_arrow(create_bqstorage_client=_has_storage_client() and not self.api_endpoint)
        )

    @contextmanager
    def transaction(self) -> Iterator[_BqSql]:
        """Statements in order under this process's lock; no rollback (see the module docstring)."""
        with _lock(self.project):
            yield _BqSql(self)

    # -- Datasets and tables ------------------------------------------------------------------------------------

    def shared_table(self, name: str) -> str:
        """The qualified name of a shared platform table: `project.organizations.name`."""
        if name not in SHARED_TABLES:
            from cloudact.warehouse import WarehouseError

            raise WarehouseError(f"{name!r} is not a shared table")
        return f"`{self.project}.{SHARED_DATASET}.{name}`"

    def focus_table(self, org_slug: str) -> str:
        """`project.{org_slug}_prod.cost_data_standard_1_3`."""
        return f"`{self.project}.{tenant_dataset(org_slug)}.{FOCUS_TABLE}`"

    def bootstrap(self) -> BootstrapReport:
        """Create or complete the shared dataset: missing tables, then missing (nullable) columns; never a drop."""
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        report = BootstrapReport()
        with _lock(self.project):
            self._create_dataset(SHARED_DATASET, labels={"app": "cloudact"})
            for table, columns in SHARED_TABLES.items():
                ref = f"{self.project}.{SHARED_DATASET}.{table}"
                wanted = [bigquery.SchemaField(name, BIGQUERY_TYPES[kind], mode="NULLABLE") for name, kind in columns]
                try:
                    existing = self.client.get_table(ref)
                except NotFound:
                    # DDL rather than tables.insert (which the emulator refuses with clustering). Every query on a
                    # shared table filters by org_slug: clustering on it prunes what a query reads.
                    body = ", ".join(f"{name} {BIGQUERY_TYPES[kind]}" for name, kind in columns)
                    self.client.query(f"create table if not exists `{ref}` ({body}) cluster by org_slug").result()
                    report.created_tables.append(table)
                    continue
                found = {f.name: f.field_type for f in existing.schema}
                added = [f for f in wanted if f.name not in found]
                for f in wanted:
                    if f.name in found and not _same_type(found[f.name], f.field_type):
                        report.type_mismatches.append(f"{table}.{f.name}: {found[f.name]}, expected {f.field_type}")
                if added:
                    existing.schema = [*existing.schema, *added]
                    self.client.update_table(existing, ["schema"])
                    report.added_columns.extend(f"{table}.{f.name}" for f in added)
        return report

    def _create_dataset(
        self, dataset: str, labels: dict[str, str], expiration_ms: int | None = None, description: str = ""
    ) -> None:
        from google.cloud import bigquery

        ds = bigquery.Dataset(f"{self.project}.{dataset}")
        ds.location = self.location
        ds.labels = labels
        ds.description = description
        if expiration_ms:
            ds.default_table_expiration_ms = expiration_ms
        self.client.create_dataset(ds, exists_ok=True)

    def ensure_dataset(self, dataset: str) -> None:
        """Create a tenant dataset (and its dlt staging dataset, whose tables expire) if missing."""
        slug = _tenant_slug(dataset)
        labels = {"app": "cloudact", "org_slug": slug.lower()}
        self._create_dataset(dataset, labels, description=f"CloudAct tenant {slug}")
        self._create_dataset(
            f"{dataset}_staging", labels, STAGING_TABLE_EXPIRATION_MS, f"dlt merge staging of tenant {slug}"
        )

    def drop_dataset(self, dataset: str) -> None:
        """Drop a tenant dataset, its staging dataset and everything in them (undo of a failed onboarding)."""
        _tenant_slug(dataset)
        for name in (dataset, f"{dataset}_staging"):
            self.client.delete_dataset(f"{self.project}.{name}", delete_contents=True, not_found_ok=True)

    def dataset_exists(self, dataset: str) -> bool:
        """Whether a tenant dataset exists."""
        from google.api_core.exceptions import NotFound

        _tenant_slug(dataset)
        try:
            self.client.get_dataset(f"{self.project}.{dataset}")
        except NotFound:
            return False
        return True

    @contextmanager
    def session(self) -> Iterator[None]:
        """Nothing to hold: the client keeps its HTTP connections open anyway (see DuckDBWarehouse.session)."""
        yield

    @contextmanager
    def keep_open(self) -> Iterator[None]:
        """Nothing to keep open: BigQuery has no file to load (see DuckDBWarehouse.keep_open)."""
        yield

    def dataset_tables(self, dataset: str) -> set[str]:
        """Names of the tables and views in a tenant dataset (lower case; empty when it does not exist). An API call."""
        from google.api_core.exceptions import NotFound

        _tenant_slug(dataset)
        try:
            return {item.table_id.lower() for item in self.client.list_tables(f"{self.project}.{dataset}")}
        except NotFound:
            return set()

    def table_exists(self, dataset: str, table: str) -> bool:
        """Whether ``dataset.table`` exists (an API call: no INFORMATION_SCHEMA scan, no bytes billed)."""
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(f"{self.project}.{dataset}.{table}")
        except NotFound:
            return False
        return True

    # -- FOCUS reads --------------------------------------------------------------------------------------------

    def _require(self, org_slug: str) -> None:
        if not self.table_exists(tenant_dataset(org_slug), FOCUS_TABLE):
            from cloudact.warehouse import WarehouseError

            raise WarehouseError(f"org {org_slug} has no {FOCUS_TABLE} yet: run `cloudact transform --org {org_slug}`")

    def export_focus(self, org_slug: str, out: Path) -> int:
        """Write the org's FOCUS rows to ``out`` (.parquet or .csv); returns the row count."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        from cloudact.warehouse import WarehouseError

        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise WarehouseError(f"export file {out} must end in .parquet or .csv")
        self._require(org_slug)
        table = self.arrow(
            f"select * from {self.focus_table(org_slug)} order by ChargePeriodStart, x_ChargeId",
            labels={"org_slug": org_slug.lower()},
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".parquet":
            pq.write_table(table, out, compression="zstd")
        else:
            pacsv.write_csv(table, out)
        return table.num_rows

    def focus_summary(self, org_slug: str) -> list[dict[str, Any]]:
        """Rows and BilledCost per provider and service of one org's FOCUS table."""
        self._require(org_slug)
        rows = self.query(
            f"""select x_Provider as provider, ServiceName as service, count(*) as row_count,
                   sum(BilledCost) as billed_cost, min(BillingCurrency) as currency
                from {self.focus_table(org_slug)} group by x_Provider, ServiceName
                order by x_Provider, billed_cost desc"""
        )
        return [
            {"provider": r["provider"], "service": r["service"], "rows": r["row_count"],
             "billed_cost": r["billed_cost"], "currency": r["currency"]}
            for r in rows
        ]  # fmt: skip

    def write_read_snapshot(self, org_slug: str, path: Path) -> bool:
        """Write the API's read columns of the org's FOCUS table to a Parquet file; ``False`` before its first build.

        One scan per pipeline run of those columns only (not the wide FOCUS row): see README "Running on BigQuery".
        """
        import pyarrow.parquet as pq

        dataset = tenant_dataset(org_slug)
        if not self.table_exists(dataset, FOCUS_TABLE):
            return False
        present = {f.name.lower() for f in self.client.get_table(f"{self.project}.{dataset}.{FOCUS_TABLE}").schema}
        columns = tuple(name for name in READ_COLUMNS if name.lower() in present)
        table = self.arrow(
            f"select {', '.join(columns)} from {self.focus_table(org_slug)}", labels={"org_slug": org_slug.lower()}
        )
        pq.write_table(_decimal128(table), path, compression="zstd")
        return True

    def focus_frame(
        self,
        org_slug: str,
        columns: tuple[str, ...] = READ_COLUMNS,
        start: date | None = None,
        end: date | None = None,
    ) -> pl.DataFrame:
        """The org's FOCUS rows as Polars: only ``columns``, and only the day partitions in [start, end].

        The table is partitioned by day of ChargePeriodStart, so a date range scans only its days' partitions.
        """
        import polars as pl

        self._require(org_slug)
        for name in columns:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise BigQueryParameterError(f"{name!r} is not a column name")
        where, params = [], {}
        if start:
            where.append("ChargePeriodStart >= @start")
            params["start"] = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
        if end:
            where.append("ChargePeriodStart < timestamp_add(@end, interval 1 day)")
            params["end"] = datetime.combine(end, datetime.min.time(), tzinfo=UTC)
        sql = f"select {', '.join(columns)} from {self.focus_table(org_slug)}"
        if where:
            sql += " where " + " and ".join(where)
        frame = pl.from_arrow(_decimal128(self.arrow(sql, params, labels={"org_slug": org_slug.lower()})))
        return frame  # type: ignore[return-value]


def _decimal128(table: pa.Table) -> pa.Table:
    """BIGNUMERIC arrives as decimal256(76, 38), which Polars cannot hold: money goes to decimal128(38, 12), the
    DuckDB money type (the API formats amounts from it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for index, column in enumerate(table.schema):
        if pa.types.is_decimal256(column.type):
            rounded = pc.round(table.column(index), ndigits=12)
            table = table.set_column(index, column.name, pc.cast(rounded, pa.decimal128(38, 12)))
    return table


def _same_type(found: str, wanted: str) -> bool:
    aliases = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "BIGDECIMAL": "BIGNUMERIC"}
    return aliases.get(found, found) == aliases.get(wanted, wanted)


def _tenant_slug(dataset: str) -> str:
    """The slug of a tenant dataset name ``{slug}_prod``; anything else is refused before it reaches an API call."""
    if not dataset.endswith("_prod"):
        from cloudact.warehouse import WarehouseError

        raise WarehouseError(f"{dataset!r} is not a tenant dataset name")
    return validate_slug(dataset.removesuffix("_prod"))


def _has_storage_client() -> bool:
    try:
        import google.cloud.bigquery_storage  # noqa: F401
    except ImportError:
        return False
    return True


def dlt_destination(settings: Settings) -> Any:
    """dlt's BigQuery destination configured by settings only: project, location, keyfile (else the runtime's
    application default credentials).

    dlt builds its own ``bigquery.Client`` without ``client_options``, so its load step cannot be pointed at an
    emulator (``CLOUDACT_BQ_API_ENDPOINT`` is not used here); extract and normalize run anywhere.
    """
    import dlt

    credentials: Any = None
    if settings.bq_keyfile:
        credentials = Path(settings.bq_keyfile).expanduser().read_text()
    return dlt.destinations.bigquery(
        credentials=credentials, location=settings.bq_location, project_id=settings.bq_project
    )
