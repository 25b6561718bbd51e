"""dlt source for Anthropic's Admin API reports: the cost report (money) and the messages usage report (tokens).

The report endpoints sit behind :class:`ReportEndpoints`: the two resources ask it for rows in the raw-table
contract below and never see a URL. Anthropic labels ``cost_report`` and ``usage_report/messages`` as legacy in
favour of the Usage and Cost Analytics API (``/v1/organizations/analytics/{usage,cost}``); an implementation of
that API only has to yield the same rows (``ENDPOINTS["analytics"] = ...``) and nothing downstream changes: the raw
tables, the dbt staging models and the FOCUS rows stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import dlt

from ingestion.sources.anthropic.helpers import (
    API_VERSION,
    COST_GROUP_BY,
    COST_REPORT_PATH,
    PAGE_LIMIT,
    SECONDS_PER_DAY,
    USAGE_GROUP_BY,
    USAGE_REPORT_PATH,
    parse_cost_page,
    parse_usage_page,
    rfc3339,
)
from ingestion.sources.genai_http import RetryPolicy, paginate


def _texts(*names: str) -> dict[str, Any]:
    return {name: {"data_type": "text", "nullable": True} for name in names}  # one dict each: dlt names them


_BOUNDS = {
    "bucket_start_time": {"data_type": "bigint", "nullable": False},
    "bucket_end_time": {"data_type": "bigint", "nullable": False},
}
COST_COLUMNS: dict[str, Any] = {
    **_BOUNDS,
    **_texts("workspace_id", "description", "cost_type", "model", "service_tier"),
    **_texts("context_window", "token_type", "inference_geo", "speed"),
    "currency": {"data_type": "text", "nullable": False},
    "amount_cents": {"data_type": "text", "nullable": False},
    "amount_value": {"data_type": "text", "nullable": False},
}
USAGE_COLUMNS: dict[str, Any] = {
    **_BOUNDS,
    **_texts("api_key_id", "workspace_id", "model", "service_tier", "context_window"),
    **_texts("inference_geo", "account_id", "service_account_id", "speed"),
    "metric": {"data_type": "text", "nullable": False},
    "quantity": {"data_type": "bigint", "nullable": False},
}


class ReportEndpoints(Protocol):
    """Where the rows come from. Each method yields pages (lists of rows) in the raw-table contract, daily buckets
    from ``start``.

    ``cost_rows`` → ``anthropic_cost_report`` (COST_COLUMNS + ``cost_result_id``, ``organization_id``);
    ``usage_rows`` → ``anthropic_usage_report`` (USAGE_COLUMNS + ``usage_id``, ``organization_id``).
    """

    def cost_rows(self, start: int) -> Iterator[list[dict[str, Any]]]: ...

    def usage_rows(self, start: int) -> Iterator[list[dict[str, Any]]]: ...


class LegacyReportEndpoints:
    """``GET /v1/organizations/cost_report`` and ``GET /v1/organizations/usage_report/messages``."""

    def __init__(self, organization_id: str, api_key: str, base_url: str, retry: RetryPolicy) -> None:
        self._organization_id, self._base_url, self._retry = organization_id, base_url, retry
        self._headers = {"x-api-key": api_key, "anthropic-version": API_VERSION}

    def _pages(self, path: str, start: int, group_by: list[str]) -> Iterator[tuple[int, str]]:
        params = {"starting_at": rfc3339(start), "bucket_width": "1d", "limit": PAGE_LIMIT, "group_by[]": group_by}
        return paginate("Anthropic", self._base_url, path, params, self._headers, self._retry)

    def cost_rows(self, start: int) -> Iterator[list[dict[str, Any]]]:
        """Cost results grouped by workspace and description (model, token type, tier, context window), a list per
        page: dlt's extract works per yielded item, so a page is one item."""
        for page_number, text in self._pages(COST_REPORT_PATH, start, COST_GROUP_BY):
            yield list(parse_cost_page(text, page_number, self._organization_id))

    def usage_rows(self, start: int) -> Iterator[list[dict[str, Any]]]:
        """Token counts grouped by API key, workspace, model, service tier and context window, a list per page."""
        for page_number, text in self._pages(USAGE_REPORT_PATH, start, USAGE_GROUP_BY):
            yield list(parse_usage_page(text, page_number, self._organization_id))


ENDPOINTS: dict[str, Callable[[str, str, str, RetryPolicy], ReportEndpoints]] = {"legacy": LegacyReportEndpoints}


@dlt.source(name="anthropic", max_table_nesting=0)
def anthropic_source(
    organization_id: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = "https://api.anthropic.com/v1",
    initial_start_time: int = dlt.config.value,
    lag_days: int = 2,
    retry: RetryPolicy = RetryPolicy(),  # noqa: B008 (frozen dataclass)
    endpoints: str = "legacy",
) -> Any:
    """Anthropic cost report and messages usage report, daily buckets, incremental with a lag.

    Args:
        organization_id: The tenant's Anthropic organization id (becomes BillingAccountId).
        api_key: An Admin API key (``sk-ant-admin01-...``).
        base_url: API base URL (a setting, so tests point it at a local server).
        initial_start_time: Unix seconds of the first day to read on the first load.
        lag_days: Days re-read on every later load, because the current days are still open.
        retry: Retries of HTTP 429/5xx answers.
        endpoints: Which endpoint implementation to read (``ENDPOINTS``).
    """
    if endpoints not in ENDPOINTS:
        raise ValueError(f"unknown Anthropic endpoints {endpoints!r}: expected one of {sorted(ENDPOINTS)}")
    api = ENDPOINTS[endpoints](organization_id, api_key, base_url, retry)
    lag = lag_days * SECONDS_PER_DAY
    first_day = _day_start(initial_start_time)  # dlt drops rows before the initial value: start at midnight

    @dlt.resource(
        name="anthropic_cost_report",
        primary_key="cost_result_id",
        merge_key="bucket_start_time",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=COST_COLUMNS,
    )
    def anthropic_cost_report(
        start: dlt.sources.incremental[int] = dlt.sources.incremental(
            "bucket_start_time", initial_value=first_day, lag=lag
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        yield from api.cost_rows(_day_start(start.start_value))

    @dlt.resource(
        name="anthropic_usage_report",
        primary_key="usage_id",
        merge_key="bucket_start_time",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=USAGE_COLUMNS,
    )
    def anthropic_usage_report(
        start: dlt.sources.incremental[int] = dlt.sources.incremental(
            "bucket_start_time", initial_value=first_day, lag=lag
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        yield from api.usage_rows(_day_start(start.start_value))

    return anthropic_cost_report, anthropic_usage_report


def _day_start(value: int) -> int:
    """Whole UTC days, so a re-read day is complete."""
    return int(value) - int(value) % SECONDS_PER_DAY
