"""dlt source for AWS legacy Cost and Usage Reports (CSV, CSV.gz) from a folder (S3 later)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.sources.aws_cur.helpers import read_cur_csv

CUR_FILE_GLOB = "**/*.csv*"


@dlt.transformer(
    name="aws_cur_line_items",
    merge_key=["bill_payer_account_id", "billing_period"],
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
def cur_line_items(items: list[FileItemDict]) -> Iterator[Any]:
    """Every line item of the given CUR files; a delivered billing period replaces that period's rows."""
    for item in items:
        with item.open(compression="auto") as stream:
            yield read_cur_csv(stream, item["relative_path"])


@dlt.source(name="aws_cur", max_table_nesting=0)
def aws_cur_source(bucket_url: str = dlt.config.value, file_glob: str = CUR_FILE_GLOB) -> Any:
    """Legacy CUR files under ``bucket_url`` (``file://`` folder or ``s3://`` prefix).

    Args:
        bucket_url: Folder or bucket prefix holding one delivery of the report.
        file_glob: Which files to read (default every ``.csv``/``.csv.gz`` below the folder).
    """
    files = filesystem(bucket_url=bucket_url, file_glob=file_glob)
    return files | cur_line_items
