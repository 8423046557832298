"""Runs against hostile systems end in bounded time and memory, and credentials stay on their origin.

First ``send`` itself against each hostile server, then the five suites run as a vendor runs them, with
canary credentials in ``--header`` and in a ``${ENV}`` value of ``--ctk-config``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from harness.config import ConfigError, settings_from
from harness.http import NOT_JSON, BoundedSession, Reply, send
from harness.preflight import probe
from harness.pytest.preflight import PREFLIGHT_FAILED
from harness.record import request_outcome
from harness.redact import Redactor
from tests.support import hostile
from tests.support.hostile import HostileServer, Request, serve

REPO = Path(__file__).resolve().parents[2]

CANARY_HEADER = "canary-hdr-5b1e0c"
CANARY_ENV = "canary-env-93d7aa"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def bomb_built() -> None:
    """Build the gzip bomb once, before any server serves it (building it takes seconds)."""
    hostile.bomb()


def session(timeout_s: float = 2, max_body_mb: float = 1, headers: dict[str, str] | None = None) -> BoundedSession:
    bounded = BoundedSession(timeout_s, int(max_body_mb * MIB))
    bounded.headers.update(headers or {})
    return bounded


def timed_send(bounded: BoundedSession, method: str, url: str, body: Any = None) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = send(bounded, method, url, Redactor(), body)
    return reply, time.monotonic() - started


# send, one hostile answer at a time


def test_a_refused_connection_is_a_problem() -> None:
    with hostile.refused_url() as url:
        reply, _ = timed_send(session(), "GET", url + "/x")
    assert reply.status is None and reply.problem is not None and "refused" in reply.problem


@pytest.mark.parametrize("behaviour", [hostile.silent, hostile.drip], ids=["silent", "drip"])
def test_the_deadline_covers_the_whole_answer(behaviour: hostile.Behaviour) -> None:
    """A server that never answers, or drips a byte a second from the status line on, gets 2.5 s in all."""
    with serve(behaviour) as server:
        reply, elapsed = timed_send(session(timeout_s=2.5), "GET", server.url + "/x")
    assert reply.status is None and reply.problem == f"no complete answer from {server.url}/x within 2.5s"
    assert elapsed < 10  # the drip alone would take 80 s


@pytest.mark.usefixtures("bomb_built")
def test_a_gzip_bomb_stops_at_the_cap() -> None:
    with serve(hostile.gzip_bomb) as server:
        reply, _ = timed_send(session(timeout_s=30), "GET", server.url + "/x")
    assert reply.status is None and reply.problem is not None
    assert "has a body larger than 1 MiB; reading stopped there" in reply.problem, reply.problem


def test_a_long_body_without_length_stops_at_the_cap() -> None:
    with serve(hostile.huge_body) as server:
        reply, _ = timed_send(session(timeout_s=30), "GET", server.url + "/x")
    assert reply.status is None and reply.problem is not None and "larger than 1 MiB" in reply.problem


def test_a_body_within_the_cap_is_read_whole() -> None:
    with serve(hostile.echo_token) as server:
        reply, _ = timed_send(session(), "POST", server.url + "/x", {"a": "b" * 1000})
    assert reply.status == 200 and reply.problem is None and reply.body["body"] == json.dumps({"a": "b" * 1000})


def test_a_redirect_to_another_origin_is_reported_and_not_followed() -> None:
    with serve(hostile.echo_token) as other, serve(hostile.redirect_to(other.url)) as server:
        bounded = session(headers={"X-API-Key": CANARY_HEADER, "Authorization": f"Bearer {CANARY_HEADER}"})
        reply, _ = timed_send(bounded, "GET", server.url + "/tmf-api/x?a=1")
    assert other.requests == []
    assert reply.status == 302 and reply.body is NOT_JSON
    assert reply.problem == f"redirected (302) to another origin {other.url}/tmf-api/x?a=1; not followed with credentials"


def same_origin_redirects(request: Request, out: BinaryIO, stop: Any) -> None:
    """/307 keeps the method and body, /302 turns into a GET, /loop never ends; the rest echoes."""
    if request.path.startswith("/loop"):
        hostile.answer(out, "302 Found", b"", extra={"Location": "/loop"})
    elif request.path.startswith(("/307", "/302")):
        hostile.answer(out, f"{request.path[1:4]} Moved", b"", extra={"Location": "/final"})
    else:
        hostile.echo_token(request, out, stop)


def test_same_origin_redirects_are_followed_as_newman_does() -> None:
    with serve(same_origin_redirects) as server:
        bounded = session(headers={"X-API-Key": CANARY_HEADER})
        kept, _ = timed_send(bounded, "POST", server.url + "/307", {"a": 1})
        changed, _ = timed_send(bounded, "POST", server.url + "/302", {"a": 1})
        looped, _ = timed_send(bounded, "GET", server.url + "/loop")
    assert kept.status == 200 and kept.body["body"] == '{"a": 1}' and kept.exchange.method == "POST"
    assert kept.body["headers"]["X-API-Key"] == CANARY_HEADER  # the same origin gets the credentials
    assert changed.status == 200 and changed.body["body"] == "" and changed.exchange.method == "GET"
    assert [r.path for r in server.requests[:2]] == ["/307", "/final"]
    assert looped.status is None and looped.problem == f"more than 10 redirects from {server.url}/loop"


def test_the_session_never_follows_redirects_by_itself() -> None:
    with serve(hostile.echo_token) as other, serve(hostile.redirect_to(other.url)) as server:
        response = session(headers={"X-API-Key": CANARY_HEADER}).get(server.url + "/x")
    assert response.status_code == 302 and other.requests == []


# the five suites against each hostile server, as a vendor runs them

CANARY_KEY = "canary-key-0e4f71"
CANARIES = (CANARY_HEADER, CANARY_KEY, CANARY_ENV)
WRAPPER = (  # runs the command and reports the peak memory of the largest process it waited for
    "import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
    "print('max-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


@dataclass(frozen=True, slots=True)
class HostileRun:
    """What one run of the five suites left: exit status, time, peak memory, output and files."""

    exit_code: int
    seconds: float
    max_rss_mib: float
    output: str
    directory: Path

    @property
    def summary(self) -> dict[str, Any] | None:
        path = self.directory / "report" / "summary.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


FIVE = [f"harness/suites/{name}" for name in ("ctk681", "ctk629", "ctk683", "ctk622", "ctk635")]


def run_five_suites(directory: Path, base_url: str, *options: str) -> HostileRun:
    """All five suites with canary credentials in --header and in a ${ENV} value of --ctk-config, every report on."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "ctk-config.yaml"
    config.write_text('headers:\n  X-Tenant: "tenant ${CTK_HOSTILE_CANARY}"\n', encoding="utf-8")
    command = [
        sys.executable, "-c", WRAPPER, sys.executable, "-m", "pytest", *FIVE, "-p", "no:cacheprovider", "-rA",
        "--base-url", base_url, "--ctk-timeout", "2", "--ctk-config", str(config),
        "--header", f"Authorization: Bearer {CANARY_HEADER}", "--header", f"X-API-Key: {CANARY_KEY}",
        "--ctk-report", str(directory / "report"), "--alluredir", str(directory / "allure"),
        "--junitxml", str(directory / "junit.xml"), "-o", "junit_logging=all",
        "--log-file", str(directory / "run.log"), "--log-file-level", "DEBUG", *options,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTK_"))}
    started = time.monotonic()
    result = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**env, "CTK_HOSTILE_CANARY": CANARY_ENV})
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    (directory / "terminal.txt").write_text(output, encoding="utf-8")
    rss = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("max-rss-kib ")]
    return HostileRun(result.returncode, seconds, int(rss[-1]) / 1024, output, directory)


def assert_contained(run: HostileRun, *others: HostileServer, allowed_passes: frozenset[str] = frozenset()) -> None:
    """Non-zero within 90 s, under 400 MiB, no passing kit request, no INTERNALERROR, no canary anywhere it must not be."""
    assert run.exit_code != 0 and "INTERNALERROR" not in run.output and "Traceback" not in run.output, run.output[-3000:]
    assert run.seconds < 90 and run.max_rss_mib < 400, (run.seconds, run.max_rss_mib)
    summary = run.summary
    assert summary is not None, run.output[-3000:]  # also when the pre-flight stopped the run: the record says why
    if summary.get("preflight_failed"):
        assert run.exit_code == PREFLIGHT_FAILED and "pre-flight: tmf" in run.output and not summary["apis"], run.output[-3000:]
    else:
        kit = [request for api in summary["apis"].values() for request in api["requests"] if request["folder"] != "SPEC"]
        # The kit's steps without checks (most fields=x lists) pass whatever the answer, as in Newman.
        passing = [r["name"] for r in kit if request_outcome(r) == "passed" and r["checks"]]
        assert kit and set(passing) <= allowed_passes, passing
    written = [path for path in run.directory.rglob("*") if path.is_file() and path.name != "ctk-config.yaml"]
    assert len(written) > 2
    for path in written:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not [canary for canary in CANARIES if canary in text], path
    for other in others:
        assert not [r for r in other.requests for canary in CANARIES if canary in r.header_text()], other.url


HOSTILE: dict[str, tuple[hostile.Behaviour, str, str]] = {
    # behaviour, what the pre-flight says about it, what a kit request's record says about it
    "silent": (hostile.silent, "no complete answer from http://127.0.0.1:*/tmf-api/* within 2s", ""),
    "drip": (hostile.drip, "no complete answer from http://127.0.0.1:*/tmf-api/* within 2s", ""),
    "gzip_bomb": (hostile.gzip_bomb, "the answer to GET http://* (status 200) has a body larger than 32 MiB*",
                  "has a body larger than 4 MiB; reading stopped there"),
    "huge_body": (hostile.huge_body, "the answer to GET http://* (status 200) has a body larger than 32 MiB*",
                  "has a body larger than 4 MiB; reading stopped there"),
    "html_500": (hostile.html_500, ("GET http://* answers 500 (text/html*, body *<html>*): HTML (a login page or a web site?), "
                 "not the API"), "the body is not JSON (text/html; charset=utf-8)"),
}


@pytest.mark.usefixtures("bomb_built")
@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_server_stops_the_run_at_the_pre_flight(name: str, tmp_path: Path) -> None:
    behaviour, said, _ = HOSTILE[name]
    with serve(behaviour) as server:
        run = run_five_suites(tmp_path, server.url)
    assert_contained(run)
    assert run.exit_code == PREFLIGHT_FAILED
    lines = [line for line in run.output.splitlines() if line.startswith("pre-flight: ")]
    assert len(lines) == 5 and all(fnmatch.fnmatch(line, f"pre-flight: tmf*: {said}") for line in lines), lines


def test_a_refused_connection_stops_the_run_at_the_pre_flight(tmp_path: Path) -> None:
    with hostile.refused_url() as url:
        run = run_five_suites(tmp_path, url)
    assert_contained(run)
    assert run.output.count("pre-flight: tmf") == 5 and "Connection refused" in run.output


def test_a_redirect_to_another_port_is_not_followed_by_the_pre_flight(tmp_path: Path) -> None:
    with serve(hostile.echo_token) as other, serve(hostile.redirect_to(other.url)) as server:
        run = run_five_suites(tmp_path, server.url)
    assert_contained(run, other)
    stops = [line for line in run.output.splitlines() if line.startswith("pre-flight: ")]
    assert other.requests == [] and len(stops) == 5 and all(f"to another origin {other.url}/tmf-api/" in s for s in stops)


@pytest.mark.usefixtures("bomb_built")
@pytest.mark.parametrize("name", ["gzip_bomb", "huge_body", "html_500"])
def test_hostile_answers_after_the_pre_flight_fail_the_kit_requests(name: str, tmp_path: Path) -> None:
    with serve(HOSTILE[name][0], honest_probe=True) as server:
        run = run_five_suites(tmp_path, server.url, "--ctk-max-body-mb", "4")
    assert_contained(run)
    assert run.summary is not None and run.exit_code == 1
    errors = {r["error"] for api in run.summary["apis"].values() for r in api["requests"] if r["folder"] != "SPEC"}
    assert any(error and HOSTILE[name][2] in error for error in errors), sorted(map(str, errors))[:5]


def test_redirects_and_foreign_hrefs_after_the_pre_flight_never_reach_the_other_port(tmp_path: Path) -> None:
    """Kit requests are redirected elsewhere, and every create answers with an href on the other port."""
    with serve(hostile.echo_token) as other, serve(hostile.redirect_to(other.url), honest_probe=True) as server:
        run = run_five_suites(tmp_path, server.url)
    assert_contained(run, other)
    assert other.requests == []
    assert run.summary is not None
    problems = [r["error"] or "" for api in run.summary["apis"].values() for r in api["requests"]]
    assert any("to another origin" in problem for problem in problems)
    assert f"the href {other.url}/" in json.dumps(run.summary) and "not followed with credentials" in json.dumps(run.summary)


@pytest.mark.parametrize("honest_probe", [False, True], ids=["from-the-start", "after-the-pre-flight"])
def test_a_server_echoing_the_credentials_leaks_them_nowhere(honest_probe: bool, tmp_path: Path) -> None:
    with serve(hostile.echo_token, honest_probe=honest_probe) as server:
        run = run_five_suites(tmp_path, server.url)
    assert_contained(run, allowed_passes=frozenset({"/Customer?fields=href", "/Customer?fields=id"}))
    assert any(CANARY_KEY in r.header_text() for r in server.requests)
    # A list answered as an object is one instance to the kits, so the pre-flight lets the run go on either way;
    # the kit's steps that check only the status pass, as in Newman.
    assert run.summary is not None and run.exit_code == 1


def test_under_xdist_the_controller_runs_the_pre_flight(tmp_path: Path) -> None:
    with serve(hostile.html_500) as server:
        run = run_five_suites(tmp_path, server.url, "-n", "2")
    assert_contained(run)
    assert run.exit_code == PREFLIGHT_FAILED and run.output.count("pre-flight: tmf") == 5
    assert len(server.requests) == 5 and {r.method for r in server.requests} == {"GET"}  # nothing but the probes


def creates_then_hangs_on_reads(request: Request, out: BinaryIO, stop: Any) -> None:
    """POST answers 201, DELETE 204, every read hangs: a run interrupted while it waits."""
    if request.method == "POST":
        hostile.answer(out, "201 Created", json.dumps({"id": "c1", "href": f"http://127.0.0.1{request.path}/c1"}).encode())
    elif request.method == "DELETE":
        hostile.answer(out, "204 No Content", b"")
    else:
        stop.wait()


TERMINAL_PYTEST = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); sys.exit(pytest.main())"
)


def test_ctrl_c_writes_the_run_record_and_reports_for_what_ran(tmp_path: Path) -> None:
    with serve(creates_then_hangs_on_reads, honest_probe=True) as server:
        # Ctrl-C as a terminal's foreground command meets it, even where this run was started with SIGINT ignored
        command = [sys.executable, "-c", TERMINAL_PYTEST, "harness/suites/ctk629", "-p", "no:cacheprovider", "-m", "ctk",
                   "--base-url", server.url, "--ctk-timeout", "60", "--ctk-report", str(tmp_path / "report"),
                   "--alluredir", str(tmp_path / "allure")]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CTK_"))}
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while [r.method for r in server.requests].count("GET") < 2:  # the probe, then a read of the kit
                assert time.monotonic() < deadline and process.poll() is None, "the run never reached a read"
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 2 and "INTERNALERROR" not in output, output[-3000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))
    (ran,) = summary["apis"]["tmf629"]["requests"]
    assert ran["method"] == "POST" and ran["status"] == 201
    assert (tmp_path / "report" / "report.html").exists() and list((tmp_path / "allure").glob("*-result.json"))


# what the pre-flight says, one answer at a time


def answering(status: str, body: bytes, content_type: str = "application/json") -> hostile.Behaviour:
    def behave(request: Request, out: BinaryIO, stop: Any) -> None:
        hostile.answer(out, status, body, content_type)

    return behave


@pytest.mark.parametrize(("status", "body", "content_type", "base_path", "said"), [
    ("200 OK", b"[]", "application/json", None, None),
    ("400 Bad Request", b'{"code": "x"}', "application/json", None, None),
    ("401 Unauthorized", b"{}", "application/json", None,
     "answers 401 (application/json, body '{}'); add the credentials with --header 'Name: value' or auth in --ctk-config"),
    ("403 Forbidden", b"", "text/plain", None, "answers 403 (text/plain, empty body); add the credentials"),
    ("200 OK", b"<html>\n <form>Sign in</form></html>", "text/html", None,
     "answers 200 (text/html, body '<html> <form>Sign in</form></html>'): HTML (a login page or a web site?), not the API"),
    ("200 OK", b"<html>", "application/json", None, "answers 200 (application/json, body '<html>'): HTML"),
    ("200 OK", b"", "application/json", None, "answers 200 (application/json, empty body), but the response to GET has an empty body"),
    ("200 OK", b'{"token": "x"}', "application/json", None, None),  # the kits take one object for a list
    ("404 Not Found", b"{}", "application/json", "/tmf-api/customerManagement/v4/",
     ("answers 404 (application/json, body '{}'); --base-url should be the server root; use --api-url tmf629=URL for a "
     "non-standard API root")),
    ("404 Not Found", b"{}", "application/json", "/",
     "answers 404 (application/json, body '{}'); the standard base path is not served there; use --api-url tmf629=URL"),
    ("404 Not Found", b"<h1>Not Found</h1>", "text/html", "api-url",
     "answers 404 (text/html, body '<h1>Not Found</h1>'); check --api-url tmf629"),
])
def test_the_pre_flight_names_what_is_wrong(status: str, body: bytes, content_type: str, base_path: str | None,
                                            said: str | None) -> None:
    with serve(answering(status, body, content_type)) as server:
        base_url = None if base_path == "api-url" else server.url + (base_path or "/")
        root = server.url + "/customerManagement/v4/" if base_url is None else base_url + "tmf-api/customerManagement/v4/"
        found = probe(session(), Redactor(), "tmf629", root, base_url)
    assert (found is None) if said is None else (found is not None and said in found.line), found
    assert found is None or found.not_offered == status.startswith("404")
    assert [r.method for r in server.requests] == ["GET"]
    assert server.requests[0].path.endswith("/customer")  # as the kit's first request: no query parameter


def test_collect_only_and_an_empty_selection_send_nothing(tmp_path: Path) -> None:
    with serve(hostile.html_500) as server:
        for options in (["--collect-only"], ["-k", "no-such-request"]):
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "harness/suites", "-p", "no:cacheprovider", "--base-url", server.url,
                 "--ctk-report", str(tmp_path / "report"), *options],
                check=False, cwd=REPO, capture_output=True, text=True, timeout=120)
            assert result.returncode in (0, 5) and "pre-flight" not in result.stdout, result.stdout[-2000:]
    assert server.requests == []


def test_the_bounds_come_from_the_command_line_else_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "ctk.yaml"
    path.write_text("timeout: 7\nmax_body_mb: 5\n", encoding="utf-8")
    common: dict[str, Any] = {"base_url": None, "api_urls": [], "headers": [], "insecure": False}
    from_file = settings_from(**common, config_path=path)
    from_line = settings_from(**common, config_path=path, timeout=2.5, max_body_mb=0.5)
    assert (from_file.timeout_s, from_file.max_body_mb) == (7, 5)
    assert (from_line.timeout_s, from_line.max_body_mb) == (2.5, 0.5)
    with pytest.raises(ConfigError, match="--ctk-timeout must be a positive number of seconds, got 0"):
        settings_from(**common, config_path=None, timeout=0)
    path.write_text("max_body_mb: lots\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_body_mb must be a positive number of MiB, got 'lots'"):
        settings_from(**common, config_path=path)
