"""A vendor offers some of the APIs: ``tmf-ctk run`` certifies those its system answers, lists the others as not
offered, and fails an API selected by name that is not there. The pre-flight asks no more than the kit does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import mockserver
import tmfapis
from harness.preflight import probe
from harness.pytest.preflight import PREFLIGHT_FAILED
from harness.redact import Redactor
from tests.harness.conftest import SUITES, CtkRun
from tests.support.fault_proxy import Exchange, Fault, start_proxy
from tests.support.loopback import serve_in_thread

OFFERED = ("tmf681", "tmf629", "tmf635")
NOT_FOUND_PAGE = b"<html><body><h1>404 Not Found</h1></body></html>"


def _not_found(exchange: Exchange) -> None:
    exchange.forward, exchange.status, exchange.payload = False, 404, NOT_FOUND_PAGE
    exchange.headers = {"Content-Type": "text/html"}


def _offering(api_ids: tuple[str, ...]) -> Fault:
    """A vendor system that serves these APIs (the reference server's answers) and a 404 page under any other root."""
    roots = tuple(tmfapis.api(api_id).base_path for api_id in api_ids)

    def route(exchange: Exchange) -> None:
        if not exchange.path.startswith(roots):
            _not_found(exchange)

    return Fault(on_request=route)


@pytest.fixture
def vendor(reference_server: mockserver.BackgroundServer) -> Iterator[str]:
    with start_proxy(reference_server.url, _offering(OFFERED)) as url:
        yield url


def tmf_ctk_run(directory: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """``tmf-ctk run`` from an empty folder, as a vendor runs it; its output and the run record it wrote."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTK_"))}
    done = subprocess.run([sys.executable, "-m", "harness.pytest.cli", "run", "-p", "no:cacheprovider",
                           "--ctk-report", "report", *options],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=600, check=False)
    record = directory / "report" / "summary.json"
    return done, json.loads(record.read_text(encoding="utf-8")) if record.exists() else None


def test_tmf_ctk_run_certifies_the_offered_apis_and_lists_the_others_once(vendor: str, tmp_path: Path) -> None:
    done, summary = tmf_ctk_run(tmp_path, "--base-url", vendor)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and summary is not None, output[-3000:]
    assert sorted(summary["apis"]) == sorted(OFFERED)
    assert all(entry["verdict"] == "passed" for entry in summary["apis"].values())
    absent = [api_id for api_id in tmfapis.API_IDS if (SUITES / f"ctk{api_id[3:]}").is_dir() and api_id not in OFFERED]
    assert absent and list(summary["not_offered"]) == absent
    assert all(" answers 404 (text/html, body '<html>" in seen for seen in summary["not_offered"].values())
    assert "preflight_failed" not in summary and "pre-flight:" not in output
    listed = [line for line in done.stdout.splitlines() if line.startswith("APIs: ")]
    certified = ", ".join(a for a in tmfapis.API_IDS if a in OFFERED)
    assert listed == [f"APIs: certified 3 ({certified}); not offered {len(absent)} ({', '.join(absent)})"], output[-3000:]
    assert not [line for line in done.stdout.splitlines() if any(line.startswith(f"{a} ") for a in absent)]
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Not offered: the root answered 404" in page and all(f'<tr data-api="{a}">' in page for a in absent)


@pytest.mark.parametrize("selection", [["--api", "tmf629,{missing}"], ["-m", "tmf629 or {missing}"],
                                       ["--api-url", "{missing}={vendor}/tmf-api/nowhere/v4/"]],
                         ids=["--api", "-m", "--api-url"])
def test_an_api_selected_by_name_that_is_not_offered_fails(selection: list[str], vendor: str, tmp_path: Path) -> None:
    missing = next(a for a in tmfapis.API_IDS if (SUITES / f"ctk{a[3:]}").is_dir() and a not in OFFERED)
    options = [option.format(missing=missing, vendor=vendor) for option in selection]
    done, summary = tmf_ctk_run(tmp_path, "--base-url", vendor, *options)
    assert done.returncode == PREFLIGHT_FAILED, (done.stdout + done.stderr)[-3000:]
    assert summary is not None and summary["apis"] == {} and list(summary["preflight_failed"]) == [missing]
    assert f"pre-flight: {missing}: GET {vendor}/tmf-api/" in done.stdout and " answers 404 (text/html" in done.stdout


def test_api_selects_apis_and_names_only_known_collected_ones(run_ctk: Callable[..., CtkRun],
                                                              reference_server: mockserver.BackgroundServer) -> None:
    run = run_ctk("--base-url", reference_server.url, "--api", "tmf629", "-k", "404ID", suites=("ctk629", "ctk681"))
    assert run.result.ret == 0 and run.summary is not None, run.result.stdout.str()
    assert list(run.summary["apis"]) == ["tmf629"]
    unknown = run_ctk("--base-url", reference_server.url, "--api", "tmf999", suites=("ctk629",))
    assert unknown.result.ret == pytest.ExitCode.USAGE_ERROR and "--api names unknown API 'tmf999'" in unknown.result.stderr.str()
    uncollected = run_ctk("--base-url", reference_server.url, "--api", "tmf683", suites=("ctk629",))
    assert uncollected.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--api tmf683: the run collects no suite of it" in uncollected.result.stderr.str()
    under_xdist = run_ctk("--base-url", reference_server.url, "--api", "tmf683", "-n", "2", suites=("ctk629",))
    assert under_xdist.result.ret == pytest.ExitCode.USAGE_ERROR, under_xdist.result.stdout.str()
    assert "--api tmf683: the run collects no suite of it" in under_xdist.result.stdout.str()


def test_when_no_selected_api_is_offered_the_run_stops_with_the_hint(run_ctk: Callable[..., CtkRun],
                                                                    reference_server: mockserver.BackgroundServer) -> None:
    with start_proxy(reference_server.url, _offering(())) as url:
        run = run_ctk("--base-url", url + "/api/", suites=("ctk629", "ctk681"))
    assert run.result.ret == PREFLIGHT_FAILED and run.summary is not None
    assert sorted(run.summary["preflight_failed"]) == ["tmf629", "tmf681"] and "not_offered" not in run.summary
    run.result.stdout.fnmatch_lines(["pre-flight: tmf681: GET * answers 404 (text/html, *); --base-url should be the server root*"])


def test_under_xdist_the_tests_of_an_api_not_offered_are_skipped(vendor: str, run_ctk: Callable[..., CtkRun]) -> None:
    run = run_ctk("--base-url", vendor, "-n", "2", "-k", "404ID", suites=("ctk629", "ctk683"))
    assert run.result.ret == 0 and run.summary is not None, run.result.stdout.str()
    assert list(run.summary["apis"]) == ["tmf629"] and list(run.summary["not_offered"]) == ["tmf683"]
    outcomes = run.result.parseoutcomes()
    assert outcomes.get("passed") == 1 and outcomes.get("skipped", 0) >= 1 and "failed" not in outcomes


# the pre-flight asks no more than the kit's first request


def _refusing_unknown_parameters(exchange: Exchange) -> None:
    """As a real vendor server: a query parameter it does not know (paging) is a 404 web page."""
    if {key for key, _, _ in (part.partition("=") for part in urlsplit(exchange.path).query.split("&"))} & {"limit", "offset"}:
        _not_found(exchange)


class ListsOnlyPlainly(BaseHTTPRequestHandler):
    """``200 []`` to a plain GET, a 404 web page to any query parameter."""

    def do_GET(self) -> None:
        status, body, kind = (404, NOT_FOUND_PAGE, "text/html") if "?" in self.path else (200, b"[]", "application/json")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_probe_asks_no_query_parameter() -> None:
    import requests

    with serve_in_thread(ListsOnlyPlainly) as url, requests.Session() as session:
        found = probe(session, Redactor(), "tmf629", f"{url}/tmf-api/customerManagement/v4/", url)
    assert found is None, found.line if found else ""


def test_a_server_refusing_unknown_query_parameters_is_certified_not_stopped(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_request=_refusing_unknown_parameters)) as url:
        run = run_ctk("--base-url", url, suites=("ctk629",))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None and run.summary["apis"]["tmf629"]["verdict"] == "passed"


# the suite file being run is the one both tiers read


def test_a_modified_copy_of_a_suite_is_what_both_tiers_use(pytester: pytest.Pytester,
                                                          reference_server: mockserver.BackgroundServer) -> None:
    declared = yaml.safe_load((SUITES / "ctk629" / "ctk629.yaml").read_text(encoding="utf-8"))
    customer = declared["resources"][0]
    customer["payloads"][0]["name"] = "Copied Club"
    customer["profile_mandatory"] = [*customer["profile_mandatory"], "validFor"]  # the server sets none
    path = pytester.path / "mysuites" / "suites" / "ctk629" / "ctk629.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(declared, sort_keys=False), encoding="utf-8")
    result = pytester.runpytest("mysuites", "-p", "no:cacheprovider", "--base-url", reference_server.url,
                                "--ctk-report", "report", "-k", "N1 or profile")
    summary = json.loads((pytester.path / "report" / "summary.json").read_text(encoding="utf-8"))
    requests = summary["apis"]["tmf629"]["requests"]
    create = next(r for r in requests if r["folder"] == "N1" and r["method"] == "POST")
    assert '"name": "Copied Club"' in create["request"]["body"]  # the CTK tier sent the copy's payload
    profile = [c for r in requests if r["folder"] == "SPEC" for c in r["checks"] if "Conformance Profile" in c["name"]]
    assert [c for c in profile if c["outcome"] == "failed" and "validFor" in c["message"]], profile
    assert result.ret == 0, result.stdout.str()  # a spec deviation alone does not fail the run


def _record_paths(paths: list[str]) -> Fault:
    def record(exchange: Exchange) -> None:
        paths.append(f"{exchange.method} {exchange.path}")

    return Fault(on_request=record)


@pytest.mark.parametrize("options", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_the_probe_asks_for_the_resource_the_kit_first_sends_to(
    options: list[str], pytester: pytest.Pytester, reference_server: mockserver.BackgroundServer
) -> None:
    """A copy of a suite that lists usageSpecification first: the probe asks for it, not for usage."""
    declared = yaml.safe_load((SUITES / "ctk635" / "ctk635.yaml").read_text(encoding="utf-8"))
    declared["resources"].reverse()
    path = pytester.path / "suites" / "ctk635" / "ctk635.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(declared, sort_keys=False), encoding="utf-8")
    paths: list[str] = []
    with start_proxy(reference_server.url, _record_paths(paths)) as url:
        result = pytester.runpytest("-p", "no:cacheprovider", "--base-url", url, "--ctk-report", "report",
                                    "-m", "ctk", "-k", "404ID", *options)
    assert result.ret == 0, result.stdout.str()
    assert paths[0] == "GET /tmf-api/usageManagement/v4/usageSpecification", paths
