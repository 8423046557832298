"""The pytest plugin as a user meets it: options, configuration errors, skips, exit status, secrets, xdist."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import pytest

import mockserver
from harness.pytest.preflight import PREFLIGHT_FAILED
from harness.record import check_run_record
from tests.harness.conftest import CtkRun
from tests.support.fault_proxy import start_fault_proxy
from tests.support.suite_runs import copy_suites

USAGE_ERROR = 4


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_usage_error(run: CtkRun, message: str) -> None:
    output = run.result.stderr.str() + run.result.stdout.str()
    assert run.result.ret == USAGE_ERROR, output
    assert message in output
    assert "Traceback" not in output
    assert run.summary is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "vendor.example"], "--base-url is not an absolute http(s) URL: 'vendor.example'"),
        (["--header", "NoColonHere"], "--header 'NoColonHere' is not of the form 'Name: value'"),
        (["--api-url", "tmf999=http://x.example/"], "--api-url names unknown API 'tmf999'"),
        (["--api-url", "tmf629=/relative/"], "--api-url tmf629 is not an absolute http(s) URL"),
        (["--ctk-config", "missing.yaml"], "--ctk-config missing.yaml: cannot read it"),
    ],
)
def test_bad_options_are_one_line_usage_errors(args: list[str], message: str, run_ctk: Callable[..., CtkRun]) -> None:
    assert_usage_error(run_ctk(*args, suites=("ctk629",)), message)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("apis:\n  tmf629:\n    urll: http://x.example/\n", "apis.tmf629: unknown key 'urll'"),
        ("base_url: [1]\n", "base_url must be a URL string"),
        ("headers: {X-API-Key: '${CTK_UNSET_VARIABLE}'}\n", "the environment variable CTK_UNSET_VARIABLE is not set"),
        ("timeout: -1\n", "timeout must be a positive number of seconds"),
        ("apis: {tmf629: {payloads: {customer: {engagedParty: {id: '1'}}}}}\n",
         "payload 01 of customer does not fit the kit's schema: (top level): 'name' is a required property"),
        ("apis: {tmf681: {payloads: {communicationMessage: {content: hi, messageType: 7, receiver: [{}], sender: {}}}}}\n",
         "messageType: 7 is not of type 'string'"),
        ("apis: {tmf683: {payloads: {partyInteraction: [{}, {}, {}]}}}\n",
         "partyInteraction takes at most 2 payloads (one per instance the kit creates; one is enough), got 3"),
        ("key: [unclosed\n", "not valid YAML at line"),
    ],
)
def test_bad_config_files_are_one_line_usage_errors(
    config: str, message: str, run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    (pytester.path / "ctk.yaml").write_text(config, encoding="utf-8")
    assert_usage_error(run_ctk("--ctk-config", "ctk.yaml", suites=("ctk629", "ctk681", "ctk683")), message)


def test_a_bad_declaration_is_a_collection_error_naming_file_and_key(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    path = pytester.path / "suites" / "ctk629" / "ctk629.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("api: tmf629\ncollection: C\nresources:\n  - {resource: customer, title: C, code: CU, typed: {id: text}, "
                    "held: [id], mandatory: [id], payload_schema: {}, payloads: [{}], steps: [create 1]}\n", encoding="utf-8")
    result = pytester.runpytest("--base-url", "http://127.0.0.1:9/")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*suites/ctk629/ctk629.yaml: resources[[]0[]].typed.id: 'text' is not one of*"])


def test_missing_prerequisites_skip_naming_the_variable_and_its_producer(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, "--deselect", "suites/ctk629/ctk629.yaml::N1 POST /Customer", "-rs",
                  suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    run.result.assert_outcomes(passed=4, skipped=5, deselected=11)  # 10 spec-tier items by -m ctk
    run.result.stdout.fnmatch_lines(["*IDCU01 is not set: it is produced by N1 POST /Customer, which was not run*"])
    assert run.summary is not None and run.summary["apis"]["tmf629"]["verdict"] == "incomplete"


def test_a_kit_that_only_reads_says_once_when_the_system_holds_nothing_to_read(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    # TMF637's kit reads the first product its list answers; the reference server here holds no seed
    run = run_ctk("--base-url", reference_server.url, "-rs", suites=("ctk637",))
    assert run.result.ret == 1
    run.result.assert_outcomes(failed=1, passed=3, skipped=2)
    why = "listed no product: the kit reads product instances it never creates, so the system under test must hold one"
    run.result.stdout.fnmatch_lines([f"  FAILED Instance has all mandatory attributes; *: the answer {why}",
                                     f"*IDPR01 is not set: it is produced by N1 GET /Product, which {why}"])


def test_a_variable_the_kit_never_set_goes_out_as_written_as_the_kit_sends_it(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    # TMF644's kit reads the last privacy profile specification its list answers; this server holds none
    run = run_ctk("--base-url", reference_server.url, suites=("ctk644",))
    assert run.result.ret == 1
    run.result.assert_outcomes(failed=1, passed=12)
    failed = ("  FAILED Instance has all mandatory attributes: expected a JSON object, got *; sent with {{IDPPPS01}} as "
              "written, as the kit sends it (N1 GET /PartyPrivacyProfileSpecification listed no partyPrivacyProfileSpecification)")
    run.result.stdout.fnmatch_lines([failed])
    assert run.summary is not None
    sent = run.summary["apis"]["tmf644"]["requests"][3]
    assert sent["url"].endswith("/partyPrivacyProfileSpecification?id=%7B%7BIDPPPS01%7D%7D") and sent["status"] == 200


def test_a_failed_create_skips_its_dependents(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "create_error") as proxy:
        run = run_ctk("--base-url", proxy.url, "-rs", suites=("ctk629",))
    assert run.result.ret == 1
    run.result.assert_outcomes(failed=1, passed=4, skipped=5)
    run.result.stdout.fnmatch_lines(["*IDCU01 is not set: it is produced by N1 POST /Customer, which failed*"])
    assert "INTERNALERROR" not in run.result.stdout.str()


def test_a_refused_connection_stops_the_run_at_the_pre_flight(run_ctk: Callable[..., CtkRun]) -> None:
    run = run_ctk("--base-url", f"http://127.0.0.1:{closed_port()}", suites=("ctk681",))
    output = run.result.stdout.str()
    assert run.result.ret == PREFLIGHT_FAILED
    assert "INTERNALERROR" not in output and "Traceback" not in output
    root = "http://127.0.0.1:*/tmf-api/communicationManagement/v4/"
    run.result.stdout.fnmatch_lines([f"pre-flight: tmf681: cannot connect to {root}communicationMessage: *refused"])
    assert run.summary is not None and run.summary["apis"] == {}
    assert run.summary["preflight_failed"]["tmf681"].startswith("cannot connect to http://127.0.0.1:")


def test_a_pre_flight_stop_replaces_an_earlier_run_record_with_one_that_says_why(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    report = pytester.path / "report"
    (report / "certification").mkdir(parents=True)
    (report / "summary.json").write_text("{}", encoding="utf-8")
    (report / "certification" / "tmf681.html").write_text("an earlier run's statement", encoding="utf-8")
    run = run_ctk("--base-url", f"http://127.0.0.1:{closed_port()}", suites=("ctk681",))
    assert run.result.ret == PREFLIGHT_FAILED
    assert run.summary is not None and list(run.summary["preflight_failed"]) == ["tmf681"]
    page = (report / "report.html").read_text(encoding="utf-8")
    assert '<body data-verdict="failed">' in page and "stopped at the pre-flight" in page and "Connection refused" in page
    assert not list((report / "certification").glob("*.html"))  # no statement of an earlier run is left beside it
    run.result.stdout.fnmatch_lines(["pre-flight: tmf681: cannot connect to *", "APIs: failed 1 (tmf681)",
                                     "run record: */report/summary.json", "HTML report: */report/report.html"])


@pytest.mark.parametrize(("fault", "deviation"), [
    # the kit's PATCH sends the kit's payload's own engagedParty, which shows nothing; the spec tier's PATCH does
    ("patch_ignored", "PATCH answer shows "),
])
def test_spec_deviations_alone_do_not_fail_the_run(
    fault: str, deviation: str, run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, fault) as proxy:
        run = run_ctk("--base-url", proxy.url, "-m", "ctk or spec", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    requests = run.summary["apis"]["tmf629"]["requests"]  # type: ignore[index]
    patch = next(r for r in requests if r["method"] == "PATCH" and r["folder"] != "SPEC")
    outcomes = {(c["tier"], c["name"]): c["outcome"] for c in patch["checks"]}
    assert outcomes[("ctk", "Status code is 200")] == "passed"
    spec = [(c["name"], c["outcome"]) for r in requests if r["method"] == "PATCH" for c in r["checks"] if c["tier"] == "spec"]
    assert [outcome for name, outcome in spec if name.startswith(deviation)] == ["failed"]


def test_secrets_never_reach_the_run_record_or_the_terminal(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CTK_TEST_CUSTOMER", "Sekrit Customer Name")
    (pytester.path / "ctk.yaml").write_text(
        "headers: {X-Trace: visible}\n"
        "apis:\n  tmf629:\n    payloads:\n      customer: {name: '${CTK_TEST_CUSTOMER}', engagedParty: {id: '1', '@referredType': Organization}}\n",
        encoding="utf-8",
    )
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False, api_key="tok-9f8e7d")) as server:
        run = run_ctk("--base-url", server.url, "--header", "Authorization: Bearer tok-9f8e7d", "--ctk-config", "ctk.yaml",
                      "-v", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    text = json.dumps(run.summary) + run.result.stdout.str() + run.result.stderr.str()
    assert "tok-9f8e7d" not in text
    assert "Sekrit Customer Name" not in text
    assert "name is ***" in text


def test_api_url_overrides_the_base_url_for_one_api(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    root = f"{reference_server.url}/tmf-api/customerManagement/v4"
    run = run_ctk("--base-url", f"http://127.0.0.1:{closed_port()}", "--api-url", f"tmf629={root}", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None and run.summary["apis"]["tmf629"]["target"] == root + "/"
    run.result.stdout.fnmatch_lines([f"api_url tmf629: {root}/"])
    assert "base_url:" not in run.result.stdout.str()  # no selected API is reached through it


def test_base_url_from_the_environment_and_cleanup_of_created_resources(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_BASE_URL", reference_server.url)
    run = run_ctk(suites=("ctk629", "ctk683"))
    assert run.result.ret == 0, run.result.stdout.str()
    import requests

    for path in ("customerManagement/v4/customer", "partyInteraction/v4/partyInteraction"):
        assert requests.get(f"{reference_server.url}/tmf-api/{path}", timeout=5).json() == []
    kept = run_ctk("--keep", suites=("ctk629",))
    assert kept.result.ret == 0
    assert len(requests.get(f"{reference_server.url}/tmf-api/customerManagement/v4/customer", timeout=5).json()) == 1


def test_summary_json_has_the_run_record_shape(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, suites=("ctk681",))
    summary = run.summary
    assert summary is not None
    assert check_run_record(summary) is summary  # the one shape every reader reads
    assert {"target", "started", "duration_s", "apis"} <= set(summary)
    entry = summary["apis"]["tmf681"]
    assert entry["totals"] == {"requests": 13, "failed_requests": 0, "assertions": entry["totals"]["assertions"],
                               "failed_assertions": 0}
    request = entry["requests"][0]
    assert {"folder", "name", "description", "method", "url", "status", "duration_ms", "size_bytes", "checks"} <= set(request)
    assert set(request["checks"][0]) == {"name", "tier", "outcome", "message"}


def test_xdist_keeps_each_suite_on_one_worker(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, "-n", "2", "--dist", "loadgroup", suites=("ctk683", "ctk635"))
    assert run.result.ret == 0, run.result.stdout.str()
    run.result.assert_outcomes(passed=33)  # nothing skipped: variables flowed within each suite
    assert run.summary is not None
    assert [len(run.summary["apis"][a]["requests"]) for a in ("tmf683", "tmf635")] == [18, 15]
    # xdist prints no line per file, so the harness prints one per API when its kit requests are done
    run.result.stdout.fnmatch_lines_random([
        "tmf683 CTK-Party_Interaction-4.0.0: 18/18 kit requests run, 0 failed",
        "tmf635 CTK-Usage-4.0.0: 15/15 kit requests run, 0 failed",
    ])
    # the controller collects nothing, yet the target is shown, once
    shown = [line for line in run.result.stdout.lines if line.startswith("base_url: ")]
    assert shown == [f"base_url: {reference_server.url}/"], run.result.stdout.str()


def test_a_slow_server_times_out_with_a_clear_message(run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester) -> None:
    (pytester.path / "ctk.yaml").write_text("timeout: 0.2\n", encoding="utf-8")
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False, latency_ms=1000)) as server:
        run = run_ctk("--base-url", server.url, "--ctk-config", "ctk.yaml", "-k", "404ID", suites=("ctk629",))
    assert run.result.ret == PREFLIGHT_FAILED
    run.result.stdout.fnmatch_lines(["pre-flight: tmf629: no complete answer from http*/customer within 0.2s"])


def test_what_could_not_be_deleted_is_listed(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "delete_refused") as proxy:
        run = run_ctk("--base-url", proxy.url, suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None
    [line] = run.summary["apis"]["tmf629"]["undeleted"]
    assert line.startswith(proxy.url) and line.endswith("DELETE answered 405")
    run.result.stdout.fnmatch_lines(["tmf629: 1 instance not deleted (listed in summary.json under undeleted)"])


def test_reporter_hooks_see_every_request_inside_its_test_and_the_run_once(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester, reference_server: mockserver.BackgroundServer
) -> None:
    pytester.makeconftest('''
        import json, pathlib
        SEEN = pathlib.Path("seen.jsonl")

        def pytest_ctk_request_done(item, record):
            # Inside the test: the item is running, its report does not exist yet.
            with SEEN.open("a") as out:
                out.write(json.dumps([item.nodeid, record.name, record.outcome == "failed", record.skipped_reason]) + "\\n")

        def pytest_ctk_run_done(config, summary, report_dir):
            pathlib.Path("run_done.json").write_text(json.dumps([str(report_dir), sorted(summary["apis"])]))
    ''')
    with start_fault_proxy(reference_server.url, "create_error") as proxy:
        run = run_ctk("--base-url", proxy.url, suites=("ctk629",))
    seen = [json.loads(line) for line in (pytester.path / "seen.jsonl").read_text().splitlines()]
    assert len(seen) == 10
    assert seen[0][1:3] == ["/Customer", True]  # the failed create is reported too
    assert sum(1 for entry in seen if entry[3]) == 5  # and the skipped requests
    report_dir, apis = json.loads((pytester.path / "run_done.json").read_text())
    assert apis == ["tmf629"] and report_dir.endswith("report")
    assert run.result.ret == 1


def test_secrets_are_masked_in_logs(run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester,
                                    reference_server: mockserver.BackgroundServer,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTK_TEST_NAME", "Hidden Club Name")
    (pytester.path / "ctk.yaml").write_text(
        "apis: {tmf629: {payloads: {customer: {name: '${CTK_TEST_NAME}', "
        "engagedParty: {id: '1', '@referredType': Organization}}}}}\n", encoding="utf-8")
    with start_fault_proxy(reference_server.url, "changed_value") as proxy:  # failures show the captured log
        run = run_ctk("--base-url", proxy.url, "--ctk-config", "ctk.yaml", "--log-level", "DEBUG", suites=("ctk629",))
    output = run.result.stdout.str()
    assert "urllib3.connectionpool" in output  # the log was shown...
    assert "Hidden" not in output  # ...without the secret, raw or URL-encoded


def test_a_tls_failure_fails_checks_with_a_clear_message(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    tls_url = reference_server.url.replace("http://", "https://")  # a plain HTTP server: the handshake fails
    run = run_ctk("--base-url", tls_url, "-k", "404ID", suites=("ctk622",))
    assert run.result.ret == PREFLIGHT_FAILED
    run.result.stdout.fnmatch_lines(["pre-flight: tmf622: TLS error talking to https://*/productOrder: *"])


def test_without_a_base_url_or_an_embedded_server_the_run_says_so(run_ctk: Callable[..., CtkRun]) -> None:
    assert_usage_error(run_ctk("-p", "no:tmf_mock", suites=("ctk629",)), "no --base-url given and no embedded server available")


def test_without_a_base_url_the_embedded_server_hook_is_used_lazily(
    run_ctk: Callable[..., CtkRun], pytester: pytest.Pytester
) -> None:
    pytester.makeconftest('''
        import pathlib
        import mockserver
        from harness.pytest.hookspecs import EmbeddedServer

        def pytest_ctk_embedded_server(config):
            pathlib.Path("started").write_text("yes")
            server = mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False))
            return EmbeddedServer(url=server.url, stop=server.stop)
    ''')
    run = run_ctk("-p", "no:tmf_mock", "-k", "404ID", suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert (pytester.path / "started").exists()
    (pytester.path / "started").unlink()
    assert run_ctk("-p", "no:tmf_mock", "--collect-only", suites=("ctk629",)).result.ret == 0
    assert not (pytester.path / "started").exists()  # nothing ran, so no server was started


FAKE_BASE_URL_PLUGIN = '''
import os

def pytest_addoption(parser):  # what pytest-base-url declares
    parser.addoption("--base-url", metavar="url", default=os.getenv("PYTEST_BASE_URL", None), help="base url")
    parser.addini("base_url", help="base url for the application under test.")
'''


@pytest.mark.parametrize("with_pytest_base_url", [False, True], ids=["alone", "beside-pytest-base-url"])
def test_the_base_url_is_read_in_pytest_base_urls_order(
    with_pytest_base_url: bool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Command line, then PYTEST_BASE_URL, then the ini value, whether or not pytest-base-url is installed."""
    copy_suites(pytester.path, ["ctk629"])
    pytester.makeini("[pytest]\nbase_url = http://ini.example/\n")
    options = ["-p", "no:cacheprovider", "--collect-only", "-q"]
    if with_pytest_base_url:
        pytester.makepyfile(fake_base_url=FAKE_BASE_URL_PLUGIN)
        pytester.syspathinsert()
        options += ["-p", "fake_base_url"]

    def shown(*args: str) -> list[str]:
        result = pytester.runpytest(*options, *args)
        assert result.ret == 0, result.stdout.str() + result.stderr.str()
        return [line for line in result.stdout.lines if line.startswith("base_url: ")]

    assert shown() == ["base_url: http://ini.example/"]
    monkeypatch.setenv("PYTEST_BASE_URL", "http://env.example/")
    assert shown() == ["base_url: http://env.example/"]
    assert shown("--base-url", "http://line.example/") == ["base_url: http://line.example/"]
