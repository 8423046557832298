"""The HTML certification report, built from handmade run records, and its rebuild command."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import report_samples
from report_samples import HOSTILE, REPO, ElementCollector, api_block, elements, request

from harness.errors import ReportError
from harness.record import BODY_LIMIT, PAYLOAD_FAULT, Exchange, RequestRecord, check_run_record
from harness.redact import Redactor
from harness.reports.html import REPORT_FILE, SUMMARY_FILE, render_report, write_report
from harness.reports.summary import of_payload, spec_block


def api_section(document: str, api_id: str) -> dict[str, str]:
    (section,) = elements(document, "section", data_api=api_id)
    return section


def test_passing_run_shows_passed_verdicts_and_totals(passing_summary: dict[str, Any]) -> None:
    document = render_report(passing_summary)
    assert elements(document, "body")[0]["data-verdict"] == "passed"
    communication = api_section(document, "tmf681")
    assert communication["data-verdict"] == "passed"
    assert (communication["data-requests"], communication["data-assertions"]) == ("3", "6")
    assert (communication["data-failed-requests"], communication["data-failed-assertions"]) == ("0", "0")
    assert [row["data-api"] for row in elements(document, "tr", class_="pass")] == ["tmf681", "tmf629"]
    assert not elements(document, data_outcome="failed")
    # passed folders are collapsed
    folders = elements(document, "details", class_="folder")
    assert len(folders) == 3 and not any("open" in folder for folder in folders)
    for text in (
        "TMF681 Communication",
        "CTK-Communication-4.0.0",
        "Tue 24 Nov 2026 09:00:00 UTC",
        "http://127.0.0.1:8080",
        "This operation runs POST /communicationMessage",
        "name is Geekhaven Club",
    ):
        assert html.escape(text) in document, text


def test_figures_match_the_newman_report(passing_summary: dict[str, Any]) -> None:
    document = render_report(passing_summary)
    # three requests of 2048 bytes and 12.5 ms each, as Newman shows data received and average time
    figures = {"data-received": "6.00KB", "average-response-time": "12ms", "run-duration": "38ms"}
    for figure, value in figures.items():
        section = document[document.index('data-api="tmf681"') :]
        start = section.index(f'data-figure="{figure}"')
        assert f"<b>{value}</b>" in section[start : start + 200], figure


def test_failing_run_shows_each_failure_with_expected_and_actual(failing_summary: dict[str, Any]) -> None:
    document = render_report(failing_summary)
    assert elements(document, "body")[0]["data-verdict"] == "failed"
    communication = api_section(document, "tmf681")
    assert communication["data-verdict"] == "failed"
    assert communication["data-failed-requests"] == "2"
    assert communication["data-failed-assertions"] == "2"
    assert communication["data-deviations"] == "1"
    assert api_section(document, "tmf629")["data-verdict"] == "passed"
    assert [row["data-api"] for row in elements(document, "tr", class_="fail")] == ["tmf681"]
    failed_checks = elements(document, "tr", data_outcome="failed")
    assert [check["data-tier"] for check in failed_checks] == ["ctk", "spec", "ctk"]
    assert 'Status code is 201<pre class="message">expected status 201, got 200</pre>' in document
    # folders holding a failure open themselves and stand out; the all-passed folder stays closed
    tmf681_folders = elements(document, "details", class_="folder")[:3]
    folders = {folder["data-folder"]: folder for folder in tmf681_folders}
    assert "open" in folders["N1"] and "fail" in folders["N1"]["class"].split()
    assert "open" in folders["N2"] and "open" not in folders["E1"]
    outcomes = [request["data-outcome"] for request in elements(document, "article", class_="request")]
    assert outcomes == ["failed", "failed", "skipped", "passed", "passed"]


def test_transport_errors_and_skips_are_spelled_out(failing_summary: dict[str, Any]) -> None:
    document = render_report(failing_summary)
    assert "Transport error: connection refused" in document
    assert "Skipped: IDCM01 is missing: POST /communicationMessage did not produce it" in document
    (refused,) = elements(document, "article", data_outcome="failed", data_status="")
    assert refused["data-failed-checks"] == "1"


def test_a_spec_deviation_alone_does_not_fail_a_request(passing_summary: dict[str, Any]) -> None:
    block = passing_summary["apis"]["tmf629"]
    block["requests"][0]["checks"].append(
        {"name": "Body is a Customer", "tier": "spec", "outcome": "failed", "message": "x"}
    )
    block["spec"] = spec_block(block["requests"])
    document = render_report(passing_summary)
    assert api_section(document, "tmf629")["data-deviations"] == "1"
    assert elements(document, "article", data_outcome="deviation")
    assert elements(document, "body")[0]["data-verdict"] == "passed"


def test_a_deviation_the_payload_caused_is_said_apart_from_the_servers(passing_summary: dict[str, Any]) -> None:
    block = passing_summary["apis"]["tmf629"]
    block["requests"][0]["checks"].append({"name": "Payload is a valid Customer_Create", "tier": "spec",
                                           "outcome": "failed", "message": f"{PAYLOAD_FAULT}: name is missing"})
    block["spec"] = spec_block(block["requests"])
    assert block["spec"] == {"checks": 1, "deviations": 0, "payload": 1, "verdict": "conforms"}
    document = render_report(passing_summary)
    assert api_section(document, "tmf629")["data-deviations"] == "0"
    assert "Deviations of the payload<b>1</b>" in document
    assert of_payload(block["spec"]) == "; 1 of the payload"


def test_hostile_strings_are_escaped_everywhere(hostile_summary: dict[str, Any]) -> None:
    document = render_report(hostile_summary)
    tags = {tag for tag, _ in _all_tags(document)}
    assert "script" not in tags and "img" not in tags
    assert not [name for _, attrs in _all_tags(document) for name in attrs if name.startswith("on")]
    assert HOSTILE not in document
    assert html.escape(HOSTILE) in document
    assert not [a for a in elements(document, "a") if not a["href"].startswith("#")]


def test_no_external_resources(failing_summary: dict[str, Any]) -> None:
    document = render_report(failing_summary)
    tags = _all_tags(document)
    assert not [tag for tag, _ in tags if tag in {"link", "script", "img", "iframe", "object"}]
    assert not [attrs for _, attrs in tags if "src" in attrs]
    assert "@import" not in document and "url(" not in document
    assert "default-src 'none'" in document


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s["apis"]["tmf681"].pop("totals"), "apis.tmf681 lacks 'totals'"),
    (lambda s: s["apis"]["tmf681"].update(verdict="certified"),
     "apis.tmf681.verdict should be one of 'passed', 'failed', 'incomplete', not 'certified'"),
    (lambda s: s.update(harness_version="0.1.0"), "the top level has the unknown key 'harness_version'"),
    (lambda s: s["apis"]["tmf681"]["requests"][0]["checks"][0].update(outcome="ok"),
     "apis.tmf681.requests[0].checks[0].outcome should be one of 'passed', 'failed'"),
    (lambda s: s["apis"]["tmf681"]["requests"][0].update(status="200"),
     "apis.tmf681.requests[0].status should be an integer or null, not '200'"),
])
def test_a_record_of_another_shape_is_a_report_error(
    edit: Callable[[dict[str, Any]], object], message: str, failing_summary: dict[str, Any]
) -> None:
    """The report reads only the shape the harness writes (``RunJson``): anything else is named in one line."""
    edit(failing_summary)
    with pytest.raises(ReportError, match=re.escape(message)) as raised:
        write_report(failing_summary, Path("/nonexistent"))
    assert "\n" not in str(raised.value)


def test_the_written_samples_have_the_run_record_shape(
    passing_summary: dict[str, Any], failing_summary: dict[str, Any], hostile_summary: dict[str, Any]
) -> None:
    for summary in (passing_summary, failing_summary, hostile_summary):
        assert check_run_record(summary) is summary


def test_the_spec_block_and_what_was_not_deleted_are_shown(passing_summary: dict[str, Any]) -> None:
    passing_summary["apis"]["tmf681"]["spec"] = {"checks": 3, "deviations": 1, "verdict": "deviates"}
    passing_summary["apis"]["tmf681"]["undeleted"] = ["http://x.example/customer/1: DELETE answered 405"]
    document = render_report(passing_summary)
    for text in ("spec", "deviates", "undeleted", "http://x.example/customer/1: DELETE answered 405"):
        assert f">{text}<" in document, text


def test_a_request_without_an_answer_is_failed_and_counted_alike_everywhere(passing_summary: dict[str, Any]) -> None:
    """A kit request that got no answer fails even when its step has no checks (every ``?fields=`` step)."""
    unanswered = request("N2", "/communicationMessage?fields=content", status=None, checks=[],
                         error="cannot connect to http://127.0.0.1:9/: Connection refused", duration_ms=0, size_bytes=0)
    block = passing_summary["apis"]["tmf681"]
    block["requests"].insert(1, unanswered)
    block.update({key: value for key, value in api_block(block["collection"], block["requests"], "failed").items()
                  if key in ("totals", "verdict")})
    document = render_report(passing_summary)
    section = api_section(document, "tmf681")
    failed_articles = elements(document, "article", data_outcome="failed")
    failed_in_folders = sum(int(folder["data-failed"]) for folder in elements(document, "details", class_="folder"))
    assert section["data-failed-requests"] == "1" == str(len(failed_articles)) == str(failed_in_folders)
    assert section["data-verdict"] == "failed" and elements(document, "body")[0]["data-verdict"] == "failed"
    assert "Transport error: cannot connect to" in document


def test_an_incomplete_run_is_neither_passed_nor_failed(passing_summary: dict[str, Any]) -> None:
    passing_summary["apis"]["tmf629"]["verdict"] = "incomplete"
    document = render_report(passing_summary)
    assert elements(document, "body")[0]["data-verdict"] == "incomplete"
    assert api_section(document, "tmf629")["data-verdict"] == "incomplete"
    assert next(badge["class"] for badge in elements(document, "span", class_="verdict")) == "verdict incomplete"
    assert not elements(document, "span", class_="fail")


def test_write_report_puts_the_file_next_to_the_summary(
    tmp_path: Path, passing_summary: dict[str, Any]
) -> None:
    path = write_report(passing_summary, tmp_path)
    assert path == tmp_path / REPORT_FILE
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def rebuild(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.reports", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_rebuild_command_writes_the_report(tmp_path: Path, failing_summary: dict[str, Any]) -> None:
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(failing_summary), encoding="utf-8")
    result = rebuild(str(tmp_path))
    assert result.returncode == 0, result.stderr
    pack = [tmp_path / "certification" / f"{api_id}.html" for api_id in failing_summary["apis"]]
    assert result.stdout.splitlines() == [str(tmp_path / REPORT_FILE), *map(str, pack)]
    assert (tmp_path / REPORT_FILE).read_text(encoding="utf-8") == render_report(failing_summary)
    assert all(path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") for path in pack)


def test_rebuild_command_gives_one_line_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "bad-json").mkdir()
    (tmp_path / "bad-json" / SUMMARY_FILE).write_text("{not json", encoding="utf-8")
    (tmp_path / "bad-shape").mkdir()
    (tmp_path / "bad-shape" / SUMMARY_FILE).write_text(
        '{"target": "t", "started": "s", "duration_s": 1, "apis": {"tmf681": {"collection": "c", "target": "t", '
        '"verdict": "passed", "totals": {"requests": 0, "failed_requests": 0, "assertions": 0, "failed_assertions": 0}, '
        '"spec": {"checks": 0, "deviations": 0, "verdict": "conforms"}, "requests": {}}}}', encoding="utf-8"
    )
    (tmp_path / "empty").mkdir()
    cases = {
        (): "usage: python -m harness.reports DIR",
        (str(tmp_path / "nowhere"),): "is not a directory",
        (str(tmp_path / "empty"),): "summary.json does not exist",
        (str(tmp_path / "bad-json"),): "is not valid JSON",
        (str(tmp_path / "bad-shape"),): "apis.tmf681.requests should be a list, not dict",
    }
    for args, expected in cases.items():
        result = rebuild(*args)
        assert result.returncode == 2, args
        assert expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not (tmp_path / "bad-json" / REPORT_FILE).exists()


def _all_tags(document: str) -> list[tuple[str, dict[str, str]]]:
    collector = ElementCollector()
    collector.feed(document)
    return collector.elements


def test_each_request_shows_what_was_sent_and_what_came_back(passing_summary: dict[str, Any]) -> None:
    document = render_report(passing_summary)
    (create,) = elements(document, "article", data_status="201")[:1]
    start = document.index('data-status="201"')
    article = document[start : document.index("</article>", start)]
    for text in (
        "POST http://127.0.0.1:8080/tmf-api/communicationManagement/v4/communicationMessage",
        "<td>Authorization</td><td>***</td>",
        "Status 201",
        "<td>Content-Type</td><td>application/json</td>",
    ):
        assert text in article, text
    # JSON bodies are indented as sent and received
    assert html.escape('{\n  "content": "Dear customer",\n  "messageType": "SMS"\n}') in article
    assert html.escape('"state": "initial"') in article
    assert len(elements(article, "pre", data_body="request")) == 1 == len(elements(article, "pre", data_body="response"))
    assert create["data-outcome"] == "passed"


def test_a_failed_request_opens_its_exchange(failing_summary: dict[str, Any]) -> None:
    document = render_report(failing_summary)
    exchanges = elements(document, "details", class_="exchange")
    outcomes = [article["data-outcome"] for article in elements(document, "article", class_="request")]
    assert len(exchanges) == len(outcomes)
    # open where something failed (the POST answered 200 instead of 201), closed where all passed
    assert [("open" in details) for details in exchanges] == [o in ("failed", "deviation") for o in outcomes]
    assert "open" in exchanges[0] and "passed" in outcomes
    # no answer at all: the response side says so
    assert "No response: connection refused" in document


def test_the_header_names_the_api_kit_version_target_and_run_time(passing_summary: dict[str, Any]) -> None:
    document = render_report(passing_summary)
    section = document[document.index('<section class="api" id="api-tmf629"') :]
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", section[: section.index("</dl>")]))
    assert facts["API"] == "TMF629 Customer (tmf629)"
    assert facts["Collection"] == "CTK-Customer-4.0.0" and facts["Version"] == "4.0.0"
    assert facts["Target"] == "http://127.0.0.1:8080/tmf-api/communicationManagement/v4/"
    assert facts["Started"] == "Tue 24 Nov 2026 09:00:00 UTC" and facts["Duration"] == "12ms"


def test_large_bodies_are_cut_at_write_time_with_a_note(tmp_path: Path) -> None:
    body = json.dumps({"items": ["é" * 50] * 2000}, ensure_ascii=False)  # about 210 KB of UTF-8
    exchange = Exchange("GET", "http://vendor.example/customer", status=200, response_body=body)
    record = RequestRecord("tmf629", "CTK-Customer-4.0.0", "N1", "/Customer", "d", "GET", exchange.url, exchange=exchange)
    response = record.to_json()["response"]
    assert response is not None and response["truncated"] and response["body_bytes"] == len(body.encode())
    assert response["body"] is not None and len(response["body"].encode()) <= BODY_LIMIT
    assert body.startswith(response["body"])  # cut on a character boundary, nothing invented
    summary = json.loads(json.dumps(report_samples.passing_summary()))
    summary["apis"]["tmf629"]["requests"][0]["response"] = response
    document = render_report(summary)
    (note,) = elements(document, "p", class_="note")
    assert "data-truncated" in note
    assert f"Body cut: the first 64.00KB of {len(body.encode()) / 1024:.2f}KB are shown." in document
    assert body not in document and len(document) < 150_000


def test_redacted_exchanges_stay_redacted_in_the_report() -> None:
    secret = "s3cret-token-9431"
    exchange = Exchange(
        "POST", f"http://vendor.example/customer?key={secret}",
        request_headers={"Authorization": f"Bearer {secret}", "X-Trace": "visible"},
        request_body=json.dumps({"note": secret}), status=201,
        response_headers={"Set-Cookie": f"session={secret}"}, response_body=json.dumps({"echo": secret}),
    )  # fmt: skip
    record = Redactor.from_values([secret]).record(
        RequestRecord("tmf629", "CTK-Customer-4.0.0", "N1", "/Customer", "d", "POST", exchange.url, exchange=exchange)
    )
    summary = json.loads(json.dumps(report_samples.passing_summary()))
    summary["apis"]["tmf629"]["requests"][0] = record.to_json()
    document = render_report(summary)
    assert secret not in document
    assert "<td>X-Trace</td><td>visible</td>" in document and "***" in document


def test_hostile_exchanges_are_escaped(hostile_summary: dict[str, Any]) -> None:
    document = render_report(hostile_summary)
    assert HOSTILE not in document
    assert f"<td>{html.escape(HOSTILE)}</td><td>{html.escape(HOSTILE)}</td>" in document
    assert not elements(document, "script") and not elements(document, "img")
