"""Loopback HTTP servers for tests: a handler class served on a free 127.0.0.1 port in a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

__all__ = ["forward", "serve_in_thread"]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the kits and the ports' lanes connect at once; 5, the default, resets connections


@contextmanager
def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port and yield its base URL; stop the server on exit."""
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def forward(method: str, url: str, **options: Any) -> requests.Response:
    """Send a request on to a loopback server, without reading the environment: requests iterates os.environ for each
    request (for proxies) while an in-process pytest run beside it changes it (PYTEST_CURRENT_TEST), a KeyError."""
    with requests.Session() as session:
        session.trust_env = False
        return session.request(method, url, **options)
