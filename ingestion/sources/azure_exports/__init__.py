"""dlt source for Azure Cost Management exports: EA/MCA ActualCost/AmortizedCost and FocusCost (CSV, CSV.gz, Parquet).

Reads a folder (``file://``) or a storage container (``az://``/``abfss://``) laid out by Cost Management exports,
with or without the ``manifest.json`` of each export run. Cost details rows land in ``azure_cost_details``,
FocusCost rows in ``azure_focus_cost``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.sources.azure_exports.helpers import (
    AzureExportError,
    Dataset,
    ExportSchema,
    is_data_file,
    is_manifest,
    parse_dataset,
    parse_manifest,
    read_export_file,
    select_newest_deliveries,
)

EXPORT_FILE_GLOB = "**/*"

__all__ = ["EXPORT_FILE_GLOB", "AzureExportError", "azure_exports_source"]


@dlt.resource(
    name="azure_cost_details",
    merge_key=["billing_scope", "billing_period", "dataset"],
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
def azure_cost_details(
    bucket_url: str, file_glob: str, dataset: Dataset | None = None, schema: ExportSchema | None = None
) -> Iterator[Any]:
    """Every row of the newest delivery per (scope, month, dataset) found under ``bucket_url``.

    The merge key makes a delivered month replace that month's rows of the same scope and dataset, as each
    month-to-date export run restates the whole month. The whole listing is read first, because which files
    belong to the newest run is only known once every ``manifest.json`` has been seen. FocusCost files are
    routed to the ``azure_focus_cost`` table (same hints and merge key).
    """
    # Iterating a dlt resource yields its items one by one (pages are flattened).
    items: list[FileItemDict] = list(filesystem(bucket_url=bucket_url, file_glob=file_glob))
    manifests = []
    for item in items:
        if is_manifest(item["relative_path"]):
            with item.open(compression="disable") as stream:
                manifests.append(parse_manifest(stream.read(), item["relative_path"]))
    data_files = {item["relative_path"]: item for item in items if is_data_file(item["relative_path"])}
    selected = select_newest_deliveries(sorted(data_files), manifests)
    for path, manifest in selected.items():
        with data_files[path].open(compression="auto") as stream:
            data = stream.read()
        table_name, table = read_export_file(
            data, path, manifest.dataset if manifest else dataset, schema, manifest.version if manifest else None
        )
        yield dlt.mark.with_table_name(table, table_name)


@dlt.source(name="azure_exports", max_table_nesting=0)
def azure_exports_source(
    bucket_url: str = dlt.config.value,
    file_glob: str = EXPORT_FILE_GLOB,
    dataset: str | None = None,
    schema: ExportSchema | None = None,
) -> Any:
    """Cost details exports under ``bucket_url`` (``file://`` folder or ``az://`` container path).

    Args:
        bucket_url: Folder or container path holding one or more export runs.
        file_glob: Which files to list (default everything; only ``.csv``, ``.csv.gz``, ``.parquet`` and
            ``manifest.json`` are read).
        dataset: ``actual``/``amortized``/``focus`` (or ``ActualCost``/``AmortizedCost``/``FocusCost``) for files
            no manifest describes; default: a FOCUS header means FocusCost, else the file or folder name decides.
        schema: ``ea`` or ``mca``; default: detected from each file's header.
    """
    parsed = parse_dataset(dataset, "dataset parameter") if dataset else None
    return azure_cost_details(bucket_url, file_glob, parsed, schema)
