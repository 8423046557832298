"""Filter fuzzing suite, opt-in: ``pytest -m fuzz [--hypothesis-profile ci|thorough] [--base-url URL]``.

It runs against the harness's ``api_roots`` with its ``http_session`` (the embedded reference server
when no base URL is given) and is left out of every run whose ``-m`` expression does not name ``fuzz``.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave fuzz tests out unless the ``-m`` expression names them."""
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    left_out = [item for item in items if item.get_closest_marker("fuzz") is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.get_closest_marker("fuzz") is None]
