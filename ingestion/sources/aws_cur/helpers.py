"""Reading AWS Cost and Usage Report files (legacy CUR CSV) as Arrow tables of strings."""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.sources.file_checks import check_pattern, collapse_tags, first_row, keys_not_null, timestamp_text

# Columns without which a CUR file cannot become FOCUS rows, in CUR 2.0 (snake_case) names.
REQUIRED_COLUMNS = (
    "identity_line_item_id",
    "bill_payer_account_id",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_unblended_cost",
    "line_item_currency_code",
)
# The merge keys of the two raw tables (a delivered billing period replaces that period's rows).
CUR_KEYS = ("bill_payer_account_id", "billing_period")
FOCUS_KEYS = ("billing_account_id", "billing_period")
DECIMAL_COLUMNS = (
    "line_item_unblended_cost",
    "line_item_net_unblended_cost",
    "line_item_usage_amount",
    "line_item_unblended_rate",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
)
TIMESTAMP_COLUMNS = (
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
)
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$|^-?\.[0-9]+([eE][-+]?[0-9]+)?$"
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?Z$"
_NAMING = NamingConvention()


class CurFileError(ValueError):
    """A CUR file that cannot be loaded: the message names the file, row and column."""


def normalize_column(name: str) -> str:
    """Map a legacy CUR header (``lineItem/UnblendedCost``) to its CUR 2.0 name (``line_item_unblended_cost``)."""
    # AWS snake-cases "ARN" letter by letter in CUR 2.0 (reservation_reservation_a_r_n); legacy headers give "arn".
    return _NAMING.normalize_identifier(name).replace("_a_r_n", "_arn")


def read_cur_csv(stream: IO[bytes], file_name: str) -> pa.Table:
    """Read one legacy CUR CSV as an Arrow table whose columns are all strings.

    Values stay text so that no cost passes through a float; staging casts them to decimals.
    Two derived columns are added: ``source_file`` and ``billing_period`` (``YYYY-MM``), the period a
    re-delivery replaces.

    Args:
        stream: The (already decompressed) file contents.
        file_name: Name used in error messages and stored in ``source_file``.

    Raises:
        CurFileError: On a missing required column or a value that is not a decimal / UTC timestamp.
    """
    data = stream.read()
    header_line = data.split(b"\n", 1)[0].decode("utf-8-sig")
    header = next(csv.reader([header_line]))
    names = [normalize_column(column) for column in header]
    tag_keys = {name: column.split("/", 1)[1] for name, column in zip(names, header, strict=True) if _is_tag(column)}
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise CurFileError(
            f"{file_name}: missing required CUR column(s) {', '.join(missing)} "
            f"(legacy name e.g. 'lineItem/UnblendedCost' or CUR 2.0 name 'line_item_unblended_cost')"
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CurFileError(f"{file_name}: columns {duplicates} appear twice after normalising the header")
    table = pv.read_csv(
        io.BytesIO(data),
        read_options=pv.ReadOptions(column_names=names, skip_rows=1),
        convert_options=pv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=True, null_values=[""]
        ),
    )
    check_pattern(table, file_name, DECIMAL_COLUMNS, DECIMAL_PATTERN, "a decimal number", CurFileError)
    check_pattern(
        table,
        file_name,
        TIMESTAMP_COLUMNS,
        TIMESTAMP_PATTERN,
        "a UTC timestamp like 2023-11-01T00:00:00Z",
        CurFileError,
    )
    for column in REQUIRED_COLUMNS:
        nulls = table[column].null_count
        if nulls and column != "line_item_usage_account_id":
            row = first_row(pc.is_null(table[column]))
            raise CurFileError(f"{file_name}: row {row}: required column '{column}' is empty")
    if "resource_tags" not in table.column_names:  # a CUR 2.0 CSV carries its tags as one JSON column already
        table = collapse_tags(table, tag_keys, "resource_tags")
    return _with_delivery_columns(table, file_name, "bill_billing_period_start_date", CUR_KEYS)


def _with_delivery_columns(table: pa.Table, file_name: str, period_start: str, keys: tuple[str, ...]) -> pa.Table:
    """Add ``billing_period`` (``YYYY-MM`` of the ``period_start`` text, what a re-delivery replaces) and
    ``source_file``; the merge ``keys`` are declared non-null (the readers have checked them)."""
    period = pc.utf8_slice_codeunits(table[period_start], 0, 7)
    table = table.append_column("billing_period", period)
    return keys_not_null(table.append_column("source_file", pa.array([file_name] * table.num_rows, pa.string())), keys)


def _is_tag(header: str) -> bool:
    return header.lower().startswith("resourcetags/")


# --- Parquet (legacy CUR and CUR 2.0 Data Exports), the FOCUS 1.2 export and the delivery manifests ---------------

# CUR 2.0 keeps attributes outside its fixed schema in the ``product`` map; these are the ones staging reads, lifted
# to the legacy column names (``product['product_name']`` → ``product_product_name``). The whole map stays as JSON.
PRODUCT_MAP_KEYS = (
    "product_name",
    "region",
    "location",
    "storage_class",
    "instance_type",
    "product_family",
    "servicecode",
    "sku",
    "region_code",
)
# Map columns of CUR 2.0 (legacy CUR spreads them over one column per key: resource_tags_user_team, ...).
CUR_MAP_COLUMNS = ("resource_tags", "cost_category", "discount", "product", "tags")
FOCUS_REQUIRED_COLUMNS = (
    "billed_cost",
    "effective_cost",
    "list_cost",
    "contracted_cost",
    "billing_account_id",
    "billing_currency",
    "billing_period_start",
    "billing_period_end",
    "charge_category",
    "charge_period_start",
    "charge_period_end",
    "service_name",
)
FOCUS_NOT_NULL_COLUMNS = (
    "billed_cost",
    "effective_cost",
    "billing_account_id",
    "billing_period_start",
    "charge_category",
)
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
)
FOCUS_TIMESTAMP_COLUMNS = ("billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end")
PARQUET_BATCH_ROWS = 100_000
MAP_CHUNK_ROWS = 8_192
CurFormat = str  # "legacy" (CUR 1.0 CSV or parquet), "cur2" (Data Exports CUR 2.0) or "focus" (Data Exports FOCUS 1.2)


def file_kind(path: str) -> str | None:
    """``data`` for a CUR / FOCUS data file, ``manifest`` for a delivery manifest, else ``None`` (ignored)."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith("manifest.json"):
        return "manifest"
    if name.endswith((".parquet", ".csv", ".csv.gz")):
        return "data"
    return None


@dataclass(frozen=True)
class Manifest:
    """What one delivery manifest says: which files make up the delivery of a billing period."""

    path: str
    period: str
    report: str
    modified: str
    keys: tuple[str, ...]


def parse_manifest(data: bytes, path: str, modified: str) -> Manifest:
    """Read a legacy CUR ``<report>-Manifest.json`` (``reportKeys``) or a Data Exports manifest (``dataFiles``).

    Args:
        data: The manifest's bytes.
        path: Its path relative to the source folder (error messages, and the period when the body has none).
        modified: Its modification time as sortable text: of two manifests of one period, the newer one wins.

    Raises:
        CurFileError: When it is not JSON or lists no files.
    """
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CurFileError(f"{path}: not a readable CUR manifest ({type(exc).__name__}: {exc})") from None
    keys = body.get("reportKeys") if isinstance(body, dict) else None
    if keys is None and isinstance(body, dict):
        keys = body.get("dataFiles")
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise CurFileError(f"{path}: manifest lists no data files (expected 'reportKeys' or 'dataFiles')")
    period = _manifest_period(body, path)
    report = str(body.get("reportName") or body.get("exportName") or body.get("exportArn") or posixpath.dirname(path))
    return Manifest(path, period, report, modified, tuple(keys))


def _manifest_period(body: dict[str, Any], path: str) -> str:
    start = (body.get("billingPeriod") or {}).get("start") if isinstance(body.get("billingPeriod"), dict) else None
    if isinstance(start, str) and len(start) >= 6 and start[:4].isdigit():
        digits = start.replace("-", "")
        return f"{digits[:4]}-{digits[4:6]}"
    found = re.search(r"BILLING_PERIOD=(\d{4}-\d{2})", path) or re.search(r"(\d{4})(\d{2})01-\d{8}", path)
    if found is None:
        raise CurFileError(f"{path}: cannot tell which billing period this manifest covers")
    return found.group(1) if found.lastindex == 1 else f"{found.group(1)}-{found.group(2)}"


def select_delivered_files(paths: list[str], manifests: list[Manifest]) -> list[str]:
    """The data files to read: per (report, billing period) only those the newest manifest lists.

    A re-delivery (a new assembly of legacy CUR, a new Data Exports execution) lists a new file set; older files of
    the same period are skipped, so the period's rows come from the newest delivery only. Files no manifest lists are
    read as they are (a folder of exported files without their metadata).
    """
    newest: dict[tuple[str, str], Manifest] = {}
    for manifest in sorted(manifests, key=lambda m: (m.modified, m.path)):
        newest[(manifest.report, manifest.period)] = manifest
    chosen = {manifest.path for manifest in newest.values()}
    selected = []
    for path in paths:
        listing = [manifest for manifest in manifests if any(_same_file(key, path) for key in manifest.keys)]
        if not listing or any(manifest.path in chosen for manifest in listing):
            selected.append(path)
    return selected


def _same_file(key: str, relative_path: str) -> bool:
    """A manifest key (bucket key or ``s3://`` URL) names the file at this path relative to the source folder."""
    key = key.split("://", 1)[-1]
    return key == relative_path or key.endswith("/" + relative_path)


def sniff_format(item_open: Any, path: str) -> CurFormat:
    """Tell legacy CUR, CUR 2.0 and the FOCUS 1.2 export apart from a file's header or parquet schema."""
    with item_open() as stream:
        if path.lower().endswith(".parquet"):
            names = pq.ParquetFile(stream).schema_arrow.names
        else:
            header_line = stream.readline().decode("utf-8-sig")
            names = next(csv.reader([header_line]), [])
    normalized = {normalize_column(name) for name in names}
    if "billed_cost" in normalized and "identity_line_item_id" not in normalized:
        return "focus"
    if any(name in names for name in CUR_MAP_COLUMNS) or "bill_payer_account_name" in names:
        return "cur2"
    return "legacy"


def read_cur_parquet(stream: IO[bytes], file_name: str, batch_rows: int = PARQUET_BATCH_ROWS) -> Iterator[pa.Table]:
    """Read a legacy CUR or CUR 2.0 parquet file as Arrow tables of strings, one per batch of rows.

    Column names are CUR 2.0's; numbers and timestamps become text exactly as the CSV reader gives them (staging
    casts them to decimals; a double's shortest round-trip text is its exact delivered value). CUR 2.0 map columns
    become flat JSON objects; legacy ``resource_tags_<key>`` columns are folded into one ``resource_tags`` object.

    Raises:
        CurFileError: On a missing required column or a value that is not a decimal / UTC timestamp.
    """
    parquet = pq.ParquetFile(stream)
    names = [normalize_column(name) for name in parquet.schema_arrow.names]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise CurFileError(f"{file_name}: missing required CUR column(s) {', '.join(missing)}")
    tag_columns = {
        name: name.removeprefix("resource_tags_")
        for name in names
        if name.startswith("resource_tags_") and name not in CUR_MAP_COLUMNS
    }
    offset = 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        table = pa.Table.from_batches([batch]).rename_columns(names)
        table = _as_text(_maps_as_json(table), file_name)
        _check_values(table, file_name, DECIMAL_COLUMNS, DECIMAL_PATTERN, "a decimal number", offset + 1)
        _check_values(table, file_name, TIMESTAMP_COLUMNS, TIMESTAMP_PATTERN, "a UTC timestamp", offset + 1)
        _check_required_values(table, file_name, offset + 1)
        if "resource_tags" not in table.column_names:
            table = collapse_tags(table, tag_columns, "resource_tags")
        offset += table.num_rows
        yield _with_delivery_columns(table, file_name, "bill_billing_period_start_date", CUR_KEYS)


def read_focus_export(stream: IO[bytes], file_name: str, batch_rows: int = PARQUET_BATCH_ROWS) -> Iterator[pa.Table]:
    """Read an AWS Data Exports FOCUS 1.2 file (parquet, CSV or CSV.gz) as Arrow tables of strings.

    Columns are snake-cased (``BilledCost`` → ``billed_cost``, ``x_Discounts`` → ``x_discounts``); ``Tags``,
    ``SkuPriceDetails`` and ``x_Discounts`` maps become flat JSON objects. Adds ``billing_period`` (``YYYY-MM`` of
    BillingPeriodStart), ``source_file`` and ``source_row`` (1-based data row, the export has no row id).

    Raises:
        CurFileError: On a missing required FOCUS column or a value that is not a decimal / UTC timestamp.
    """
    is_parquet = file_name.lower().endswith(".parquet")
    if is_parquet:
        parquet = pq.ParquetFile(stream)
        names = [normalize_column(name) for name in parquet.schema_arrow.names]
        batches: Iterator[pa.Table] = (
            pa.Table.from_batches([batch]) for batch in parquet.iter_batches(batch_size=batch_rows)
        )
    else:
        data = stream.read()
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig")]))
        names = [normalize_column(name) for name in header]
        batches = iter(
            [
                pv.read_csv(
                    io.BytesIO(data),
                    read_options=pv.ReadOptions(column_names=names, skip_rows=1),
                    convert_options=pv.ConvertOptions(
                        column_types={name: pa.string() for name in names}, strings_can_be_null=True, null_values=[""]
                    ),
                )
            ]
        )
    missing = [column for column in FOCUS_REQUIRED_COLUMNS if column not in names]
    if missing:
        raise CurFileError(f"{file_name}: missing required FOCUS column(s) {', '.join(missing)}")
    offset = 0
    for raw in batches:
        table = _as_text(_maps_as_json(raw.rename_columns(names)), file_name)
        first = offset + (1 if is_parquet else 2)
        _check_values(table, file_name, FOCUS_DECIMAL_COLUMNS, DECIMAL_PATTERN, "a decimal number", first)
        _check_values(table, file_name, FOCUS_TIMESTAMP_COLUMNS, TIMESTAMP_PATTERN, "a UTC timestamp", first)
        for column in FOCUS_NOT_NULL_COLUMNS:
            if table[column].null_count:
                row = pc.index(pc.is_null(table[column]), True).as_py() + first
                raise CurFileError(f"{file_name}: row {row}: required column '{column}' is empty")
        rows = pa.array(range(offset + 1, offset + table.num_rows + 1), pa.int64())
        offset += table.num_rows
        table = _with_delivery_columns(table, file_name, "billing_period_start", FOCUS_KEYS)
        yield table.append_column("source_row", pc.cast(rows, pa.string()))


def _as_text(table: pa.Table, file_name: str) -> pa.Table:
    """Every column as text: numbers in their shortest exact form, timestamps as ISO UTC, maps as flat JSON."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            text = column.cast(pa.string())
            # Data Exports write an absent value as "" in string columns (a rate, a region); it means null.
            empty = pc.equal(text, "")
            columns.append(pc.if_else(empty, pa.scalar(None, pa.string()), text) if pc.any(empty).as_py() else text)
        elif pa.types.is_timestamp(kind):
            columns.append(timestamp_text(column))
        elif pa.types.is_date(kind):
            columns.append(timestamp_text(column.cast(pa.timestamp("s"))))
        elif pa.types.is_map(kind) or pa.types.is_struct(kind) or pa.types.is_list(kind):
            columns.append(_map_json(column))
        elif pa.types.is_null(kind):
            columns.append(pa.nulls(len(column), pa.string()))
        else:
            try:
                columns.append(column.cast(pa.string()))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise CurFileError(f"{file_name}: column '{name}' of type {kind} cannot be read ({exc})") from None
    return pa.table(columns, names=table.column_names)


def _maps_as_json(table: pa.Table) -> pa.Table:
    """Map columns as flat JSON object text (keys sorted; empty and null maps → null), in one vectorised DuckDB pass.

    The ``product`` map's keys that staging reads are also copied into legacy-named ``product_<key>`` columns when the
    file lacks them (CUR 2.0 keeps region, product name... only in that map).
    """
    maps = [name for name, kind in zip(table.column_names, table.schema.types, strict=True) if pa.types.is_map(kind)]
    if not maps:
        return table
    selects = []
    for name in maps:
        quoted = '"' + name.replace('"', '""') + '"'
        selects.append(
            f"case when {quoted} is null or cardinality({quoted}) = 0 then null "
            f"else cast(to_json(map_from_entries(list_sort(map_entries({quoted})))) as varchar) end as {quoted}"
        )
    if "product" in maps:
        for key in PRODUCT_MAP_KEYS:
            if f"product_{key}" not in table.column_names:
                selects.append(f"cast(product['{key}'] as varchar) as product_{key}")
    con = duckdb.connect()
    try:
        # Only the map columns pass through DuckDB (a round trip of every text column costs more than the maps), in
        # small record batches: DuckDB scans one Arrow batch per thread.
        con.register("batch", pa.Table.from_batches(table.select(maps).to_batches(max_chunksize=MAP_CHUNK_ROWS)))
        converted = con.sql(f"select {', '.join(selects)} from batch").to_arrow_table()
    finally:
        con.close()
    for name in maps:
        table = table.set_column(table.column_names.index(name), name, converted[name])
    for name in converted.column_names[len(maps) :]:
        # A product key no row carries is no column at all, as when the file has no such key.
        if converted[name].null_count < converted.num_rows:
            table = table.append_column(name, converted[name])
    return table


def _map_json(column: Any) -> pa.ChunkedArray:
    """A map (or list of key/value pairs, or struct) column as flat JSON object text; empty and null → null."""
    out: list[str | None] = []
    for value in column.to_pylist():
        if isinstance(value, list):
            value = dict(value)
        out.append(json.dumps(value, sort_keys=True, separators=(",", ":")) if value else None)
    return pa.chunked_array([pa.array(out, pa.string())])


def _check_required_values(table: pa.Table, file_name: str, first: int) -> None:
    for column in REQUIRED_COLUMNS:
        if column != "line_item_usage_account_id" and table[column].null_count:
            row = pc.index(pc.is_null(table[column]), True).as_py() + first
            raise CurFileError(f"{file_name}: row {row}: required column '{column}' is empty")


def _check_values(
    table: pa.Table, file_name: str, columns: tuple[str, ...], pattern: str, expected: str, first: int
) -> None:
    """Like ``check_pattern``, for a batch whose first row is data row ``first`` of the file."""
    for column in columns:
        if column not in table.column_names:
            continue
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(table[column], pattern), True))
        if pc.any(bad).as_py():
            index = pc.index(bad, True).as_py()
            value = table[column][index].as_py()
            raise CurFileError(
                f"{file_name}: row {index + first}: column '{column}' expected {expected}, got {value!r}"
            )
