"""Fixtures to run suites with their spec tier as a user would: a pytester run against a loopback server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.suite_runs import copy_suites, reference_server

__all__ = ["SuiteRun", "reference_server", "run_suites"]


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """One pytester run: its result and the run record it wrote."""

    result: pytest.RunResult
    summary: dict[str, Any]

    def spec_checks(self, api_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(request name, check) for every spec-tier check of one API, kit requests and scenarios alike."""
        return [
            (request["name"], check)
            for request in self.summary["apis"][api_id]["requests"]
            for check in request["checks"]
            if check["tier"] == "spec"
        ]

    def deviations(self, api_id: str) -> set[str]:
        return {check["name"] for _, check in self.spec_checks(api_id) if check["outcome"] == "failed"}


@pytest.fixture
def run_suites(pytester: pytest.Pytester) -> Callable[..., SuiteRun]:
    """Copy the named suites into a fresh directory and run them with the harness plugin."""

    def run(*args: str, suites: tuple[str, ...]) -> SuiteRun:
        copy_suites(pytester.path, suites)
        report = pytester.path / "report"
        result = pytester.runpytest(
            "-p", "no:cacheprovider", "--ctk-report", str(report), *args
        )
        summary_path = report / "summary.json"
        assert summary_path.exists(), result.stdout.str()
        return SuiteRun(result, json.loads(summary_path.read_text(encoding="utf-8")))

    return run
