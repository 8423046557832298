"""Writes the HTML report and the certification pack at the end of a run and names them in the terminal summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ReportError
from harness.reports.rebuild import write_reports

REPORT_LINE = pytest.StashKey[str]()


def pytest_ctk_run_done(config: pytest.Config, summary: dict[str, Any], report_dir: Path) -> None:
    """Write the HTML report and the certification pack beside the run record; the terminal summary names them."""
    try:
        report, *pack = write_reports(summary, Path(report_dir))
    except (ReportError, OSError) as exc:
        config.stash[REPORT_LINE] = f"HTML report not written: {exc}"
        return
    where = pack[0].parent if pack else Path(report_dir)
    config.stash[REPORT_LINE] = f"HTML report: {report}\ncertification pack: {where} ({len(pack)} statement{'' if len(pack) == 1 else 's'})"


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(REPORT_LINE, "").splitlines():
        terminalreporter.write_line(line)
