"""dlt source for the GCP Cloud Billing detailed export (``gcp_billing_export_resource_v1_<BILLING_ACCOUNT_ID>``).

In production the rows live in BigQuery; this source reads the same rows from files, as ``bq extract
--destination_format NEWLINE_DELIMITED_JSON`` (optionally ``--compression GZIP``) or ``--destination_format PARQUET``
writes them, from a local folder or any fsspec URL (``gs://`` needs gcsfs). Reading the BigQuery table directly is a
separate, future path.

What replaces what: Cloud Billing appends rows during the month, adds late rows and corrections to the open invoice
month, so an extract of a month is a restatement of that whole month. The merge key is therefore
(``billing_account_id``, ``invoice__month``): a delivery replaces every earlier row of the (account, month) pairs it
contains and leaves other months alone. A delivery must hold every row of each (account, month) it touches (extract
``where invoice.month = '202511'``, not a slice of it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.sources.gcp_billing.helpers import GcpExportError, is_export_file, read_export_file

EXPORT_FILE_GLOB = "**/*"

__all__ = ["EXPORT_FILE_GLOB", "GcpExportError", "gcp_billing_source"]


@dlt.transformer(
    name="gcp_billing_export",
    merge_key=["billing_account_id", "invoice__month"],
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
def gcp_billing_export(items: list[FileItemDict]) -> Iterator[Any]:
    """Every row of the given export files; a delivered (account, invoice month) replaces its earlier rows."""
    for item in items:
        name = item["relative_path"]
        if not is_export_file(name):
            continue
        url = item["file_url"]
        if url.startswith("file://"):
            yield from read_export_file(Path(unquote(urlparse(url).path)), name)
            continue
        # DuckDB reads local files only (its httpfs extension would download at run time): copy remote ones first.
        suffix = "".join(Path(name).suffixes[-2:])
        with tempfile.NamedTemporaryFile(suffix=suffix) as local:
            local.write(item.read_bytes())
            local.flush()
            yield from read_export_file(Path(local.name), name)


@dlt.source(name="gcp_billing", max_table_nesting=0)
def gcp_billing_source(bucket_url: str = dlt.config.value, file_glob: str = EXPORT_FILE_GLOB) -> Any:
    """Detailed billing export files under ``bucket_url``.

    Args:
        bucket_url: ``file://`` folder, or a ``gs://bucket/prefix`` the extracts were written to.
        file_glob: Which files to list (default everything; only ``.json``/``.jsonl``/``.ndjson`` (optionally
            ``.gz``) and ``.parquet`` files are read).
    """
    files = filesystem(bucket_url=bucket_url, file_glob=file_glob)
    return files | gcp_billing_export
