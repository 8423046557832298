"""Hooks the harness calls so reporters (run record, Allure, HTML) see every kit request once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy
import pytest

if TYPE_CHECKING:
    from harness.record import RequestRecord, RunJson

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_ctk_request_done(item: pytest.Item, record: RequestRecord) -> None:
    """Called inside the test of one kit request, after all its checks ran, with its record."""


@hookspec
def pytest_ctk_run_done(config: pytest.Config, summary: RunJson, report_dir: Path) -> None:
    """Called once at the end of the run, after ``summary.json`` was written to ``report_dir``."""


@hookspec(firstresult=True)
def pytest_ctk_embedded_server(config: pytest.Config) -> EmbeddedServer | None:
    """Start a server to run the suites against when no base URL is given; called at most once."""


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A server started for the run: its root URL and how to stop it."""

    url: str
    stop: Callable[[], None]
