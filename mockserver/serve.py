"""Running the app: in a background thread (tests, the harness) or in the foreground (the CLI)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from dataclasses import replace
from types import TracebackType
from typing import Self

from aiohttp import web

from mockserver.app import create_app
from mockserver.config import ServerConfig

__all__ = ["BackgroundServer", "bind", "serve_forever", "start_background"]

ACCESS_LOG_FORMAT = '%a %t "%r" %s %b %Tf'
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


def make_runner(config: ServerConfig) -> web.AppRunner:
    """An AppRunner for the app, with an access log that never shows headers (so never a key)."""
    access_log = logging.getLogger("mockserver.access") if config.access_log else None
    return web.AppRunner(
        create_app(config),
        access_log=access_log,
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
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
