"""Parsing of Anthropic Admin API report pages: the cost report and the messages usage report.

Documented shapes: ``GET /v1/organizations/cost_report`` (amounts are decimal strings in cents) and
``GET /v1/organizations/usage_report/messages`` (token counts per model, workspace, API key).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

API_VERSION = "2023-06-01"
COST_REPORT_PATH = "organizations/cost_report"
USAGE_REPORT_PATH = "organizations/usage_report/messages"
PAGE_LIMIT = 31  # buckets per page, the maximum for bucket_width=1d
SECONDS_PER_DAY = 86_400
COST_GROUP_BY = ["workspace_id", "description"]
USAGE_GROUP_BY = ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
COST_KEYS = (
    "workspace_id", "description", "cost_type", "model", "service_tier", "context_window", "token_type",
    "inference_geo", "speed",
)  # fmt: skip
USAGE_KEYS = (
    "api_key_id", "workspace_id", "model", "service_tier", "context_window", "inference_geo", "account_id",
    "service_account_id", "speed",
)  # fmt: skip


class AnthropicRecordError(ValueError):
    """A report page holds a record that does not have the documented shape."""


def rfc3339(value: int) -> str:
    """Unix seconds as the RFC 3339 UTC text the report endpoints take (``2025-08-01T00:00:00Z``)."""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(text: str, where: str, exact: bool) -> dict[str, Any]:
    try:
        body = json.loads(text, parse_float=str, parse_int=str) if exact else json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnthropicRecordError(f"{where}: response is not JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise AnthropicRecordError(f"{where}: expected an object with a 'data' list of buckets")
    return body


def _instant(bucket: dict[str, Any], key: str, where: str) -> int:
    value = bucket.get(key)
    try:
        if not isinstance(value, str):
            raise ValueError
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
    except ValueError:
        raise AnthropicRecordError(f"{where}: field '{key}' expected an RFC 3339 timestamp, got {value!r}") from None
    return int(moment.timestamp())


def _buckets(body: dict[str, Any], where_page: str) -> Iterator[tuple[str, int, int, list[Any]]]:
    for bucket_index, bucket in enumerate(body["data"], start=1):
        where = f"{where_page}, bucket #{bucket_index}"
        if not isinstance(bucket, dict):
            raise AnthropicRecordError(f"{where}: expected an object, got {bucket!r}")
        start, end = _instant(bucket, "starting_at", where), _instant(bucket, "ending_at", where)
        if end <= start:
            raise AnthropicRecordError(f"{where}: 'ending_at' is not after 'starting_at'")
        results = bucket.get("results")
        if not isinstance(results, list):
            raise AnthropicRecordError(f"{where}: field 'results' expected a list, got {results!r}")
        yield f"{where} ({datetime.fromtimestamp(start, UTC).date()})", start, end, results


def _text(result: dict[str, Any], key: str, where: str) -> str | None:
    value = result.get(key)
    if value is not None and not isinstance(value, str):
        raise AnthropicRecordError(f"{where}: field '{key}' expected a string or null, got {value!r}")
    return value


def _row_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:32]


def parse_cost_page(text: str, page_number: int, organization_id: str) -> Iterator[dict[str, Any]]:
    """Yield one row per cost result; ``amount`` (cents, a decimal string) is kept and converted exactly to units.

    Raises:
        AnthropicRecordError: Naming the page, bucket, result and field that is wrong.
    """
    where_page = f"Anthropic cost_report page {page_number}"
    for where_bucket, start, end, results in _buckets(_body(text, where_page, exact=True), where_page):
        for result_index, result in enumerate(results, start=1):
            where = f"{where_bucket}, result #{result_index}"
            if not isinstance(result, dict):
                raise AnthropicRecordError(f"{where}: expected an object, got {result!r}")
            amount = result.get("amount")
            try:
                if isinstance(amount, bool) or not isinstance(amount, str):
                    raise InvalidOperation
                cents = Decimal(amount)
                if not cents.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                raise AnthropicRecordError(
                    f"{where}: field 'amount' expected a decimal string in cents, got {amount!r}"
                ) from None
            currency = result.get("currency")
            if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
                raise AnthropicRecordError(f"{where}: field 'currency' expected an ISO 4217 code, got {currency!r}")
            keys = {key: _text(result, key, where) for key in COST_KEYS}
            yield {
                "cost_result_id": _row_id(organization_id, start, *keys.values()),
                "organization_id": organization_id,
                "bucket_start_time": start,
                "bucket_end_time": end,
                **keys,
                "currency": currency.upper(),
                "amount_cents": format(cents, "f"),
                # Exact: a decimal shift, never a float division.
                "amount_value": format(cents.scaleb(-2), "f"),
            }


def parse_usage_page(text: str, page_number: int, organization_id: str) -> Iterator[dict[str, Any]]:
    """Yield one row per (bucket, result, count); ``metric`` is its path, e.g. ``server_tool_use.web_search_requests``.

    Raises:
        AnthropicRecordError: Naming the page, bucket, result and field that is wrong.
    """
    where_page = f"Anthropic usage_report/messages page {page_number}"
    for where_bucket, start, end, results in _buckets(_body(text, where_page, exact=False), where_page):
        for result_index, result in enumerate(results, start=1):
            where = f"{where_bucket}, result #{result_index}"
            if not isinstance(result, dict):
                raise AnthropicRecordError(f"{where}: expected an object, got {result!r}")
            keys = {key: _text(result, key, where) for key in USAGE_KEYS}
            for metric, quantity in _counts(result, where):
                yield {
                    "usage_id": _row_id(organization_id, start, *keys.values(), metric),
                    "organization_id": organization_id,
                    "bucket_start_time": start,
                    "bucket_end_time": end,
                    **keys,
                    "metric": metric,
                    "quantity": quantity,
                }


def _counts(result: dict[str, Any], where: str, prefix: str = "") -> Iterator[tuple[str, int]]:
    for field, value in result.items():
        if not prefix and field in USAGE_KEYS or value is None:
            continue
        name = prefix + field
        if isinstance(value, dict):
            yield from _counts(value, where, name + ".")
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            yield name, value
        elif not isinstance(value, str):  # a new text dimension is not a count; anything else is malformed
            raise AnthropicRecordError(f"{where}: field '{name}' expected a non-negative integer, got {value!r}")
