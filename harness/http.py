"""HTTP for every tier: the run's bounded session and a ``send`` that never raises.

Transport trouble (refused connection, timeout, TLS), unusable bodies (HTML, non-JSON), bodies over the
cap and redirects to another origin come back as a ``Reply`` with ``problem`` set, so the checks fail
with a clear message and the run goes on. Every request has a total deadline (connect, headers, body
and same-origin redirects) and a cap on its body after decompression; credentials never leave the origin.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

from harness.record import Exchange
from harness.redact import Redactor
from harness.urls import Origin, origin, same_origin

__all__ = ["DEFAULT_MAX_BODY_MB", "DEFAULT_TIMEOUT_S", "NOT_JSON", "BoundedSession", "Reply", "cut_requests_under_way",
           "not_sent", "send"]

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BODY_MB = 32
MIB = 1024 * 1024
CHUNK = 64 * 1024
MAX_REDIRECTS = 10
NOT_JSON: Any = object()
EXCERPT = 200


class BoundedSession(requests.Session):
    """The run's session: it never follows a redirect by itself, and it carries the bounds ``send`` applies."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S, max_body_bytes: int = DEFAULT_MAX_BODY_MB * MIB,
                 connections: int = 10) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        for prefix in ("http://", "https://"):  # a connection kept per host for each request under way at once
            self.mount(prefix, _CuttableAdapter(pool_maxsize=max(connections, 10)))
        self._environment: dict[Origin, Any] = {}
        self._environment_lock = threading.Lock()

    def merge_environment_settings(self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        # The environment (proxies, CA bundle) is read once per origin: requests iterates os.environ for each request,
        # and pytest changes it (PYTEST_CURRENT_TEST) while other threads send, which breaks the iteration.
        key = origin(str(url or ""))
        with self._environment_lock:
            found: Any = self._environment.get(key)
            if found is None:
                found = self._environment[key] = super().merge_environment_settings(url, {}, None, None, None)
        return {"proxies": {**found["proxies"], **(proxies or {})}, "stream": self.stream if stream is None else stream,
                "verify": found["verify"] if verify is None else verify, "cert": found["cert"] if cert is None else cert}

    def read_environment(self, urls: Iterable[str]) -> None:
        """Read the environment for these URLs now (on the thread that starts the run), before others send."""
        for url in urls:
            self.merge_environment_settings(url, {}, None, None, None)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        kwargs["allow_redirects"] = False  # requests strips only Authorization when it changes origin
        return super().request(*args, **kwargs)

    def resolve_redirects(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        # requests reads a redirect's whole body here even when not following it; send follows them itself.
        return iter(())


class _Deadline:
    """The total time one ``send`` may take; when it is up, the socket in use is shut down."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self.connection: HTTPConnection | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def left(self) -> float:
        return max(self.end - time.monotonic(), 0.001)

    def _cut(self) -> None:
        self.expired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read in the sending thread
            except OSError:
                pass

    def __enter__(self) -> Self:
        _current.deadline = self
        with _UNDER_WAY_LOCK:
            _UNDER_WAY.add(self)
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        self._timer.join()
        with _UNDER_WAY_LOCK:
            _UNDER_WAY.discard(self)
        _current.deadline = None


_current = threading.local()
_UNDER_WAY: set[_Deadline] = set()  # every send's deadline, in whatever thread it sends
_UNDER_WAY_LOCK = threading.Lock()


def cut_requests_under_way() -> None:
    """End every request being sent, in any thread, as if its time were up: an interrupted run does not wait."""
    with _UNDER_WAY_LOCK:
        deadlines = list(_UNDER_WAY)
    for deadline in deadlines:
        deadline._cut()


def _watch(connection: HTTPConnection) -> None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.connection = connection


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _CuttableAdapter(HTTPAdapter):
    """An adapter whose connections a ``_Deadline`` can cut, also through an HTTP proxy."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools keep their own classes (per-read timeouts only)
            manager.pool_classes_by_scheme = POOLS
        return manager


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back: the redacted exchange, the status, the body text and its JSON (or ``NOT_JSON``)."""

    exchange: Exchange
    status: int | None
    text: str
    body: Any
    problem: str | None  # why there is no usable JSON body, or None

    @property
    def json_ok(self) -> bool:
        return self.problem is None


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "..."


class _Stopped(Exception):
    """The answer was cut short for a reason that is the message."""


def send(
    session: requests.Session, method: str, url: str, redactor: Redactor, body: Any = None, *,
    raw: str | None = None, content_type: str = "application/json",
) -> Reply:
    """Send one request as the kit did (JSON body when given, or ``raw`` text as is) and describe the answer.

    Same-origin redirects are followed as Newman does; one to another origin is reported, not followed.
    """
    data = raw if raw is not None else None if body is None else json.dumps(body, ensure_ascii=False)
    timeout_s = float(getattr(session, "timeout_s", DEFAULT_TIMEOUT_S))
    cap = int(getattr(session, "max_body_bytes", DEFAULT_MAX_BODY_MB * MIB))
    started = time.perf_counter()
    with _Deadline(timeout_s) as deadline:
        try:
            response, content, problem = _fetch(session, method, url, data, content_type, deadline, cap)
        except _Stopped as exc:
            return _failed(method, url, data, redactor, started, str(exc))
        except requests.exceptions.SSLError as exc:
            return _failed(method, url, data, redactor, started, f"TLS error talking to {url}: {_reason(exc)}")
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, ValueError, OSError) as exc:
            if deadline.expired or isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
                return _failed(method, url, data, redactor, started, f"no complete answer from {url} within {timeout_s:g}s")
            if isinstance(exc, requests.exceptions.ConnectionError):
                return _failed(method, url, data, redactor, started, f"cannot connect to {url}: {_reason(exc)}")
            return _failed(method, url, data, redactor, started, f"request to {url} failed: {_reason(exc)}")
    duration_ms = (time.perf_counter() - started) * 1000
    text = _decode(response, content)
    parsed, unusable = _parse(response, text) if problem is None else (NOT_JSON, problem)
    sent = response.request.body
    exchange = Exchange(
        method=response.request.method or method,
        url=response.request.url or url,
        request_headers={name: str(value) for name, value in response.request.headers.items()},
        request_body=sent.decode("utf-8", "replace") if isinstance(sent, bytes) else sent,
        status=response.status_code,
        response_headers=dict(response.headers),
        response_body=text,
        duration_ms=duration_ms,
        size_bytes=len(content),
        error=unusable if parsed is NOT_JSON and (text.strip() or problem) else None,
    )
    # The checks see the raw text (held values may be secrets); records are redacted when built.
    return Reply(redactor.exchange(exchange), response.status_code, text, parsed, unusable)


def _fetch(
    session: requests.Session, method: str, url: str, data: str | None, content_type: str, deadline: _Deadline, cap: int,
) -> tuple[requests.Response, bytes, str | None]:
    """The final answer and its body, following same-origin redirects; a problem when one leads elsewhere."""
    for _ in range(MAX_REDIRECTS + 1):
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        response = session.request(method, url, data=None if data is None else data.encode(), headers=headers,
                                   stream=True, allow_redirects=False, timeout=(deadline.left(), deadline.left()))
        location = response.headers.get("Location") if response.is_redirect else None
        if location is None:
            return response, _read_body(response, deadline, cap), None
        target = urljoin(response.url, location)
        if not same_origin(target, response.url):
            problem = f"redirected ({response.status_code}) to another origin {target}; not followed with credentials"
            return response, _read_body(response, deadline, cap), problem
        response.close()
        if _redirected_method(response.status_code, method) != method:
            method, data = "GET", None
        url = target
    raise _Stopped(f"more than {MAX_REDIRECTS} redirects from {url}")


def _redirected_method(status: int, method: str) -> str:
    """The method after a redirect, as requests, browsers and Newman choose it: 307 and 308 keep it."""
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        return "GET"
    return method


def _read_body(response: requests.Response, deadline: _Deadline, cap: int) -> bytes:
    """The decoded body, read in chunks: over the cap (decompressed) or past the deadline, reading stops."""
    limit = f"{cap // MIB} MiB" if cap % MIB == 0 else f"{cap} bytes"
    parts: list[bytes] = []
    size = 0
    try:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap and not response.headers.get("Content-Encoding"):
            raise _Stopped(f"the answer to {response.request.method} {response.url} (status {response.status_code}) "
                           f"has a body larger than {limit}; not read")
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > cap:
                raise _Stopped(f"the answer to {response.request.method} {response.url} (status {response.status_code}) "
                               f"has a body larger than {limit}; reading stopped there")
            parts.append(chunk)
            if deadline.expired:
                break
    finally:
        response.close()
    if deadline.expired:
        raise _Stopped(f"no complete answer from {response.url} within {deadline.seconds:g}s "
                       f"(status {response.status_code}, {size} bytes of the body so far)")
    return b"".join(parts)


def _decode(response: requests.Response, content: bytes) -> str:
    try:
        return content.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _parse(response: requests.Response, text: str) -> tuple[Any, str | None]:
    if not text.strip():
        return NOT_JSON, f"the response to {response.request.method} has an empty body (status {response.status_code})"
    try:
        # a byte order mark is ignored and NaN/Infinity refused, as the kits' JSON.parse does
        return json.loads(text.removeprefix("\ufeff"), parse_constant=_not_json), None
    except ValueError:
        kind = response.headers.get("Content-Type", "no Content-Type")
        return NOT_JSON, f"the body is not JSON ({kind}): {excerpt(text)!r}"


def not_sent(method: str, url: str, redactor: Redactor, problem: str) -> Reply:
    """The Reply for a request the harness declined to send (a foreign ``href``, say), with the reason."""
    return _failed(method, url, None, redactor, time.perf_counter(), problem)


def _failed(method: str, url: str, data: str | None, redactor: Redactor, started: float, problem: str) -> Reply:
    exchange = Exchange(
        method=method,
        url=url,
        request_body=data,
        duration_ms=(time.perf_counter() - started) * 1000,
        error=problem,
    )
    return Reply(redactor.exchange(exchange), None, "", NOT_JSON, problem)


def _reason(exc: Exception) -> str:
    # requests nests the useful cause (e.g. "Connection refused") deep inside its messages.
    cause: BaseException = exc
    while cause.__cause__ is not None or (cause.args and isinstance(cause.args[0], BaseException)):
        cause = cause.__cause__ or cause.args[0]
    text = str(cause)
    if "] " in text and text.startswith("<"):
        text = text.split("] ", 1)[1]
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text
