"""Fuzzing's outcome in the run record and both reports: targets, examples run, failures with their reproduction."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from report_samples import HOSTILE, REPO, elements

import mockserver
from harness.reports.certification import render_statement
from harness.reports.fuzz import fuzz_blocks, render_fuzz
from harness.reports.html import render_report
from tests.support.fault_proxy import start_fault_proxy


def fuzz_run(directory: Path, *options: str) -> dict[str, Any]:
    """Fuzz the customer filters only (no kit request) and return the run record."""
    command = [
        sys.executable, "-m", "pytest", "harness/suites", "-m", "fuzz", "-k", "customer", "-q",
        "-p", "no:cacheprovider", "--ctk-report", str(directory), *options,
    ]  # fmt: skip
    hermetic = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(directory / "hypothesis")}  # not <repo>/.hypothesis
    result = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True, timeout=300, env=hermetic)
    assert (directory / "summary.json").exists(), result.stdout[-3000:] + result.stderr[-3000:]
    summary: dict[str, Any] = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    summary["exit_code"] = result.returncode
    return summary


@pytest.fixture(scope="module")
def reference_server() -> Iterator[mockserver.BackgroundServer]:
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server:
        yield server


def test_a_passing_fuzz_run_records_its_targets_and_examples(tmp_path: Path) -> None:
    summary = fuzz_run(tmp_path)
    assert summary["exit_code"] == 0
    block = summary["apis"]["tmf629"]
    assert block["fuzz"]["targets"] == ["customer"] and block["fuzz"]["failures"] == []
    assert block["fuzz"]["examples"] >= 10
    # the kit did not run: the API is incomplete, not passed
    assert block["verdict"] == "incomplete" and block["collection"] == "CTK-Customer-4.0.0"
    for page in (tmp_path / "report.html", tmp_path / "certification" / "tmf629.html"):
        (section,) = elements(page.read_text(encoding="utf-8"), "section", class_="fuzz")
        assert section["data-fuzz-failures"] == "0"
        assert section["data-fuzz-examples"] == str(block["fuzz"]["examples"])


def test_a_fuzz_failure_carries_its_reproduction_into_both_reports(
    tmp_path: Path, reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "filter_ignored") as proxy:
        summary = fuzz_run(tmp_path, "--base-url", proxy.url)
    assert summary["exit_code"] == 1
    (failure,) = summary["apis"]["tmf629"]["fuzz"]["failures"]
    assert failure["target"] == "customer"
    reproduction = failure["reproduction"]
    assert reproduction.startswith(f"GET {proxy.url}") and "Reproduce: create these instances" in reproduction
    assert "state.add_instance(" in reproduction  # Hypothesis's shrunk steps come along
    shown = html.escape(reproduction.splitlines()[0])
    for page in (tmp_path / "report.html", tmp_path / "certification" / "tmf629.html"):
        document = page.read_text(encoding="utf-8")
        (section,) = elements(document, "section", class_="fuzz")
        assert section["data-fuzz-failures"] == "1"
        assert shown in document


def test_outcomes_add_up_per_api() -> None:
    outcomes = [
        {"api": "tmf635", "target": "usage", "examples": 20, "reproduction": ""},
        {"api": "tmf635", "target": "usageSpecification", "examples": 31, "reproduction": "GET x\n  expected [1]"},
        {"api": "tmf629", "target": "customer", "examples": 5, "reproduction": ""},
    ]
    assert fuzz_blocks(outcomes) == {
        "tmf635": {
            "targets": ["usage", "usageSpecification"],
            "examples": 51,
            "failures": [{"target": "usageSpecification", "reproduction": "GET x\n  expected [1]"}],
        },
        "tmf629": {"targets": ["customer"], "examples": 5, "failures": []},
    }


def test_fuzz_text_is_escaped(passing_summary: dict[str, Any]) -> None:
    block = {"targets": [HOSTILE], "examples": 3, "failures": [{"target": HOSTILE, "reproduction": HOSTILE}]}
    assert HOSTILE not in render_fuzz(block) and html.escape(HOSTILE) in render_fuzz(block)
    passing_summary["apis"]["tmf681"]["fuzz"] = block
    for document in (render_report(passing_summary), render_statement(passing_summary, "tmf681")):
        assert HOSTILE not in document
        assert not elements(document, "script") and not elements(document, "img")
