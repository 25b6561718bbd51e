"""dlt source for Oracle Cloud Infrastructure cost reports (``reports/cost-csv``) and FOCUS reports, CSV or CSV.gz.

Each file is routed by its header: FOCUS reports (``FOCUS Reports/YYYY/MM/DD/*.csv.gz``) to ``oci_focus_reports``,
cost reports to ``oci_cost_reports``. Both tables have the same write disposition and merge key.

What replaces what: OCI writes a new, incrementally numbered cost report about every six hours, holding the lines
of roughly those six hours plus late-arriving lines; corrections arrive as *new* lines (``lineItem/isCorrection``,
``lineItem/backreferenceNo``) in a later file. Files are therefore additive, never restatements of a billing
period (unlike AWS CUR or Azure month-to-date exports). A merge key on the billing period would make every new file
delete the rows of all earlier files of that month, so the merge key is the report itself: re-reading or
re-delivering a report replaces exactly that report's rows, and a new report only adds rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.sources.oci_reports.helpers import read_report

OCI_FILE_GLOB = "**/*.csv*"


@dlt.transformer(
    name="oci_cost_reports",
    merge_key=["billing_scope", "report_name"],
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
)
def oci_cost_reports(items: list[FileItemDict]) -> Iterator[Any]:
    """Every line of the given reports; a report read again replaces that report's earlier rows."""
    for item in items:
        with item.open(compression="auto") as stream:
            data = stream.read()
        table_name, table = read_report(data, item["relative_path"])
        yield dlt.mark.with_table_name(table, table_name)


@dlt.source(name="oci_reports", max_table_nesting=0)
def oci_reports_source(bucket_url: str = dlt.config.value, file_glob: str = OCI_FILE_GLOB) -> Any:
    """OCI cost reports and FOCUS reports under ``bucket_url``.

    Args:
        bucket_url: ``file://`` folder, or a prefix of the tenancy's report bucket: ``reports/cost-csv/`` or
            ``FOCUS Reports/`` (e.g. ``oci://<tenancy_ocid>@bling/FOCUS Reports/``, read through fsspec's ``ocifs``).
            Usage reports (``reports/usage-csv/``) have no cost columns and are rejected.
        file_glob: Which files to read (default every ``.csv``/``.csv.gz`` below the folder).
    """
    files = filesystem(bucket_url=bucket_url, file_glob=file_glob)
    return files | oci_cost_reports
