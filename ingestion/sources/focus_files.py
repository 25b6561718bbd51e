"""Reading FOCUS files a provider writes itself (Azure FocusCost exports, OCI FOCUS reports) as Arrow string tables.

Providers deliver different FOCUS versions (1.0-preview, 1.0, 1.0r2, 1.2) and sometimes their own spellings
(OCI: ``UsageQuantity``, ``Provider``, ``Region``). Headers become snake_case, older/provider names become the
FOCUS 1.3 name (only when that name is not delivered too), values stay text (decimals are checked, never floats),
timestamps become ``YYYY-MM-DDTHH:MM:SSZ`` and JSON columns are checked to be flat objects. Every delivered column
is kept, known or not; staging decides what maps where.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.sources.file_checks import check_pattern, first_row, timestamp_text

# Older FOCUS / provider spellings (snake_case) → FOCUS 1.3 snake_case.
FOCUS_ALIASES = {
    "usage_quantity": "consumed_quantity",
    "usage_unit": "consumed_unit",
    "provider": "provider_name",
    "publisher": "publisher_name",
    "invoice_issuer": "invoice_issuer_name",
    "region": "region_id",
    "service_sub_category": "service_subcategory",
    "amortized_cost": "effective_cost",
}
FOCUS_REQUIRED_COLUMNS = {
    "billing_account_id": "BillingAccountId",
    "billing_currency": "BillingCurrency",
    "billing_period_start": "BillingPeriodStart",
    "charge_period_start": "ChargePeriodStart",
    "charge_period_end": "ChargePeriodEnd",
    "charge_category": "ChargeCategory",
    "billed_cost": "BilledCost",
}
FOCUS_DECIMAL_COLUMNS = (
    "billed_cost",
    "effective_cost",
    "list_cost",
    "contracted_cost",
    "list_unit_price",
    "contracted_unit_price",
    "pricing_quantity",
    "consumed_quantity",
    "commitment_discount_quantity",
    "pricing_currency_contracted_unit_price",
    "pricing_currency_effective_cost",
    "pricing_currency_list_unit_price",
)
FOCUS_TIMESTAMP_COLUMNS = ("billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end")
FOCUS_JSON_COLUMNS = ("tags", "sku_price_details")
# FOCUS 1.3 SkuPriceDetails keys; any other key must start with x_.
SKU_PRICE_DETAIL_KEYS = frozenset(
    {
        "CoreCount",
        "DiskMaxIops",
        "DiskSpace",
        "DiskType",
        "GpuCount",
        "InstanceType",
        "InstanceSeries",
        "MemorySize",
        "NetworkMaxIops",
        "NetworkMaxThroughput",
        "OperatingSystem",
        "Redundancy",
        "StorageClass",
    }
)
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$|^-?\.[0-9]+([eE][-+]?[0-9]+)?$"
# ISO 8601 in UTC: a date, optionally a time (minutes or seconds, any fraction), Z / +00:00 / no designator.
TIMESTAMP = (
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?)?"
    r"(?:Z|[+]00:?00| UTC)?$"
)
_NAMING = NamingConvention()


def normalize_focus_column(name: str) -> str:
    """``BilledCost`` → ``billed_cost``, ``x_BilledCostInUsd`` → ``x_billed_cost_in_usd`` (stray spaces dropped)."""
    return _NAMING.normalize_identifier(name.strip())


def read_table(data: bytes, file_name: str) -> tuple[list[str], pa.Table]:
    """The delivered header and the rows as an all-string Arrow table (CSV or Parquet, by the file name).

    Parquet values are turned into the same text a CSV would hold: timestamps as ``YYYY-MM-DDTHH:MM:SSZ``, dates
    as ``YYYY-MM-DD``, numbers in their exact decimal form.

    Raises:
        ValueError: When a Parquet file cannot be read.
    """
    if file_name.lower().endswith(".parquet"):
        table = pq.read_table(io.BytesIO(data))
        header = list(table.column_names)
        return header, pa.table({name: _as_text(table[name]) for name in header})
    header_line = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    header = next(csv.reader([header_line]))
    table = pv.read_csv(
        io.BytesIO(data),
        read_options=pv.ReadOptions(column_names=[f"c{index}" for index in range(len(header))], skip_rows=1),
        parse_options=pv.ParseOptions(newlines_in_values=True),
        convert_options=pv.ConvertOptions(
            column_types={f"c{index}": pa.string() for index in range(len(header))},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return header, table.rename_columns(header)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_timestamp(kind):
        return timestamp_text(column)
    if pa.types.is_date(kind):
        return pc.strftime(pc.cast(column, pa.timestamp("s")), format="%Y-%m-%d")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_nested(kind):
        return pa.chunked_array(
            [pa.array([None if v is None else json.dumps(v) for v in column.to_pylist()], pa.string())]
        )
    if pa.types.is_boolean(kind):
        return pc.if_else(column, "true", "false")
    return pc.cast(column, pa.string())


def focus_table(header: list[str], table: pa.Table, file_name: str, error: type[Exception]) -> pa.Table:
    """Normalise a provider's FOCUS file (all-string table) to snake_case FOCUS 1.3 names, checked.

    Raises:
        error: On a missing required column (named as FOCUS spells it), a duplicate column, an empty required value,
            a value that is not a decimal / UTC timestamp, or a JSON column that is not a flat object.
    """
    names = [normalize_focus_column(column) for column in header]
    delivered = set(names)
    names = [FOCUS_ALIASES.get(name, name) if FOCUS_ALIASES.get(name) not in delivered else name for name in names]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise error(f"{file_name}: columns {duplicates} appear twice after normalising the header")
    missing = [f"{column} ({focus})" for column, focus in FOCUS_REQUIRED_COLUMNS.items() if column not in names]
    if missing:
        raise error(f"{file_name}: missing required FOCUS column(s) {', '.join(missing)}")
    table = table.rename_columns(names)
    for column in FOCUS_REQUIRED_COLUMNS:
        if table[column].null_count:
            row = first_row(pc.is_null(table[column]))
            raise error(f"{file_name}: row {row}: required column '{column}' is empty")
    check_pattern(table, file_name, FOCUS_DECIMAL_COLUMNS, DECIMAL_PATTERN, "a decimal number", error)
    for column in FOCUS_TIMESTAMP_COLUMNS:
        if column in table.column_names:
            table = table.set_column(
                table.column_names.index(column), column, _utc_text(table[column], file_name, column, error)
            )
    for column in FOCUS_JSON_COLUMNS:
        if column in table.column_names:
            _check_flat_json(table[column], file_name, column, error)
    if "sku_price_details" in table.column_names:
        # FOCUS 1.3: provider keys of SkuPriceDetails must start with x_ (Microsoft and Oracle write bare keys).
        table = table.append_column("sku_price_details_focus", _prefix_custom_keys(table["sku_price_details"]))
    return table


def _utc_text(values: Any, file_name: str, column: str, error: type[Exception]) -> Any:
    parts = pc.extract_regex(values, TIMESTAMP)

    def part(name: str) -> Any:
        value = pc.struct_field(parts, name)
        return pc.if_else(pc.equal(value, ""), "00", value)

    text = pc.binary_join_element_wise(
        pc.struct_field(parts, "date"), "T", part("hour"), ":", part("minute"), ":", part("second"), "Z", ""
    )
    parsed = pc.strptime(text, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    valid = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%dT%H:%M:%SZ"), text), False)
    bad = pc.and_(pc.is_valid(values), pc.invert(valid))
    if pc.any(bad).as_py():
        row = first_row(bad)
        raise error(
            f"{file_name}: row {row}: column '{column}' expected a UTC timestamp like 2024-01-01T00:00:00Z, "
            f"got {values[row - 2].as_py()!r}"
        )
    return text


def _check_flat_json(values: Any, file_name: str, column: str, error: type[Exception]) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values.to_pylist()):
        if value is None or value in seen:
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or any(isinstance(item, dict | list) for item in parsed.values()):
            raise error(
                f"{file_name}: row {index + 2}: column '{column}' expected a flat JSON object, got {value[:80]!r}"
            )
        seen.add(value)


def _prefix_custom_keys(values: Any) -> pa.Array:
    cache: dict[str, str | None] = {}
    out: list[str | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        if value not in cache:
            parsed = json.loads(value)
            fixed = {
                key if key in SKU_PRICE_DETAIL_KEYS or key.startswith("x_") else f"x_{key}": item
                for key, item in parsed.items()
            }
            cache[value] = json.dumps(fixed, sort_keys=True) if fixed else None
        out.append(cache[value])
    return pa.array(out, pa.string())


def month_of(values: Any) -> Any:
    """``YYYY-MM`` of normalised UTC timestamp text."""
    return pc.utf8_slice_codeunits(values, 0, 7)
