"""A tiny pytest project that plays the harness: each test reports a handmade kit request record.

The report tests copy this file into an empty directory as ``conftest.py``, add a test module that
calls ``run_kit_request`` with each of ``RECORDS``, and run pytest there with ``--alluredir``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.pytest import allure as allure_results
from harness.pytest import hookspecs as hooks
from harness.record import CheckResult, Exchange, RequestRecord

BASE = "http://127.0.0.1:9/tmf-api/communicationManagement/v4"


def exchange(status: int | None = 201, error: str | None = None) -> Exchange:
    return Exchange(
        method="POST",
        url=f"{BASE}/communicationMessage",
        request_headers={"Content-Type": "application/json", "Authorization": "***"},
        request_body='{"content": "Dear $Parameter1", "messageType": "SMS"}',
        status=status,
        response_headers={"Content-Type": "application/json"},
        response_body='{"id": "42", "href": "/communicationMessage/42", "content": "Dear $Parameter1"}',
        duration_ms=12.5,
        size_bytes=80,
        error=error,
    )


def record(name: str, checks: list[CheckResult], folder: str = "N1", **kwargs: object) -> RequestRecord:
    return RequestRecord(
        api_id="tmf681",
        collection="CTK-Communication-4.0.0",
        folder=folder,
        name=name,
        description=f"This operation runs {name}",
        method="POST",
        url=f"{BASE}{name}",
        checks=checks,
        **kwargs,  # type: ignore[arg-type]
    )


RECORDS = {
    "create_passes": record(
        "/communicationMessage",
        [
            CheckResult("Status code is 201", "ctk", "passed"),
            CheckResult("Response has id attribute", "ctk", "passed"),
        ],
        exchange=exchange(),
    ),
    "create_fails": record(
        "/communicationMessage",
        [
            CheckResult("Status code is 201", "ctk", "failed", "expected status 201, got 200"),
            CheckResult("Response has id attribute", "ctk", "passed"),
            CheckResult(
                "Body includes value held on id", "ctk", "failed", "expected '42' in the body, got '{}'"
            ),
        ],
        exchange=exchange(200),
    ),
    "refused": record(
        "/communicationMessage?fields=content",
        [CheckResult("Status code is 200", "ctk", "failed", "no response: connection refused")],
        folder="N2",
        exchange=exchange(None, "connection refused"),
    ),
    "deviation": record(
        "/communicationMessage/{{IDCM01}}",
        [
            CheckResult("Status code is 200", "ctk", "passed"),
            CheckResult("Body is a CommunicationMessage", "spec", "failed", "expected no 'foo', got 'foo'"),
        ],
        exchange=exchange(200),
    ),
}


class KitFailure(Exception):
    """Not an AssertionError, as in the harness: the Allure module must still report a failure."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    if not hasattr(pluginmanager.hook, "pytest_ctk_request_done"):
        pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.is_registered(allure_results):
        config.pluginmanager.register(allure_results, "ctk-allure-results")


def run_kit_request(request: pytest.FixtureRequest, key: str) -> None:
    """What the harness does at the end of a kit request's test: report the record, then fail on CTK checks."""
    kit_request = RECORDS[key]
    request.config.hook.pytest_ctk_request_done(item=request.node, record=kit_request)
    failed = [c for c in kit_request.checks if c.outcome == "failed" and c.tier == "ctk"]
    if failed:
        raise KitFailure("\n".join(f"{c.name}: {c.message}" for c in failed))


def pytest_sessionfinish(session: pytest.Session) -> None:
    summary = {
        "target": "http://user:s3cret@127.0.0.1:9",
        "started": "2026-11-24T09:00:00+00:00",
        "duration_s": 0.1,
        "apis": {
            "tmf681": {
                "collection": "CTK-Communication-4.0.0",
                "target": "http://127.0.0.1:9/tmf-api/communicationManagement/v4/",
                "verdict": "failed",
                "totals": {"requests": len(RECORDS), "failed_requests": 1, "assertions": 0, "failed_assertions": 0},
                "spec": {"checks": 0, "deviations": 0, "verdict": "conforms"},
                "requests": [r.to_json() for r in RECORDS.values()],
            }
        },
    }
    report_dir = Path(session.config.rootpath) / "ctk-report"
    report_dir.mkdir(exist_ok=True)
    (report_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    session.config.hook.pytest_ctk_run_done(config=session.config, summary=summary, report_dir=report_dir)
