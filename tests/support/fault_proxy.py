"""A loopback HTTP proxy in front of the reference server that plants one vendor defect.

A fault may alter the request on its way in and the answer on its way out; in between the request goes
to the reference server unless the request hook answers it. Faults (``FAULTS``): each mimics a defect
seen in real vendor servers and must be caught by the suite check that names it. None names an API or
an attribute: a fault that touches attributes takes them from the suite declaration of the resource the
request is for (its held, mandatory, typed and filtered attributes), so each acts on every declared API.
``start_fault_proxy(upstream, fault)`` runs one in a thread on a free port.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import tmfapis
from harness.ctk.declaration import ResourceSuite
from harness.fuzz.derived import declared
from tests.support.loopback import forward, serve_in_thread

__all__ = [
    "FAULTS",
    "Exchange",
    "Fault",
    "FaultProxy",
    "Hook",
    "Route",
    "Tally",
    "edit_instances",
    "keep_query",
    "route",
    "start_fault_proxy",
    "start_proxy",
]

HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "server",
    "date",
}


RESERVED = ("fields", "offset", "limit", "sort")
# What the kit-level faults leave alone among a declaration's attributes: the id every later request needs.
KEPT = tmfapis.ALWAYS_SELECTED[:1]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request path goes: its API and resource (None off every API root), and an instance id if any."""

    api_id: str | None
    resource: str | None
    instance: str | None
    query: str

    @property
    def suite(self) -> ResourceSuite | None:
        """The resource's part of its suite declaration, when it has one."""
        return declared().get((self.api_id or "", self.resource or ""))


@cache
def _roots() -> tuple[tuple[str, str], ...]:
    """(base path, API id), longest first."""
    return tuple(sorted(((api.base_path, api.id) for api in tmfapis.apis()), key=lambda pair: -len(pair[0])))


def route(path: str) -> Route:
    """The API, resource and instance a path (with its query) names, read from the ``tmfapis`` roots, the innermost of
    a nested path (``processFlow/<id>/taskFlow``); a resource also as a kit's E1 request capitalises it
    (``ProductStock/<uuid>``), so that a defect meets the kit there too."""
    parts = urlsplit(path)
    for base, api_id in _roots():
        if parts.path.startswith(base):
            segments = [unquote(segment) for segment in parts.path[len(base):].split("/")]
            resource = instance = None
            for at in range(0, len(segments), 2):
                named = segments[at][:1].lower() + segments[at][1:]  # a kit's capitalised path (``TestCase/<id>``) too
                if named not in tmfapis.api(api_id).resources:
                    break
                resource, instance = named, (segments[at + 1] or None) if at + 1 < len(segments) else None
            return Route(api_id, resource, instance, parts.query)
    return Route(None, None, None, parts.query)


@dataclass(slots=True)
class Exchange:
    """A request on its way to the reference server and the answer coming back, for a fault to alter."""

    method: str
    path: str  # path and query
    body: bytes
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    payload: bytes = b""
    forward: bool = True  # False: the request hook's status, headers and payload are the answer
    drop: bool = False  # True: close the connection without any answer
    client_method: str = field(init=False)  # as the client sent them, whatever the request hook forwards
    client_path: str = field(init=False)

    def __post_init__(self) -> None:
        self.client_method, self.client_path = self.method, self.path


Hook = Callable[[Exchange], None]


@dataclass(frozen=True, slots=True)
class Fault:
    """One planted defect: what it does to the request on its way in and to the answer on its way out."""

    on_request: Hook | None = None
    on_answer: Hook | None = None


def edit_instances(exchange: Exchange, edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``edit`` to each instance of a JSON answer (one object or a list); leave other bodies alone."""
    try:
        data = json.loads(exchange.payload)
    except ValueError:
        return
    original = json.dumps(data, sort_keys=True)
    for item in data if isinstance(data, list) else [data]:
        if isinstance(item, dict):
            edit(item)
    if json.dumps(data, sort_keys=True) != original:  # an answer the fault leaves alone goes out as it came
        exchange.payload = json.dumps(data, ensure_ascii=False).encode()


def keep_query(exchange: Exchange, keep: Callable[[str], bool], *, blank_values: bool = True) -> None:
    """Forward only the query parameters whose name ``keep`` accepts."""
    parts = urlsplit(exchange.path)
    given = parse_qsl(parts.query, keep_blank_values=blank_values)
    kept = [(key, value) for key, value in given if keep(key)]
    if kept != given:
        exchange.path = parts.path + (f"?{urlencode(kept)}" if kept else "")


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
    edit_instances(exchange, lambda item: item.pop("href", None))


def _held(exchange: Exchange) -> tuple[str, ...]:
    """The attributes the kit holds from the create for the resource asked (the id aside)."""
    suite = route(exchange.client_path).suite
    return tuple(name for name in suite.held if name not in KEPT) if suite else ()


def changed_value(exchange: Exchange) -> None:
    """Reads return a different value for the text attributes the kit holds (its declaration's ``held``)."""
    if exchange.method != "GET":
        return
    held = _held(exchange)

    def edit(item: dict[str, Any]) -> None:
        for attribute in held:
            if isinstance(item.get(attribute), str):
                item[attribute] = item[attribute] + " (changed)"

    edit_instances(exchange, edit)


def filter_ignored(exchange: Exchange) -> None:
    """Filters are dropped: every list request answers the whole collection."""
    keep_query(exchange, lambda key: key in RESERVED, blank_values=False)


def attribute_filter_ignored(exchange: Exchange) -> None:
    """Filters on the attributes the kit filters on are dropped, all but the one on the id."""
    suite = route(exchange.client_path).suite
    ignored = {name for name in suite.filtered if name not in KEPT} if suite else set()
    keep_query(exchange, lambda key: key not in ignored, blank_values=False)


def delete_noop(exchange: Exchange) -> None:
    """DELETE answers 204 and deletes nothing."""
    if exchange.method == "DELETE":
        exchange.forward, exchange.status, exchange.payload = False, 204, b""


def delete_refused(exchange: Exchange) -> None:
    """DELETE is refused with a 405."""
    if exchange.method == "DELETE":
        exchange.status, exchange.payload = 405, b'{"code":"405","reason":"Method not allowed"}'


def html_body(exchange: Exchange) -> None:
    """Reads answer 200 with an HTML page (a login page or a gateway error), except the plain list of a collection
    (what the pre-flight probes, and the kits list alike)."""
    if exchange.method == "GET" and ("?" in exchange.path or exchange.path.rstrip("/").count("/") > 4):
        exchange.status, exchange.payload = 200, b"<html><body>Please sign in</body></html>"
        exchange.headers = {"Content-Type": "text/html"}


def server_error(exchange: Exchange) -> None:
    """Reads of one instance fail with a 500."""
    if exchange.method == "GET" and "?" not in exchange.path and route(exchange.path).instance:
        exchange.status, exchange.payload = 500, b'{"code":"500","reason":"Internal error"}'


def wrong_type(exchange: Exchange) -> None:
    """Array attributes (receiver, channel, productOrderItem...) come back as single objects."""

    def edit(item: dict[str, Any]) -> None:
        for key, value in item.items():
            if isinstance(value, list) and value:
                item[key] = value[0]

    edit_instances(exchange, edit)


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

    edit_instances(exchange, edit)


def _is_list(exchange: Exchange, filtered: bool | None = None) -> bool:
    """A GET of a collection (the path ends on the resource), optionally only with (or without) a filter."""
    where = route(exchange.client_path)
    if exchange.client_method != "GET" or where.resource is None or where.instance is not None:
        return False
    filters = [key for key, _ in parse_qsl(where.query, keep_blank_values=True) if key not in RESERVED]
    return filtered is None or bool(filters) == filtered


def array_create(exchange: Exchange) -> None:
    """Create answers 201 with the instance wrapped in a JSON array."""
    if exchange.method == "POST" and exchange.status == 201:
        exchange.payload = b"[" + exchange.payload + b"]"


def array_by_id(exchange: Exchange) -> None:
    """A GET by id answers a JSON array holding the instance, as a list would."""
    if exchange.client_method == "GET" and route(exchange.client_path).instance and exchange.status == 200:
        exchange.payload = b"[" + exchange.payload + b"]"


def dropped_instances(exchange: Exchange) -> None:
    """The unfiltered list leaves out every instance (an index that lags behind the writes)."""
    if _is_list(exchange, filtered=False) and exchange.status in (200, 206):
        exchange.payload = b"[]"


def leftovers(exchange: Exchange) -> None:
    """The unfiltered list also holds an instance an earlier run left behind, without its mandatory attributes."""
    if _is_list(exchange, filtered=False) and exchange.status in (200, 206):
        items = json.loads(exchange.payload)
        items.append({"id": "left-by-an-earlier-run", "href": "left-by-an-earlier-run", "@type": "Leftover"})
        exchange.payload = json.dumps(items).encode()


def html_errors(exchange: Exchange) -> None:
    """Error answers keep their status but carry an HTML page instead of a TMF Error."""
    if exchange.status >= 400:
        exchange.payload = f"<html><body><h1>{exchange.status}</h1></body></html>".encode()
        exchange.headers = {"Content-Type": "text/html"}


def fields_unanswered(exchange: Exchange) -> None:
    """Requests with ``fields=`` get no answer: the connection is closed."""
    if "fields=" in urlsplit(exchange.path).query:
        exchange.forward, exchange.drop = False, True


def numeric_ids(exchange: Exchange) -> None:
    """Instances carry their id as a JSON number where the spec says string (here: its length)."""
    edit_instances(exchange, lambda item: item.update(id=len(item["id"])) if isinstance(item.get("id"), str) else None)


def total_uncounted(exchange: Exchange) -> None:
    """A filtered list's X-Total-Count also counts an instance that does not match (the collection's count)."""
    if _is_list(exchange, filtered=True) and "X-Total-Count" in exchange.headers:
        exchange.headers["X-Total-Count"] = str(int(exchange.headers["X-Total-Count"]) + 1)


def filter_empty(exchange: Exchange) -> None:
    """Filtered lists answer an empty array: the filter matches nothing, not even the instance asked for."""
    if _is_list(exchange, filtered=True) and exchange.status in (200, 206):
        exchange.payload = b"[]"


def null_values(exchange: Exchange) -> None:
    """Reads carry null for the attributes the kit holds (its declaration's ``held``, the id aside)."""
    if exchange.client_method != "GET":
        return
    held = _held(exchange)

    def edit(item: dict[str, Any]) -> None:
        for attribute in held:
            if attribute in item:
                item[attribute] = None

    edit_instances(exchange, edit)


def strings_as_numbers(exchange: Exchange) -> None:
    """Reads carry a number where the kit checks for a string (its declaration's ``typed``, the id aside)."""
    if exchange.client_method != "GET":
        return
    suite = route(exchange.client_path).suite
    typed = [name for name, kind in suite.typed.items() if kind == "string" and name not in KEPT] if suite else []

    def edit(item: dict[str, Any]) -> None:
        for attribute in typed:
            if isinstance(item.get(attribute), str):
                item[attribute] = len(item[attribute])

    edit_instances(exchange, edit)


def list_as_object(exchange: Exchange) -> None:
    """The unfiltered list answers its last instance as a single object instead of an array (an empty one as [])."""
    if _is_list(exchange, filtered=False) and exchange.status in (200, 206):
        items = json.loads(exchange.payload)
        exchange.payload = json.dumps(items[-1] if items else []).encode()


def empty_create(exchange: Exchange) -> None:
    """Create answers 201 with an empty body (the instance only behind the Location header)."""
    if exchange.method == "POST" and exchange.status == 201:
        exchange.payload = b""


def unknown_is_400(exchange: Exchange) -> None:
    """An unknown id answers 400 instead of 404."""
    if exchange.status == 404:
        exchange.status = 400


def bom_bodies(exchange: Exchange) -> None:
    """JSON bodies start with a UTF-8 byte order mark, which the kits' Postman ignores: not a defect."""
    if exchange.payload[:1] in (b"{", b"["):
        exchange.payload = b"\xef\xbb\xbf" + exchange.payload


def escaped_slashes(exchange: Exchange) -> None:
    """JSON bodies escape every "/" as "\\/" (valid JSON, as PHP writes it): the kits' raw-text search misses hrefs."""
    if exchange.payload[:1] in (b"{", b"["):
        exchange.payload = exchange.payload.replace(b"/", b"\\/")


def nan_values(exchange: Exchange) -> None:
    """Reads carry an extra number written NaN (not JSON, as some serializers write it): the kit's JSON.parse fails."""
    if exchange.client_method == "GET" and exchange.payload[:1] in (b"{", b"["):
        exchange.payload = re.sub(rb'\{"id":', b'{"rating": NaN, "id":', exchange.payload, count=1)


def missing_mandatory(exchange: Exchange) -> None:
    """Instances come back without the mandatory attributes the kit does not hold (a server that never sets them).

    Mandatory: the kit's and the Conformance Profile's. The held ones are changed_value's and null_values'.
    """
    suite = route(exchange.client_path).suite
    mandatory = (*suite.mandatory, *suite.profile_mandatory) if suite else ()
    dropped = [name for name in mandatory if suite and name not in suite.held and name not in KEPT]

    def edit(item: dict[str, Any]) -> None:
        for name in dropped:
            item.pop(name, None)

    edit_instances(exchange, edit)


# delete_refused acts on the answer: the DELETE reaches the reference server, the client is told 405.
_REQUEST_HOOKS = (filter_ignored, attribute_filter_ignored, delete_noop, patch_ignored, fields_unanswered)
_ANSWER_HOOKS = (
    create_error,
    wrong_status,
    missing_href,
    changed_value,
    delete_refused,
    html_body,
    server_error,
    wrong_type,
    patch_201,
    relative_href,
    array_create,
    array_by_id,
    dropped_instances,
    leftovers,
    html_errors,
    numeric_ids,
    total_uncounted,
    filter_empty,
    null_values,
    strings_as_numbers,
    list_as_object,
    empty_create,
    unknown_is_400,
    bom_bodies,
    escaped_slashes,
    nan_values,
    missing_mandatory,
)
FAULTS: dict[str, Fault] = {hook.__name__: Fault(on_request=hook) for hook in _REQUEST_HOOKS} | {
    hook.__name__: Fault(on_answer=hook) for hook in _ANSWER_HOOKS
}


NO_FAULT = Fault()  # ``none``: every exchange passes unchanged, as a clean run behind a proxy


@dataclass(frozen=True, slots=True)
class FaultProxy:
    url: str
    tally: Tally


@dataclass(slots=True)
class Tally:
    """How many exchanges the fault changed, per API: none means it was not planted on what that API's client asked."""

    altered: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, exchange: Exchange, changed: bool) -> None:
        if changed:
            api_id = route(exchange.client_path).api_id or ""
            with self.lock:
                self.altered[api_id] = self.altered.get(api_id, 0) + 1


def _handler(upstream: str, fault: Fault, tally: Tally) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            exchange = Exchange(self.command, self.path, self.rfile.read(length) if length else b"")
            sent = (exchange.method, exchange.path, exchange.body, exchange.forward, exchange.drop)
            if fault.on_request:
                fault.on_request(exchange)
            changed = sent != (exchange.method, exchange.path, exchange.body, exchange.forward, exchange.drop)
            if exchange.drop:
                tally.add(exchange, True)
                self.close_connection = True
                return
            if exchange.forward:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"host"}}
                answer = forward(
                    exchange.method,
                    upstream + exchange.path,
                    data=exchange.body or None,
                    headers=headers,
                    timeout=10,
                )
                exchange.status, exchange.payload = answer.status_code, answer.content
                exchange.headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            answered = (exchange.status, dict(exchange.headers), exchange.payload)
            if fault.on_answer:
                fault.on_answer(exchange)
            tally.add(exchange, changed or answered != (exchange.status, exchange.headers, exchange.payload))
            self.send_response(exchange.status)
            for key, value in exchange.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(exchange.payload)))
            self.end_headers()
            self.wfile.write(exchange.payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    return Handler


@contextmanager
def start_proxy(upstream: str, fault: Fault, tally: Tally | None = None) -> Iterator[str]:
    """Run a proxy planting ``fault`` in front of ``upstream`` on a free loopback port; yield its URL."""
    with serve_in_thread(_handler(upstream.rstrip("/"), fault, tally or Tally())) as url:
        yield url


@contextmanager
def start_fault_proxy(upstream: str, fault: str) -> Iterator[FaultProxy]:
    """Run a proxy planting the kit-level ``fault`` (a name in ``FAULTS``, or ``none``) in front of ``upstream``."""
    tally = Tally()
    with start_proxy(upstream, NO_FAULT if fault == "none" else FAULTS[fault], tally) as url:
        yield FaultProxy(url, tally)
