"""Reading AWS Cost and Usage Report files (legacy CUR CSV) as Arrow tables of strings."""

from __future__ import annotations

import csv
import io
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.sources.file_checks import check_pattern, collapse_tags, first_row

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
    return _NAMING.normalize_identifier(name)


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
    table = collapse_tags(table, tag_keys, "resource_tags")
    period = pc.utf8_slice_codeunits(table["bill_billing_period_start_date"], 0, 7)
    return table.append_column("billing_period", period).append_column(
        "source_file", pa.array([file_name] * table.num_rows, pa.string())
    )


def _is_tag(header: str) -> bool:
    return header.lower().startswith("resourcetags/")
