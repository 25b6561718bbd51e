"""Parsing and validation of OpenAI Costs API pages (``GET /v1/organization/costs``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

COSTS_PATH = "organization/costs"
GROUP_BY = ["project_id", "line_item", "api_key_id"]
PAGE_LIMIT = 180  # buckets per page, the API's maximum for bucket_width=1d
USAGE_PAGE_LIMIT = 31  # the usage endpoints' maximum for bucket_width=1d
# Usage endpoint → group_by sent. Every endpoint groups by project; those that have them by API key and model too.
USAGE_ENDPOINTS: dict[str, list[str]] = {
    "completions": ["project_id", "api_key_id", "model", "batch"],
    "embeddings": ["project_id", "api_key_id", "model"],
    "moderations": ["project_id", "api_key_id", "model"],
    "images": ["project_id", "api_key_id", "model"],
    "audio_speeches": ["project_id", "api_key_id", "model"],
    "audio_transcriptions": ["project_id", "api_key_id", "model"],
    "vector_stores": ["project_id"],
    "code_interpreter_sessions": ["project_id"],
}
USAGE_GROUP_KEYS = ("project_id", "api_key_id", "model", "user_id", "service_tier", "size", "source")
SECONDS_PER_DAY = 86_400
QUANTITY_UNITS = frozenset(
    {
        "tokens",
        "1000_tokens",
        "duration_seconds",
        "duration_minutes",
        "duration_hours",
        "gibibyte_hours",
        "images",
        "characters",
    }
)


class MalformedRecordError(ValueError):
    """A Costs API page holds a record that does not have the documented shape."""


def _decimal_text(value: Any, where: str, field: str) -> str:
    """Return a JSON number (parsed as text, never float) as a canonical decimal string."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedRecordError(f"{where}: field '{field}' expected a number, got {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedRecordError(f"{where}: field '{field}' expected a number, got {value!r}") from None
    if not number.is_finite():
        raise MalformedRecordError(f"{where}: field '{field}' expected a finite number, got {value!r}")
    return format(number, "f")


def _optional_text(result: dict[str, Any], key: str, where: str) -> str | None:
    value = result.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedRecordError(f"{where}: field '{key}' expected a string or null, got {value!r}")
    return value


def parse_page(text: str, page_number: int, organization_id: str) -> Iterator[dict[str, Any]]:
    """Yield one row per cost result of one page, validating the documented shape.

    JSON numbers are parsed as text so that money never passes through a float.

    Args:
        text: The raw response body.
        page_number: 1-based page index, used in error messages.
        organization_id: The tenant's OpenAI organization id (not in the payload).

    Raises:
        MalformedRecordError: Naming the page, bucket, result and field that is wrong.
    """
    where_page = f"OpenAI costs page {page_number}"
    try:
        body = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        raise MalformedRecordError(f"{where_page}: response is not JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise MalformedRecordError(f"{where_page}: expected an object with a 'data' list of buckets")
    for bucket_index, bucket in enumerate(body["data"], start=1):
        where_bucket = f"{where_page}, bucket #{bucket_index}"
        if not isinstance(bucket, dict):
            raise MalformedRecordError(f"{where_bucket}: expected an object, got {bucket!r}")
        start = _int_field(bucket, "start_time", where_bucket)
        end = _int_field(bucket, "end_time", where_bucket)
        if end <= start:
            raise MalformedRecordError(f"{where_bucket}: 'end_time' {end} is not after 'start_time' {start}")
        results = bucket.get("results")
        if not isinstance(results, list):
            raise MalformedRecordError(f"{where_bucket}: field 'results' expected a list, got {results!r}")
        day = datetime.fromtimestamp(start, UTC).date().isoformat()
        for result_index, result in enumerate(results, start=1):
            yield _parse_result(result, f"{where_bucket} ({day}), result #{result_index}", start, end, organization_id)


def _int_field(bucket: dict[str, Any], key: str, where: str) -> int:
    value = bucket.get(key)
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise MalformedRecordError(f"{where}: field '{key}' expected Unix seconds (integer), got {value!r}")
    return int(value)


def _parse_result(result: Any, where: str, start: int, end: int, organization_id: str) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise MalformedRecordError(f"{where}: expected an object, got {result!r}")
    amount = result.get("amount")
    if not isinstance(amount, dict):
        raise MalformedRecordError(f"{where}: field 'amount' expected an object with 'value' and 'currency'")
    currency = amount.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise MalformedRecordError(f"{where}: field 'amount.currency' expected an ISO 4217 code, got {currency!r}")
    quantity = result.get("quantity")
    quantity_unit = _optional_text(result, "quantity_unit", where)
    if quantity_unit is not None and quantity_unit not in QUANTITY_UNITS:
        raise MalformedRecordError(
            f"{where}: field 'quantity_unit' expected one of {sorted(QUANTITY_UNITS)}, got {quantity_unit!r}"
        )
    row = {
        "organization_id": organization_id,
        "bucket_start_time": start,
        "bucket_end_time": end,
        "project_id": _optional_text(result, "project_id", where),
        "line_item": _optional_text(result, "line_item", where),
        "api_key_id": _optional_text(result, "api_key_id", where),
        "amount_value": _decimal_text(amount.get("value"), where, "amount.value"),
        "amount_currency": currency,
        "quantity": None if quantity is None else _decimal_text(quantity, where, "quantity"),
        "quantity_unit": quantity_unit,
    }
    key_fields = ("organization_id", "bucket_start_time", "project_id", "line_item", "api_key_id")
    key = "|".join(str(row[field]) for field in key_fields)
    row["cost_result_id"] = hashlib.sha256(key.encode()).hexdigest()[:32]
    return row


def parse_usage_page(text: str, page_number: int, organization_id: str, endpoint: str) -> Iterator[dict[str, Any]]:
    """Yield one row per (bucket, result, numeric field) of one Usage API page: the usage kept long.

    Every integer field of a result becomes a row (``metric`` = the API's field name, ``quantity`` = its value), so a
    new field the API adds is loaded too and a missing one simply has no row; staging maps metrics to token types.
    A completions result without ``input_uncached_tokens`` (older API versions) gets it derived as
    ``input_tokens - input_cached_tokens - input_cache_write_tokens``, so uncached input is never counted twice.

    Raises:
        MalformedRecordError: Naming the endpoint, page, bucket, result and field that is wrong.
    """
    where_page = f"OpenAI usage/{endpoint} page {page_number}"
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedRecordError(f"{where_page}: response is not JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise MalformedRecordError(f"{where_page}: expected an object with a 'data' list of buckets")
    for bucket_index, bucket in enumerate(body["data"], start=1):
        where_bucket = f"{where_page}, bucket #{bucket_index}"
        if not isinstance(bucket, dict):
            raise MalformedRecordError(f"{where_bucket}: expected an object, got {bucket!r}")
        times = {key: str(bucket.get(key)) for key in ("start_time", "end_time")}  # ints here, like parse_page's text
        start, end = _int_field(times, "start_time", where_bucket), _int_field(times, "end_time", where_bucket)
        if end <= start:
            raise MalformedRecordError(f"{where_bucket}: 'end_time' {end} is not after 'start_time' {start}")
        results = bucket.get("results")
        if not isinstance(results, list):
            raise MalformedRecordError(f"{where_bucket}: field 'results' expected a list, got {results!r}")
        day = datetime.fromtimestamp(start, UTC).date().isoformat()
        for result_index, result in enumerate(results, start=1):
            where = f"{where_bucket} ({day}), result #{result_index}"
            yield from _usage_rows(result, where, start, end, organization_id, endpoint)


def _usage_rows(
    result: Any, where: str, start: int, end: int, organization_id: str, endpoint: str
) -> Iterator[dict[str, Any]]:
    if not isinstance(result, dict):
        raise MalformedRecordError(f"{where}: expected an object, got {result!r}")
    keys = {key: _optional_text(result, key, where) for key in USAGE_GROUP_KEYS}
    batch = result.get("batch")
    if batch is not None and not isinstance(batch, bool):
        raise MalformedRecordError(f"{where}: field 'batch' expected true, false or null, got {batch!r}")
    metrics: dict[str, int] = {}
    for field, value in result.items():
        if field in USAGE_GROUP_KEYS or field in ("object", "batch"):
            continue
        if value is None or isinstance(value, str):  # a text field the API adds is a dimension, not a count
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MalformedRecordError(f"{where}: field '{field}' expected a non-negative integer, got {value!r}")
        metrics[field] = value
    if endpoint == "completions" and "input_uncached_tokens" not in metrics:
        if "input_tokens" not in metrics:
            raise MalformedRecordError(f"{where}: field 'input_tokens' is required for completions usage")
        metrics["input_uncached_tokens"] = (
            metrics["input_tokens"] - metrics.get("input_cached_tokens", 0) - metrics.get("input_cache_write_tokens", 0)
        )
    key_fields = [organization_id, endpoint, str(start), *(str(keys[k]) for k in USAGE_GROUP_KEYS), str(batch)]
    for metric, quantity in metrics.items():
        row_key = "|".join([*key_fields, metric])
        yield {
            "usage_id": hashlib.sha256(row_key.encode()).hexdigest()[:32],
            "organization_id": organization_id,
            "endpoint": endpoint,
            "bucket_start_time": start,
            "bucket_end_time": end,
            **keys,
            "batch": batch,
            "metric": metric,
            "quantity": quantity,
        }
