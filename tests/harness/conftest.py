"""Fixtures to run the CTK suites as a user would: in a pytester run against a server on a free loopback port."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.suite_runs import REPO, SUITES, copy_suites, reference_server

__all__ = ["REPO", "SUITES", "SUITE_NAMES", "CtkRun", "reference_server", "run_ctk"]

SUITE_NAMES = ("ctk681", "ctk629", "ctk683", "ctk622", "ctk635")


@dataclass(frozen=True, slots=True)
class CtkRun:
    """One pytester run of suites: its result and the run record it wrote (None when it wrote none)."""

    result: pytest.RunResult
    summary: dict[str, Any] | None

    def checks(self, api_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(request name, check) for every check of one API."""
        assert self.summary is not None, self.result.stdout.str()
        return [
            (request["name"], check)
            for request in self.summary["apis"][api_id]["requests"]
            for check in request["checks"]
        ]

    def failed_checks(self, api_id: str) -> set[str]:
        return {
            check["name"]
            for _, check in self.checks(api_id)
            if check["outcome"] == "failed" and check["tier"] == "ctk"
        }


@pytest.fixture
def run_ctk(pytester: pytest.Pytester) -> Callable[..., CtkRun]:
    """Copy the named suites into a fresh directory and run their CTK tier (``-m ctk``) with the harness plugin."""

    def run(*args: str, suites: tuple[str, ...] = SUITE_NAMES) -> CtkRun:
        copy_suites(pytester.path, suites)
        report = pytester.path / "report"
        result = pytester.runpytest(
            "-p", "no:cacheprovider", "-m", "ctk", "--ctk-report", str(report), *args
        )
        summary_path = report / "summary.json"
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
        return CtkRun(result, summary)

    return run
