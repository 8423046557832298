"""The certification pack from handmade run records: operations supported, Newman's layout, escaping, print."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from report_samples import HOSTILE, ElementCollector, check, elements, request

from harness.reports.certification import (
    FAILED,
    NOT_IN_SPEC,
    NOT_OBSERVED,
    SUPPORTED,
    newman_tests,
    operation_support,
    render_statement,
    write_pack,
)


def states(table: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {resource: {op: cell.state for op, cell in row.items()} for resource, row in table.items()}


def test_operations_are_supported_only_when_answered_as_the_spec_says() -> None:
    requests = [
        request("N1", "/Customer", "POST", 201, [check("Status code is 201")]),
        request("N1", "/Customer/{{IDCU01}}", "GET", 200, [check("Status code is 200")]),
        # an error case answered as expected says nothing about support
        request("E1", "/Customer/404ID", "GET", 404, [check("Status code is 404")]),
        # the kit accepted 201 from PATCH; the spec tier expected 200
        request("N2", "/Customer", "PATCH", 201, [check("Status code is 200 or 201")]),
        request("SPEC", "/customer/{id}", "PATCH", 201, [check("Status code is 200", "failed", "got 201", "spec")]),
    ]
    assert states(operation_support("tmf629", requests)) == {
        "customer": {"GET": SUPPORTED, "POST": SUPPORTED, "PATCH": FAILED, "DELETE": NOT_OBSERVED}
    }
    cell = operation_support("tmf629", requests)["customer"]["PATCH"]
    assert cell.evidence == "201 to PATCH /customer/{id} (spec tier)"


def test_no_answer_fails_an_operation_and_skipped_requests_are_not_observations() -> None:
    requests = [
        request("N1", "/productOrder", "POST", None, [], error="connection refused"),
        request("N1", "/productOrder", "GET", 200, [check("Status code is 200")], skipped="IDPO01 is missing"),
        request("SPEC", "/productOrder/{id}", "DELETE", 204, [check("Status code is 204", tier="spec")]),
        request("SPEC", "/cancelProductOrder", "POST", 201, [check("Status code is 201", tier="spec")]),
    ]
    assert states(operation_support("tmf622", requests)) == {
        "cancelProductOrder": {"GET": NOT_OBSERVED, "POST": SUPPORTED, "PATCH": NOT_IN_SPEC, "DELETE": NOT_IN_SPEC},
        "productOrder": {"GET": NOT_OBSERVED, "POST": FAILED, "PATCH": NOT_OBSERVED, "DELETE": SUPPORTED},
    }


def test_one_failure_outweighs_passing_observations() -> None:
    requests = [
        request("N1", "/Customer", "POST", 201, [check("Status code is 201")]),
        request("SPEC", "/customer", "POST", 500, [check("Status code is 201", "failed", "got 500", "spec")]),
    ]
    assert operation_support("tmf629", requests)["customer"]["POST"].state == FAILED


def test_tests_are_counted_per_name_as_newman_did() -> None:
    listed = request("N1", "/Customer", "GET", 200, [
        check("Status code is 200"),
        check("Response has id attribute"), check("Response has id attribute"),
        check("Response has id attribute", "failed", "instance 3 has no id"),
        check("Body matches the Customer schema", tier="spec"),
    ])  # fmt: skip
    assert newman_tests(listed) == [("Status code is 200", 1, 0), ("Response has id attribute", 2, 1)]
    assert newman_tests(listed, tier="spec") == [("Body matches the Customer schema", 1, 0)]


def test_the_statement_has_the_submission_layout(failing_summary: dict[str, Any]) -> None:
    document = render_statement(failing_summary, "tmf681")
    body = elements(document, "body")[0]
    assert (body["data-api"], body["data-collection"], body["data-verdict"]) == (
        "tmf681", "CTK-Communication-4.0.0", "failed"
    )
    headings = re.findall(r"<h2>([^<]*)</h2>", document)
    assert headings == ["1. Overview of the certified API", "2. Test results"]
    assert len(elements(document, "tr", data_resource="communicationMessage")) == 1
    cells = {cell["data-operation"]: cell["data-state"] for cell in elements(document, "td", class_="op")}
    assert cells == {"GET": FAILED, "POST": FAILED, "PATCH": NOT_OBSERVED, "DELETE": NOT_OBSERVED}
    # Newman's layout: every kit request with method, URL, status and its tests with pass and fail counts
    articles = elements(document, "article", class_="request")
    assert [a["data-outcome"] for a in articles] == ["failed", "failed", "skipped", "passed"]
    assert [(a["data-passed"], a["data-failed"]) for a in articles] == [("1", "1"), ("0", "1"), ("0", "0"), ("1", "0")]
    for text in ("Mean time per request", "Mean size per request", "Total passed tests", "Status code",
                 "<th class=num>Pass count</th><th class=num>Fail count</th>", "Kit version</dt><dd>4.0.0",
                 "Skipped</dt><dd>IDCM01 is missing: POST /communicationMessage did not produce it"):
        assert text in document, text
    assert len(elements(document, "tr", data_row="requests")) == 1
    assert "<td>Requests</td><td class=num>4</td><td class=num>2</td>" in document
    assert "expected status 201, got 200" in document  # the failures listed with what came back


def test_the_statement_is_self_contained_and_prints(passing_summary: dict[str, Any]) -> None:
    document = render_statement(passing_summary, "tmf629")
    assert "default-src 'none'" in document and "@media print" in document and "@page" in document
    tags = {tag for tag, _ in _tags(document)}
    assert not tags & {"script", "link", "img", "iframe", "object"}
    assert "url(" not in document and "@import" not in document


def test_hostile_strings_are_escaped(hostile_summary: dict[str, Any]) -> None:
    for api_id in hostile_summary["apis"]:
        document = render_statement(hostile_summary, api_id)
        assert HOSTILE not in document
        assert not elements(document, "script") and not elements(document, "img")
        assert not [name for _, attrs in _tags(document) for name in attrs if name.startswith("on")]
    assert html.escape(HOSTILE) in render_statement(hostile_summary, "tmf681")


def test_write_pack_writes_one_statement_per_api_inside_the_pack(
    tmp_path: Path, hostile_summary: dict[str, Any]
) -> None:
    paths = write_pack(hostile_summary, tmp_path)
    assert [path.parent for path in paths] == [tmp_path / "certification"] * 2
    assert paths[0].name == "tmf681.html"
    assert all(path.is_file() for path in paths)  # a hostile API id cannot name a path outside the pack


def _tags(document: str) -> list[tuple[str, dict[str, str]]]:
    collector = ElementCollector()
    collector.feed(document)
    return collector.elements


def test_a_rebuilt_pack_holds_only_this_runs_apis(tmp_path: Path, passing_summary: dict[str, Any]) -> None:
    assert len(write_pack(passing_summary, tmp_path)) == 2
    del passing_summary["apis"]["tmf681"]
    assert [path.name for path in write_pack(passing_summary, tmp_path)] == ["tmf629.html"]
    assert sorted(path.name for path in (tmp_path / "certification").iterdir()) == ["tmf629.html"]
