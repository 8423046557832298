"""Running the app: in a background thread (tests, the harness) or in the foreground (the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from types import TracebackType
from typing import Any, ClassVar, Self, TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http import HttpVersion

from mockserver import logsafe
from mockserver.app import create_app
from mockserver.config import ServerConfig

__all__ = ["BackgroundServer", "bind", "new_event_loop", "run", "serve_forever", "start_background"]

ACCESS_LOG_FORMAT = '%a %t "%r" %s %b %Tf'  # what the lines of AccessLog hold
ACCESS_LOG_BUFFER = 1 << 16  # bytes of access log lines written at once
ACCESS_LOG_FLUSH_S = 0.5  # a line waits at most this long for the buffer to be written
ACCESS_LOG_LINES_KEPT = 1024  # lines kept before they are written (at most ACCESS_LOG_FLUSH_S apart)
STOP_TIMEOUT_S = 10
SHUTDOWN_TIMEOUT_S = 2  # how long open connections may finish at shutdown


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop the server runs on: uvloop's where it is installed (it answers some 15% more
    requests a second than asyncio's own; ``python benchmarks/bench_server.py`` prints both), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on the server's loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main)


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
    """One line per request, cheap to make: client address, request line, status, body bytes, seconds
    (to the millisecond: uvloop's clock counts no finer).

    It never shows headers, so never a key. Of a line, only the request's path comes from the client
    (the address, a method the parser knows, the version and the numbers are the server's). From the
    command line, the facts of each request are kept by ``sink``, which writes them out as lines in
    bulk, masked as the log's filter would; every line elsewhere (tests, an embedding program) goes
    through the logger and its filters at once.
    """

    sink: ClassVar[BufferedLines | None] = None

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        facts = (request.remote, request.method, request.raw_path, request.version, response.status, response.body_length, time)
        sink = AccessLog.sink
        if sink is None:
            self.logger.info(access_line(*facts))
        else:
            sink.keep(facts)


def access_line(
    remote: str | None, method: str, path: str, version: HttpVersion, status: int, length: int, seconds: float
) -> str:
    """The text of an access log line."""
    return f'{remote} "{method} {path} HTTP/{version.major}.{version.minor}" {status} {length} {seconds:.3f}'


class BufferedLines(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes log lines in large writes, emptied by ``drain`` rather than after every line."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.stream: TextIO = stream
        self._kept: list[tuple[Any, ...]] = []  # of keep, written out in order before any other line

    def flush(self) -> None:
        """Called after every line by ``emit``: the buffer is kept."""

    def emit(self, record: logging.LogRecord) -> None:
        self._write_kept()
        super().emit(record)

    def drain(self) -> None:
        """Write out the buffered lines."""
        self._write_kept()
        super().flush()

    def keep(self, facts: tuple[Any, ...]) -> None:
        """Keep the facts of an access line (``access_line``'s arguments) and the time they came."""
        self._kept.append((facts, time.time()))
        if len(self._kept) >= ACCESS_LOG_LINES_KEPT:
            self._write_kept()

    def _write_kept(self) -> None:
        """The kept lines, as the formatter and the log's filter would write them (the start of a line made
        once a millisecond)."""
        if not self._kept:
            return
        kept, self._kept = self._kept, []
        # the filter's test made once for all the paths; only if that fails is each line masked
        alone = logsafe.leaves_alone("".join([facts[2] for facts, _ in kept]))
        second, millisecond, moment, start, lines = -1, -1, "", "", []
        for facts, now in kept:
            if int(now * 1000) != millisecond:
                millisecond = int(now * 1000)
                if millisecond // 1000 != second:
                    second = millisecond // 1000
                    moment = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
                start = f"{moment},{millisecond % 1000:03d} mockserver.access "
            line = access_line(*facts)
            lines.append(f"{start}{line if alone else logsafe.SAFE_RECORDS.masked(line)}\n")
        self.stream.write("".join(lines))


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
    handler = BufferedLines(stream)
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
        # asyncio's own loop: an embedding program's (and the tests') socket and DNS hooks see its traffic
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
    # What start-up loaded (a million instances, say) is never walked by the collector again. Only
    # here, where the server owns the process: embedded, it would freeze its host program's objects too.
    gc.freeze()
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
