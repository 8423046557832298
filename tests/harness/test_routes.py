"""The kits' routes: a server that answers a create with 202 takes the kit's asynchronous route (the monitor polled
until it says Completed, then the list the kit reads the instance from); where none does, that route is not run."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest

import tmfapis
from tests.support.loopback import serve_in_thread
from tests.support.suite_runs import SUITES

ROOT = tmfapis.api("tmf702").base_path


class AcceptingVendor(BaseHTTPRequestHandler):
    """A TMF702 server that creates in the background: POST answers 202 with a monitor, done after two reads."""

    instances: ClassVar[dict[str, dict[str, Any]]] = {}
    polls: ClassVar[dict[str, int]] = {}
    reads_to_complete: ClassVar[int] = 2
    lock = threading.Lock()

    def _answer(self, status: int, body: Any = None) -> None:
        data = json.dumps(body if body is not None else {"code": str(status)}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str | None, dict[str, str]]:
        parts = urlsplit(self.path)
        collection, _, instance_id = parts.path.removeprefix(ROOT).partition("/")
        return collection, instance_id or None, dict(parse_qsl(parts.query))

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        instance_id, monitor = str(uuid.uuid4()), str(uuid.uuid4())
        href = f"http://{self.headers['Host']}{ROOT}resource/{instance_id}"
        with self.lock:
            self.instances[instance_id] = {"id": instance_id, "href": href, **body}
            self.polls[monitor] = 0
        self._answer(202, {"id": monitor, "href": f"{ROOT}monitor/{monitor}", "state": "InProgress", "sourceHref": href})

    def do_GET(self) -> None:
        collection, instance_id, query = self._route()
        if collection == "monitor" and instance_id in self.polls:
            with self.lock:
                self.polls[instance_id] += 1
                done = self.polls[instance_id] >= self.reads_to_complete
            self._answer(200, {"id": instance_id, "href": f"{ROOT}monitor/{instance_id}",
                               "state": "Completed" if done else "InProgress"})
        elif collection == "resource" and instance_id is None:
            fields = query.pop("fields", None)
            found = [item for item in self.instances.values() if all(str(item.get(k)) == v for k, v in query.items())]
            if fields:
                found = [{k: v for k, v in item.items() if k in ("id", "href", fields)} for item in found]
            self._answer(200, found)
        elif collection == "resource" and instance_id in self.instances:
            self._answer(200, self.instances[instance_id])
        else:
            self._answer(404)

    def do_PATCH(self) -> None:
        _, instance_id, _ = self._route()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if instance_id not in self.instances:
            return self._answer(404)
        self.instances[instance_id].update(body)
        return self._answer(200, self.instances[instance_id])

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def vendor() -> Iterator[str]:
    AcceptingVendor.instances, AcceptingVendor.polls, AcceptingVendor.reads_to_complete = {}, {}, 2
    with serve_in_thread(AcceptingVendor) as url:
        yield url


def run_702(pytester: pytest.Pytester, base_url: str) -> dict[str, Any]:
    """The TMF702 port, polling without a wait between two reads, against ``base_url``: its run record's entry."""
    target = pytester.path / "suites" / "ctk702"
    target.mkdir(parents=True)
    declaration = (SUITES / "ctk702" / "ctk702.yaml").read_text(encoding="utf-8")
    assert "wait: 5.0" in declaration
    (target / "ctk702.yaml").write_text(declaration.replace("wait: 5.0", "wait: 0"), encoding="utf-8")
    pytester.runpytest("-p", "no:cacheprovider", "-m", "ctk", "--base-url", base_url, "--ctk-report", "report")
    summary: dict[str, Any] = json.loads((pytester.path / "report" / "summary.json").read_text(encoding="utf-8"))
    return dict(summary["apis"]["tmf702"])


def test_a_create_answered_202_polls_the_monitor_and_reads_the_instance_from_the_list(
    pytester: pytest.Pytester, vendor: str
) -> None:
    entry = run_702(pytester, vendor)
    requests = {(request["method"], request["name"]): request for request in entry["requests"]}
    assert requests["POST", "/Resource"]["status"] == 202 and requests["POST", "/Resource"]["checks"] == []
    monitor = requests["GET", "/Monitor"]
    assert monitor["status"] == 200 and {c["outcome"] for c in monitor["checks"]} == {"passed"}
    assert "Response has state attribute" in {check["name"] for check in monitor["checks"]}
    assert list(AcceptingVendor.polls.values()) == [2]  # polled until Completed, no further
    assert requests["GET", "/Resource202"]["skipped"] is None
    assert entry["verdict"] == "passed", [(r["name"], r["checks"]) for r in entry["requests"] if r["skipped"]]
    assert len(entry["requests"]) == 14  # every request of the kit: the route's two run by the create's item


def test_a_monitor_that_never_completes_fails_the_kits_give_up_check(pytester: pytest.Pytester, vendor: str) -> None:
    AcceptingVendor.reads_to_complete = 1000
    entry = run_702(pytester, vendor)
    monitor = next(request for request in entry["requests"] if request["name"] == "/Monitor")
    assert [(c["name"], c["outcome"]) for c in monitor["checks"]] == [
        ("Monitor did not resolve after 3 minutes, aborting test", "failed")]
    assert list(AcceptingVendor.polls.values()) == [38]  # the kit's bound
    assert entry["verdict"] == "failed"


def test_where_no_create_is_answered_202_the_route_is_not_run(
    pytester: pytest.Pytester, reference_server: Any
) -> None:
    entry = run_702(pytester, reference_server.url)
    names = [request["name"] for request in entry["requests"]]
    assert "/Monitor" not in names and "/Resource202" not in names and len(names) == 12
    assert entry["verdict"] == "passed"
