"""Handmade run records, HTML inspection and the external tools (Chromium, Allure 3 CLI) for report tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from harness.pytest.allure import CATEGORIES
from harness.record import request_outcome
from harness.reports.summary import spec_block

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ALLURE_CLI = REPO / "node_modules" / ".bin" / "allure"

# The suites a report test runs where it tests the reports' machinery, not each API's: the first five ports and
# one whose collection name holds a space. The pack and report of every suite are tested on one passing run.
SAMPLE = ("tmf681", "tmf629", "tmf683", "tmf622", "tmf635", "tmf663")


def tool_or_skip(path: Path, what: str) -> Path:
    """The tool at ``path``; without it, skip locally but fail under CI, where it must be installed."""
    if path.exists() or shutil.which(str(path)):
        return path
    message = f"{what} is missing at {path}; run scripts/install-test-tools.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def check(name: str, outcome: str = "passed", message: str = "", tier: str = "ctk") -> dict[str, Any]:
    return {"name": name, "tier": tier, "outcome": outcome, "message": message}


def request(
    folder: str,
    name: str,
    method: str = "GET",
    status: int | None = 200,
    checks: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    sent = '{"content": "Dear customer", "messageType": "SMS"}' if method in ("POST", "PATCH") else None
    answer = '{"id": "42", "content": "Dear customer", "state": "initial"}'
    record = {
        "folder": folder,
        "name": name,
        "description": f"This operation runs {method} {name}",
        "method": method,
        "url": f"http://127.0.0.1:8080/tmf-api/communicationManagement/v4{name}",
        "status": status,
        "duration_ms": 12.5,
        "size_bytes": 2048,
        "error": None,
        "skipped": None,
        "checks": checks if checks is not None else [check(f"Status code is {status}")],
        "request": message({"Accept": "application/json", "Authorization": "***"}, sent),
        "response": None if status is None else message({"Content-Type": "application/json"}, answer),
    }
    record.update(extra)
    return record


def message(headers: dict[str, str], body: str | None) -> dict[str, Any]:
    """One side of an exchange as the run record holds it (``MessageJson``)."""
    return {"headers": headers, "body": body, "body_bytes": len((body or "").encode()), "truncated": False}


def api_block(collection: str, requests: list[dict[str, Any]], verdict: str) -> dict[str, Any]:
    """An API's block shaped as the harness writes it (``ApiJson``), totals by the one outcome rule."""
    checks = [c for r in requests for c in r["checks"]]
    failed_ctk = [c for c in checks if c["outcome"] == "failed" and c["tier"] == "ctk"]
    return {
        "collection": collection,
        "target": "http://127.0.0.1:8080/tmf-api/communicationManagement/v4/",
        "verdict": verdict,
        "totals": {
            "requests": len(requests),
            "failed_requests": sum(request_outcome(r) == "failed" for r in requests),  # type: ignore[arg-type]
            "assertions": len(checks),
            "failed_assertions": len(failed_ctk),
        },
        "spec": spec_block(requests),  # type: ignore[arg-type]
        "requests": requests,
    }


def run_record(apis: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "target": "http://127.0.0.1:8080",
        "started": "2026-11-24T09:00:00+00:00",
        "duration_s": 1.25,
        "apis": apis,
    }


def passing_summary() -> dict[str, Any]:
    """Two APIs whose every check passed."""
    create = request(
        "N1",
        "/communicationMessage",
        "POST",
        201,
        [
            check("Status code is 201"),
            check("Instance has all mandatory attributes"),
            check("Response has id attribute"),
        ],
    )
    retrieve = request(
        "N1", "/communicationMessage/{{IDCM01}}", checks=[check("Status code is 200"), check("id is 42")]
    )
    missing = request(
        "E1", "/communicationMessage/{{$guid}}", status=404, checks=[check("Status code is 404")]
    )
    customer = request(
        "N1", "/customer", "POST", 201, [check("Status code is 201"), check("name is Geekhaven Club")]
    )
    return run_record(
        {
            "tmf681": api_block("CTK-Communication-4.0.0", [create, retrieve, missing], "passed"),
            "tmf629": api_block("CTK-Customer-4.0.0", [customer], "passed"),
        }
    )


def failing_summary() -> dict[str, Any]:
    """TMF681 with a wrong status code and a spec deviation, one transport error, and a passing TMF629."""
    wrong_status = request(
        "N1",
        "/communicationMessage",
        "POST",
        200,
        [
            check("Status code is 201", "failed", "expected status 201, got 200"),
            check("Response has id attribute"),
            check(
                "Response body matches CommunicationMessage", "failed", "expected no 'foo', got 'foo'", "spec"
            ),
        ],
    )
    refused = request(
        "N2",
        "/communicationMessage?fields=content",
        status=None,
        checks=[
            check("Status code is 200", "failed", "expected status 200, got no response: connection refused")
        ],
        error="connection refused",
        duration_ms=0,
        size_bytes=0,
    )
    skipped = request(
        "N2",
        "/communicationMessage/{{IDCM01}}",
        status=None,
        checks=[],
        skipped="IDCM01 is missing: POST /communicationMessage did not produce it",
        duration_ms=0,
        size_bytes=0,
    )
    passing = request(
        "E1", "/communicationMessage/{{$guid}}", status=404, checks=[check("Status code is 404")]
    )
    customer = request("N1", "/customer", "POST", 201, [check("Status code is 201")])
    return run_record(
        {
            "tmf681": api_block(
                "CTK-Communication-4.0.0", [wrong_status, refused, skipped, passing], "failed"
            ),
            "tmf629": api_block("CTK-Customer-4.0.0", [customer], "passed"),
        }
    )


HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def hostile_summary() -> dict[str, Any]:
    """Vendor-controlled strings carrying markup in every field the report shows."""
    evil = request(
        HOSTILE,
        "/communicationMessage" + HOSTILE,
        HOSTILE,
        500,
        [check("name is " + HOSTILE, "failed", "expected 'a', got " + HOSTILE)],
        description=HOSTILE,
        url="javascript:alert(1)//" + HOSTILE,
        error=HOSTILE,
        request=message({HOSTILE: HOSTILE}, HOSTILE),
        response=message({"Content-Type": HOSTILE}, json.dumps({"name": HOSTILE})),
    )
    summary = run_record({"tmf681": api_block(HOSTILE, [evil], "failed")})
    summary["target"] = HOSTILE
    summary["apis"]["tmf681"]["target"] = HOSTILE
    summary["apis"]["tmf681"]["undeleted"] = [HOSTILE]
    summary["apis"][HOSTILE] = api_block("x", [], "passed")
    return summary


class ElementCollector(HTMLParser):
    """Every start tag of a document with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def elements(document: str, tag: str | None = None, **wanted: str) -> list[dict[str, str]]:
    """Attributes of the elements with ``tag`` whose attributes hold ``wanted``: ``data_api="tmf681"``
    matches ``data-api`` exactly, ``class_="folder"`` matches one class among several."""
    collector = ElementCollector()
    collector.feed(document)
    wanted_attrs = {name.rstrip("_").replace("_", "-"): value for name, value in wanted.items()}

    def matches(attrs: dict[str, str]) -> bool:
        return all(
            value in attrs.get(key, "").split() if key == "class" else attrs.get(key) == value
            for key, value in wanted_attrs.items()
        )

    return [attrs for name, attrs in collector.elements if (tag is None or name == tag) and matches(attrs)]


def generate_allure_report(results: Path, workdir: Path) -> dict[str, dict[str, Any]]:
    """Generate the Allure 3 report from ``results`` and return its test results by name and parameter."""
    cli = tool_or_skip(ALLURE_CLI, "The Allure 3 CLI")
    config = workdir / "allurerc.json"
    config.write_text(
        json.dumps({"name": "TMF Open API conformance", "categories": CATEGORIES}), encoding="utf-8"
    )
    output = workdir / "allure-report"
    command = [str(cli), "generate", str(results), "--config", str(config), "--output", str(output)]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, cwd=workdir)
    assert run.returncode == 0, run.stdout + run.stderr
    tests = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (output / "data" / "test-results").glob("*.json")
    ]
    return {test["id"]: test for test in tests}


def check_steps(test: dict[str, Any]) -> list[tuple[str, str]]:
    """The (name, status) of each step of a generated Allure test, attachments left out."""
    return [(step["name"], step["status"]) for step in test["steps"] if step.get("type", "step") == "step"]


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(page: Path, profile: Path, *action: str) -> str:
    """Run headless Chromium on a local page with a throwaway profile and return what it printed."""
    command = [
        str(tool_or_skip(CHROMIUM, "Chromium")),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *action,
        page.as_uri(),
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
