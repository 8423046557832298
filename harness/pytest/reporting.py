"""Writes the HTML report at the end of a run and names it in the terminal summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ReportError
from harness.reports.html import write_report

REPORT_LINE = pytest.StashKey[str]()


def pytest_ctk_run_done(config: pytest.Config, summary: dict[str, Any], report_dir: Path) -> None:
    """Write the HTML report beside the run record; the terminal summary names it."""
    try:
        config.stash[REPORT_LINE] = f"HTML report: {write_report(summary, Path(report_dir))}"
    except (ReportError, OSError) as exc:
        config.stash[REPORT_LINE] = f"HTML report not written: {exc}"


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if REPORT_LINE in config.stash:
        terminalreporter.write_line(config.stash[REPORT_LINE])
