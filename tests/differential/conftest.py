"""Fixtures for running the official kits with Newman beside the CTK tier: one reference server per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mockserver
from tests.support.official_kits import require_kits


@pytest.fixture
def kits_present() -> None:
    """Skip (fail under CI=true) when the official kits or Newman are absent."""
    require_kits()


@pytest.fixture(scope="module")
def module_server() -> Iterator[mockserver.BackgroundServer]:
    """One reference server shared by a module's tests (each kit works in its own API's collections)."""
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server:
        yield server
