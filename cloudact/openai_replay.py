"""A local HTTP server that answers ``GET /v1/organization/costs`` in the documented OpenAI shape.

The demo uses it to load the public sample and generated buckets through the real dlt REST path, and the tests
use it as the provider (``CLOUDACT_OPENAI_BASE_URL`` points at it). It serves whatever buckets it is given.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class CostsReplay:
    """State of the replay server: buckets to serve and the requests it saw."""

    buckets: list[dict[str, Any]]
    api_key: str
    raw_pages: dict[int, str] = field(default_factory=dict)  # page number → body served instead (bad-input tests)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    fail_first: list[int] = field(default_factory=list)  # statuses answered before serving (retry tests)

    def page(self, query: dict[str, list[str]]) -> tuple[int, str]:
        """Status and body for one request."""
        self.requests.append(query)
        if self.fail_first:
            status = self.fail_first.pop(0)
            return status, json.dumps({"error": {"message": f"replayed {status}", "type": "server_error"}})
        try:
            start = int(query["start_time"][0])
            limit = int(query.get("limit", ["7"])[0])
        except (KeyError, ValueError):
            return 400, json.dumps({"error": {"message": "start_time is required", "type": "invalid_request_error"}})
        offset = int(query.get("page", ["page_0"])[0].removeprefix("page_"))
        page_number = offset // max(limit, 1) + 1
        if page_number in self.raw_pages:
            return 200, self.raw_pages[page_number]
        selected = [b for b in self.buckets if int(b["start_time"]) >= start]
        chunk = selected[offset : offset + limit]
        more = offset + limit < len(selected)
        next_page = f"page_{offset + limit}" if more else None
        body = {"object": "page", "data": chunk, "has_more": more, "next_page": next_page}
        return 200, json.dumps(body)


def _handler(replay: CostsReplay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            url = urlparse(self.path)
            if url.path.rstrip("/") != "/v1/organization/costs":
                return self._send(404, json.dumps({"error": {"message": "not found"}}))
            if self.headers.get("Authorization") != f"Bearer {replay.api_key}":
                return self._send(401, json.dumps({"error": {"message": "invalid admin key"}}))
            self._send(*replay.page(parse_qs(url.query)))

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server API)
            return

    return Handler


@contextmanager
def serve_costs(replay: CostsReplay) -> Iterator[str]:
    """Serve ``replay`` on 127.0.0.1 (free port); yields the base URL ``http://127.0.0.1:PORT/v1``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(replay))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
