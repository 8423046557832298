"""The callback listener of the spec tier: an HTTP server on this machine that servers POST hub events to.

A run waits for an event in full once; while the listener has received no event at all after such a
wait, later waits are short (``SILENT_WAIT_S``): a server that delivers no events costs one wait, not
one per resource. Scenarios run side by side wait for a full wait under way to end before their own.
"""

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
SILENT_WAIT_S = 0.5  # a wait once a full wait brought no event at all


def listener_host(api_root: str, callback_host: str | None) -> str | None:
    """Where to listen: ``--callback-host``, or 127.0.0.1 for a loopback server; None when events cannot arrive."""
    if callback_host:
        return callback_host
    return "127.0.0.1" if (urlsplit(api_root).hostname or "") in LOOPBACK_HOSTS else None


class CallbackListener:
    """An HTTP listener the servers POST events to; it keeps every JSON body it receives."""

    def __init__(self, host: str) -> None:
        self._events: list[dict[str, Any]] = []
        self._silent = False  # a full wait ended with no event received at all
        self._full_wait = False  # a full wait is under way (scenarios run side by side wait for it)
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

    def wait_for(self, event_type: str, instance_id: str, timeout_s: float) -> tuple[dict[str, Any] | None, float]:
        """The first event of that type about that instance (or None) and how long it was waited for.

        The wait is ``timeout_s``, or ``SILENT_WAIT_S`` once a full wait of the run received no event at all.
        """
        with self._changed:
            while self._full_wait and self._found(event_type, instance_id) is None:
                self._changed.wait()  # a wait of another scenario is finding out whether events come at all
            silent = self._silent and not self._events
            wait_s = min(timeout_s, SILENT_WAIT_S) if silent else timeout_s
            if (event := self._found(event_type, instance_id)) is not None:
                return event, wait_s
            full = self._full_wait = not silent
            try:
                deadline = time.monotonic() + wait_s
                while (event := self._found(event_type, instance_id)) is None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._silent = self._silent or not self._events
                        return None, wait_s
                    self._changed.wait(left)
                return event, wait_s
            finally:
                if full:
                    self._full_wait = False
                    self._changed.notify_all()

    def _found(self, event_type: str, instance_id: str) -> dict[str, Any] | None:
        return next((event for event in self._events
                     if event.get("eventType") == event_type and _is_about(event, instance_id)), None)

    def summary(self) -> str:
        """What the listener received in the run, and why a wait was short."""
        with self._changed:
            types = [str(event.get("eventType")) for event in self._events]
            silent = self._silent and not types
        if silent:
            return "the listener received no event at all in this run (after one full wait, later waits are short)"
        return f"the listener received {len(types)} events in this run ({', '.join(dict.fromkeys(types)) or 'none'})"


def _is_about(event: Mapping[str, Any], instance_id: str) -> bool:
    payload = event.get("event")
    return isinstance(payload, dict) and any(
        isinstance(value, dict) and value.get("id") == instance_id for value in payload.values()
    )
