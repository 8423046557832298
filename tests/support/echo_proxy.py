"""A vendor system that gives secrets back and drops some requests: a loopback proxy in front of the reference server.

It echoes the bare token of the ``Authorization`` header (without "Bearer") in a response header and in every
JSON object it returns, strips a path ``prefix`` the vendor's roots carry, and closes the connection without an
answer on every field selection (``fields=``), so those kit requests, which have no checks, get no answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback import forward, serve_in_thread

__all__ = ["start_echo_proxy"]

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date",
               "host", "authorization"}


def _echoed(payload: bytes, token: str) -> bytes:
    try:
        data = json.loads(payload)
    except ValueError:
        return payload
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            item["vendorNote"] = f"request by {token}"
    return json.dumps(data).encode()


@contextmanager
def start_echo_proxy(upstream: str, prefix: str = "", drop: str = "fields=") -> Iterator[str]:
    """Serve the proxy on a free loopback port in front of ``upstream``; yield its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if drop and drop in self.path:
                self.close_connection = True  # no status line at all: the client sees the connection closed
                return
            token = self.headers.get("Authorization", "").split(" ")[-1]
            path = self.path.replace(prefix, "", 1) if prefix else self.path
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            answer = forward(self.command, upstream.rstrip("/") + path, data=body or None, headers=headers,
                             timeout=10)
            payload = _echoed(answer.content, token) if token else answer.content
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("X-Echo", token)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    with serve_in_thread(Handler) as url:
        yield url
