"""Telling the harness's pre-flight probe apart from the requests of the run, in a test server.

The probe is ``GET <root><resource>`` without a query, the URL the kit first POSTs to, before any other request
to that URL; the kit's own requests to it come after (a POST first), so the first request a server sees on a
URL is the probe exactly when it is a GET without a query.
"""

from __future__ import annotations

import threading

__all__ = ["FirstReads"]


class FirstReads:
    """Remembers the URLs a server was asked for; ``is_probe`` says whether a request is the pre-flight's."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def is_probe(self, method: str, path: str) -> bool:
        with self._lock:
            first = path not in self._seen
            self._seen.add(path)
        return first and method == "GET" and "?" not in path
