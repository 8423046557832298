"""Fixtures for the reference server's HTTP tests: a real server on a free loopback port per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from served import Running

from mockserver import ServerConfig, start_background


@pytest.fixture(params=["memory", "sqlite"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> ServerConfig:
    """A server configuration on a free port, once per storage backend."""
    db_path = tmp_path / "store.sqlite" if request.param == "sqlite" else None
    return ServerConfig(port=0, db_path=db_path, access_log=False, event_timeout_s=2, event_retries=1)


@pytest.fixture
def server(config: ServerConfig) -> Iterator[Running]:
    """A reference server on both backends, stopped after the test."""
    with start_background(config) as running, requests.Session() as http:
        yield Running(running.url, running.config, http)


@pytest.fixture
def memory_config() -> ServerConfig:
    """A memory-only configuration for tests that do not depend on the backend."""
    return ServerConfig(port=0, access_log=False, event_timeout_s=2, event_retries=1)
