"""JSON answers to reads, written to the connection as one buffer instead of through aiohttp's Response.

A read by id or a list page costs about a quarter less this way (``python benchmarks/bench_server.py``),
with the status line and headers aiohttp would send. Only an HTTP/1.1 keep-alive request whose
connection has nothing waiting to be sent is answered so; any other gets aiohttp's Response, which
handles HTTP/1.0, ``Connection: close`` and a client that reads slowly (backpressure).

This path, and ``app.reads_first`` (installed as the server's request handler), lean on what aiohttp's
request handler asks of a response and on the server's ``request_handler`` attribute, which aiohttp
does not promise to keep. They are used only with the aiohttp releases they were tested with
(``TESTED_AIOHTTP``, the range ``pyproject.toml`` allows); with any other, every answer is aiohttp's own
Response and every request goes through the router: slower, the same answers.
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import aiohttp
from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11

from mockserver.errors import JSON_CONTENT_TYPE, json_response

__all__ = ["TESTED_AIOHTTP", "WRITES_DIRECTLY", "json_answer", "pin", "tested", "untested_notice"]

TESTED_AIOHTTP = ((3, 12), (3, 15))  # from 3.12 up to, not including, 3.15: as pinned in pyproject.toml
RELEASE = re.compile(r"(\d+)\.(\d+)\.\d+(?:\.post\d+)?")  # a final release: no alpha, beta, candidate or dev


def tested(version: str) -> bool:
    """True for a final aiohttp release in the tested range."""
    release = RELEASE.fullmatch(version)
    if release is None:
        return False
    low, high = TESTED_AIOHTTP
    return low <= (int(release.group(1)), int(release.group(2))) < high


def pin() -> str:
    """The tested range as ``pyproject.toml`` writes it: ``aiohttp>=3.12,<3.15``."""
    (low_major, low_minor), (high_major, high_minor) = TESTED_AIOHTTP
    return f"aiohttp>={low_major}.{low_minor},<{high_major}.{high_minor}"


def untested_notice() -> str:
    """What the command line says when the installed aiohttp is not a tested release."""
    return (f"aiohttp {aiohttp.__version__} is not a release this server was tested with ({pin()}): "
            "every request goes through aiohttp's router and Response (slower, the same answers)")


# With the installed aiohttp: answers written as bytes, reads taken before the router.
WRITES_DIRECTLY = tested(aiohttp.__version__)

HEAD_END = f"Content-Type: {JSON_CONTENT_TYPE}\r\nContent-Length: %d\r\nDate: %s\r\nServer: {SERVER_SOFTWARE}\r\n\r\n".encode()
STATUS_LINES = {status: f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode() for status in (200, 206)}


class _Clock:
    """The Date header's value, made once a second."""

    second = 0
    date = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.second, cls.date = second, formatdate(second, usegmt=True).encode()
        return cls.date


class DirectAnswer:
    """A response already in bytes, with what aiohttp's request handler asks of a response (``prepare``,
    ``write_eof``, ``keep_alive``) and what the access log reads (``status``, ``body_length``)."""

    __slots__ = ("_data", "body_length", "keep_alive", "status")

    def __init__(self, status: int, data: bytes, body_length: int) -> None:
        self.status, self._data, self.body_length, self.keep_alive = status, data, body_length, True

    async def prepare(self, request: web.BaseRequest) -> None:
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client has gone")  # as aiohttp's own writer reports it
        transport.write(self._data)

    async def write_eof(self, data: bytes = b"") -> None:
        """Nothing is left to send: ``prepare`` wrote it all."""


def json_answer(
    request: web.BaseRequest, encoded: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """A 200 or 206 answer of already encoded JSON, with the server's own ``headers`` (never the client's:
    they are written as they are)."""
    transport = request.transport
    if (
        not WRITES_DIRECTLY
        or request.version != HttpVersion11
        or not request.keep_alive
        or transport is None
        or transport.get_write_buffer_size()
    ):
        return json_response(None, status, headers, encoded=encoded)
    named = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode() if headers else b""
    head = STATUS_LINES[status] + named + HEAD_END % (len(encoded), _Clock.now())
    # not a StreamResponse, but all of one that aiohttp's request handler and the access log use
    return cast(web.StreamResponse, DirectAnswer(status, head + encoded, len(encoded)))
