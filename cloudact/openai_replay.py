"""Local HTTP servers that answer the GenAI admin report endpoints in the documented shapes (OpenAI and Anthropic).

The demo and ``cloudact ingest --source FILE`` use them to load saved API pages through the real dlt REST path, and
the tests use them as the provider (the base URL setting points at one). A replay serves whatever buckets it is
given, pages them by ``limit`` with an opaque ``next_page`` cursor, clips a first bucket that starts before the
requested start (the API's partial first day), checks the provider's auth headers, and can answer chosen statuses
first (429 with ``Retry-After``, 5xx) to exercise retries.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

OPENAI_COSTS = "organization/costs"
OPENAI_USAGE_ENDPOINTS = (
    "completions", "embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions", "vector_stores",
    "code_interpreter_sessions", "file_search_calls", "web_search_calls",
)  # fmt: skip
OPENAI_PATHS = (OPENAI_COSTS, *(f"organization/usage/{name}" for name in OPENAI_USAGE_ENDPOINTS))
ANTHROPIC_COSTS = "organizations/cost_report"
ANTHROPIC_USAGE = "organizations/usage_report/messages"
ANTHROPIC_PATHS = (ANTHROPIC_COSTS, ANTHROPIC_USAGE)


def _unix(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(datetime.fromisoformat(str(value)).timestamp())


def _rfc3339(value: int) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class GenAIReplay:
    """State of one replay server: buckets per endpoint path (relative to ``/v1/``) and the requests it saw."""

    api_key: str
    provider: Literal["openai", "anthropic"] = "openai"
    routes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    raw_pages: dict[tuple[str, int], str] = field(default_factory=dict)  # (path, page number) → body served instead
    calls: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)  # every request: (path, query)
    fail_first: list[int] = field(default_factory=list)  # statuses answered before serving (retry tests)

    @property
    def paths(self) -> tuple[str, ...]:
        """The endpoint paths this provider's replay answers (an endpoint without buckets serves empty pages)."""
        return OPENAI_PATHS if self.provider == "openai" else ANTHROPIC_PATHS

    def queries(self, path: str) -> list[dict[str, list[str]]]:
        """The query parameters of every request to ``path``, in order."""
        return [query for seen, query in self.calls if seen == path]

    def authorized(self, headers: Any) -> bool:
        """Whether the request carries this replay's key the way the provider expects it."""
        if self.provider == "openai":
            return bool(headers.get("Authorization") == f"Bearer {self.api_key}")
        return bool(headers.get("x-api-key") == self.api_key)

    def error(self, status: int, kind: str, message: str) -> tuple[int, str]:
        """An error body in the provider's shape."""
        if self.provider == "openai":
            return status, json.dumps({"error": {"message": message, "type": kind}})
        return status, json.dumps({"type": "error", "error": {"type": kind, "message": message}})

    def page(self, path: str, query: dict[str, list[str]]) -> tuple[int, str]:
        """Status and body for one authorized request."""
        if self.fail_first:
            status = self.fail_first.pop(0)
            return self.error(status, "rate_limit_error" if status == 429 else "api_error", f"replayed {status}")
        start_key = "start_time" if self.provider == "openai" else "starting_at"
        try:
            start = _unix(int(query[start_key][0]) if self.provider == "openai" else query[start_key][0])
            limit = int(query.get("limit", ["7"])[0])
            offset = int(base64.urlsafe_b64decode(query.get("page", ["MA=="])[0].removeprefix("page_")).decode())
        except (KeyError, ValueError):
            return self.error(400, "invalid_request_error", f"{start_key} is required (and page must be a cursor)")
        page_number = offset // max(limit, 1) + 1
        if (path, page_number) in self.raw_pages:
            return 200, self.raw_pages[(path, page_number)]
        selected = [self._clipped(bucket, start) for bucket in self.routes.get(path, []) if self._end(bucket) > start]
        chunk = selected[offset : offset + limit]
        more = offset + limit < len(selected)
        cursor = "page_" + base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
        body: dict[str, Any] = {"data": chunk, "has_more": more, "next_page": cursor}
        if self.provider == "openai":
            body = {"object": "page", **body}
        return 200, json.dumps(body)

    def _start(self, bucket: dict[str, Any]) -> int:
        return _unix(bucket["start_time"] if self.provider == "openai" else bucket["starting_at"])

    def _end(self, bucket: dict[str, Any]) -> int:
        return _unix(bucket["end_time"] if self.provider == "openai" else bucket["ending_at"])

    def _clipped(self, bucket: dict[str, Any], start: int) -> dict[str, Any]:
        """A bucket that began before the requested start comes back starting there: the API's partial first day."""
        if self._start(bucket) >= start:
            return bucket
        key = "start_time" if self.provider == "openai" else "starting_at"
        return {**bucket, key: start if self.provider == "openai" else _rfc3339(start)}


@dataclass
class CostsReplay(GenAIReplay):
    """An OpenAI replay built from Costs API buckets (and optionally usage buckets per usage endpoint name)."""

    buckets: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.routes = {f"organization/usage/{name}": buckets for name, buckets in self.usage.items()}

    def page(self, path: str, query: dict[str, list[str]]) -> tuple[int, str]:
        """Serve the current ``buckets`` on the costs path (tests swap them between runs)."""
        self.routes[OPENAI_COSTS] = self.buckets
        return super().page(path, query)

    @property
    def requests(self) -> list[dict[str, list[str]]]:
        """Query parameters of the Costs API requests."""
        return self.queries(OPENAI_COSTS)


def _handler(replay: GenAIReplay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            url = urlparse(self.path)
            path = url.path.strip("/").removeprefix("v1/")
            if path not in replay.paths:
                return self._send(*replay.error(404, "not_found_error", f"no such endpoint /v1/{path}"))
            replay.calls.append((path, parse_qs(url.query)))
            if not replay.authorized(self.headers):
                return self._send(*replay.error(401, "authentication_error", "invalid admin key"))
            if replay.provider == "anthropic" and not self.headers.get("anthropic-version"):
                return self._send(*replay.error(400, "invalid_request_error", "anthropic-version header is required"))
            self._send(*replay.page(path, parse_qs(url.query)))

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server API)
            return

    return Handler


@contextmanager
def serve_replay(replay: GenAIReplay) -> Iterator[str]:
    """Serve ``replay`` on 127.0.0.1 (free port); yields the base URL ``http://127.0.0.1:PORT/v1``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(replay))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


serve_costs = serve_replay
