"""dlt source for Azure Cost Management exports (EA/MCA, ActualCost/AmortizedCost, CSV and CSV.gz).

Reads a folder (``file://``) or a storage container (``az://``/``abfss://``) laid out by Cost Management exports,
with or without the ``manifest.json`` of each export run.
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
    read_export_csv,
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
    """Every cost detail row of the newest delivery per (scope, month, dataset) found under ``bucket_url``.

    The merge key makes a delivered month replace that month's rows of the same scope and dataset, as each
    month-to-date export run restates the whole month. The whole listing is read first, because which files
    belong to the newest run is only known once every ``manifest.json`` has been seen.
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
    for path, manifest_dataset in selected.items():
        with data_files[path].open(compression="auto") as stream:
            yield read_export_csv(stream, path, manifest_dataset or dataset, schema)


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
        file_glob: Which files to list (default everything; only ``.csv``, ``.csv.gz`` and ``manifest.json`` are read).
        dataset: ``actual``/``amortized`` (or ``ActualCost``/``AmortizedCost``) for files no manifest describes;
            default: from the file or folder name.
        schema: ``ea`` or ``mca``; default: detected from each file's header.
    """
    parsed = parse_dataset(dataset, "dataset parameter") if dataset else None
    return azure_cost_details(bucket_url, file_glob, parsed, schema)
