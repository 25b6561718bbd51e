"""Reading Azure Cost Management exports (EA and MCA cost details, FocusCost; CSV, CSV.gz, Parquet) as Arrow tables.

EA files use PascalCase headers (``CostInBillingCurrency`` or, in the c360 schema, ``Cost``), MCA files camelCase
(``costInBillingCurrency``). Both are normalised to one snake_case raw schema; every delivered column is kept.
FocusCost files (FOCUS 1.0/1.0r2/1.2 column sets) go to their own raw table (see ``ingestion.sources.focus_files``).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.sources.file_checks import first_row
from ingestion.sources.focus_files import focus_table, month_of, read_table

Dataset = Literal["actual", "amortized", "focus"]
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
DERIVED_COLUMNS = (
    "dataset",
    "schema",
    "billing_scope",
    "billing_period",
    "source_file",
    "source_row",
    "ai_model",
    "ai_token_type",
)
MANIFEST_NAME = "manifest.json"
_DATASETS: dict[str, Dataset] = {"actualcost": "actual", "amortizedcost": "amortized", "focuscost": "focus"}
FOCUS_TABLE = "azure_focus_cost"
COST_TABLE = "azure_cost_details"
# Meter categories of Azure OpenAI usage; Cognitive Services / AI services meters count when the meter names a model.
OPENAI_METER_CATEGORIES = {"azure openai", "azure openai service"}
AI_SERVICES_METER_CATEGORIES = {"cognitive services", "azure ai services", "foundry models", "azure ai foundry models"}
OPENAI_MODEL_PREFIX = re.compile(
    r"^(az-)?(gpt|o1|o3|o4|chatgpt|text-embedding|embedding|dall-e|whisper|tts|davinci|babbage|ada|codex|sora)", re.I
)
# Tokens of a meter name that end the model name (version, direction, deployment type, unit).
_DIRECTIONS = {"input": "input", "inp": "input", "in": "input", "output": "output", "outp": "output", "out": "output"}
_CACHED = {"cached", "cchd", "cache", "cached-input"}
_MODEL_STOPWORDS = {
    "glbl",
    "global",
    "regional",
    "rgnl",
    "regnl",
    "data",
    "zone",
    "dzone",
    "dz",
    "batch",
    "tokens",
    "token",
    "ptu",
    "provisioned",
    "fine",
    "tuning",
    "ft",
    "training",
    "hosting",
    "hours",
    "1k",
    "1m",
}
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
    version: str | None = None


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
            f"{where}: unsupported export dataset {value!r} (expected ActualCost, AmortizedCost or FocusCost; "
            "price sheets and reservation details are not cost data)"
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
        version = str(config["dataVersion"]) if config.get("dataVersion") else None
    except AzureExportError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise AzureExportError(f"{path}: not a readable export manifest ({type(exc).__name__}: {exc})") from None
    return Manifest(path, dataset, scope, period, submitted, blob_names, version)


def select_newest_deliveries(paths: Iterable[str], manifests: list[Manifest]) -> dict[str, Manifest | None]:
    """The data files to read: per (scope, month, dataset) only the blobs of the newest manifest.

    Each month-to-date export run restates the whole month into a new folder, so older runs' files must not be
    loaded next to the newest one (the manifest's ``blobs[]`` is the file set). Files that no manifest lists are
    read as they are (``None``: dataset from the header or name).

    Args:
        paths: Relative paths of the data files found.
        manifests: The parsed manifests found next to them.

    Returns:
        Relative path → the manifest that delivered it (``None`` for files without one).
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
    run_folders = [posixpath.dirname(manifest.path) for manifest in manifests]
    selected: dict[str, Manifest | None] = {}
    for path in paths:
        manifest = owner.get(path)
        if manifest is None and any(_inside(path, folder) for folder in run_folders):
            continue  # in an export run's folder but not in its manifest's file set: not part of the delivery
        if manifest is None or id(manifest) in chosen:
            selected[path] = manifest
    return selected


def _inside(path: str, folder: str) -> bool:
    return folder == "" and "/" not in path or bool(folder) and path.startswith(folder + "/")


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


def read_export_file(
    data: bytes,
    file_name: str,
    dataset: Dataset | None,
    schema: ExportSchema | None = None,
    version: str | None = None,
) -> tuple[str, pa.Table]:
    """Read one export file (CSV or Parquet) as ``(raw table name, Arrow table of strings)``.

    A FocusCost file (by its manifest, the ``dataset`` argument or, failing both, a FOCUS header with
    ``BilledCost``/``ChargeCategory``) goes to ``azure_focus_cost``; ActualCost/AmortizedCost files to
    ``azure_cost_details`` (see :func:`read_export_csv`).

    Args:
        data: The (already decompressed) file contents.
        file_name: Name used in error messages and stored in ``source_file``; ``.parquet`` selects Parquet.
        dataset: ``actual``, ``amortized`` or ``focus``; ``None`` to take it from the header or file name.
        schema: ``ea`` or ``mca``; ``None`` to detect it from the header.
        version: The manifest's ``dataVersion`` (FocusCost only; detected from the columns when absent).

    Raises:
        AzureExportError: On an unknown dataset, a missing required column or a malformed value.
    """
    try:
        header, table = read_table(data, file_name)
    except (ValueError, OSError) as exc:
        raise AzureExportError(f"{file_name}: not a readable export file ({exc})") from None
    if dataset is None and _looks_like_focus(header):
        dataset = "focus"
    if dataset == "focus":
        return FOCUS_TABLE, _focus_cost(header, table, file_name, version)
    return COST_TABLE, _cost_details(header, table, file_name, dataset, schema)


def read_export_csv(
    stream: IO[bytes], file_name: str, dataset: Dataset | None, schema: ExportSchema | None = None
) -> pa.Table:
    """Read one ActualCost/AmortizedCost file as an Arrow table whose columns are all strings.

    Values stay text so that no cost passes through a float; staging casts them to decimals. Dates are rewritten
    from US ``MM/dd/yyyy`` to ISO ``YYYY-MM-DD``. Derived columns: ``dataset`` (actual/amortized), ``schema``
    (ea/mca), ``billing_scope`` (EA billing account, MCA billing profile), ``billing_period`` (``YYYY-MM``, the
    period a re-delivery replaces), ``source_file``, ``source_row`` (line number in the file) and, on Azure
    OpenAI rows, ``ai_model`` / ``ai_token_type`` (see :func:`parse_openai_meter`).

    Args:
        stream: The (already decompressed) file contents.
        file_name: Name used in error messages and stored in ``source_file``.
        dataset: ``actual`` or ``amortized``; ``None`` to take it from the file name.
        schema: ``ea`` or ``mca``; ``None`` to detect it from the header.

    Raises:
        AzureExportError: On an unknown dataset, a missing required column or a value that is not a decimal/date.
    """
    data = stream.read()
    try:
        header, table = read_table(data, file_name)
    except (ValueError, OSError) as exc:
        raise AzureExportError(f"{file_name}: not a readable export file ({exc})") from None
    return _cost_details(header, table, file_name, dataset, schema)


def _looks_like_focus(header: list[str]) -> bool:
    names = {column.strip() for column in header}
    return {"BilledCost", "ChargeCategory", "BillingPeriodStart"} <= names


def _cost_details(
    header: list[str], table: pa.Table, file_name: str, dataset: Dataset | None, schema: ExportSchema | None
) -> pa.Table:
    dataset = dataset or dataset_from_name(file_name)
    if dataset is None:
        raise AzureExportError(
            f"{file_name}: cannot tell ActualCost from AmortizedCost: no manifest.json lists it and neither its "
            "name nor its folder says Actual or Amortized (pass dataset='actual' or 'amortized')"
        )
    names = _normalized_names(header, file_name)
    schema = schema or _detect_schema(header, names)
    required = REQUIRED_COLUMNS | (MCA_REQUIRED_COLUMNS if schema == "mca" else {})
    missing = [f"{column} ({azure})" for column, azure in required.items() if column not in names]
    if missing:
        raise AzureExportError(f"{file_name}: missing required column(s) {', '.join(missing)}")
    table = table.rename_columns(names)
    scope_column = "billing_profile_id" if schema == "mca" else "billing_account_id"
    for column in (*required, scope_column):
        if table[column].null_count:
            row = first_row(pc.is_null(table[column]))
            raise AzureExportError(f"{file_name}: row {row}: required column '{column}' is empty")
    _check_decimals(table, file_name)
    table = _iso_dates(table, file_name)
    _check_tags(table, file_name)
    rows = table.num_rows
    table = (
        table.append_column("dataset", pa.array([dataset] * rows, pa.string()))
        .append_column("schema", pa.array([schema] * rows, pa.string()))
        .append_column("billing_scope", table[scope_column])
        .append_column("billing_period", pc.utf8_slice_codeunits(table["billing_period_start_date"], 0, 7))
        .append_column("source_file", pa.array([file_name] * rows, pa.string()))
        .append_column("source_row", pa.array([str(index + 2) for index in range(rows)], pa.string()))
    )
    return _with_ai_columns(table, "meter_category", "meter_sub_category", "meter_name")


def _focus_cost(header: list[str], table: pa.Table, file_name: str, version: str | None) -> pa.Table:
    """A FocusCost file: FOCUS columns checked and normalised (focus_files), plus our derived columns."""
    table = focus_table(header, table, file_name, AzureExportError)
    if version is None:
        # FOCUS 1.2 added InvoiceId and PricingCurrency; 1.0/1.0r2 carry x_InvoiceId instead.
        version = "1.2" if {"invoice_id", "pricing_currency"} & set(table.column_names) else "1.0"
    rows = table.num_rows
    table = (
        table.append_column("dataset", pa.array(["focus"] * rows, pa.string()))
        .append_column("focus_version", pa.array([version] * rows, pa.string()))
        .append_column("billing_scope", table["billing_account_id"])
        .append_column("billing_period", month_of(table["billing_period_start"]))
        .append_column("source_file", pa.array([file_name] * rows, pa.string()))
        .append_column("source_row", pa.array([str(index + 2) for index in range(rows)], pa.string()))
    )
    return _with_ai_columns(table, "x_sku_meter_category", "x_sku_meter_subcategory", "x_sku_meter_name", "sku_meter")


def _with_ai_columns(table: pa.Table, category: str, subcategory: str, *names: str) -> pa.Table:
    """Append ``ai_model`` and ``ai_token_type`` parsed from the meter columns (null on non-OpenAI rows)."""

    def column(name: str) -> list[str | None]:
        return table[name].to_pylist() if name in table.column_names else [None] * table.num_rows

    categories, subcategories = column(category), column(subcategory)
    meter_names = [column(name) for name in names]
    models: list[str | None] = []
    tokens: list[str | None] = []
    for row in range(table.num_rows):
        meter = next((values[row] for values in meter_names if values[row]), None)
        model, token = parse_openai_meter(categories[row], subcategories[row], meter)
        models.append(model)
        tokens.append(token)
    return table.append_column("ai_model", pa.array(models, pa.string())).append_column(
        "ai_token_type", pa.array(tokens, pa.string())
    )


@lru_cache(maxsize=4096)
def parse_openai_meter(
    meter_category: str | None, meter_subcategory: str | None, meter_name: str | None
) -> tuple[str | None, str | None]:
    """``(model, token type)`` of an Azure OpenAI meter, ``(None, None)`` for any other meter.

    Azure OpenAI meters name the model, its version, the token direction and the deployment type, in either of
    two spellings: ``gpt-4o-0513-Input-glbl`` (MeterName) and ``gpt 4o 0513 Input global Tokens``
    (MeterSubCategory). The model is everything before the first version number (4 digits), direction or
    deployment word, joined by ``-``: both give ``gpt-4o``. Token types: ``input``, ``output``,
    ``cached_input``; ``None`` when the meter has no direction (hosting, training, image generation).

    Rows count as Azure OpenAI when MeterCategory is ``Azure OpenAI`` (or ``Azure OpenAI Service``), or when it
    is Cognitive Services / Azure AI services and the meter names an OpenAI model (``gpt…``, ``o1…``,
    ``text-embedding…``, ``dall-e…``, ``whisper…``, ``tts…``).
    """
    category = (meter_category or "").strip().lower()
    candidates = [text for text in (meter_name, meter_subcategory) if text and text.strip()]
    if category in AI_SERVICES_METER_CATEGORIES:
        candidates = [text for text in candidates if OPENAI_MODEL_PREFIX.match(text.strip())]
    elif category not in OPENAI_METER_CATEGORIES:
        return None, None
    if not candidates:
        return None, None
    for text in candidates:
        words = [word for word in re.split(r"[\s_]+|-(?=[A-Za-z0-9])", text.strip().lower()) if word]
        words = [word.strip("-") for word in words if word.strip("-")]
        if words and words[0] == "az":
            words = words[1:]
        model_words: list[str] = []
        for word in words:
            if re.fullmatch(r"[0-9]{4}", word) or word in _DIRECTIONS or word in _CACHED or word in _MODEL_STOPWORDS:
                break
            model_words.append(word)
        direction = next((_DIRECTIONS[word] for word in words if word in _DIRECTIONS), None)
        if direction == "input" and any(word in _CACHED for word in words):
            direction = "cached_input"
        if model_words:
            return "-".join(model_words), direction
    return None, None


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
    """CSV, gzipped CSV or Parquet export part."""
    name = path.lower()
    return name.endswith((".csv", ".csv.gz", ".parquet"))


def is_manifest(path: str) -> bool:
    """An export run's ``manifest.json``."""
    return posixpath.basename(path).lower() == MANIFEST_NAME
