"""Reading Azure Cost Management exports (EA and MCA cost details, CSV) as Arrow tables of strings.

EA files use PascalCase headers (``CostInBillingCurrency`` or, in the c360 schema, ``Cost``), MCA files camelCase
(``costInBillingCurrency``). Both are normalised to one snake_case raw schema; every delivered column is kept.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.sources.file_checks import first_row

Dataset = Literal["actual", "amortized"]
ExportSchema = Literal["ea", "mca"]

# Different names of the same field across EA c360, older EA and MCA files (after snake_case), mapped to one raw
# name. Applied only when the target name is not delivered too, so no column is ever lost.
COLUMN_ALIASES = {
    "cost": "cost_in_billing_currency",
    "billing_currency_code": "billing_currency",
    "product": "product_name",
    "invoice_section": "invoice_section_name",
    "resource_group": "resource_group_name",
    # "date" is a type name in SQL; a plain column name keeps the staging SQL portable.
    "date": "charge_date",
}
# Columns without which a row cannot become a FOCUS row, with the Azure names a user will look for.
REQUIRED_COLUMNS = {
    "billing_account_id": "BillingAccountId / billingAccountId",
    "billing_period_start_date": "BillingPeriodStartDate",
    "billing_period_end_date": "BillingPeriodEndDate",
    "charge_date": "Date",
    "cost_in_billing_currency": "Cost / CostInBillingCurrency",
    "billing_currency": "BillingCurrency / BillingCurrencyCode",
    "charge_type": "ChargeType",
}
MCA_REQUIRED_COLUMNS = {"billing_profile_id": "billingProfileId"}
DECIMAL_COLUMNS = (
    "cost_in_billing_currency",
    "quantity",
    "effective_price",
    "unit_price",
    "pay_g_price",
    "cost_in_pricing_currency",
    "cost_in_usd",
    "payg_cost_in_billing_currency",
    "payg_cost_in_usd",
    "exchange_rate_pricing_to_billing",
)
DATE_COLUMNS = (
    "billing_period_start_date",
    "billing_period_end_date",
    "charge_date",
    "service_period_start_date",
    "service_period_end_date",
    "exchange_rate_date",
)
# Markers of the MCA file schema besides camelCase headers (columns EA files never carry).
MCA_ONLY_COLUMNS = {"invoice_id", "previous_invoice_id", "cost_in_pricing_currency", "exchange_rate_pricing_to_billing"}
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$|^-?\.[0-9]+([eE][-+]?[0-9]+)?$"
# Cost Management writes US dates (MM/dd/yyyy, sometimes without leading zeros); newer API versions ISO 8601.
US_DATE = r"^(?P<month>[0-9]{1,2})/(?P<day>[0-9]{1,2})/(?P<year>[0-9]{4})$"
ISO_DATE = r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})(?:T00:00(?::00(?:\.0+)?)?(?:Z|\+00:00)?)?$"
DERIVED_COLUMNS = ("dataset", "schema", "billing_scope", "billing_period", "source_file", "source_row")
MANIFEST_NAME = "manifest.json"
_DATASETS: dict[str, Dataset] = {"actualcost": "actual", "amortizedcost": "amortized"}
_NAMING = NamingConvention()


class AzureExportError(ValueError):
    """An export file that cannot be loaded: the message names the file, and the row and column when there is one."""


@dataclass(frozen=True)
class Manifest:
    """What one export run's ``manifest.json`` says about the files it delivered."""

    path: str
    dataset: Dataset
    scope: str
    period: str
    submitted: datetime
    blob_names: tuple[str, ...]


def normalize_column(name: str) -> str:
    """Map an EA (``CostInBillingCurrency``) or MCA (``costInBillingCurrency``) header to its raw snake_case name."""
    return _NAMING.normalize_identifier(name.strip())


def dataset_from_name(path: str) -> Dataset | None:
    """``actual`` / ``amortized`` when the file name, else one of its folders, says so (export names usually do)."""
    parts = [part.lower() for part in reversed(path.split("/")) if part]
    for part in parts:
        has_actual, has_amortized = "actual" in part, "amortized" in part
        if has_actual != has_amortized:
            return "actual" if has_actual else "amortized"
    return None


def parse_dataset(value: str, where: str) -> Dataset:
    """Accept ``actual``/``amortized`` and Cost Management's ``ActualCost``/``AmortizedCost`` spellings."""
    key = value.strip().lower().replace("_", "").replace("-", "")
    dataset = _DATASETS.get(key) or _DATASETS.get(key + "cost")
    if dataset is None:
        raise AzureExportError(
            f"{where}: unsupported export dataset {value!r} (expected ActualCost or AmortizedCost; "
            "FocusCost and price sheets are other datasets)"
        )
    return dataset


def parse_manifest(data: bytes, path: str) -> Manifest:
    """Read the fields of a ``manifest.json`` that decide which delivery of a period is the newest.

    Raises:
        AzureExportError: When the manifest is not JSON or lacks ``exportConfig.type``, ``runInfo`` or ``blobs``.
    """
    try:
        body = json.loads(data.decode("utf-8-sig"))
        config, run = body["exportConfig"], body["runInfo"]
        dataset = parse_dataset(str(config["type"]), path)
        submitted = datetime.fromisoformat(str(run["submittedTime"]).replace("Z", "+00:00"))
        blob_names = tuple(str(blob["blobName"]) for blob in body["blobs"])
        period = str(run["startDate"])[:7]
        scope = str(config.get("resourceId") or config.get("exportName") or "")
    except AzureExportError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise AzureExportError(f"{path}: not a readable export manifest ({type(exc).__name__}: {exc})") from None
    return Manifest(path, dataset, scope, period, submitted, blob_names)


def select_newest_deliveries(paths: Iterable[str], manifests: list[Manifest]) -> dict[str, Dataset | None]:
    """The data files to read: per (scope, month, dataset) only the blobs of the newest manifest.

    Each month-to-date export run restates the whole month into a new folder, so older runs' files must not be
    loaded next to the newest one. Files that no manifest lists are read as they are (dataset unknown: ``None``).

    Args:
        paths: Relative paths of the data files found.
        manifests: The parsed manifests found next to them.

    Returns:
        Relative path → dataset from its manifest (``None`` for files without one).
    """
    paths = list(paths)
    newest: dict[tuple[str, str, str], Manifest] = {}
    owner: dict[str, Manifest] = {}
    for manifest in sorted(manifests, key=lambda m: (m.submitted, m.path)):
        newest[(manifest.scope, manifest.period, manifest.dataset)] = manifest
        for path in paths:
            if _listed_in(path, manifest):
                owner[path] = manifest
    chosen = {id(manifest) for manifest in newest.values()}
    selected: dict[str, Dataset | None] = {}
    for path in paths:
        manifest = owner.get(path)
        if manifest is None:
            selected[path] = None
        elif id(manifest) in chosen:
            selected[path] = manifest.dataset
    return selected


def _listed_in(path: str, manifest: Manifest) -> bool:
    """Whether the manifest's ``blobs[]`` lists this file (blob names are container paths, ours relative)."""
    folder = posixpath.dirname(manifest.path)
    for blob in manifest.blob_names:
        blob = blob.lstrip("/")
        if blob == path or blob.endswith("/" + path):
            return True
        if posixpath.dirname(path) == folder and posixpath.basename(blob) == posixpath.basename(path):
            return True
    return False


def read_export_csv(
    stream: IO[bytes], file_name: str, dataset: Dataset | None, schema: ExportSchema | None = None
) -> pa.Table:
    """Read one cost details CSV as an Arrow table whose columns are all strings.

    Values stay text so that no cost passes through a float; staging casts them to decimals. Dates are rewritten
    from US ``MM/dd/yyyy`` to ISO ``YYYY-MM-DD``. Derived columns: ``dataset`` (actual/amortized), ``schema``
    (ea/mca), ``billing_scope`` (EA billing account, MCA billing profile), ``billing_period`` (``YYYY-MM``, the
    period a re-delivery replaces), ``source_file`` and ``source_row`` (line number in the file).

    Args:
        stream: The (already decompressed) file contents.
        file_name: Name used in error messages and stored in ``source_file``.
        dataset: ``actual`` or ``amortized``; ``None`` to take it from the file name.
        schema: ``ea`` or ``mca``; ``None`` to detect it from the header.

    Raises:
        AzureExportError: On an unknown dataset, a missing required column or a value that is not a decimal/date.
    """
    data = stream.read()
    dataset = dataset or dataset_from_name(file_name)
    if dataset is None:
        raise AzureExportError(
            f"{file_name}: cannot tell ActualCost from AmortizedCost: no manifest.json lists it and neither its "
            "name nor its folder says Actual or Amortized (pass dataset='actual' or 'amortized')"
        )
    header_line = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
    header = next(csv.reader([header_line]))
    names = _normalized_names(header, file_name)
    schema = schema or _detect_schema(header, names)
    required = REQUIRED_COLUMNS | (MCA_REQUIRED_COLUMNS if schema == "mca" else {})
    missing = [f"{column} ({azure})" for column, azure in required.items() if column not in names]
    if missing:
        raise AzureExportError(f"{file_name}: missing required column(s) {', '.join(missing)}")
    table = pv.read_csv(
        io.BytesIO(data),
        read_options=pv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pv.ParseOptions(newlines_in_values=True),
        convert_options=pv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=True, null_values=[""]
        ),
    )
    scope_column = "billing_profile_id" if schema == "mca" else "billing_account_id"
    for column in (*required, scope_column):
        if table[column].null_count:
            row = first_row(pc.is_null(table[column]))
            raise AzureExportError(f"{file_name}: row {row}: required column '{column}' is empty")
    _check_decimals(table, file_name)
    table = _iso_dates(table, file_name)
    _check_tags(table, file_name)
    rows = table.num_rows
    return (
        table.append_column("dataset", pa.array([dataset] * rows, pa.string()))
        .append_column("schema", pa.array([schema] * rows, pa.string()))
        .append_column("billing_scope", table[scope_column])
        .append_column("billing_period", pc.utf8_slice_codeunits(table["billing_period_start_date"], 0, 7))
        .append_column("source_file", pa.array([file_name] * rows, pa.string()))
        .append_column("source_row", pa.array([str(index + 2) for index in range(rows)], pa.string()))
    )


def _normalized_names(header: list[str], file_name: str) -> list[str]:
    names = [normalize_column(column) for column in header]
    delivered = set(names)
    names = [COLUMN_ALIASES.get(name, name) if COLUMN_ALIASES.get(name) not in delivered else name for name in names]
    clashes = sorted({name for name in names if names.count(name) > 1} | (set(names) & set(DERIVED_COLUMNS)))
    if clashes:
        raise AzureExportError(f"{file_name}: columns {clashes} appear twice after normalising the header")
    return names


def _detect_schema(header: list[str], names: list[str]) -> ExportSchema:
    """MCA files carry MCA-only columns and camelCase headers; EA files (all versions) PascalCase."""
    if MCA_ONLY_COLUMNS & set(names):
        return "mca"
    lower = sum(1 for column in header if column[:1].islower())
    return "mca" if lower > len(header) / 2 else "ea"


def _check_decimals(table: pa.Table, file_name: str) -> None:
    for column in DECIMAL_COLUMNS:
        if column not in table.column_names:
            continue
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(table[column], DECIMAL_PATTERN), True))
        if pc.any(bad).as_py():
            row = first_row(bad)
            value = table[column][row - 2].as_py()
            raise AzureExportError(
                f"{file_name}: row {row}: column '{column}' expected a decimal number, got {value!r}"
            )


def _iso_dates(table: pa.Table, file_name: str) -> pa.Table:
    """Rewrite US and ISO date(-time at midnight) text to ``YYYY-MM-DD``; anything else is an error."""
    for column in DATE_COLUMNS:
        if column not in table.column_names:
            continue
        values = table[column]
        iso = pc.if_else(
            pc.match_substring_regex(values, US_DATE),
            _date_text(pc.extract_regex(values, US_DATE)),
            _date_text(pc.extract_regex(values, ISO_DATE)),
        )
        # strptime rolls impossible dates over (02/30 → 03/02): only a date that formats back to itself is real.
        parsed = pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True)
        valid = pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), iso), False)
        bad = pc.and_(pc.is_valid(values), pc.invert(valid))
        if pc.any(bad).as_py():
            row = first_row(bad)
            value = values[row - 2].as_py()
            raise AzureExportError(
                f"{file_name}: row {row}: column '{column}' expected a date like 09/30/2023 or 2023-09-30, "
                f"got {value!r}"
            )
        table = table.set_column(table.column_names.index(column), column, iso)
    return table


def _date_text(parts: Any) -> Any:
    """``YYYY-MM-DD`` from a struct of year/month/day strings (null where the pattern did not match)."""
    month = pc.utf8_lpad(pc.struct_field(parts, "month"), width=2, padding="0")
    day = pc.utf8_lpad(pc.struct_field(parts, "day"), width=2, padding="0")
    return pc.binary_join_element_wise(pc.struct_field(parts, "year"), month, day, "-")


def _check_tags(table: pa.Table, file_name: str) -> None:
    """Tags must become a flat JSON object once wrapped in braces (EA writes ``"k": "v","k2": "v2"``)."""
    if "tags" not in table.column_names:
        return
    for index, value in enumerate(table["tags"].to_pylist()):
        if value is None:
            continue
        text = value.strip()
        try:
            parsed = json.loads(text if text.startswith("{") else "{" + text + "}")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or any(isinstance(item, dict | list) for item in parsed.values()):
            raise AzureExportError(
                f"{file_name}: row {index + 2}: column 'tags' expected JSON key/value pairs, got {value[:80]!r}"
            )


def is_data_file(path: str) -> bool:
    """CSV or gzipped CSV export part."""
    name = path.lower()
    return name.endswith((".csv", ".csv.gz"))


def is_manifest(path: str) -> bool:
    """An export run's ``manifest.json``."""
    return posixpath.basename(path).lower() == MANIFEST_NAME
