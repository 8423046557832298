"""The reports of real runs of a sample of the suites (``SAMPLE``; the reports of every suite are rendered in
test_report_in_chromium.py): against the reference server with secrets given in every way the harness accepts,
and against a faulty server. Checks the Allure report, the HTML report and that no
secret reaches any output file."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from report_samples import REPO, SAMPLE, check_steps, chromium, elements, generate_allure_report

import mockserver
from harness.record import request_outcome
from tests.support import hostile
from tests.support.echo_proxy import start_echo_proxy
from tests.support.loopback import serve_in_thread
from tests.support.probe import ProbeSpotter

CANARY_BEARER = "canary-bearer-7f3a9c"
CANARY_API_KEY = "canary-apikey-51d2e8"
CANARY_ENV = "canary-env-c04b6e"
VISIBLE = "visible-trace-9e1f"  # a plain header value: the scan must find it, or it could not find a leak


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """Where one run of the suites left its outputs, and what it printed."""

    directory: Path
    report_dir: Path
    allure_dir: Path
    junit: Path
    exit_code: int
    output: str

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.report_dir / "summary.json").read_text(encoding="utf-8"))


def run_suites(directory: Path, *options: str, env: dict[str, str] | None = None) -> SuiteRun:
    """Run the sample's suites as a vendor would, with Allure, JUnit and debug logs all switched on."""
    directory.mkdir(parents=True, exist_ok=True)
    run = SuiteRun(
        directory, directory / "ctk-report", directory / "allure-results", directory / "junit.xml", 0, ""
    )
    command = [
        sys.executable, "-m", "pytest", "harness/suites", "-p", "no:cacheprovider", "-rA", "-v",
        "--ctk-report", str(run.report_dir), "--alluredir", str(run.allure_dir), "--junitxml", str(run.junit),
        "-o", "junit_logging=all", "--log-level", "DEBUG",
        "--log-file", str(directory / "run.log"), "--log-file-level", "DEBUG", "--api", ",".join(SAMPLE), *options,
    ]  # fmt: skip
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTK_"))}
    result = subprocess.run(
        command,
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**clean_env, **(env or {})},
    )
    output = result.stdout + result.stderr
    (directory / "terminal.txt").write_text(output, encoding="utf-8")
    assert (run.report_dir / "summary.json").exists(), output[-3000:]
    return SuiteRun(run.directory, run.report_dir, run.allure_dir, run.junit, result.returncode, output)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The suites against the embedded reference server, given a secret as a header, an API key and an ${ENV}."""
    directory = tmp_path_factory.mktemp("reference-run")
    config = directory / "ctk-config.yaml"
    config.write_text('headers:\n  X-Tenant: "${CTK_CANARY_TENANT}"\n', encoding="utf-8")
    return run_suites(
        directory,
        "--header", f"Authorization: Bearer {CANARY_BEARER}",
        "--header", f"X-API-Key: {CANARY_API_KEY}",
        "--header", f"X-Trace: {VISIBLE}",
        "--ctk-config", str(config),
        env={"CTK_CANARY_TENANT": CANARY_ENV},
    )  # fmt: skip


class FaultyHandler(BaseHTTPRequestHandler):
    """A vendor server gone wrong: every call answers 200 with an empty JSON object."""

    probes = ProbeSpotter()  # the module's one faulty server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        probe = self.probes.is_probe(self.command, self.path)
        body = b"[]" if probe else b"{}"  # the pre-flight's probe gets a list
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[str]:
    with serve_in_thread(FaultyHandler) as url:
        yield url


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory, faulty_server: str) -> SuiteRun:
    """The suites against the faulty server, with TMF635 pointed at one that hangs up after the pre-flight."""
    with hostile.serve(hostile.hang_up, honest_probe=True) as hanging_up:
        return run_suites(
            tmp_path_factory.mktemp("faulty-run"), "--base-url", faulty_server,
            "--api-url", f"tmf635={hanging_up.url}/usageManagement/v4/",
        )  # fmt: skip


def output_files(run: SuiteRun) -> list[Path]:
    return [path for path in run.directory.rglob("*") if path.is_file() and path.name != "ctk-config.yaml"]


def test_reference_run_passes_and_writes_every_report(reference_run: SuiteRun) -> None:
    assert reference_run.exit_code == 0, reference_run.output[-3000:]
    summary = reference_run.summary
    assert list(summary["apis"]) == list(SAMPLE)  # in tmfapis order
    assert (reference_run.report_dir / "report.html").exists()
    assert {"environment.properties", "executor.json", "categories.json"} <= {
        path.name for path in reference_run.allure_dir.iterdir()
    }


def test_no_secret_reaches_any_output_file(reference_run: SuiteRun, tmp_path: Path) -> None:
    generate_allure_report(reference_run.allure_dir, reference_run.directory)
    files = output_files(reference_run)
    assert len(files) > 20  # results, attachments, summary, HTML, JUnit, log, terminal, generated report
    assert any(path.suffix == ".xml" for path in files) and any(path.name == "run.log" for path in files)
    assert [path for path in files if VISIBLE.encode() in path.read_bytes()]
    for canary in (CANARY_BEARER, CANARY_API_KEY, CANARY_ENV):
        leaks = [str(path) for path in files if canary.encode() in path.read_bytes()]
        assert not leaks, f"{canary} leaked into {leaks}"
    # the secrets were sent, so the redaction is what kept them out
    attachments = [p.read_text(encoding="utf-8") for p in reference_run.allure_dir.glob("*-attachment.txt")]
    assert any("Authorization: ***" in text and "X-Tenant: ***" in text for text in attachments)


def allure_title(record: dict[str, Any]) -> str:
    """The Allure title a request of the run record should get: what a scenario checks, or the kit request."""
    if record["folder"] == "SPEC":
        return str(record["description"]).split(". Exchanges: ")[0]
    return f"{record['folder']} {record['method']} {record['name']}"


def allure_tests_by_request(run: SuiteRun, workdir: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each request of the run record paired with its test in the generated Allure report, in run order.

    Allure keeps start times in milliseconds, so quick tests share one; among those, the order of the titles
    the record expects decides (a test whose title is expected nowhere sorts last and fails the comparison).
    """
    tests = generate_allure_report(run.allure_dir, workdir).values()
    by_api: dict[str, list[dict[str, Any]]] = {}
    for test in tests:
        (tag,) = [t for t in test["groupedLabels"]["tag"] if t.startswith("tmf")]
        by_api.setdefault(tag, []).append(test)
    pairs = []
    for api_id, block in run.summary["apis"].items():
        records = block["requests"]
        titles = [allure_title(record) for record in records]
        position = {title: titles.index(title) for title in titles}
        ordered = sorted(by_api.get(api_id, []), key=lambda t: (t["start"], position.get(t["name"], len(titles))))
        assert len(ordered) == len(records), api_id
        pairs += list(zip(records, ordered, strict=True))
    return pairs


@pytest.mark.parametrize("run_name", ["reference_run", "faulty_run"])
def test_allure_report_has_a_test_per_request_and_a_step_per_check(
    run_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run: SuiteRun = request.getfixturevalue(run_name)
    pairs = allure_tests_by_request(run, tmp_path)
    assert len(pairs) == sum(len(block["requests"]) for block in run.summary["apis"].values())
    kit_requests = [record for record, _ in pairs if record["folder"] != "SPEC"]
    assert len(kit_requests) == sum(block["totals"]["requests"] for block in run.summary["apis"].values())
    for record, test in pairs:
        spec = record["folder"] == "SPEC"
        assert test["name"] == allure_title(record)
        assert test["groupedLabels"]["feature"] == [record["folder"]]
        assert test["groupedLabels"]["suite"] == [record["folder"]]
        assert test["groupedLabels"]["parentSuite"] == test["groupedLabels"]["epic"]
        assert check_steps(test) == [(c["name"], c["outcome"]) for c in record["checks"]]
        # the one outcome rule; a spec-tier scenario with a deviation ends xfailed, which Allure shows as skipped
        expected = {"failed": "failed", "skipped": "skipped", "deviation": "skipped" if spec else "passed",
                    "passed": "passed"}[request_outcome(record)]
        assert test["status"] == expected, record["name"]


def test_faulty_run_failures_are_categorised(faulty_run: SuiteRun, tmp_path: Path) -> None:
    assert faulty_run.exit_code == 1, faulty_run.output[-3000:]
    categories: dict[str, set[str]] = {}
    deviations: list[set[str]] = []
    for record, test in allure_tests_by_request(faulty_run, tmp_path):
        deviated = any(c["outcome"] == "failed" for c in record["checks"])
        if record["folder"] == "SPEC" and deviated and not record["skipped"]:
            deviations.append({c["name"] for c in test.get("categories", [])})
        if test["status"] == "failed":
            (api_id,) = [tag for tag in test["groupedLabels"]["tag"] if tag.startswith("tmf")]
            categories.setdefault(api_id, set()).update(c["name"] for c in test.get("categories", []))
    assert categories["tmf681"] == {"CTK failure"}
    assert categories["tmf635"] == {"Transport error"}
    assert deviations and all(names == {"Spec deviation"} for names in deviations)


@pytest.mark.parametrize("run_name", ["reference_run", "faulty_run"])
def test_html_report_in_chromium_matches_the_run_record(
    run_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    run: SuiteRun = request.getfixturevalue(run_name)
    page = run.report_dir / "report.html"
    dom = chromium(page, tmp_path / "profile", "--dump-dom")
    screenshot = tmp_path / f"{run_name.replace('_', '-')}.png"  # under tmp_path: nothing written into the repository
    chromium(page, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2000")
    assert screenshot.stat().st_size > 10_000
    sections = {section["data-api"]: section for section in elements(dom, "section", class_="api")}
    for api_id, block in run.summary["apis"].items():
        section = sections[api_id]
        totals = block["totals"]
        assert section["data-verdict"] == block["verdict"].lower()
        assert section["data-requests"] == str(totals["requests"])
        assert section["data-failed-requests"] == str(totals["failed_requests"])
        assert section["data-assertions"] == str(totals["assertions"])
        assert section["data-failed-assertions"] == str(totals["failed_assertions"])
    verdicts = {block["verdict"] for block in run.summary["apis"].values()}
    assert elements(dom, "body")[0]["data-verdict"] == ("passed" if run_name == "reference_run" else "failed")
    assert len(verdicts) == 1  # the reference server passes them all, the faulty server fails them all


# ---- a vendor system that echoes the bare token, behind URLs carrying credentials --------------------

CANARY_URL_USER = "canary-user-5a1f"
CANARY_URL_PASS = "canary-urlpass-8d2c"  # from ${ENV}, inside the userinfo of an API URL
CANARY_TENANT = "canary-tenant-e93b"  # from ${ENV}, inside the path of the base URL
SUMMARY_LINE = re.compile(r"^(tmf\d+) .+?: (\w+) \((\d+) requests, (\d+) failed;", re.MULTILINE)  # names hold spaces


@pytest.fixture(scope="module")
def echo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteRun]:
    """The sample's suites against a proxy that echoes the bare token and drops every ?fields= request, with
    secrets in --header, in ${ENV} inside base_url, and as URL userinfo (also from ${ENV}) in an API URL."""
    directory = tmp_path_factory.mktemp("echo-run")
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as upstream, \
            start_echo_proxy(upstream.url, prefix=f"/{CANARY_TENANT}") as proxy:
        config = directory / "ctk-config.yaml"
        host = proxy.removeprefix("http://")
        config.write_text(
            f'base_url: "http://{host}/${{CTK_CANARY_TENANT}}/"\n'
            f'apis:\n  tmf681:\n    url: "http://{CANARY_URL_USER}:${{CTK_CANARY_PASS}}@{host}/${{CTK_CANARY_TENANT}}'
            '/tmf-api/communicationManagement/v4/"\n',
            encoding="utf-8",
        )
        yield run_suites(
            directory,
            "--header", f"Authorization: Bearer {CANARY_BEARER}",
            "--header", f"X-API-Key: {CANARY_API_KEY}",
            "--header", f"X-Trace: {VISIBLE}",
            f"--ctk-config={config}",
            env={"CTK_CANARY_TENANT": CANARY_TENANT, "CTK_CANARY_PASS": CANARY_URL_PASS},
        )  # fmt: skip


def test_an_echoing_server_and_credentials_in_urls_leak_into_no_output_file(echo_run: SuiteRun, tmp_path: Path) -> None:
    assert echo_run.exit_code == 1, echo_run.output[-3000:]
    generate_allure_report(echo_run.allure_dir, echo_run.directory)
    files = output_files(echo_run)
    assert len(files) > 20 and any(path.suffix == ".xml" for path in files)
    assert [path for path in files if VISIBLE.encode() in path.read_bytes()]
    # the server did echo: the masked echo is in the attachments
    attachments = [p.read_text(encoding="utf-8") for p in echo_run.allure_dir.glob("*-attachment.txt")]
    assert any("X-Echo: ***" in text and "request by ***" in text for text in attachments)
    secrets = (CANARY_BEARER, CANARY_API_KEY, CANARY_TENANT, CANARY_URL_USER, CANARY_URL_PASS)
    for canary in secrets:
        leaks = [str(path) for path in files if canary.encode() in path.read_bytes()]
        assert not leaks, f"{canary} leaked into {leaks}"
    basic = base64.b64encode(f"{CANARY_URL_USER}:{CANARY_URL_PASS}".encode())
    assert not [str(path) for path in files if basic in path.read_bytes()]
    assert "api_url tmf681: http://***@127.0.0.1:" in echo_run.output


def test_failed_request_counts_agree_in_terminal_record_html_allure_and_junit(echo_run: SuiteRun) -> None:
    """One rule, one count: the failed kit requests of each API, wherever the run reports them."""
    summary = echo_run.summary
    record = {api_id: block["totals"]["failed_requests"] for api_id, block in summary["apis"].items()}
    assert record and all(record.values())  # every suite has field selections that got no answer
    terminal = {m.group(1): int(m.group(4)) for m in SUMMARY_LINE.finditer(echo_run.output)}
    page = (echo_run.report_dir / "report.html").read_text(encoding="utf-8")
    html_totals, html_articles = {}, {}
    sections = {section["data-api"]: section for section in elements(page, "section", class_="api")}
    for api_id in record:
        html_totals[api_id] = int(sections[api_id]["data-failed-requests"])
        start = page.index(f'<section class="api" id="api-{api_id}"')
        block = page[start:page.index("</section>", start)]
        html_articles[api_id] = len(elements(block, "article", data_outcome="failed"))
    allure: dict[str, int] = {}
    for path in echo_run.allure_dir.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        labels = {(label["name"], label["value"]) for label in result["labels"]}
        (api_id,) = [value for name, value in labels if name == "tag" and value.startswith("tmf")]
        if ("feature", "SPEC") not in labels and result["status"] == "failed":  # a kit request that failed
            allure[api_id] = allure.get(api_id, 0) + 1
    junit = ET.parse(echo_run.junit).getroot()
    failed_cases = [case for case in junit.iter("testcase") if case.find("failure") is not None]
    assert terminal == record == html_totals == html_articles == allure, (terminal, record, html_totals, html_articles, allure)
    assert len(failed_cases) == sum(record.values())
