"""The HTML report and the certification pack rendered by headless Chromium: handmade records and real runs
(every suite passing; the sample failing behind a fault proxy), read from the live DOM, with screenshots under tmp_path."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from report_samples import CHROMIUM, REPO, SAMPLE, chromium, elements, tool_or_skip

import mockserver
from harness.reports.certification import resource_of
from harness.reports.html import write_report
from tests.support.differential import ported
from tests.support.fault_proxy import start_fault_proxy

SHIPPED = list(ported())


def screenshot(page: Path, tmp_path: Path, name: str, height: int = 2000) -> Path:
    """A screenshot of ``page`` kept under ``tmp_path`` (tests write nothing into the repository)."""
    shot = tmp_path / "screenshots" / f"{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    chromium(page, tmp_path / "profile", f"--screenshot={shot}", f"--window-size=1280,{height}")
    assert shot.stat().st_size > 10_000
    return shot


def render(summary: dict[str, Any], tmp_path: Path, name: str) -> str:
    """Dump the DOM Chromium builds from the report and take a screenshot of it."""
    page = write_report(summary, tmp_path)
    dom = chromium(page, tmp_path / "profile", "--dump-dom")
    screenshot(page, tmp_path, f"report-{name}")
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


@dataclass(frozen=True, slots=True)
class Run:
    """The reports a real run of the suites left, and its run record."""

    report_dir: Path
    exit_code: int

    @property
    def summary(self) -> dict[str, Any]:
        record: dict[str, Any] = json.loads((self.report_dir / "summary.json").read_text(encoding="utf-8"))
        return record


def run_suites(report_dir: Path, *options: str) -> Run:
    command = [sys.executable, "-m", "pytest", "harness/suites", "-q", "-p", "no:cacheprovider",
               "--ctk-report", str(report_dir), *options]
    result = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert (report_dir / "summary.json").exists(), result.stdout[-3000:] + result.stderr[-3000:]
    return Run(report_dir, result.returncode)


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Every packaged suite against the embedded reference server."""
    tool_or_skip(CHROMIUM, "Chromium")
    return run_suites(tmp_path_factory.mktemp("passing-run"))


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The sample's suites against the reference server behind a proxy that answers every create with 200, not 201."""
    tool_or_skip(CHROMIUM, "Chromium")
    with (
        mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server,
        start_fault_proxy(server.url, "wrong_status") as proxy,
    ):
        yield run_suites(tmp_path_factory.mktemp("failing-run"), "--base-url", proxy.url, "--api", ",".join(SAMPLE))


def bodies(dom: str, kind: str) -> list[str]:
    """The text of each ``<pre data-body="kind">`` (request or response), in one pass over the page."""
    return re.findall(rf'<pre\b[^>]*\bdata-body="{kind}"[^>]*>(.*?)</pre>', dom, re.DOTALL)


@pytest.mark.parametrize("run_name", ["passing_run", "failing_run"])
def test_report_of_a_real_run_shows_bodies_collections_and_agreeing_counts(
    run_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run: Run = request.getfixturevalue(run_name)
    summary = run.summary
    assert run.exit_code == (0 if run_name == "passing_run" else 1)
    page = run.report_dir / "report.html"
    dom = chromium(page, tmp_path / "profile", "--dump-dom")
    screenshot(page, tmp_path, f"{run_name}-report", height=3000)
    assert elements(dom, "body")[0]["data-verdict"] == ("passed" if run_name == "passing_run" else "failed")
    records = [record for block in summary["apis"].values() for record in block["requests"]]
    assert len(elements(dom, "article", class_="request")) == len(records)
    sections = dict(zip(summary["apis"], dom.split('<section class="api"')[1:], strict=True))
    for api_id, block in summary["apis"].items():
        part = sections[api_id]
        (section,) = elements("<section" + part, "section", data_api=api_id)
        assert section["data-failed-requests"] == str(block["totals"]["failed_requests"])
        assert block["collection"].startswith("CTK-") and f"<dd>{block['collection']}</dd>" in part
        # the one failed-request count: the figure, the folders and the requests drawn failed agree
        folders = [f for f in elements(part, "details", class_="folder") if f["data-folder"] != "SPEC"]
        kit_articles = part[: part.find('data-folder="SPEC"')] if 'data-folder="SPEC"' in part else part
        drawn_failed = len(elements(kit_articles, "article", data_outcome="failed"))
        assert sum(int(f["data-failed"]) for f in folders) == block["totals"]["failed_requests"] == drawn_failed
    # what was sent and what came back: every create's body, and the bodies of the answers
    sent = bodies(dom, "request")
    received = bodies(dom, "response")
    creates = [r for r in records if r["method"] == "POST" and r["status"] is not None]
    assert len(sent) >= len(creates) > 5
    assert sum("&quot;id&quot;" in body or '"id"' in body for body in received) >= len(creates)
    assert "Status 201" in dom if run_name == "passing_run" else "Status 200" in dom


def operation_states(dom: str) -> dict[tuple[str, str], str]:
    """(resource, operation) -> the state the statement's operations table shows."""
    rows = dom.split('<tr data-resource="')[1:]
    return {(row.split('"', 1)[0], cell["data-operation"]): cell["data-state"]
            for row in rows for cell in elements(row.split("</tr>", 1)[0], "td", class_="op")}


def check_statement(dom: str, api_id: str, block: dict[str, Any], passing: bool) -> None:
    """One API's statement agrees with its block of the run record: identity, totals, requests, operations."""
    body = elements(dom, "body")[0]
    assert (body["data-api"], body["data-collection"], body["data-verdict"]) == (api_id, block["collection"], block["verdict"])
    assert block["collection"] in dom
    totals = block["totals"]
    row = dom.split('data-row="requests"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">(\d+)<", row) == [str(totals["requests"]), str(totals["failed_requests"])]
    kit = [r for r in block["requests"] if r["folder"] != "SPEC"]
    articles = elements(dom, "article", class_="request")
    assert len(articles) == len(kit)
    assert sum(a["data-outcome"] == "failed" for a in articles) == totals["failed_requests"]
    states = operation_states(dom)
    created = {resource_of(api_id, r["name"]) for r in block["requests"]
               if r["method"] == "POST" and not r["skipped"] and r["status"] is not None}
    posts = {resource: state for (resource, op), state in states.items() if op == "POST"}
    if passing:
        # every resource the run created shows POST supported; no request exercised the others
        assert {resource for resource, state in posts.items() if state == "supported"} == created & set(posts), api_id
        assert set(states.values()) <= {"supported", "not observed", "not in the spec"}, api_id
    else:  # a create that depends on a failed one is not observed at all
        assert "failed" in posts.values() and "supported" not in posts.values(), api_id


@pytest.mark.parametrize("run_name", ["passing_run", "failing_run"])
def test_certification_pack_of_a_real_run_in_chromium(
    run_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run: Run = request.getfixturevalue(run_name)
    summary = run.summary
    passing = run_name == "passing_run"
    pages = sorted((run.report_dir / "certification").glob("*.html"))
    assert [page.stem for page in pages] == sorted(summary["apis"]) == sorted(SHIPPED if passing else SAMPLE)
    for page in pages:  # every statement as written; a sample of them as Chromium builds it
        check_statement(page.read_text(encoding="utf-8"), page.stem, summary["apis"][page.stem], passing)
    for page in pages[:: max(1, len(pages) // 4)]:
        check_statement(chromium(page, tmp_path / "profile", "--dump-dom"), page.stem, summary["apis"][page.stem], passing)
    statement = run.report_dir / "certification" / "tmf629.html"
    screenshot(statement, tmp_path, f"{run_name}-tmf629", height=2400)
    # what a vendor does with it: print it to PDF (A4, several pages)
    pdf = tmp_path / f"{run_name}-tmf629.pdf"
    chromium(statement, tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.read_bytes().startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) >= 3
