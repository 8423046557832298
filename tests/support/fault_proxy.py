"""A loopback HTTP proxy in front of the reference server that plants one vendor defect.

Faults (``FAULTS``): each mimics a defect seen in real vendor servers and must be caught by the
suite check that names it. ``start_fault_proxy(upstream, fault)`` runs it in a thread on a free port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

__all__ = ["FAULTS", "FaultProxy", "start_fault_proxy"]

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}


@dataclass(slots=True)
class Exchange:
    """A request on its way to the reference server and the answer coming back, for a fault to alter."""

    method: str
    path: str  # path and query
    body: bytes
    status: int = 0
    headers: dict[str, str] | None = None
    payload: bytes = b""
    forward: bool = True


def _json_edit(exchange: Exchange, edit: Callable[[Any], Any]) -> None:
    try:
        data = json.loads(exchange.payload)
    except ValueError:
        return
    exchange.payload = json.dumps(edit(data), ensure_ascii=False).encode()


def _each_instance(edit: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def apply(data: Any) -> Any:
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict):
                edit(item)
        return data

    return apply


def create_error(exchange: Exchange) -> None:
    """Create fails with a 500 and no instance."""
    if exchange.method == "POST":
        exchange.status, exchange.payload = 500, b'{"code":"500","reason":"Database unavailable"}'
        exchange.headers = {"Content-Type": "application/json"}


def wrong_status(exchange: Exchange) -> None:
    """Create answers 200 instead of 201."""
    if exchange.method == "POST" and exchange.status == 201:
        exchange.status = 200


def missing_href(exchange: Exchange) -> None:
    """Instances come back without href."""
    _json_edit(exchange, _each_instance(lambda item: item.pop("href", None)))


def changed_value(exchange: Exchange) -> None:
    """Reads return a different value for the text attributes the kits hold (name, content, reason...)."""
    if exchange.method != "GET":
        return

    def edit(item: dict[str, Any]) -> None:
        for attribute in ("name", "content", "reason", "messageType", "direction", "orderDate"):
            if isinstance(item.get(attribute), str):
                item[attribute] = item[attribute] + " (changed)"

    _json_edit(exchange, _each_instance(edit))


def filter_ignored(exchange: Exchange) -> None:
    """Filters are dropped: every list request answers the whole collection."""
    parts = urlsplit(exchange.path)
    kept = [(key, value) for key, value in parse_qsl(parts.query) if key in ("fields", "offset", "limit", "sort")]
    exchange.path = parts.path + (f"?{urlencode(kept)}" if kept else "")


def delete_noop(exchange: Exchange) -> None:
    """DELETE answers 204 and deletes nothing."""
    if exchange.method == "DELETE":
        exchange.forward, exchange.status, exchange.payload = False, 204, b""


def delete_refused(exchange: Exchange) -> None:
    """DELETE is refused with a 405."""
    if exchange.method == "DELETE":
        exchange.forward, exchange.status = False, 405
        exchange.payload = b'{"code":"405","reason":"Method not allowed"}'


def html_body(exchange: Exchange) -> None:
    """Reads answer 200 with an HTML page (a login page or a gateway error)."""
    if exchange.method == "GET":
        exchange.status, exchange.payload = 200, b"<html><body>Please sign in</body></html>"
        exchange.headers = {"Content-Type": "text/html"}


def server_error(exchange: Exchange) -> None:
    """Reads of one instance fail with a 500."""
    if exchange.method == "GET" and "?" not in exchange.path and exchange.path.rstrip("/").count("/") > 4:
        exchange.status, exchange.payload = 500, b'{"code":"500","reason":"Internal error"}'


def wrong_type(exchange: Exchange) -> None:
    """Array attributes (receiver, channel, productOrderItem...) come back as single objects."""
    def edit(item: dict[str, Any]) -> None:
        for key, value in item.items():
            if isinstance(value, list) and value:
                item[key] = value[0]

    _json_edit(exchange, _each_instance(edit))


def patch_201(exchange: Exchange) -> None:
    """PATCH answers 201, as the certified vendor did: the kit accepted it, the spec says 200."""
    if exchange.method == "PATCH" and exchange.status == 200:
        exchange.status = 201


def patch_ignored(exchange: Exchange) -> None:
    """PATCH answers 200 with the instance unchanged."""
    if exchange.method == "PATCH":
        exchange.method, exchange.body = "GET", b""


def relative_href(exchange: Exchange) -> None:
    """hrefs are relative, as one certified vendor served them: not a defect, the suites must pass."""
    def edit(item: dict[str, Any]) -> None:
        if isinstance(item.get("href"), str):
            item["href"] = urlsplit(item["href"]).path.lstrip("/")

    _json_edit(exchange, _each_instance(edit))


FAULTS: dict[str, Callable[[Exchange], None]] = {
    fault.__name__: fault
    for fault in (create_error, wrong_status, missing_href, changed_value, filter_ignored, delete_noop, delete_refused, html_body, server_error,
                  wrong_type, patch_201, patch_ignored, relative_href)
}
REQUEST_FAULTS = {"filter_ignored", "delete_noop", "patch_ignored"}


@dataclass(slots=True)
class FaultProxy:
    url: str
    server: ThreadingHTTPServer


def _handler(upstream: str, fault: Callable[[Exchange], None], before: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            exchange = Exchange(self.command, self.path, self.rfile.read(length) if length else b"")
            if before:
                fault(exchange)
            if exchange.forward:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
                answer = requests.request(exchange.method, upstream + exchange.path, data=exchange.body or None,
                                          headers=headers, timeout=10)
                exchange.status = exchange.status or answer.status_code
                exchange.headers = exchange.headers or {
                    k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS
                }
                exchange.payload = exchange.payload or answer.content
                if not before:
                    fault(exchange)
            self.send_response(exchange.status)
            for key, value in (exchange.headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(exchange.payload)))
            self.end_headers()
            self.wfile.write(exchange.payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    return Handler


@contextmanager
def start_fault_proxy(upstream: str, fault: str) -> Iterator[FaultProxy]:
    """Run a proxy planting ``fault`` in front of ``upstream`` on a free loopback port."""
    handler = _handler(upstream.rstrip("/"), FAULTS[fault], before=fault in REQUEST_FAULTS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FaultProxy(f"http://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
