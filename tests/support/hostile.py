"""Hostile HTTP servers on 127.0.0.1 for tests: each answers every request in one bad way and records what it got.

``serve(behaviour)`` runs one in threads on a free port (``refused_url()`` is a port nobody listens on).
A behaviour writes raw bytes, so it can drip, never answer or lie about its body. With ``honest_probe``
the server answers the harness's pre-flight (``tests.support.probe``) with an empty list, so the hostile
answers reach the kit requests themselves.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, BinaryIO

from tests.support.probe import ProbeSpotter

__all__ = [
    "BOMB_INFLATED", "HUGE_BODY", "Behaviour", "HostileServer", "Request", "answer", "drip", "echo_token", "gzip_bomb", "hang_up",
    "html_500", "huge_body", "redirect_to", "refused_url", "serve", "silent",
]

BOMB_INFLATED = 1024**3  # a gzip body of about 1 MB that inflates to 1 GiB
HUGE_BODY = 200 * 1024**2  # sent without Content-Length
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header_text(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.headers.items())


Behaviour = Callable[[Request, BinaryIO, threading.Event], None]


@dataclass(slots=True)
class HostileServer:
    """A running hostile server: its base URL and every request it received."""

    url: str
    requests: list[Request] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def answer(out: BinaryIO, status: str, body: bytes, content_type: str = "application/json",
           extra: dict[str, str] | None = None) -> None:
    """Write one complete answer with its length, closing the connection afterwards."""
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close", **(extra or {})}
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    out.write(head.encode("latin-1") + body)
    out.flush()


def silent(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    """Accept, read the request, never answer."""
    stop.wait()


def hang_up(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    """Read the request, close the connection without a word."""


def drip(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    """A valid answer, one byte a second from its status line on."""
    message = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n[' + b" " * 62 + b"]"
    for index in range(len(message)):
        out.write(message[index:index + 1])
        out.flush()
        if stop.wait(1.0):
            return


@cache
def bomb() -> bytes:
    """1 GiB of zeros in a JSON string, gzip-compressed (about 1 MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    zeros = b"0" * (1024**2)
    parts = [packer.compress(b'["')]
    parts += [packer.compress(zeros) for _ in range(BOMB_INFLATED // len(zeros))]
    parts += [packer.compress(b'"]'), packer.flush()]
    return b"".join(parts)


def gzip_bomb(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    answer(out, "200 OK", bomb(), extra={"Content-Encoding": "gzip"})


def huge_body(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    """200 MB of a JSON array, without Content-Length: the end of the body is the end of the connection."""
    out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
    filler = b"0," * (CHUNK // 2)
    for _ in range(HUGE_BODY // len(filler)):
        if stop.is_set():
            return
        out.write(filler)
    out.write(b"0]")
    out.flush()


def redirect_to(other: str, status: str = "302 Found") -> Behaviour:
    """Every POST creates an instance whose href is on ``other``; every other request is redirected there."""

    def behave(request: Request, out: BinaryIO, stop: threading.Event) -> None:
        if request.method == "POST":
            body = {"id": "h1", "href": f"{other}{request.path.split('?')[0]}/h1", "name": "x"}
            answer(out, "201 Created", json.dumps(body).encode())
        else:
            answer(out, status, b"{}", extra={"Location": f"{other}{request.path}"})

    return behave


def echo_token(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    """200 with every request header echoed in the body and the bare credentials in headers and body."""
    bare = [value.split(" ", 1)[-1] for value in request.headers.values()]
    body = {"id": "e1", "href": f"http://127.0.0.1/{request.path}", "headers": request.headers, "seen": bare,
            "body": request.body.decode("utf-8", "replace")}
    extra = {f"X-Echo-{index}": value for index, value in enumerate(bare)}
    answer(out, "200 OK", json.dumps(body).encode(), extra=extra)


def html_500(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form action='/login'>" \
           b"<input name='password' type='password'></form></body></html>"
    answer(out, "500 Internal Server Error", page, content_type="text/html; charset=utf-8")


def empty_list(request: Request, out: BinaryIO, stop: threading.Event) -> None:
    answer(out, "200 OK", b"[]", extra={"X-Total-Count": "0", "X-Result-Count": "0"})


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request = _read_request(self.rfile)
        if request is None:
            return
        with self.server.lock:
            self.server.record.requests.append(request)
        behaviour = self.server.behaviour
        if self.server.honest_probe and self.server.probes.is_probe(request.method, request.path):
            behaviour = empty_list
        try:
            behaviour(request, self.wfile, self.server.stop)  # type: ignore[arg-type]
        except OSError:
            pass  # the client gave up: what a hostile server hopes for


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Behaviour, honest_probe: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.honest_probe = honest_probe
        self.probes = ProbeSpotter()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.record = HostileServer(f"http://127.0.0.1:{self.server_address[1]}")


def _read_request(stream: Any) -> Request | None:
    line = stream.readline(65536).decode("latin-1").strip()
    if not line:
        return None
    method, path, _ = (line.split(" ") + ["", ""])[:3]
    headers: dict[str, str] = {}
    while (header := stream.readline(65536).decode("latin-1").strip()):
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    length = int(headers.get("Content-Length", "0") or 0)
    return Request(method, path, headers, stream.read(length) if length else b"")


@contextmanager
def serve(behaviour: Behaviour, *, honest_probe: bool = False) -> Iterator[HostileServer]:
    """Run a hostile server on a free loopback port in threads; stop it (and its stuck handlers) on exit."""
    server = _Server(behaviour, honest_probe)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.record
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def refused_url() -> Iterator[str]:
    """The URL of a loopback port that is bound but not listening, so every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
