"""A loopback proxy in front of the reference server that plants one spec-level defect.

Each fault (``SPEC_FAULTS``) breaks the TMF specs where the official kits do not look, as the
third-party and certified vendor servers did; a fault may alter the request on its way in and the
answer on its way out. ``start_spec_fault_proxy(upstream, fault)`` runs it in a thread on a free port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

__all__ = ["SPEC_FAULTS", "start_spec_fault_proxy"]

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}


@dataclass(slots=True)
class Exchange:
    """A request on its way in (method, path, body) and its answer on the way out, for a fault to alter."""

    method: str
    path: str
    body: bytes
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    payload: bytes = b""
    asked_fields: bool = False  # the client's query had fields=, whatever the request forwarded


@dataclass(frozen=True, slots=True)
class SpecFault:
    """One planted defect: what it does to the request and to the answer."""

    on_request: Callable[[Exchange], None] = lambda exchange: None
    on_answer: Callable[[Exchange], None] = lambda exchange: None


def _edit_json(exchange: Exchange, edit: Callable[[dict[str, Any]], None]) -> None:
    try:
        data = json.loads(exchange.payload)
    except ValueError:
        return
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            edit(item)
    exchange.payload = json.dumps(data, ensure_ascii=False).encode()


def _drop_fields(exchange: Exchange) -> None:
    parts = urlsplit(exchange.path)
    query = parse_qsl(parts.query, keep_blank_values=True)
    exchange.asked_fields = any(key == "fields" for key, _ in query)
    kept = [(key, value) for key, value in query if key != "fields"]
    exchange.path = parts.path + (f"?{urlencode(kept)}" if kept else "")


def _no_id_when_fields(exchange: Exchange) -> None:
    if exchange.asked_fields:
        _edit_json(exchange, lambda item: item.pop("id", None))


def _patch_as_read(exchange: Exchange) -> None:
    if exchange.method == "PATCH":
        exchange.method, exchange.body = "GET", b""


def _no_paging_headers(exchange: Exchange) -> None:
    exchange.headers = {k: v for k, v in exchange.headers.items() if k.lower() not in ("x-total-count", "x-result-count")}
    if exchange.status == 206:
        exchange.status = 200


def _no_paging(exchange: Exchange) -> None:
    parts = urlsplit(exchange.path)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in ("offset", "limit")]
    exchange.path = parts.path + (f"?{urlencode(kept)}" if kept else "")


def _patch_201(exchange: Exchange) -> None:
    if exchange.method == "PATCH" and exchange.status == 200:
        exchange.status = 201


def _text_errors(exchange: Exchange) -> None:
    if exchange.status >= 400:
        exchange.payload, exchange.headers = b"Not Found" if exchange.status == 404 else b"Bad Request", {
            "Content-Type": "text/plain"}


def _delete_says_204(exchange: Exchange) -> None:
    if exchange.method == "GET" and exchange.status == 200 and exchange.body == b"DELETE":
        exchange.status, exchange.payload = 204, b""


def _wrong_href(exchange: Exchange) -> None:
    def edit(item: dict[str, Any]) -> None:
        if isinstance(item.get("href"), str):
            item["href"] = item["href"].replace("/v4/", "/v4/unknown/")

    _edit_json(exchange, edit)


def _lost_callbacks(exchange: Exchange) -> None:
    if exchange.method == "POST" and urlsplit(exchange.path).path.endswith("/hub"):
        exchange.body = json.dumps({"callback": "http://127.0.0.1:9/nobody-listens"}).encode()


def _hub_refused(exchange: Exchange) -> None:
    if urlsplit(exchange.path).path.endswith("/hub") and exchange.method == "POST":
        exchange.status, exchange.payload = 200, json.dumps({"callback": "accepted"}).encode()


def _mark_delete(exchange: Exchange) -> None:
    if exchange.method == "DELETE" and "/hub/" not in exchange.path:
        exchange.method, exchange.body = "GET", b"DELETE"  # forwarded as a read: nothing is deleted


def _both(first: Callable[[Exchange], None], second: Callable[[Exchange], None]) -> Callable[[Exchange], None]:
    def apply(exchange: Exchange) -> None:
        first(exchange)
        second(exchange)

    return apply


SPEC_FAULTS: dict[str, SpecFault] = {
    # The third-party TMF681 server: passes the official kit, yet fields=, PATCH and paging are all wrong.
    "third_party_681": SpecFault(on_request=_both(_drop_fields, _patch_as_read),
                                 on_answer=_both(_no_id_when_fields, _no_paging_headers)),
    # fields=: the whole instance comes back (extra attributes) and without its id.
    "fields_extra_no_id": SpecFault(on_request=_drop_fields, on_answer=_no_id_when_fields),
    # PATCH answers 200 with the instance unchanged.
    "patch_ignored": SpecFault(on_request=_patch_as_read),
    # Lists carry no X-Total-Count / X-Result-Count (and answer 200 for a partial page).
    "no_paging_headers": SpecFault(on_answer=_no_paging_headers),
    # offset and limit are ignored: every page is the whole list.
    "paging_ignored": SpecFault(on_request=_no_paging),
    # PATCH answers 201, as the certified TMF629 vendor did.
    "patch_201": SpecFault(on_answer=_patch_201),
    # 4xx answers carry plain text instead of a TMF Error.
    "text_errors": SpecFault(on_answer=_text_errors),
    # DELETE answers 204 and deletes nothing.
    "delete_noop": SpecFault(on_request=_mark_delete, on_answer=_delete_says_204),
    # hrefs point to a path that serves nothing.
    "wrong_href": SpecFault(on_answer=_wrong_href),
    # Hub registrations are accepted but events go elsewhere.
    "lost_callbacks": SpecFault(on_request=_lost_callbacks),
    # POST /hub answers 200 with no id.
    "hub_refused": SpecFault(on_answer=_hub_refused),
}


def _handler(upstream: str, fault: SpecFault) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            exchange = Exchange(self.command, self.path, self.rfile.read(length) if length else b"")
            fault.on_request(exchange)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
            body = exchange.body if exchange.method != "GET" else None
            answer = requests.request(exchange.method, upstream + exchange.path, data=body, headers=headers, timeout=10)
            exchange.status = answer.status_code
            exchange.headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            exchange.payload = answer.content
            fault.on_answer(exchange)
            self.send_response(exchange.status)
            for key, value in exchange.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(exchange.payload)))
            self.end_headers()
            self.wfile.write(exchange.payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    return Handler


@contextmanager
def start_spec_fault_proxy(upstream: str, fault: str) -> Iterator[str]:
    """Run a proxy planting ``fault`` in front of ``upstream`` on a free loopback port; yield its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream.rstrip("/"), SPEC_FAULTS[fault]))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
