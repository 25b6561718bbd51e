"""Reading GCP detailed billing export rows (NDJSON, NDJSON.gz or Parquet with BigQuery's nested schema) as Arrow.

DuckDB (in memory) reads the file: it keeps a JSON number's own text when asked for VARCHAR (so no cost passes
through a float on its way to the warehouse) and serialises repeated records to JSON text. Every value lands as text:
``RECORD`` fields flatten to ``parent__child`` columns (dlt's own naming), ``REPEATED`` fields (``credits``,
``labels``, ``system_labels``, ``project.labels``, ``tags``...) become JSON array text that staging unnests on
DuckDB and BigQuery alike, and TIMESTAMPs become ISO 8601 UTC text (``2025-11-12T18:00:00Z``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention

#: Fields without which a row cannot become a FOCUS row (BigQuery dotted names).
REQUIRED_FIELDS = (
    "billing_account_id",
    "service.description",
    "usage_start_time",
    "usage_end_time",
    "cost",
    "currency",
    "invoice.month",
)
#: Fields whose values must be decimals, and JSON arrays whose elements' ``amount`` must be.
DECIMAL_FIELDS = (
    "cost",
    "cost_at_list",
    "currency_conversion_rate",
    "usage.amount",
    "usage.amount_in_pricing_units",
    "price.effective_price",
    "price.list_price",
    "price.pricing_unit_quantity",
)
#: The export's RECORD fields and their scalar sub-fields. DuckDB detects a record whose rows carry different keys (the
#: JSON export leaves null fields out) as a MAP; these are always read as records so they flatten the same way.
#: REPEATED sub-fields (``project.labels``, ``project.ancestors``) are kept as JSON text.
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "service": ("id", "description"),
    "sku": ("id", "description"),
    "project": ("id", "number", "name", "ancestry_numbers"),
    "location": ("location", "country", "region", "zone"),
    "resource": ("name", "global_name"),
    "price": (
        "effective_price",
        "tier_start_amount",
        "unit",
        "pricing_unit_quantity",
        "list_price",
        "effective_price_default",
        "list_price_consumption_model",
    ),
    "subscription": ("instance_id",),
    "usage": ("amount", "unit", "amount_in_pricing_units", "pricing_unit"),
    "invoice": ("month", "publisher_type"),
    "adjustment_info": ("id", "description", "mode", "type"),
    "consumption_model": ("id", "description", "applied_subscription_instance_id"),
}
TIMESTAMP_FIELDS = ("usage_start_time", "usage_end_time", "export_time")
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$|^-?\.[0-9]+([eE][-+]?[0-9]+)?$"
# BigQuery's JSON export writes "2025-11-12 18:00:00.281272 UTC"; other tools write ISO 8601 with Z or +00:00.
# A timestamp without a zone is a BigQuery TIMESTAMP, which is UTC.
TIMESTAMP_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?)( ?UTC|Z|[+]00(:?00)?)?$"
)
INVOICE_MONTH_PATTERN = r"^[0-9]{4}(0[1-9]|1[0-2])$"
DERIVED_COLUMNS = ("source_file", "source_row")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
BATCH_ROWS = 100_000
_NAMING = NamingConvention()


class GcpExportError(ValueError):
    """A billing export file that cannot be loaded: the message names the file, and the row and field if any."""


def is_export_file(path: str) -> bool:
    """NDJSON (optionally gzipped) or Parquet export file."""
    name = path.lower()
    return name.endswith((*JSON_SUFFIXES, ".parquet"))


def column_name(field: str) -> str:
    """Raw column of a BigQuery field path: ``invoice.month`` → ``invoice__month`` (as dlt flattens records)."""
    return "__".join(_NAMING.normalize_identifier(part) for part in field.split("."))


def read_export_file(path: Path, file_name: str) -> Iterator[pa.RecordBatch]:
    """Read one export file as Arrow record batches of text columns, after checking every row.

    Columns nobody declared (Google adds fields over time) are kept; a missing optional field is simply absent
    (staging reads it as null). Derived columns: ``source_file`` and ``source_row`` (1-based row in the file).

    Args:
        path: Local path of the (possibly gzipped) NDJSON or Parquet file.
        file_name: Name used in error messages and stored in ``source_file``.

    Raises:
        GcpExportError: On an unreadable file, a missing required field, an empty required value, or a value that is
            not a decimal / timestamp / ``YYYYMM`` month where one is expected.
    """
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        relation = _relation(con, path, file_name)
        try:
            schema = con.sql(f"select * from {relation} limit 0").to_arrow_table().schema
        except duckdb.Error as exc:
            raise GcpExportError(f"{file_name}: not a readable GCP billing export ({exc})") from None
        columns = _flatten(schema)
        missing = [field for field in REQUIRED_FIELDS if column_name(field) not in columns]
        if missing:
            raise GcpExportError(
                f"{file_name}: missing required GCP billing export field(s) {', '.join(missing)} "
                "(the detailed export's BigQuery schema, e.g. invoice.month)"
            )
        clashes = sorted(set(columns) & set(DERIVED_COLUMNS))
        if clashes:
            raise GcpExportError(f"{file_name}: field(s) {clashes} clash with columns CloudAct adds")
        select = ", ".join(f"{expression} as {_quote(name)}" for name, expression in columns.items())
        con.execute(
            f"create temp table export_rows as select {select}, row_number() over () as source_row from {relation}"
        )
        _check(con, file_name, columns)
        reader = con.sql(
            f"""select * exclude (source_row), {_sql_text(file_name)} as source_file,
                       cast(source_row as varchar) as source_row
                from export_rows order by export_rows.source_row"""
        ).to_arrow_reader(BATCH_ROWS)
        yield from reader
    finally:
        con.close()


def _relation(con: duckdb.DuckDBPyConnection, path: Path, file_name: str) -> str:
    """A DuckDB table expression reading the file with every leaf value as text (JSON) or as stored (Parquet)."""
    location = _sql_text(str(path))
    if file_name.lower().endswith(".parquet"):
        return f"read_parquet({location})"
    try:
        detected = (
            con.sql(
                f"""select * from read_json({location}, format = 'newline_delimited', sample_size = -1,
                                        maximum_object_size = 67108864) limit 0"""
            )
            .to_arrow_table()
            .schema
        )
    except duckdb.Error as exc:
        raise GcpExportError(f"{file_name}: not newline-delimited JSON rows ({str(exc).splitlines()[0]})") from None
    # Read again with every field declared: scalars as VARCHAR keep a number's own digits, lists as JSON keep text.
    declared = ", ".join(f"{_sql_text(field.name)}: {_sql_text(_declared_type(field))}" for field in detected)
    return f"""read_json({location}, format = 'newline_delimited', maximum_object_size = 67108864,
                         columns = {{{declared}}})"""


def _declared_type(field: pa.Field) -> str:
    return _record_type(field) if field.name in RECORD_FIELDS else _text_type(field.type)


def _record_type(field: pa.Field) -> str:
    """A known record as a STRUCT of its documented sub-fields plus any others the file has."""
    known = {name: "VARCHAR" for name in RECORD_FIELDS[field.name]}
    if pa.types.is_struct(field.type):
        known.update({child.name: _text_type(child.type) for child in field.type})
    fields = ", ".join(f"{_quote(name)} {data_type}" for name, data_type in known.items())
    return f"STRUCT({fields})"


def _text_type(data_type: pa.DataType) -> str:
    if pa.types.is_struct(data_type):
        fields = ", ".join(f"{_quote(field.name)} {_text_type(field.type)}" for field in data_type)
        return f"STRUCT({fields})" if fields else "JSON"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type) or pa.types.is_map(data_type):
        return "JSON"
    return "VARCHAR"


def _flatten(schema: pa.Schema) -> dict[str, str]:
    """Raw column name → DuckDB text expression for every leaf of the schema (records flattened with ``__``)."""
    columns: dict[str, str] = {}

    def walk(field: pa.Field, path: list[str], expression: str) -> None:
        data_type = field.type
        name = "__".join(_NAMING.normalize_identifier(part) for part in path)
        if pa.types.is_struct(data_type) and data_type.num_fields:
            for child in data_type:
                walk(child, [*path, child.name], f"{expression}.{_quote(child.name)}")
        elif pa.types.is_timestamp(data_type):
            columns[name] = f"strftime({expression}, '%Y-%m-%dT%H:%M:%S.%fZ')"
        elif pa.types.is_date(data_type):
            columns[name] = f"strftime({expression}, '%Y-%m-%d')"
        elif (
            pa.types.is_list(data_type)
            or pa.types.is_large_list(data_type)
            or pa.types.is_map(data_type)
            or pa.types.is_struct(data_type)
        ):
            columns[name] = f"cast(to_json({expression}) as varchar)"
        elif pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
            # JSON-typed columns arrive as strings too; their text is already JSON.
            columns[name] = f"cast({expression} as varchar)"
        else:
            columns[name] = f"cast({expression} as varchar)"

    for field in schema:
        walk(field, [field.name], _quote(field.name))
    return columns


def _check(con: duckdb.DuckDBPyConnection, file_name: str, columns: dict[str, str]) -> None:
    """Raise on the first row with an empty required value or a malformed decimal, timestamp or month."""
    for field in REQUIRED_FIELDS:
        column = column_name(field)
        _first_bad(con, file_name, field, column, f"{_quote(column)} is null or trim({_quote(column)}) = ''", "a value")
    for field in DECIMAL_FIELDS:
        column = column_name(field)
        if column in columns:
            condition = f"not regexp_full_match({_quote(column)}, '{DECIMAL_PATTERN}')"
            _first_bad(con, file_name, field, column, condition, "a decimal number")
    _first_bad(
        con, file_name, "invoice.month", "invoice__month",
        f"not regexp_full_match(invoice__month, '{INVOICE_MONTH_PATTERN}')", "a month YYYYMM",
    )  # fmt: skip
    for field in TIMESTAMP_FIELDS:
        column = column_name(field)
        if column not in columns:
            continue
        condition = f"not regexp_full_match({_quote(column)}, '{TIMESTAMP_PATTERN}')"
        _first_bad(con, file_name, field, column, condition, "a UTC timestamp like 2025-11-12 18:00:00 UTC")
        con.execute(
            f"""update export_rows set {_quote(column)} =
                regexp_replace({_quote(column)}, '{TIMESTAMP_PATTERN}', '\\1T\\2Z')"""
        )
    if "credits" in columns:
        bad = con.execute(
            f"""select source_row, credit.value from export_rows, json_each(export_rows.credits) as credit
                where not regexp_full_match(coalesce(json_extract_string(credit.value, '$.amount'), ''),
                                            '{DECIMAL_PATTERN}')
                order by source_row limit 1"""
        ).fetchone()
        if bad:
            raise GcpExportError(
                f"{file_name}: row {bad[0]}: field 'credits' expected each credit with a decimal amount, got {bad[1]}"
            )


def _first_bad(
    con: duckdb.DuckDBPyConnection, file_name: str, field: str, column: str, condition: str, expected: str
) -> None:
    """Raise naming the first row (in file order) where ``condition`` holds."""
    bad = con.execute(
        f"select source_row, {_quote(column)} from export_rows where {condition} order by source_row limit 1"
    ).fetchone()
    if bad:
        got = "nothing" if bad[1] is None or not str(bad[1]).strip() else repr(bad[1])
        raise GcpExportError(f"{file_name}: row {bad[0]}: field '{field}' expected {expected}, got {got}")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
