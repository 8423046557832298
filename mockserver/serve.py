"""Running the app: in a background thread (tests, the harness) or in the foreground (the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from time import time as clock
from types import TracebackType
from typing import Any, ClassVar, Self, TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from mockserver import accesslines, direct, logsafe
from mockserver.app import create_app, reads_first
from mockserver.config import ServerConfig

__all__ = ["BackgroundServer", "bind", "new_event_loop", "run", "serve_forever", "start_background"]

ACCESS_LOG_FORMAT = '%a %t "%r" %s %b %Tf'  # what the lines of AccessLog hold
ACCESS_LOG_BUFFER = 1 << 16  # bytes of access log lines written at once
ACCESS_LOG_FLUSH_S = 0.5  # a line waits at most this long for the buffer to be written
# lines kept before they are written (at most ACCESS_LOG_FLUSH_S apart): the writer formats so many in under a
# millisecond, too short a turn to keep a process that shares its processor waiting (at 4,096, the client of a
# benchmark did, and the server waited for it: 3% of its time)
ACCESS_LOG_LINES_KEPT = 512
KEPT_FIELDS = ACCESS_LOG_LINES_KEPT * accesslines.FIELDS
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
    command line, the facts of each request are kept by ``sink``, which has them written out as lines in
    bulk, masked as the log's filter would; every line elsewhere (tests, an embedding program) goes
    through the logger and its filters at once.
    """

    sink: ClassVar[BufferedLines | None] = None
    # aiohttp makes an access logger for each connection: its client's address, read once (read off
    # each request, it was a quarter of the instructions the log cost a request)
    remote: str | None = None

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        remote = self.remote
        if remote is None:
            remote = self.remote = request.remote
        version = request.version
        line = (clock(), remote, request.method, request.raw_path, version.major, version.minor,
                response.status, response.body_length, time)  # a batch's fields (accesslines.Batch)
        sink = AccessLog.sink
        if sink is None:
            self.logger.info(accesslines.access_line(*line[1:]))
            return
        kept = sink.kept
        kept += line
        if len(kept) >= KEPT_FIELDS:
            sink.drain_kept()


class BufferedLines(logging.Handler):
    """Has access log lines written in bulk, by the writer process (``accesslines``) while it runs,
    else into ``stream``; emptied by ``drain`` rather than after every line."""

    def __init__(self, stream: TextIO, writer: subprocess.Popen[bytes] | None) -> None:
        super().__init__()
        self.stream = stream
        self.writer = writer
        self.kept: accesslines.Batch = []  # of AccessLog, written out before any other line

    def emit(self, record: logging.LogRecord) -> None:
        self.drain_kept()
        self._out(f"{self.format(record)}\n")

    def drain(self) -> None:
        """Write out the kept lines."""
        self.drain_kept()
        self.stream.flush()

    def drain_kept(self) -> None:
        """Write out the kept lines: the filter's test made once for all their paths; a batch that fails it
        is formatted here, masked."""
        kept, self.kept = self.kept, []
        if kept:
            alone = logsafe.leaves_alone(accesslines.paths(kept))
            self._out(kept if alone else accesslines.lines(kept, logsafe.SAFE_RECORDS.masked))

    def _out(self, batch: accesslines.Batch | str) -> None:
        """To the writer while it runs, else into the stream."""
        if self.writer is not None and not accesslines.send(self.writer, batch):
            self.writer.poll()  # reaped, if it has ended
            self.writer = None
            self.stream.write("access log writer stopped: the server writes its lines itself from now on\n")
        if self.writer is None:
            self.stream.write(batch if isinstance(batch, str) else accesslines.lines(batch))


@contextlib.contextmanager
def buffered_access_log(config: ServerConfig) -> Iterator[BufferedLines | None]:
    """While serving from the command line, access log lines go to stderr in bulk: through the writer
    process, or where it cannot run, through a buffer."""
    if not config.access_log:
        yield None
        return
    logger = logging.getLogger("mockserver.access")
    stream = open(  # noqa: SIM115 - closed below, while stderr itself stays open
        sys.stderr.fileno(), "w", buffering=ACCESS_LOG_BUFFER, encoding="utf-8", closefd=False
    )
    handler = BufferedLines(stream, accesslines.start_writer())
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
        if handler.writer is not None:
            assert handler.writer.stdin is not None
            handler.writer.stdin.close()  # the writer writes what it has and ends
            try:
                handler.writer.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                handler.writer.kill()


async def started_runner(config: ServerConfig) -> web.AppRunner:
    """The app started in a runner, with a cheap access log that never shows headers (so never a key),
    and reads answered before the router (``reads_first``) with an aiohttp release that was tested so."""
    access_log = logging.getLogger("mockserver.access") if config.access_log else None
    runner = web.AppRunner(
        create_app(config),
        access_log=access_log,
        access_log_class=AccessLog,
        access_log_format=ACCESS_LOG_FORMAT,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        handle_signals=False,
    )
    await runner.setup()
    assert runner.server is not None
    if direct.WRITES_DIRECTLY:  # the aiohttp releases this was tested with; any other routes every request
        runner.server.request_handler = reads_first(runner.app, runner.server.request_handler)
    return runner


class BackgroundServer:
    """A server running in a daemon thread with its own event loop; stop it with ``stop()``."""

    def __init__(self, config: ServerConfig) -> None:
        sock, self.config = bind(config)
        self.url = base_url(self.config)
        # asyncio's own loop: an embedding program's (and the tests') socket and DNS hooks see its traffic
        self._loop = asyncio.new_event_loop()
        try:
            self._runner = self._loop.run_until_complete(started_runner(self.config))
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
    try:
        runner = await started_runner(config)
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
    if not direct.WRITES_DIRECTLY:
        print(direct.untested_notice(), file=sys.stderr, flush=True)
    with buffered_access_log(config) as lines:
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), ACCESS_LOG_FLUSH_S)
                if lines is not None:
                    lines.drain()
        finally:
            await runner.cleanup()
