"""A tiny event listener on 127.0.0.1 that records what the server POSTs to it."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

WAIT_S = 5


class Listener:
    """Records received events; can fail the first N deliveries or hold them until released."""

    def __init__(self, failures: int = 0) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.attempts = 0
        self.failures = failures
        self.gate = threading.Event()
        self.gate.set()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.gate.wait(WAIT_S)
                owner.attempts += 1
                if owner.attempts <= owner.failures:
                    self.send_response(500)
                else:
                    owner.received.put(json.loads(body))
                    self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/listener"
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self._http.shutdown()
        self._http.server_close()

    def next(self) -> dict[str, Any]:
        """The next event received, waiting up to a deadline."""
        return self.received.get(timeout=WAIT_S)

    def events(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` events, sorted by event type (deliveries may arrive in any order)."""
        deadline = time.monotonic() + WAIT_S
        got = [self.received.get(timeout=max(0.0, deadline - time.monotonic())) for _ in range(count)]
        return sorted(got, key=lambda event: event["eventType"])
