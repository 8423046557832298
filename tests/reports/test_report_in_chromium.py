"""The HTML report rendered by headless Chromium: verdicts and counts read from the live DOM, plus a screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from report_samples import REPO, chromium, elements, tool_or_skip

from harness.reports.html import write_report

SCREENSHOT_DIR = REPO / "reports" / "screenshots"


def render(summary: dict[str, Any], tmp_path: Path, name: str) -> str:
    """Dump the DOM Chromium builds from the report and keep a screenshot of it under ``reports/``."""
    page = write_report(summary, tmp_path)
    dom = chromium(page, tmp_path / "profile", "--dump-dom")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOT_DIR / f"report-{name}.png"
    screenshot.unlink(missing_ok=True)
    chromium(page, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert screenshot.stat().st_size > 10_000
    return dom


def counts(dom: str, api_id: str) -> dict[str, str]:
    """The totals Chromium shows for one API, from its section and its summary row, which must agree."""
    (section,) = elements(dom, "section", data_api=api_id)
    (row,) = elements(dom, "tr", data_api=api_id)
    keys = (
        "data-verdict",
        "data-requests",
        "data-failed-requests",
        "data-assertions",
        "data-failed-assertions",
    )
    assert {key: row[key] for key in keys} == {key: section[key] for key in keys}
    return {key.removeprefix("data-"): section[key] for key in keys}


@pytest.mark.parametrize("shape", ["passing", "failing"])
def test_chromium_shows_verdicts_and_totals(
    shape: str, tmp_path: Path, passing_summary: dict[str, Any], failing_summary: dict[str, Any]
) -> None:
    summary = passing_summary if shape == "passing" else failing_summary
    dom = render(summary, tmp_path, shape)
    assert elements(dom, "body")[0]["data-verdict"] == ("passed" if shape == "passing" else "failed")
    for api_id, block in summary["apis"].items():
        shown = counts(dom, api_id)
        totals = block["totals"]
        assert shown == {
            "verdict": block["verdict"],
            "requests": str(totals["requests"]),
            "failed-requests": str(totals["failed_requests"]),
            "assertions": str(totals["assertions"]),
            "failed-assertions": str(totals["failed_assertions"]),
        }
        # every request and every check of the record made it into the rendered page
        assert len(elements(dom, "article", class_="request")) == sum(
            len(b["requests"]) for b in summary["apis"].values()
        )
    failed_checks = elements(dom, "tr", data_outcome="failed")
    expected_failures = [
        c
        for b in summary["apis"].values()
        for r in b["requests"]
        for c in r["checks"]
        if c["outcome"] == "failed"
    ]
    assert len(failed_checks) == len(expected_failures)


def test_chromium_runs_no_vendor_markup(tmp_path: Path, hostile_summary: dict[str, Any]) -> None:
    dom = render(hostile_summary, tmp_path, "hostile")
    assert not elements(dom, "script") and not elements(dom, "img")
    assert len(elements(dom, "section", class_="api")) == 2


def test_a_missing_tool_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-browser"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="scripts/install-test-tools.sh"):
        tool_or_skip(missing, "Chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-such-browser"):
        tool_or_skip(missing, "Chromium")
