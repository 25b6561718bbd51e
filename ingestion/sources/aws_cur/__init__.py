"""dlt source for AWS billing files: legacy CUR (CSV, CSV.gz, parquet), CUR 2.0 and the FOCUS 1.2 Data Export.

Reads a folder (``file://``) or an S3 prefix (``s3://``) through dlt's filesystem source. Each data file's format is
told from its header or parquet schema, so one folder may hold any of them. Where delivery manifests are present
(legacy ``<report>-Manifest.json`` ``reportKeys``, Data Exports ``Manifest.json`` ``dataFiles``), only the files of
the newest delivery of each billing period are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.sources.aws_cur.helpers import (
    CUR_KEYS,
    FOCUS_KEYS,
    CurFileError,
    file_kind,
    parse_manifest,
    read_cur_csv,
    read_cur_parquet,
    read_focus_export,
    select_delivered_files,
    sniff_format,
)

CUR_FILE_GLOB = "**/*"

__all__ = ["CUR_FILE_GLOB", "CurFileError", "aws_cur_source"]


def delivered_files(bucket_url: str, file_glob: str) -> list[tuple[FileItemDict, str]]:
    """The data files of the newest delivery per (report, billing period), each with its format.

    The whole listing is read first: which files belong to the newest delivery is only known once every manifest
    has been seen.
    """
    items: list[FileItemDict] = list(filesystem(bucket_url=bucket_url, file_glob=file_glob))
    manifests = []
    for item in items:
        if file_kind(item["relative_path"]) == "manifest":
            with item.open(compression="disable") as stream:
                modified = str(item.get("modification_date") or "")
                manifests.append(parse_manifest(stream.read(), item["relative_path"], modified))
    data = {item["relative_path"]: item for item in items if file_kind(item["relative_path"]) == "data"}
    selected = select_delivered_files(sorted(data), manifests)
    return [(data[path], sniff_format(partial(data[path].open, compression="auto"), path)) for path in selected]


class DeliveryPlan:
    """The listing of one source, made once when the first resource runs (inside the pipeline's extract step, so a
    bad manifest fails the run like a bad file) and shared by both resources."""

    def __init__(self, bucket_url: str, file_glob: str) -> None:
        self.bucket_url = bucket_url
        self.file_glob = file_glob
        self._files: list[tuple[FileItemDict, str]] | None = None

    def files(self) -> list[tuple[FileItemDict, str]]:
        if self._files is None:
            self._files = delivered_files(self.bucket_url, self.file_glob)
        return self._files


@dlt.resource(
    name="aws_cur_line_items",
    merge_key=list(CUR_KEYS),
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
def cur_line_items(plan: DeliveryPlan) -> Iterator[Any]:
    """Every line item of the legacy CUR and CUR 2.0 files; a delivered billing period replaces that period's rows.

    Both formats land in one table: legacy headers (``lineItem/UnblendedCost``) are normalised to the CUR 2.0 names
    (``line_item_unblended_cost``), CUR 2.0 maps become JSON text columns.
    """
    for item, kind in plan.files():
        if kind == "focus":
            continue
        path = item["relative_path"]
        with item.open(compression="auto") as stream:
            if path.lower().endswith(".parquet"):
                yield from read_cur_parquet(stream, path)
            else:
                yield read_cur_csv(stream, path)


@dlt.resource(
    name="aws_focus_export",
    merge_key=list(FOCUS_KEYS),
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
def focus_export_rows(plan: DeliveryPlan) -> Iterator[Any]:
    """Every row of AWS's own FOCUS 1.2 export; a delivered billing period replaces that period's rows."""
    for item, kind in plan.files():
        if kind != "focus":
            continue
        with item.open(compression="auto") as stream:
            yield from read_focus_export(stream, item["relative_path"])


@dlt.source(name="aws_cur", max_table_nesting=0)
def aws_cur_source(bucket_url: str = dlt.config.value, file_glob: str = CUR_FILE_GLOB) -> Any:
    """AWS billing files under ``bucket_url`` (``file://`` folder or ``s3://`` prefix).

    Args:
        bucket_url: Folder or bucket prefix holding one or more deliveries of a report or export.
        file_glob: Which files to list (default all; only ``.csv``, ``.csv.gz``, ``.parquet`` and manifests are read).
    """
    plan = DeliveryPlan(bucket_url, file_glob)
    return cur_line_items(plan), focus_export_rows(plan)
