"""Telling the harness's pre-flight probes apart from the requests of the run, in a test server.

The pre-flight sends ``GET <root><resource>`` without a query to every root before any test runs, and each of
the five kits begins with a POST; so a GET without a query is a probe exactly when the server has been sent
nothing else yet.
"""

from __future__ import annotations

import threading

__all__ = ["ProbeSpotter"]


class ProbeSpotter:
    """``is_probe`` says whether a request is one of the pre-flight's, from what the server was sent so far."""

    def __init__(self) -> None:
        self._run_started = False
        self._lock = threading.Lock()

    def is_probe(self, method: str, path: str) -> bool:
        probe = method == "GET" and "?" not in path
        with self._lock:
            self._run_started = self._run_started or not probe
            return probe and not self._run_started
