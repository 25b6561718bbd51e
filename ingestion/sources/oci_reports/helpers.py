"""Reading OCI cost reports (``reports/cost-csv``) and FOCUS reports (``FOCUS Reports/``) as Arrow tables of strings."""

from __future__ import annotations

import csv
import io
import posixpath
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.sources.file_checks import check_pattern, collapse_tags, first_row
from ingestion.sources.focus_files import focus_table, month_of, read_table

# Columns without which a cost report line cannot become a FOCUS row, as snake_case of the OCI header
# (``lineItem/referenceNo`` → ``line_item_reference_no``).
REQUIRED_COLUMNS = (
    "line_item_reference_no",
    "line_item_tenant_id",
    "line_item_interval_usage_start",
    "line_item_interval_usage_end",
    "product_service",
    "cost_my_cost",
    "cost_currency_code",
)
DECIMAL_COLUMNS = (
    "usage_billed_quantity",
    "usage_billed_quantity_overage",
    "cost_unit_price",
    "cost_unit_price_overage",
    "cost_my_cost",
    "cost_my_cost_overage",
)
TIMESTAMP_COLUMNS = ("line_item_interval_usage_start", "line_item_interval_usage_end")
BOOLEAN_COLUMNS = ("cost_overage_flag", "line_item_is_correction")
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$|^-?\.[0-9]+([eE][-+]?[0-9]+)?$"
# OCI writes interval starts without seconds (2023-11-13T10:00Z) and ends with them (2023-11-13T11:00:00Z).
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?Z$"
BOOLEAN_PATTERN = r"(?i)^(true|false)$"
TAG_PREFIX = "tags/"
COST_TABLE = "oci_cost_reports"
FOCUS_TABLE = "oci_focus_reports"
FOCUS_PREFIX = "focus reports/"
_NAMING = NamingConvention()


class OciReportError(ValueError):
    """An OCI cost report that cannot be loaded: the message names the file, row and column."""


def normalize_column(name: str) -> str:
    """Map an OCI header such as ``lineItem/TenantId`` to snake_case (``line_item_tenant_id``).

    OCI's own headers differ in case between report generations (``tenantId``/``TenantId``) and sometimes carry
    stray spaces, so the header is stripped and matched through the same snake_case convention dlt applies.
    """
    return _NAMING.normalize_identifier(name.strip())


def report_name(file_name: str) -> str:
    """The report's identity: its object name without folders and ``.csv``/``.gz`` suffixes.

    ``reports/cost-csv/0000000030000269.csv.gz`` → ``0000000030000269``, so a report re-delivered compressed or
    read through another folder still replaces its own earlier rows.
    """
    name = posixpath.basename(file_name.replace("\\", "/"))
    for suffix in (".gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def is_focus_header(data: bytes) -> bool:
    """Whether a report's first line is a FOCUS header (``BilledCost``, ``ChargeCategory``) rather than cost-csv."""
    header_line = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    names = {column.strip().lower() for column in next(csv.reader([header_line]), [])}
    return {"billedcost", "chargecategory"} <= names


def read_report(data: bytes, file_name: str) -> tuple[str, pa.Table]:
    """``(raw table name, table)`` of one OCI report: FOCUS reports by their header, else a cost report."""
    if is_focus_header(data):
        return FOCUS_TABLE, read_focus_report(data, file_name)
    return COST_TABLE, read_cost_report_csv(io.BytesIO(data), file_name)


def focus_report_name(file_name: str) -> str:
    """A FOCUS report's identity: its path below ``FOCUS Reports/`` (``2024/09/21/<file>``) without suffixes.

    FOCUS report file names repeat across days, so the date folders are part of the name; a report read through
    another root folder or re-delivered still replaces its own earlier rows.
    """
    path = file_name.replace("\\", "/")
    index = path.lower().rfind(FOCUS_PREFIX)
    if index >= 0:
        path = path[index + len(FOCUS_PREFIX) :]
    else:
        path = posixpath.basename(path)
    for suffix in (".gz", ".csv"):
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
    return path


def read_focus_report(data: bytes, file_name: str) -> pa.Table:
    """Read one OCI FOCUS report (FOCUS 1.0-preview/1.2 mix plus ``oci_*`` columns) as all-string Arrow table.

    Column names become FOCUS 1.3 snake_case (``UsageQuantity`` → ``consumed_quantity``, ``Provider`` →
    ``provider_name``, ``Region`` → ``region_id``; see ``ingestion.sources.focus_files``); ``oci_*`` columns keep
    their names in snake_case. Derived: ``billing_scope`` (the tenancy: ``SubAccountId`` when it is a tenancy OCID,
    else ``BillingAccountId``), ``billing_period`` (``YYYY-MM`` of BillingPeriodStart), ``report_name`` (merge key,
    see :func:`focus_report_name`), ``source_file`` and ``source_row``.

    Raises:
        OciReportError: On a missing required FOCUS column or a malformed value (file, row and column named).
    """
    header, table = read_table(data, file_name)
    table = focus_table(header, table, file_name, OciReportError)
    rows = table.num_rows
    if "sub_account_id" in table.column_names:
        tenancy = pc.if_else(
            pc.fill_null(pc.starts_with(table["sub_account_id"], "ocid1.tenancy."), False),
            table["sub_account_id"],
            table["billing_account_id"],
        )
    else:
        tenancy = table["billing_account_id"]
    return (
        table.append_column("billing_scope", tenancy)
        .append_column("billing_period", month_of(table["billing_period_start"]))
        .append_column("report_name", pa.array([focus_report_name(file_name)] * rows, pa.string()))
        .append_column("source_file", pa.array([file_name] * rows, pa.string()))
        .append_column("source_row", pa.array([str(index + 2) for index in range(rows)], pa.string()))
    )


def read_cost_report_csv(stream: IO[bytes], file_name: str) -> pa.Table:
    """Read one OCI cost report as an Arrow table whose columns are all strings.

    Values stay text so that no cost passes through a float; staging casts them to decimals. Every ``tags/*``
    column is folded into one JSON object column ``tags``; columns we do not know are kept as text (OCI adds
    columns over time). Derived columns: ``billing_scope`` (the tenancy OCID), ``billing_period`` (``YYYY-MM`` of
    the usage interval start, UTC), ``report_name`` (the merge key, see :func:`report_name`) and ``source_file``.

    Args:
        stream: The (already decompressed) file contents.
        file_name: Name used in error messages and stored in ``source_file``.

    Raises:
        OciReportError: On a missing required column or a value that is not a decimal / UTC timestamp / boolean.
    """
    data = stream.read()
    header_line = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    header = next(csv.reader([header_line]))
    # Tag columns get positional names: two tag keys may normalise to the same identifier (a.b vs a-b).
    names = [f"__tag_{index}" if _is_tag(column) else normalize_column(column) for index, column in enumerate(header)]
    tag_keys = {
        name: column.strip()[len(TAG_PREFIX) :] for name, column in zip(names, header, strict=True) if _is_tag(column)
    }
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise OciReportError(
            f"{file_name}: missing required OCI cost report column(s) {', '.join(missing)} "
            f"(header e.g. 'cost/myCost' or snake_case 'cost_my_cost')"
        )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise OciReportError(f"{file_name}: columns {duplicates} appear twice after normalising the header")
    table = pv.read_csv(
        io.BytesIO(data),
        read_options=pv.ReadOptions(column_names=names, skip_rows=1),
        convert_options=pv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=True, null_values=[""]
        ),
    )
    check_pattern(table, file_name, DECIMAL_COLUMNS, DECIMAL_PATTERN, "a decimal number", OciReportError)
    check_pattern(
        table, file_name, TIMESTAMP_COLUMNS, TIMESTAMP_PATTERN, "a UTC timestamp like 2023-11-13T10:00Z", OciReportError
    )
    check_pattern(table, file_name, BOOLEAN_COLUMNS, BOOLEAN_PATTERN, "true or false", OciReportError)
    for column in REQUIRED_COLUMNS:
        if table[column].null_count:
            row = first_row(pc.is_null(table[column]))
            raise OciReportError(f"{file_name}: row {row}: required column '{column}' is empty")
    table = collapse_tags(table, tag_keys, "tags")
    # The pattern above guarantees a Z (UTC) designator, so the first seven characters are the UTC month.
    period = pc.utf8_slice_codeunits(table["line_item_interval_usage_start"], 0, 7)
    return (
        table.append_column("billing_scope", table["line_item_tenant_id"])
        .append_column("billing_period", period)
        .append_column("report_name", pa.array([report_name(file_name)] * table.num_rows, pa.string()))
        .append_column("source_file", pa.array([file_name] * table.num_rows, pa.string()))
    )


def _is_tag(header: str) -> bool:
    return header.strip().lower().startswith(TAG_PREFIX)
