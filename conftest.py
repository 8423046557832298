"""Runs the five CTK suites with the harness plugin; without --base-url, against the embedded reference server."""

from __future__ import annotations

import pytest

from harness.hooks import EmbeddedServer

pytest_plugins = ["harness.plugin", "pytester", "harness.fuzz"]


def pytest_ctk_embedded_server(config: pytest.Config) -> EmbeddedServer:
    import mockserver

    server = mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False))
    return EmbeddedServer(url=server.url, stop=server.stop)
