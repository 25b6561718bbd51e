"""dlt source for the OpenAI Costs API (organization admin key)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.sources.openai.helpers import COSTS_PATH, GROUP_BY, PAGE_LIMIT, SECONDS_PER_DAY, parse_page

COLUMNS: dict[str, Any] = {
    "amount_value": {"data_type": "text", "nullable": False},
    "quantity": {"data_type": "text", "nullable": True},
    "bucket_start_time": {"data_type": "bigint", "nullable": False},
    "bucket_end_time": {"data_type": "bigint", "nullable": False},
    "project_id": {"data_type": "text", "nullable": True},
    "line_item": {"data_type": "text", "nullable": True},
    "api_key_id": {"data_type": "text", "nullable": True},
    "quantity_unit": {"data_type": "text", "nullable": True},
}


@dlt.source(name="openai", max_table_nesting=0)
def openai_source(
    organization_id: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = "https://api.openai.com/v1",
    initial_start_time: int = dlt.config.value,
    lag_days: int = 2,
) -> Any:
    """OpenAI Costs API, one row per (day, project, line item) cost result.

    Args:
        organization_id: The tenant's OpenAI organization id (becomes BillingAccountId).
        api_key: An organization admin key.
        base_url: API base URL (a setting, so tests point it at a local server).
        initial_start_time: Unix seconds of the first day to read on the first load.
        lag_days: Days re-read on every later load, because the current days are still open.
    """
    return openai_costs(organization_id, api_key, base_url, initial_start_time, lag_days)


def openai_costs(organization_id: str, api_key: str, base_url: str, initial_start_time: int, lag_days: int) -> Any:
    """Build the ``openai_costs`` resource (merge: a re-read day replaces that day's rows)."""

    @dlt.resource(
        name="openai_costs",
        primary_key="cost_result_id",
        merge_key="bucket_start_time",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns=COLUMNS,
    )
    def _costs(
        start_time: dlt.sources.incremental[int] = dlt.sources.incremental(
            "bucket_start_time", initial_value=initial_start_time, lag=lag_days * SECONDS_PER_DAY
        ),
    ) -> Iterator[dict[str, Any]]:
        start = int(start_time.start_value)
        start -= start % SECONDS_PER_DAY  # whole UTC days, so a re-read day is complete
        client = RESTClient(
            base_url=base_url.rstrip("/") + "/",
            auth=BearerTokenAuth(api_key),
            paginator=JSONResponseCursorPaginator(cursor_path="next_page", cursor_param="page"),
        )
        params = {"start_time": start, "bucket_width": "1d", "limit": PAGE_LIMIT, "group_by": GROUP_BY}
        for page_number, page in enumerate(client.paginate(COSTS_PATH, params=params), start=1):
            assert page.response is not None
            yield from parse_page(page.response.text, page_number, organization_id)

    return _costs
