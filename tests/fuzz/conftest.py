"""Fixtures for the fuzzing tests: one reference server per module on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

import tmfapis
from mockserver import ServerConfig, start_background


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    """The root URL of a reference server, stopped when the module's tests are done."""
    with start_background(ServerConfig(port=0, access_log=False)) as server:
        yield server.url


@pytest.fixture(scope="module")
def api_roots(reference_url: str) -> dict[str, str]:
    """API id -> API root URL on the reference server."""
    return {api.id: f"{reference_url}{api.base_path}" for api in tmfapis.apis()}


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One HTTP session per module."""
    with requests.Session() as session:
        yield session
