"""The one outcome rule, the run record's one shape (checked on what the writer writes), and the facts the
engine keeps: held values from the answer, the URL builder's query strings."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import requests

from harness.ctk.declaration import load_declaration
from harness.ctk.engine import SuiteRun
from harness.errors import ReportError
from harness.http import NOT_JSON, Reply
from harness.record import (
    SPEC_FOLDER,
    CheckResult,
    Exchange,
    RequestJson,
    RequestRecord,
    api_verdict,
    check_run_record,
    request_outcome,
    run_verdict,
)
from harness.redact import Redactor
from harness.reports.summary import build_summary, run_target
from harness.urls import resource_url
from tests.harness.conftest import SUITES


def request(folder: str = "N2", *, status: int | None = 200, error: str | None = None, skipped: str | None = None,
            checks: list[tuple[str, str]] = ()) -> RequestJson:  # type: ignore[assignment]
    """A request record with (tier, outcome) checks."""
    return {
        "folder": folder, "name": "/customer?fields=name", "description": "", "method": "GET",
        "url": "http://127.0.0.1:9/tmf-api/customerManagement/v4/customer?fields=name", "status": status,
        "duration_ms": 1.0, "size_bytes": 0, "error": error, "skipped": skipped,
        "checks": [{"name": f"check {n}", "tier": tier, "outcome": outcome, "message": ""}  # type: ignore[typeddict-item]
                   for n, (tier, outcome) in enumerate(checks)],
    }


REFUSED = "cannot connect to http://127.0.0.1:9/: Connection refused"


@pytest.mark.parametrize(("record", "outcome"), [
    (request(status=None, error=REFUSED), "failed"),  # no answer, no checks: the kit step still fails
    (request(status=None, error=REFUSED, checks=[("ctk", "failed")]), "failed"),
    (request(SPEC_FOLDER, status=None, error=REFUSED, checks=[("spec", "failed")]), "deviation"),
    (request(status=200, error="the body is not JSON (text/html): '<html>'"), "passed"),  # an answer came
    (request(status=302, error="redirected (302) to another origin http://127.0.0.1:1/; not followed"), "failed"),
    (request(checks=[("ctk", "passed"), ("spec", "failed")]), "deviation"),
    (request(checks=[("ctk", "failed"), ("spec", "passed")]), "failed"),
    (request(checks=[("ctk", "passed")]), "passed"),
    (request(status=None, skipped="IDCU01 is not set"), "skipped"),
])
def test_the_outcome_of_a_request(record: RequestJson, outcome: str) -> None:
    assert request_outcome(record) == outcome


def test_the_verdict_of_an_api_and_of_the_run() -> None:
    passed, failed, skipped = request(checks=[("ctk", "passed")]), request(status=None, error=REFUSED), request(skipped="x")
    assert api_verdict([passed, passed], planned=2) == "passed"
    assert api_verdict([passed], planned=2) == "incomplete"  # a -k subset, or a run cut short
    assert api_verdict([passed, skipped], planned=2) == "incomplete"
    assert api_verdict([passed, failed], planned=3) == "failed"
    assert run_verdict(["passed", "incomplete"]) == "incomplete"
    assert run_verdict(["incomplete", "failed"]) == "failed"
    assert run_verdict(["passed"]) == "passed"
    assert run_verdict([]) == "incomplete"


def test_a_record_object_judges_by_the_same_rule() -> None:
    record = RequestRecord("tmf629", "C", "N2", "/customer?fields=name", "", "GET", "http://x/customer",
                           exchange=Exchange("GET", "http://x/customer", error=REFUSED))
    assert record.outcome == "failed" and not record.failed  # no check failed, yet the request did
    record.exchange = Exchange("GET", "http://x/customer", status=200)
    record.checks = [CheckResult("Body matches", "spec", "failed", "x")]
    assert record.outcome == "deviation"


def test_what_the_writer_writes_has_the_one_shape() -> None:
    records = {"tmf629": {0: request("N1", checks=[("ctk", "passed")]), 1: request(status=None, error=REFUSED),
                          100_000: request(SPEC_FOLDER, checks=[("spec", "failed")])}}
    summary = build_summary(records, {"tmf629": {"collection": "CTK-Customer-4.0.0", "root": "http://x/", "planned": 2}},
                            {"tmf629": ["http://x/customer/1: DELETE answered 405"]}, "http://x/", 0.0)
    assert check_run_record(json.loads(json.dumps(summary))) == summary
    entry = summary["apis"]["tmf629"]
    assert entry["verdict"] == "failed"
    assert entry["totals"] == {"requests": 2, "failed_requests": 1, "assertions": 1, "failed_assertions": 0}
    assert entry["spec"] == {"checks": 1, "deviations": 1, "payload": 0, "verdict": "deviates"}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.pop("target"), "summary.json: the top level lacks 'target'"),
    (lambda s: s["apis"]["tmf629"].update(verdict="conformant"), "apis.tmf629.verdict should be one of"),
    (lambda s: s["apis"]["tmf629"]["requests"][0].update(note="x"), "apis.tmf629.requests[0] has the unknown key 'note'"),
    (lambda s: s["apis"]["tmf629"]["totals"].update(requests=True), "apis.tmf629.totals.requests should be an integer"),
    (lambda s: s.update(apis=[]), "apis should be an object, not list"),
])
def test_a_record_of_another_version_is_one_line_report_error(edit: Any, message: str) -> None:
    records = {"tmf629": {0: request("N1", checks=[("ctk", "passed")])}}
    summary: Any = json.loads(json.dumps(build_summary(records, {}, {}, "http://x/", 0.0)))
    edit(summary)
    with pytest.raises(ReportError, match=message.replace("[", r"\[").replace("]", r"\]")) as raised:
        check_run_record(summary)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("base", "embedded", "api_urls", "tested", "target"), [
    ("https://vendor.example/", None, {}, ["tmf629"], "https://vendor.example/"),
    (None, None, {"tmf629": "https://v.example/cm/v4/"}, ["tmf629"], "tmf629=https://v.example/cm/v4/"),
    ("https://b.example/", None, {"tmf629": "https://v.example/cm/v4/"}, ["tmf629"], "tmf629=https://v.example/cm/v4/"),
    (None, "http://127.0.0.1:5/", {"tmf629": "https://v.example/cm/v4/"}, ["tmf681", "tmf629"],
     "embedded reference server at http://127.0.0.1:5/, tmf629=https://v.example/cm/v4/"),
    (None, "http://127.0.0.1:5/", {}, ["tmf681"], "embedded reference server at http://127.0.0.1:5/"),
])
def test_the_target_names_what_was_tested(
    base: str | None, embedded: str | None, api_urls: dict[str, str], tested: list[str], target: str
) -> None:
    assert run_target(base, embedded, api_urls, tested) == target


def test_a_query_string_in_an_api_root_stays_in_place() -> None:
    root = "https://vendor.example/customerManagement/v4/?tenant=a%20b"
    assert resource_url(root, "customer") == "https://vendor.example/customerManagement/v4/customer?tenant=a%20b"
    assert resource_url(root, "customer", "42/x", query="fields=name") == \
        "https://vendor.example/customerManagement/v4/customer/42%2Fx?tenant=a%20b&fields=name"


def reply(body: Any) -> Reply:
    return Reply(Exchange("POST", "http://x/customer", status=201), 201, json.dumps(body), body, None)


def test_id_and_href_are_held_as_answered_other_attributes_as_sent() -> None:
    declaration = load_declaration(SUITES / "ctk629" / "ctk629.yaml")
    suite = declaration.resources[0]
    sent = {**suite.payloads[0], "id": "client-chosen", "href": "http://client.example/c/1", "name": "Sent Name"}
    run = SuiteRun(declaration, "http://x/", requests.Session(), Redactor(), payloads={suite.resource: (sent, sent)})
    create = next(r for r in run.requests if r.kind == "create")
    run._hold(create, reply({**sent, "id": "server-1", "href": "http://x/customer/server-1", "name": "Changed"}))
    held = run.values(suite, 1)
    assert (held["id"], held["href"]) == ("server-1", "http://x/customer/server-1")
    assert held["name"] == "Sent Name"  # the kit compares later answers with what it sent
    assert [created.id for created in run.created] == ["server-1"]


def test_nothing_is_held_from_an_answer_that_is_not_an_instance() -> None:
    declaration = load_declaration(SUITES / "ctk629" / "ctk629.yaml")
    run = SuiteRun(declaration, "http://x/", requests.Session(), Redactor())
    create = next(r for r in run.requests if r.kind == "create")
    run._hold(create, Reply(Exchange("POST", "http://x/customer", status=500), 500, "", NOT_JSON, "empty"))
    assert "id" not in run.values(create.suite, 1) and not run.created


def test_the_kit_requests_keep_a_query_string_of_the_api_root() -> None:
    declaration = load_declaration(SUITES / "ctk629" / "ctk629.yaml")
    run = SuiteRun(declaration, "https://vendor.example/cm/v4/?tenant=t1", requests.Session(), Redactor())
    run.values(declaration.resources[0], 1).update(id="42", name="Geek Club")
    urls = {request.kind: run.url(request) for request in run.requests if request.kind in ("list", "retrieve", "filter")}
    assert urls["list"] == "https://vendor.example/cm/v4/customer?tenant=t1"
    assert urls["retrieve"] == "https://vendor.example/cm/v4/customer/42?tenant=t1"
    assert urls["filter"].startswith("https://vendor.example/cm/v4/customer?tenant=t1&")


def test_a_value_that_is_not_text_goes_into_the_url_as_the_kit_writes_it() -> None:
    # the kit's {{VAR}} holds a JavaScript value: a boolean is sent as true, not as Python's True
    declaration = load_declaration(SUITES / "ctk629" / "ctk629.yaml")
    run = SuiteRun(declaration, "http://x/", requests.Session(), Redactor())
    run.values(declaration.resources[0], 1).update(id="42", name=True)
    name_filter = next(request for request in run.requests if request.kind == "filter" and request.attribute == "name")
    assert run.url(name_filter) == "http://x/customer?name=true"


def test_a_nested_resource_is_read_under_the_instance_held_of_the_other() -> None:
    declaration = load_declaration(SUITES / "ctk702" / "ctk702.yaml")
    suite = declaration.resources[0]
    nested = replace(declaration, resources=(suite, replace(suite, resource="monitor", under=suite.resource)))
    run = SuiteRun(nested, "http://x/", requests.Session(), Redactor())
    monitors = [request for request in run.requests if request.suite.resource == "monitor" and request.kind == "list"]
    assert "IDRE01 is not set" in str(run.missing_prerequisite(monitors[0]))
    run.values(suite, 1).update(id="a/1")
    assert run.url(monitors[0]) == "http://x/resource/a%2F1/monitor"
    missing = next(request for request in run.requests if request.suite.resource == "monitor" and request.kind == "missing")
    assert run.url(missing).startswith("http://x/resource/a%2F1/monitor/")
