"""Paging through the GenAI admin APIs (OpenAI, Anthropic): cursor pages, retries with backoff, clear HTTP errors.

Both providers page alike (``{"data": [...], "has_more": bool, "next_page": cursor}``, cursor sent back as ``page``),
so one loop serves every report endpoint. Retries use dlt's own retrying ``requests`` client: HTTP 429 and 5xx are
retried with exponential backoff (a ``Retry-After`` header is honoured, capped by the policy's maximum delay); any
other non-success status stops the load with a :class:`GenAIApiError` that names the provider, endpoint and status.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dlt.sources.helpers.requests.retry import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests import HTTPError

HINTS = {
    401: "the admin key was rejected (revoked, mistyped or not an organization admin key)",
    403: "the admin key may not read this report",
    404: "the endpoint does not exist at this base URL",
}


class GenAIApiError(RuntimeError):
    """A GenAI admin API answered with an error status (after retries for 429/5xx); nothing of the run is kept."""

    def __init__(self, provider: str, path: str, status: int, reason: str) -> None:
        self.provider, self.path, self.status = provider, path, status
        hint = HINTS.get(status, "retries exhausted" if status == 429 or status >= 500 else "request refused")
        super().__init__(f"{provider} API {path}: HTTP {status} {reason}: {hint}")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried on HTTP 429/5xx and dropped connections.

    ``None`` keeps dlt's runtime configuration (``RUNTIME__REQUEST_MAX_ATTEMPTS``, ``..._BACKOFF_FACTOR``,
    ``..._MAX_RETRY_DELAY``; 5 tries, factor 1 s, at most 300 s).
    """

    max_attempts: int | None = None
    backoff_seconds: float | None = None
    max_delay_seconds: float | None = None


def paginate(
    provider: str,
    base_url: str,
    path: str,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    retry: RetryPolicy,
) -> Iterator[tuple[int, str]]:
    """Yield ``(page number, raw body)`` for every page of one report request.

    Bodies are returned as text so that callers parse JSON numbers as exact decimals, never floats.

    Raises:
        GenAIApiError: On a non-success status (429/5xx only after ``retry.max_attempts`` tries).
    """
    configured = {
        "request_max_attempts": retry.max_attempts,
        "request_backoff_factor": retry.backoff_seconds,
        "request_max_retry_delay": retry.max_delay_seconds,
    }
    # Arguments left out resolve from dlt's runtime configuration (Client.__init__ is config-injected).
    session = Client(raise_for_status=False, **{k: v for k, v in configured.items() if v is not None}).session
    client = RESTClient(
        base_url=base_url.rstrip("/") + "/",
        headers=dict(headers),
        paginator=JSONResponseCursorPaginator(cursor_path="next_page", cursor_param="page"),
        session=session,
    )
    try:
        for page_number, page in enumerate(client.paginate(path, params=dict(params)), start=1):
            assert page.response is not None
            yield page_number, page.response.text
    except HTTPError as exc:
        response = exc.response
        if response is None:
            raise
        raise GenAIApiError(provider, path, response.status_code, response.reason or "") from exc
