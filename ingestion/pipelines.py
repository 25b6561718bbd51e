"""dlt pipelines, one per (tenant, provider), writing into the tenant dataset ``{org_slug}_prod``."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.pipeline.exceptions import PipelineStepFailed

from cloudact.settings import Settings
from cloudact.tenancy import tenant_dataset, validate_slug

Provider = Literal["openai", "aws", "oci", "azure", "anthropic", "gcp"]
PROVIDERS: tuple[Provider, ...] = ("openai", "aws", "oci", "azure", "anthropic", "gcp")
# The main raw table of each provider's source in the tenant dataset.
RAW_TABLES: dict[Provider, str] = {
    "openai": "openai_costs",
    "aws": "aws_cur_line_items",
    "oci": "oci_cost_reports",
    "azure": "azure_cost_details",
    "anthropic": "anthropic_cost_report",
    "gcp": "gcp_billing_export",
}
# Providers whose source also fills other raw tables (the provider's own FOCUS files); counted in rows_loaded.
MORE_RAW_TABLES: dict[Provider, tuple[str, ...]] = {
    "aws": ("aws_focus_export",),
    "azure": ("azure_focus_cost",),
    "oci": ("oci_focus_reports",),
}

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# Arrow-yielding sources (AWS, Azure, OCI files) get the _dlt_load_id column too: the incremental FOCUS build compares
# it per billing period to find the periods a provider re-delivered.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
# A loaded package's data files are not kept under the pipelines directory (dlt keeps them by default: a copy of every
# night's raw data per tenant); the package's state and schema stay.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")


class IngestError(RuntimeError):
    """An ingest that failed; nothing of it was loaded (the message names the cause)."""


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run loaded."""

    org_slug: str
    provider: Provider
    table: str
    rows_loaded: int
    load_ids: list[str]


def build_pipeline(settings: Settings, org_slug: str, provider: Provider) -> dlt.Pipeline:
    """The dlt pipeline of one (tenant, provider); its state lives under the data directory."""
    validate_slug(org_slug)
    settings.ensure_data_dir()
    if settings.warehouse == "bigquery":
        from cloudact.warehouse_bigquery import dlt_destination

        destination: Any = dlt_destination(settings)
    else:
        # Raw rows have no meaningful order: letting DuckDB insert them in any order halves the copy of dlt's files
        # into the staging and raw tables (both cores; BENCHMARKS.md). Set per session, for dlt's connections only.
        credentials = DuckDbCredentials(
            str(settings.resolved_duckdb_path), local_config={"preserve_insertion_order": False}
        )
        destination = dlt.destinations.duckdb(credentials=credentials)
    return dlt.pipeline(
        pipeline_name=f"{org_slug}__{provider}",
        pipelines_dir=str(settings.dlt_pipelines_dir),
        destination=destination,
        dataset_name=tenant_dataset(org_slug),
        progress="log" if os.environ.get("CLOUDACT_DLT_PROGRESS") else None,
    )


def openai_source_for(
    settings: Settings, api_key: str, organization_id: str, initial_start_time: int | None = None
) -> Any:
    """The OpenAI Costs source configured from settings (first load: the last ``openai_initial_days`` days)."""
    from ingestion.sources.openai import openai_source

    if initial_start_time is None:
        initial_start_time = _days_ago_at_midnight(settings.openai_initial_days)
    return openai_source(
        organization_id=organization_id,
        api_key=api_key,
        base_url=settings.openai_base_url,
        initial_start_time=initial_start_time,
        lag_days=settings.openai_lag_days,
        retry=genai_retry(settings),
    )


def _days_ago_at_midnight(days: int) -> int:
    """Unix seconds of UTC midnight ``days`` days ago: a first load starts on a whole day (no partial first bucket)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((today - timedelta(days=days)).timestamp())


def genai_retry(settings: Settings) -> Any:
    """Retries of GenAI admin API requests (HTTP 429/5xx) from settings."""
    from ingestion.sources.genai_http import RetryPolicy

    return RetryPolicy(
        settings.genai_http_max_attempts, settings.genai_http_backoff_seconds, settings.genai_http_max_delay_seconds
    )


def anthropic_source_for(
    settings: Settings, api_key: str, organization_id: str, initial_start_time: int | None = None
) -> Any:
    """The Anthropic cost + usage report source from settings (first load: the last ``anthropic_initial_days``)."""
    from ingestion.sources.anthropic import anthropic_source

    if initial_start_time is None:
        initial_start_time = _days_ago_at_midnight(settings.anthropic_initial_days)
    return anthropic_source(
        organization_id=organization_id,
        api_key=api_key,
        base_url=settings.anthropic_base_url,
        initial_start_time=initial_start_time,
        lag_days=settings.anthropic_lag_days,
        retry=genai_retry(settings),
        endpoints=settings.anthropic_endpoints,
    )


def ingest_anthropic_pages(settings: Settings, slug: str, path: Path, account_id: str) -> IngestResult:
    """Serve saved Anthropic report pages on 127.0.0.1 and load them through the same dlt REST path.

    ``path`` holds ``{"cost_report": [pages or buckets], "usage_report": [pages or buckets]}``.
    """
    from cloudact.openai_replay import ANTHROPIC_COSTS, ANTHROPIC_USAGE, GenAIReplay, serve_replay

    try:
        body = json.loads(path.read_text())
        routes = {ANTHROPIC_COSTS: _buckets_of(body.get("cost_report", [])),
                  ANTHROPIC_USAGE: _buckets_of(body.get("usage_report", []))}  # fmt: skip
        first = min(int(datetime.fromisoformat(b["starting_at"]).timestamp()) for r in routes.values() for b in r)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IngestError(
            f"{path}: expected a JSON object with 'cost_report' and 'usage_report' lists of report pages ({exc})"
        ) from None
    token = "sk-ant-admin01-" + secrets.token_urlsafe(16)
    with serve_replay(GenAIReplay(provider="anthropic", api_key=token, routes=routes)) as url:
        local = settings.model_copy(update={"anthropic_base_url": url})
        return run_ingest(settings, slug, "anthropic", anthropic_source_for(local, token, account_id, first))


def _buckets_of(pages: Any) -> list[dict[str, Any]]:
    buckets: list[dict[str, Any]] = []
    for page in pages if isinstance(pages, list) else [pages]:
        buckets.extend(page["data"] if isinstance(page, dict) and "data" in page else [page])
    return buckets


def aws_source_for(source: str | Path) -> Any:
    """The AWS billing files source for a local file, a local folder or an ``s3://`` URL.

    Each file's format (legacy CUR CSV/CSV.gz/parquet, CUR 2.0 parquet, FOCUS 1.2 export) is told from its header.
    """
    from ingestion.sources.aws_cur import CUR_FILE_GLOB, aws_cur_source

    text = str(source)
    if "://" in text:
        return aws_cur_source(bucket_url=text)
    path = Path(text).expanduser().resolve()
    if path.is_file():
        return aws_cur_source(bucket_url=path.parent.as_uri(), file_glob=path.name)
    if path.is_dir():
        return aws_cur_source(bucket_url=path.as_uri(), file_glob=CUR_FILE_GLOB)
    raise IngestError(f"AWS CUR source {text!r} is neither a file, a folder nor a URL")


def azure_source_for(source: str | Path, dataset: str | None = None) -> Any:
    """The Cost Management exports source for a local file, a local folder or an ``az://`` URL.

    ActualCost/AmortizedCost and FocusCost exports (CSV, CSV.gz, Parquet) are told apart by their manifest, else
    by their header (FOCUS columns) or name. ``dataset`` (actual/amortized/focus) is needed only for cost details
    files that neither a manifest nor their name describes.
    """
    from ingestion.sources.azure_exports import EXPORT_FILE_GLOB, azure_exports_source

    text = str(source)
    if "://" in text:
        return azure_exports_source(bucket_url=text, dataset=dataset)
    path = Path(text).expanduser().resolve()
    if path.is_file():
        return azure_exports_source(bucket_url=path.parent.as_uri(), file_glob=path.name, dataset=dataset)
    if path.is_dir():
        return azure_exports_source(bucket_url=path.as_uri(), file_glob=EXPORT_FILE_GLOB, dataset=dataset)
    raise IngestError(f"Azure export source {text!r} is neither a file, a folder nor a URL")


def oci_source_for(source: str | Path) -> Any:
    """The OCI reports source (cost reports and FOCUS reports, told apart by header) for a local file, a local folder
    or an ``oci://`` (or other fsspec) URL."""
    from ingestion.sources.oci_reports import OCI_FILE_GLOB, oci_reports_source

    text = str(source)
    if "://" in text:
        return oci_reports_source(bucket_url=text)
    path = Path(text).expanduser().resolve()
    if path.is_file():
        return oci_reports_source(bucket_url=path.parent.as_uri(), file_glob=path.name)
    if path.is_dir():
        return oci_reports_source(bucket_url=path.as_uri(), file_glob=OCI_FILE_GLOB)
    raise IngestError(f"OCI cost report source {text!r} is neither a file, a folder nor a URL")


def gcp_source_for(source: str | Path) -> Any:
    """The GCP detailed billing export source for a local file or folder, or a ``gs://`` (or other fsspec) URL.

    Files are the export's rows as ``bq extract`` writes them: newline-delimited JSON (optionally .gz) or Parquet.
    """
    from ingestion.sources.gcp_billing import EXPORT_FILE_GLOB, gcp_billing_source
    from ingestion.sources.gcp_billing.helpers import is_export_file

    text = str(source)
    if "://" in text:
        return gcp_billing_source(bucket_url=text)
    path = Path(text).expanduser().resolve()
    if path.is_file():
        if not is_export_file(path.name):
            raise IngestError(f"GCP billing export file {text!r} is neither .json/.jsonl/.ndjson(.gz) nor .parquet")
        return gcp_billing_source(bucket_url=path.parent.as_uri(), file_glob=path.name)
    if path.is_dir():
        return gcp_billing_source(bucket_url=path.as_uri(), file_glob=EXPORT_FILE_GLOB)
    raise IngestError(f"GCP billing export source {text!r} is neither a file, a folder nor a URL")


def run_ingest(settings: Settings, org_slug: str, provider: Provider, source: Any) -> IngestResult:
    """Run one (tenant, provider) pipeline; on any failure nothing of this run is kept.

    Raises:
        IngestError: With the underlying cause (bad file, malformed API record, HTTP error...).
    """
    pipeline = build_pipeline(settings, org_slug, provider)
    try:
        # DuckDB loads dlt's parquet files by one read_parquet each; its default for rows (not Arrow tables) is SQL
        # INSERT statements, ~30x slower for API pages (BENCHMARKS.md).
        file_format = "parquet" if settings.warehouse == "duckdb" else None
        info: LoadInfo = pipeline.run(source, loader_file_format=file_format)
    except PipelineStepFailed as exc:
        # Abort what the failed step left behind (and restore the state) so a later run does not load half a package.
        if pipeline.has_pending_data:
            pipeline.abort_packages()
        cause = exc.__cause__ or exc.exception
        raise IngestError(f"{provider} ingest for {org_slug} failed: {_root_message(cause)}") from exc
    table = RAW_TABLES[provider]
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    tables = (table, *MORE_RAW_TABLES.get(provider, ()))
    rows = sum(counts.get(name, 0) for name in tables)
    table = ", ".join(name for name in tables if counts.get(name)) or table
    return IngestResult(org_slug, provider, table, rows, list(info.loads_ids))


def load_buckets(path: Path) -> list[dict[str, Any]]:
    """Buckets from a Costs API page (``{"data": [...]}``), a list of pages, or a list of buckets."""
    try:
        body = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise IngestError(f"{path}: not a readable JSON file of Costs API pages or buckets ({exc})") from None
    pages = body if isinstance(body, list) else [body]
    buckets: list[dict[str, Any]] = []
    for page in pages:
        buckets.extend(page["data"] if isinstance(page, dict) and "data" in page else [page])
    return buckets


def ingest_openai_buckets(
    settings: Settings, slug: str, buckets: list[dict[str, Any]], account_id: str
) -> IngestResult:
    """Serve saved buckets on 127.0.0.1 in the Costs API shape and load them through the same dlt REST path."""
    from cloudact.openai_replay import CostsReplay, serve_costs

    token = secrets.token_urlsafe(16)
    first = min((int(b["start_time"]) for b in buckets if isinstance(b, dict) and "start_time" in b), default=0)
    with serve_costs(CostsReplay(buckets=buckets, api_key=token)) as url:
        local = settings.model_copy(update={"openai_base_url": url})
        return run_ingest(settings, slug, "openai", openai_source_for(local, token, account_id, first))


def _root_message(exc: BaseException) -> str:
    """The message of the error that caused it all: ours if present, else the innermost non-empty one.

    dlt wraps a source's exception several times (extract step, resource, pipe).
    """
    from ingestion.sources.anthropic.helpers import AnthropicRecordError
    from ingestion.sources.aws_cur.helpers import CurFileError
    from ingestion.sources.azure_exports.helpers import AzureExportError
    from ingestion.sources.gcp_billing.helpers import GcpExportError
    from ingestion.sources.genai_http import GenAIApiError
    from ingestion.sources.oci_reports.helpers import OciReportError
    from ingestion.sources.openai.helpers import MalformedRecordError

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    ours = (CurFileError, OciReportError, MalformedRecordError, AzureExportError, AnthropicRecordError, GcpExportError)
    for error in chain:
        if isinstance(error, (*ours, GenAIApiError)):
            return str(error)
    messages = [str(error) for error in chain if str(error).strip()]
    return messages[-1] if messages else type(chain[-1]).__name__
