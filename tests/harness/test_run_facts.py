"""Facts a run reports, each against a server that gets it wrong: no answer, an array for an instance, a
deviation under --ctk-strict, leftovers, payloads that cannot tell instances apart, events that cannot arrive."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml

import mockserver
from harness.ctk.declaration import load_declaration, payload_problem
from harness.spec import listener
from tests.harness.conftest import SUITES, CtkRun
from tests.support.echo_proxy import start_echo_proxy
from tests.support.fault_proxy import Exchange, Fault, edit_instances, start_proxy

CUSTOMERS = "/tmf-api/customerManagement/v4/customer"


def test_a_kit_request_without_an_answer_fails_though_its_step_has_no_checks(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer, pytester: pytest.Pytester
) -> None:
    with start_echo_proxy(reference_server.url) as url:  # closes the connection on every ?fields=
        run = run_ctk("--base-url", url, "--junitxml", "junit.xml", suites=("ctk629",))
    assert run.result.ret == 1
    assert run.summary is not None
    [unanswered] = [r for r in run.summary["apis"]["tmf629"]["requests"] if r["name"] == "/Customer?fields=name"]
    assert unanswered["checks"] == [] and unanswered["status"] is None and unanswered["error"]
    outcomes = {r.nodeid.split("::")[-1]: r.outcome for r in run.result.reprec.getreports("pytest_runtest_logreport")
                if r.when == "call"}
    assert outcomes["N2 GET /Customer?fields=name"] == "failed"
    totals = run.summary["apis"]["tmf629"]["totals"]
    assert totals["failed_requests"] == 3 and totals["failed_assertions"] == 2  # two of the three have a status check
    junit = ET.parse(pytester.path / "junit.xml").getroot()
    failed_cases = [case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None]
    assert "N2 GET /Customer?fields=name" in failed_cases and len(failed_cases) == 3
    run.result.stdout.fnmatch_lines(["tmf629 CTK-Customer-4.0.0: failed (10 requests, 3 failed; *"])


def _array_create(exchange: Exchange) -> None:
    if exchange.method == "POST" and exchange.status == 201:
        exchange.payload = b"[" + exchange.payload + b"]"


def test_a_create_answered_with_an_array_fails_array_not_expected(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_answer=_array_create)) as url:
        run = run_ctk("--base-url", url, "-k", "N1", suites=("ctk681",))
    assert run.result.ret == 1
    failed = {(name, check["name"]) for name, check in run.checks("tmf681") if check["outcome"] == "failed"}
    assert ("/communicationMessage", "Array not expected as response") in failed


def _wrong_valid_for(exchange: Exchange) -> None:
    """A read by id answers ``validFor`` as text, where the spec says a TimePeriod (the kit does not look)."""
    if exchange.method == "GET" and "?" not in exchange.client_path and exchange.client_path.count("/") == 5:
        edit_instances(exchange, lambda item: item.update(validFor="always"))


def test_ctk_strict_fails_a_kit_request_whose_only_trouble_is_a_spec_deviation(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_answer=_wrong_valid_for)) as url:
        lenient = run_ctk("--base-url", url, suites=("ctk629",))
        strict = run_ctk("--base-url", url, "--ctk-strict", suites=("ctk629",))
    assert lenient.result.ret == 0, lenient.result.stdout.str()
    assert strict.result.ret == 1, strict.result.stdout.str()
    failed = [r.nodeid.split("::")[-1] for r in strict.result.reprec.getfailures() if r.when == "call"]
    assert "N1 GET /Customer/{{IDCU01}}" in failed, failed
    strict.result.stdout.fnmatch_lines(["*DEVIATION Body matches the Customer schema*", "FAILED *N1 GET /Customer/{{IDCU01}}*"])
    for run in (lenient, strict):  # the kit's verdict is the kit's, strict or not
        assert run.summary is not None and run.summary["apis"]["tmf629"]["verdict"] == "passed"


def test_payloads_that_cannot_tell_the_instances_apart_are_a_usage_error(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    declared = yaml.safe_load((SUITES / "ctk683" / "ctk683.yaml").read_text(encoding="utf-8"))
    first = declared["resources"][0]["payloads"][0]
    twin = {**declared["resources"][0]["payloads"][1], "direction": first["direction"]}
    config = {"apis": {"tmf683": {"payloads": {"partyInteraction": [first, twin]}}}}
    (pytester.path / "ctk.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    run = run_ctk("--ctk-config", "ctk.yaml", suites=("ctk683",))
    output = run.result.stdout.str() + run.result.stderr.str()
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "must differ on the filtered attribute 'direction'" in output and run.summary is None


def _copy_with_two_customers(pytester: pytest.Pytester) -> Path:
    """A user's own copy of the TMF629 suite that creates two customers."""
    declared = yaml.safe_load((SUITES / "ctk629" / "ctk629.yaml").read_text(encoding="utf-8"))
    first = declared["resources"][0]["payloads"][0]
    declared["resources"][0]["payloads"] = [first, {**first, "name": "Second Club"}]
    declared["resources"][0]["steps"].insert(1, "create 2")
    path = pytester.path / "mysuites" / "suites" / "ctk629" / "ctk629.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(declared, sort_keys=False), encoding="utf-8")
    return path


def test_config_payloads_are_validated_against_the_suite_the_run_collects(pytester: pytest.Pytester) -> None:
    path = _copy_with_two_customers(pytester)
    customer = yaml.safe_load(path.read_text(encoding="utf-8"))["resources"][0]["payloads"][0]
    (pytester.path / "ctk.yaml").write_text(
        yaml.safe_dump({"apis": {"tmf629": {"payloads": {"customer": [customer, customer, customer]}}}}), encoding="utf-8")
    result = pytester.runpytest("mysuites", "--ctk-config", "ctk.yaml", "--base-url", "http://127.0.0.1:9/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert (f"customer takes at most 2 payloads (one per instance the kit creates; one is enough), got 3 (suite {path})"
            in result.stderr.str())


def test_one_payload_per_resource_is_enough_the_second_instance_derived_from_it() -> None:
    """As in a kit's config.json: one payload; instance 02 is it with the declaration's own filtered values."""
    suite = load_declaration(SUITES / "ctk683" / "ctk683.yaml").resources[0]
    given = {**suite.payloads[0], "description": "the vendor's own"}
    first, second = suite.completed((given,))
    assert first == given and payload_problem(suite, (given,)) is None
    assert suite.filtered and all(second[name] != first[name] for name in suite.filtered if name in first)
    assert {k: v for k, v in second.items() if k not in suite.filtered} == \
        {k: v for k, v in first.items() if k not in suite.filtered}


def test_a_copied_suite_with_an_invalid_payload_is_a_collection_error(pytester: pytest.Pytester) -> None:
    path = _copy_with_two_customers(pytester)
    path.write_text(path.read_text(encoding="utf-8").replace("name: Second Club", "name: 42"), encoding="utf-8")
    result = pytester.runpytest("mysuites", "--base-url", "http://127.0.0.1:9/")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    result.stdout.fnmatch_lines(["*mysuites/suites/ctk629/ctk629.yaml: resources[[]0[]].payloads: payload 02 of customer*"])


def test_spec_tier_cleanup_deletes_what_it_created_and_keep_keeps_it_listed(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    collection = reference_server.url + CUSTOMERS
    run = run_ctk("--base-url", reference_server.url, "-m", "spec", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert requests.get(collection, timeout=5).json() == []
    assert run.summary is not None and "undeleted" not in run.summary["apis"]["tmf629"]
    kept = run_ctk("--base-url", reference_server.url, "-m", "spec", "--keep", suites=("ctk629",))
    left = requests.get(collection, timeout=5).json()
    assert kept.summary is not None and left
    listed = kept.summary["apis"]["tmf629"]["undeleted"]
    assert sorted(line.split(": ")[0].rsplit("/", 1)[-1] for line in listed) == sorted(item["id"] for item in left)
    assert all(line.endswith("kept (--keep)") for line in listed)


def _deleted_then_404(exchange: Exchange) -> None:
    if exchange.method == "DELETE" and exchange.status == 204:
        exchange.status, exchange.payload = 404, b'{"code":"404","reason":"Not found","@type":"Error"}'
        exchange.headers = {"Content-Type": "application/json"}


def test_a_404_on_a_cleanup_delete_is_listed_not_counted_as_deleted(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_answer=_deleted_then_404)) as url:
        run = run_ctk("--base-url", url, "-m", "spec", "-k", "create", suites=("ctk629",))
    assert run.summary is not None
    [line] = run.summary["apis"]["tmf629"]["undeleted"]
    assert line.startswith(url + CUSTOMERS) and line.endswith("already gone (DELETE answered 404): not deleted by this run")
    run.result.stdout.fnmatch_lines(["tmf629: * not deleted (listed in summary.json under undeleted)"])


def test_without_a_callback_host_the_event_check_says_it_was_not_verified(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As for a remote vendor: the target's host is not one this machine's listener can be reached on.
    monkeypatch.setattr(listener, "LOOPBACK_HOSTS", frozenset())  # pytester runs in this process
    run = run_ctk("--base-url", reference_server.url, "-m", "spec", "-k", "hub", "-rs", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    run.result.assert_outcomes(skipped=1)
    reason = "CustomerCreateEvent not verified: no callback host (give --callback-host HOST*"
    run.result.stdout.fnmatch_lines([f"SKIPPED*{reason}"])
    assert run.summary is not None
    [record] = run.summary["apis"]["tmf629"]["requests"]
    assert record["skipped"].startswith("CustomerCreateEvent not verified: no callback host")
    assert {check["name"] for check in record["checks"]} >= {"Status code is 201", "Status code is 204"}


def test_the_target_of_a_run_given_only_api_urls_names_them(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    root = f"{reference_server.url}/tmf-api/customerManagement/v4/"
    run = run_ctk("--api-url", f"tmf629={root}", "-k", "404ID", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None and run.summary["target"] == f"tmf629={root}"
    assert "base_url:" not in run.result.stdout.str()  # the embedded server serves no selected API: not started, not shown
    embedded = run_ctk("-k", "404ID", suites=("ctk629",))
    embedded.result.stdout.fnmatch_lines(["base_url: (embedded reference server, started on first use)"])
    assert embedded.summary is not None
    assert json.dumps(embedded.summary["target"]).startswith('"embedded reference server at http://127.0.0.1:')


def test_a_subset_of_the_kit_is_incomplete_in_the_record_and_the_html_report(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer, pytester: pytest.Pytester
) -> None:
    run = run_ctk("--base-url", reference_server.url, "-k", "404ID", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None and run.summary["apis"]["tmf629"]["verdict"] == "incomplete"
    page = (pytester.path / "report" / "report.html").read_text(encoding="utf-8")
    assert '<body data-verdict="incomplete">' in page
    assert 'data-api="tmf629" data-verdict="incomplete"' in page
    assert '<span class="verdict incomplete">incomplete</span>' in page and 'class="verdict fail"' not in page
    run.result.stdout.fnmatch_lines(["tmf629 CTK-Customer-4.0.0: incomplete (1 requests, 0 failed; *"])


def test_under_xdist_the_progress_line_counts_failed_requests_by_the_same_rule(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_echo_proxy(reference_server.url) as url:  # closes the connection on every ?fields=
        run = run_ctk("--base-url", url, "-n", "2", suites=("ctk629", "ctk681"))
    assert run.summary is not None
    failed = {api_id: block["totals"]["failed_requests"] for api_id, block in run.summary["apis"].items()}
    assert failed == {"tmf629": 3, "tmf681": 4}
    run.result.stdout.fnmatch_lines_random([
        "tmf629 CTK-Customer-4.0.0: 10/10 kit requests run, 3 failed",
        "tmf681 CTK-Communication-4.0.0: 13/13 kit requests run, 4 failed",
    ])
