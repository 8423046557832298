"""APIs run side by side (``--ctk-concurrency``): each API's requests in its kit's order, records as pytest ran them,
a failing API leaves the others alone, a stopped run deletes what was sent ahead; and one at a time on request."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

import mockserver
import tmfapis
from harness.http import BoundedSession
from harness.pytest.lanes import Chain, Lanes, Step
from tests.support.fault_proxy import Exchange, Fault, start_proxy
from tests.support.suite_runs import copy_suites

SUITES = ("ctk629", "ctk681")


@dataclass(eq=False)
class Wire:
    """The requests a proxy saw, in the order they arrived, as (API id, method, path and query)."""

    seen: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    failing: str = ""  # an API whose every create the proxy answers 500

    def on_request(self, exchange: Exchange) -> None:
        api_id = next((a.id for a in tmfapis.apis() if exchange.path.startswith(a.base_path)), "")
        with self.lock:
            self.seen.append((api_id, exchange.method, exchange.path))
        if api_id == self.failing and exchange.method == "POST":
            exchange.forward, exchange.status, exchange.payload = False, 500, b'{"code": "500"}'
            exchange.headers = {"Content-Type": "application/json"}

    def of(self, api_id: str) -> list[tuple[str, str]]:
        """What the tests of one API sent, in order (its first request was the pre-flight's probe)."""
        return [(method, path) for seen_api, method, path in self.seen if seen_api == api_id][1:]

    def apis(self) -> list[str]:
        """Which API each request of the tests went to, in order (the pre-flight probed both roots first)."""
        return [api_id for api_id, _, _ in self.seen][len(SUITES):]


@pytest.fixture
def slow_server() -> Iterator[mockserver.BackgroundServer]:
    """A reference server that answers after 30 ms, so that requests under way at once overlap."""
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False, latency_ms=30)) as server:
        yield server


def _run(pytester: pytest.Pytester, server: mockserver.BackgroundServer, wire: Wire, *args: str) -> tuple[int, dict[str, Any]]:
    copy_suites(pytester.path, SUITES)
    report = pytester.path / "report"
    with start_proxy(server.url, Fault(on_request=wire.on_request)) as url:
        result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "--base-url", url,
                                    "--ctk-report", str(report), *args)
    return int(result.ret), json.loads((report / "summary.json").read_text(encoding="utf-8"))


def _sent(record: dict[str, Any]) -> tuple[str, str]:
    parts = urlsplit(record["url"])
    return record["method"], parts.path + (f"?{parts.query}" if parts.query else "")


def _verdicts(summary: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Per API, each request's folder, name, status and checks (without the values a check name quotes)."""
    return {api_id: [(r["folder"], r["name"], r["status"], [(c["name"].split(" is ")[0], c["outcome"]) for c in r["checks"]])
                     for r in entry["requests"]] for api_id, entry in summary["apis"].items()}


def test_apis_run_side_by_side_each_in_its_kits_order_and_one_at_a_time_on_request(
    pytester: pytest.Pytester, slow_server: mockserver.BackgroundServer
) -> None:
    side_by_side, in_turn = Wire(), Wire()
    status, summary = _run(pytester, slow_server, side_by_side)
    status_in_turn, summary_in_turn = _run(pytester, slow_server, in_turn, "--ctk-concurrency", "1")
    assert status == status_in_turn == 0
    assert _verdicts(summary) == _verdicts(summary_in_turn)  # the same records, in pytest's order
    for api_id in ("tmf629", "tmf681"):
        kit = [_sent(r) for r in summary["apis"][api_id]["requests"] if r["folder"] != "SPEC" and r["status"]]
        assert side_by_side.of(api_id)[:len(kit)] == kit  # the kit's requests first, in the kit's order
    apis = side_by_side.apis()
    assert "tmf681" in apis[:len(apis) - apis[::-1].index("tmf629")]  # under way beside tmf629's
    turns = in_turn.apis()
    assert turns == sorted(turns, key=["tmf629", "tmf681"].index)  # one at a time: one API after the other


def test_a_failing_api_does_not_stop_another_and_its_records_are_complete(
    pytester: pytest.Pytester, slow_server: mockserver.BackgroundServer
) -> None:
    status, summary = _run(pytester, slow_server, Wire(failing="tmf629"))
    assert status == 1
    failed, passed = summary["apis"]["tmf629"], summary["apis"]["tmf681"]
    assert failed["verdict"] == "failed"
    assert passed["verdict"] == "passed" and passed["spec"]["checks"] > 0  # every kit request ran, then the spec tier
    assert all(r["status"] is not None or r["skipped"] for r in failed["requests"])  # answered 500 or skipped: none lost


def test_a_stopped_run_deletes_what_was_sent_ahead(pytester: pytest.Pytester, slow_server: mockserver.BackgroundServer) -> None:
    wire = Wire(failing="tmf629")
    status, summary = _run(pytester, slow_server, wire, "-x")
    assert status == 1
    assert list(summary["apis"]) == ["tmf629"]  # what pytest reported: it stopped at the first failure
    methods = [method for method, _ in wire.of("tmf681")]
    assert "POST" in methods and "DELETE" in methods  # tmf681's requests ran ahead, and what they created is deleted
    root = slow_server.url + tmfapis.api("tmf681").base_path + "communicationMessage"
    assert requests.get(root, timeout=10).json() == []


def test_lanes_keep_each_chain_in_order_and_one_worker_keeps_pytests_order() -> None:
    done: list[str] = []

    def step(name: str) -> Step:
        return Step(name, lambda: done.append(name) or name)

    lanes = Lanes(workers=1)
    second = [[Chain(5, (step("b1"), step("b2")))]]
    first = [[Chain(0, (step("a1"), step("a2")))], [Chain(2, (step("a4"),)), Chain(1, (step("a3"),))]]
    lanes.start([second, first])
    assert [lanes.result(name) for name in ("a1", "a2", "a3", "a4", "b1", "b2")] == ["a1", "a2", "a3", "a4", "b1", "b2"]
    lanes.stop()
    assert done == ["a1", "a2", "a3", "a4", "b1", "b2"]


def test_lanes_tell_a_steps_error_to_whoever_asks_and_after_stop_do_only_what_must_be_done() -> None:
    done: list[str] = []

    def failing() -> None:
        raise ValueError("broken step")

    lanes = Lanes(workers=1)
    lanes.start([[[Chain(0, (Step("broken", failing), Step("next", lambda: done.append("next"))))],
                  [Chain(1, (Step("held", lambda: _until(lambda: lanes.stopping)),))],
                  [Chain(2, (Step("dropped", lambda: done.append("dropped")),
                             Step("cleanup", lambda: done.append("cleanup"), always=True)))]]])
    with pytest.raises(ValueError, match="broken step"):
        lanes.result("broken")
    lanes.result("next")
    lanes.stop()  # while "held" runs: what follows it is dropped, but the cleanup
    assert done == ["next", "cleanup"]


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)



def test_the_session_reads_the_environment_once_per_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests iterates os.environ for each request; pytest changes it while the lanes send, so it is read once."""
    session = BoundedSession()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session.read_environment(["https://vendor.example/tmf-api/customerManagement/v4/"])

    def read_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the environment was read again")

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", read_again)
    settings = session.merge_environment_settings("https://vendor.example/tmf-api/other/v4/x", {}, True, None, None)
    assert settings["proxies"]["https"] == "http://proxy.example:3128" and settings["stream"] is True
