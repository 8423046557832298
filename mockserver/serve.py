"""Running the app: in a background thread (tests, the harness) or in the foreground (the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from types import TracebackType
from typing import ClassVar, Self, TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from mockserver.app import create_app
from mockserver.config import ServerConfig

__all__ = ["BackgroundServer", "bind", "serve_forever", "start_background"]

ACCESS_LOG_FORMAT = '%a %t "%r" %s %b %Tf'  # what the lines of AccessLog hold
ACCESS_LOG_BUFFER = 1 << 16  # bytes of access log lines written at once
ACCESS_LOG_FLUSH_S = 0.5  # a line waits at most this long for the buffer to be written
CREDENTIAL_WORDS = ("authorization", "api-key", "api_key", "apikey", "token", "secret", "password")
STOP_TIMEOUT_S = 10
SHUTDOWN_TIMEOUT_S = 2  # how long open connections may finish at shutdown


def bind(config: ServerConfig) -> tuple[socket.socket, ServerConfig]:
    """A listening socket for the configured address, and the config with the real port filled in."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.create_server((config.host, config.port), family=family)
    return sock, replace(config, port=sock.getsockname()[1])


def base_url(config: ServerConfig) -> str:
    """The URL of a bound server (``http://127.0.0.1:PORT``)."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{host}:{config.port}"


class AccessLog(AbstractAccessLogger):
    """One line per request, cheap to make: client address, request line, status, body bytes, seconds.

    It never shows headers, so never a key. From the command line, a line that the log filters would
    leave as it is (printable, naming no credential) is written straight to ``sink``; any other line,
    and every line elsewhere (tests, an embedding program), goes through the logger and its filters.
    """

    sink: ClassVar[BufferedLines | None] = None

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        version = request.version
        line = (
            f'{request.remote} "{request.method} {request.raw_path} HTTP/{version.major}.{version.minor}"'
            f" {response.status} {response.body_length} {time:.6f}"
        )
        sink = AccessLog.sink
        if sink is None or not sink.write_plain(line):
            self.logger.info(line)


class BufferedLines(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes log lines through a large buffer, emptied by ``drain`` rather than after every line."""

    def __init__(self, stream: TextIO, secret: str | None) -> None:
        super().__init__(stream)
        self.stream: TextIO = stream
        self._secret = secret
        self._second = -1
        self._stamp = ""

    def flush(self) -> None:
        """Called after every line by ``emit``: the buffer is kept."""

    def drain(self) -> None:
        """Write out the buffered lines."""
        super().flush()

    def write_plain(self, line: str) -> bool:
        """Write a line that needs no filtering, as the formatter would; False when it may need some."""
        lowered = line.lower()
        if not line.isprintable() or any(word in lowered for word in CREDENTIAL_WORDS):
            return False
        if self._secret and self._secret in line:
            return False
        now = time.time()
        if int(now) != self._second:  # the formatter's asctime, made once a second
            self._second = int(now)
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        self.stream.write(f"{self._stamp},{int(now % 1 * 1000):03d} mockserver.access {line}\n")
        return True


@contextlib.contextmanager
def buffered_access_log(config: ServerConfig) -> Iterator[BufferedLines | None]:
    """While serving from the command line, access log lines go to stderr through a buffer."""
    if not config.access_log:
        yield None
        return
    logger = logging.getLogger("mockserver.access")
    stream = open(  # noqa: SIM115 - closed below, while stderr itself stays open
        sys.stderr.fileno(), "w", buffering=ACCESS_LOG_BUFFER, encoding="utf-8", closefd=False
    )
    handler = BufferedLines(stream, config.api_key)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    AccessLog.sink = handler
    try:
        yield handler
    finally:
        AccessLog.sink = None
        logger.removeHandler(handler)
        logger.propagate = True
        handler.drain()
        stream.close()


def make_runner(config: ServerConfig) -> web.AppRunner:
    """An AppRunner for the app, with a cheap access log that never shows headers (so never a key)."""
    access_log = logging.getLogger("mockserver.access") if config.access_log else None
    return web.AppRunner(
        create_app(config),
        access_log=access_log,
        access_log_class=AccessLog,
        access_log_format=ACCESS_LOG_FORMAT,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        handle_signals=False,
    )


class BackgroundServer:
    """A server running in a daemon thread with its own event loop; stop it with ``stop()``."""

    def __init__(self, config: ServerConfig) -> None:
        sock, self.config = bind(config)
        self.url = base_url(self.config)
        self._loop = asyncio.new_event_loop()
        try:
            self._runner = make_runner(self.config)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        except BaseException:
            sock.close()
            self._loop.close()
            raise
        self._thread = threading.Thread(target=self._loop.run_forever, name="mockserver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shut the server down (pending event deliveries are cancelled) and join its thread."""
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(STOP_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT_S)
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def start_background(config: ServerConfig) -> BackgroundServer:
    """Start a server in a background thread; ``port=0`` picks a free port, see ``.url``."""
    return BackgroundServer(config)


async def serve_forever(config: ServerConfig) -> None:
    """Serve until SIGINT or SIGTERM, printing the URL first (flushed) so callers can find the port."""
    sock, config = bind(config)
    runner = make_runner(config)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"listening on {base_url(config)}", flush=True)
    with buffered_access_log(config) as lines:
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), ACCESS_LOG_FLUSH_S)
                if lines is not None:
                    lines.drain()
        finally:
            await runner.cleanup()
