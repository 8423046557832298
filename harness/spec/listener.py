"""The callback listener of the spec tier: an HTTP server on this machine that servers POST hub events to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CallbackListener", "listener_host"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def listener_host(api_root: str, callback_host: str | None) -> str | None:
    """Where to listen: ``--callback-host``, or 127.0.0.1 for a loopback server; None when events cannot arrive."""
    if callback_host:
        return callback_host
    return "127.0.0.1" if (urlsplit(api_root).hostname or "") in LOOPBACK_HOSTS else None


class CallbackListener:
    """An HTTP listener the servers POST events to; it keeps every JSON body it receives."""

    def __init__(self, host: str) -> None:
        self._events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = json.loads(body)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    with owner._changed:
                        owner._events.append(event)
                        owner._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer((host, 0), Handler)
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self._http.server_address[1]}/tmf-events"
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, event_type: str, instance_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The first event of that type about that instance, waiting up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for event in self._events:
                    if event.get("eventType") == event_type and _is_about(event, instance_id):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def summary(self) -> str:
        with self._changed:
            types = [str(event.get("eventType")) for event in self._events]
        return f"{len(types)} events ({', '.join(dict.fromkeys(types)) or 'none'})"


def _is_about(event: Mapping[str, Any], instance_id: str) -> bool:
    payload = event.get("event")
    return isinstance(payload, dict) and any(
        isinstance(value, dict) and value.get("id") == instance_id for value in payload.values()
    )
