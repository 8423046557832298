"""Filter fuzzing suite: opt-in with ``-m fuzz``; uses the harness's ``api_roots`` and ``http_session``.

When the harness plugin does not provide those fixtures, the suite falls back to ``PYTEST_BASE_URL``
(standard base paths) or, without it, to a reference server started on a free loopback port.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

import harness.fuzz  # noqa: F401  (registers the ci and thorough profiles before --hypothesis-profile is read)
import tmfapis


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: Hypothesis fuzzing of list filters (opt-in: -m fuzz)")
    for api in tmfapis.apis():
        config.addinivalue_line("markers", f"{api.id}: tests of {api.name}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave fuzz tests out unless the ``-m`` expression names them."""
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("fuzz") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def _plugin_fixture(request: pytest.FixtureRequest, name: str) -> object | None:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return None


@pytest.fixture(scope="session")
def fuzz_api_roots(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """API id -> API root URL ending with "/": the harness's, the environment's, or a reference server's."""
    roots = _plugin_fixture(request, "api_roots")
    if isinstance(roots, dict):
        yield roots
        return
    base_url = os.environ.get("PYTEST_BASE_URL", "").rstrip("/")
    if base_url:
        yield {api.id: f"{base_url}{api.base_path}" for api in tmfapis.apis()}
        return
    import mockserver  # only when neither the harness nor the environment names a server

    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server:
        yield {api.id: f"{server.url}{api.base_path}" for api in tmfapis.apis()}


@pytest.fixture(scope="session")
def fuzz_session(request: pytest.FixtureRequest) -> Iterator[requests.Session]:
    """The harness's configured session, or a plain one."""
    session = _plugin_fixture(request, "http_session")
    if isinstance(session, requests.Session):
        yield session
        return
    with requests.Session() as plain:
        yield plain
