"""Imported before pytester's in-process runs snapshot sys.modules: PyYAML's C loader keeps the classes of its first
import, so a yaml first imported inside such a run, and dropped after it, would fail to load anything once imported
again ("could not determine a constructor for the tag None").

Under pytest-xdist (``-n``), the tests of a module sharing a costly module fixture go to one worker, so the fixture is
made once; every other test goes alone to whichever worker is free, after those modules."""

from typing import Any

import pytest
import yaml  # noqa: F401
from xdist.scheduler import LoadScopeScheduling

# A wheel built and installed, real runs of the suites, a gzip bomb built, an Allure project run.
SHARED_FIXTURE_MODULES = (
    "tests/harness/test_hostile.py",
    "tests/packaging/test_wheel.py",
    "tests/reports/test_allure_results.py",
    "tests/reports/test_report_in_chromium.py",
    "tests/reports/test_run_outputs.py",
)


class SharedFixturesTogether(LoadScopeScheduling):
    """xdist's scheduling by scope (units ordered by their number of tests), a module being a scope only where it
    shares a costly fixture; any other test is a scope of its own."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if module in SHARED_FIXTURE_MODULES else nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling | None:
    return SharedFixturesTogether(config, log) if config.getvalue("dist") == "load" else None
