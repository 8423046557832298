"""Allure results for the kit requests: the only module of the harness that imports allure.

Each kit request's test is titled with its folder, method and kit name (``N2 GET /Customer?fields=name``), each
spec-tier scenario with what it checks; the tree is API > folder > resource (parentSuite, suite, subSuite). Each
gets one step per check and the exchange attached once; failures are prefixed with their category so
``categories.json`` sorts them. A run starts from an empty ``--alluredir`` unless ``--allure-append`` is given.
At the end of a run with ``--alluredir``, ``environment.properties``, ``executor.json`` and
``categories.json`` are written into the results directory.
"""

from __future__ import annotations

import contextlib
import json
import platform
from collections.abc import Generator
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import uuid4

import allure
import pytest
from allure_commons.model2 import Status, StatusDetails, TestStepResult
from allure_commons.utils import now

import tmfapis
from harness.pytest.items import SpecItem
from harness.record import CheckResult, Exchange, RequestRecord, RunJson
from harness.redact import Redactor

__all__ = ["CATEGORIES", "environment_properties", "failure_category", "request_labels", "test_title"]

TRANSPORT_ERROR = "Transport error"
CTK_FAILURE = "CTK failure"
SPEC_DEVIATION = "Spec deviation"
# Allure 2 matches the whole message (Java), Allure 3 searches it (JS): [\s\S]* serves both.
CATEGORIES = [
    {
        "name": TRANSPORT_ERROR,
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": rf"^{TRANSPORT_ERROR}:[\s\S]*",
        "description": "No usable answer: connection refused, timeout, TLS failure or a body that is not JSON.",
    },
    {
        "name": CTK_FAILURE,
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": rf"^{CTK_FAILURE}:[\s\S]*",
        "description": "A check of the official conformance kit failed: the server would not certify.",
    },
    {
        "name": SPEC_DEVIATION,
        # spec-tier scenarios with a deviation end xfailed, which Allure records as skipped
        "matchedStatuses": ["failed", "passed", "skipped"],
        "messageRegex": rf"^({SPEC_DEVIATION}:|XFAIL SPEC )[\s\S]*",
        "description": "The answer deviates from the TMF OpenAPI spec beyond what the kit checks.",
    },
]
SEVERITY = {"ctk": allure.severity_level.CRITICAL, "spec": allure.severity_level.NORMAL}
CATEGORY_KEY = pytest.StashKey[tuple[str, str]]()


def pytest_ctk_request_done(item: pytest.Item, record: RequestRecord) -> None:
    """Describe the running test as the kit request it ran: labels, one step per check, the exchange."""
    if not _allure_active(item.config):
        return
    allure.dynamic.title(test_title(item, record))
    allure.dynamic.description(record.description)
    # allure-pytest already turns markers such as ``tmf681`` and ``ctk`` into tags
    markers = {marker.name for marker in item.iter_markers()}
    for label, values in request_labels(record).items():
        for value in values:
            if not (label == "tag" and value in markers):
                allure.dynamic.label(label, value)
    reporter = _listener(item.config).allure_logger
    result = reporter.get_test(None)
    if result is not None:  # Allure 3 builds its tree from the title path: the same as the suites
        labels = request_labels(record)
        result.titlePath = [*labels["parentSuite"], *labels["suite"], *labels["subSuite"]]
    for check in record.checks:
        _report_check(reporter, check)
    if record.exchange is not None:
        _attach_exchange(record.exchange)
    category = failure_category(record)
    if category:
        deviations = [
            f"{c.name}: {c.message}" for c in record.checks if c.outcome == "failed" and c.tier != "ctk"
        ]
        item.stash[CATEGORY_KEY] = (category, "\n".join(deviations))


def test_title(item: pytest.Item, record: RequestRecord) -> str:
    """A kit request's folder, method and name; a spec-tier scenario's description of what it checks."""
    if isinstance(item, SpecItem):
        return item.scenario.description
    return f"{record.folder} {record.method} {record.name}"


def request_labels(record: RequestRecord) -> dict[str, list[str]]:
    """The Allure labels of one kit request: API, folder and resource as epic, feature and story and as the
    suite tree (parentSuite, suite, subSuite), tags, severity."""
    tiers = list(dict.fromkeys(check.tier for check in record.checks)) or ["ctk"]
    try:
        epic = tmfapis.api(record.api_id).name
    except KeyError:
        epic = record.api_id
    severity = SEVERITY["ctk"] if "ctk" in tiers else SEVERITY.get(tiers[0], allure.severity_level.NORMAL)
    return {
        "epic": [epic],
        "feature": [record.folder],
        "story": [_resource_of(record)],
        "parentSuite": [epic],
        "suite": [record.folder],
        "subSuite": [_resource_of(record)],
        "tag": [*tiers, record.api_id],
        "severity": [severity.value],
    }


def failure_category(record: RequestRecord) -> str | None:
    """Which of ``CATEGORIES`` a request's trouble belongs to (by the one outcome rule), or None when it passed."""
    outcome = record.outcome
    if outcome == "failed":
        return TRANSPORT_ERROR if record.exchange is not None and record.exchange.error else CTK_FAILURE
    return SPEC_DEVIATION if outcome == "deviation" else None


def _resource_of(record: RequestRecord) -> str:
    """The resource a request is about: the first path segment of the kit's request name, spelled as the API does."""
    first = record.name.lstrip("/").split("?")[0].split("/")[0]
    with contextlib.suppress(KeyError):
        for resource in tmfapis.api(record.api_id).resources:
            if resource.lower() == first.lower():
                return resource
    return first or record.name


def _report_check(reporter: Any, check: CheckResult) -> None:
    """One step named exactly as the check, failed with the check's own message when it failed."""
    step_id = str(uuid4())
    reporter.start_step(None, step_id, TestStepResult(name=check.name, start=now()))
    if check.outcome == "passed":
        reporter.stop_step(step_id, stop=now(), status=Status.PASSED)
    else:
        details = StatusDetails(message=check.message or f"{check.name} failed")
        reporter.stop_step(step_id, stop=now(), status=Status.FAILED, statusDetails=details)


def _attach_exchange(exchange: Exchange) -> None:
    """The one place that attaches a request and its response, from the already redacted exchange."""
    allure.attach(
        _http_text(f"{exchange.method} {exchange.url}", exchange.request_headers, exchange.request_body),
        name="Request",
        attachment_type=allure.attachment_type.TEXT,
    )
    if exchange.status is None:
        first_line = f"No response: {exchange.error or 'unknown error'}"
    else:
        first_line = f"Status {exchange.status} in {exchange.duration_ms:.0f} ms, {exchange.size_bytes} bytes"
        if exchange.error:
            first_line += f"; {exchange.error}"
    allure.attach(
        _http_text(first_line, exchange.response_headers, exchange.response_body),
        name="Response",
        attachment_type=allure.attachment_type.TEXT,
    )


def _http_text(first_line: str, headers: dict[str, str], body: str | None) -> str:
    lines = [first_line, *(f"{name}: {value}" for name, value in headers.items())]
    if body:
        try:
            body = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        lines += ["", body]
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """After allure-pytest recorded a kit request's outcome: a failure (not a broken test) led by its category."""
    outcome = yield
    stashed = item.stash.get(CATEGORY_KEY, None)
    if stashed is None or call.when != "call" or not _allure_active(item.config):
        return
    category, deviations = stashed
    result = _listener(item.config).allure_logger.get_test(None)
    if result is None:
        return
    report = outcome.get_result()
    if report.failed and call.excinfo is not None:
        # the server failed the kit, whatever exception type carried the checks' verdict
        result.status = Status.FAILED
        trace = result.statusDetails.trace if result.statusDetails else None
        result.statusDetails = StatusDetails(message=f"{category}: {call.excinfo.value}", trace=trace)
    elif report.passed and category == SPEC_DEVIATION and result.status in (None, Status.PASSED):
        result.statusDetails = StatusDetails(message=f"{SPEC_DEVIATION}: {deviations}")


def pytest_configure(config: pytest.Config) -> None:
    """Start from an empty results directory unless ``--allure-append``; only the controller empties it (xdist)."""
    if not hasattr(config.option, "clean_alluredir"):
        return  # allure-pytest is not loaded
    controller = not hasattr(config, "workerinput")
    config.option.clean_alluredir = controller and (
        config.option.clean_alluredir or not config.getoption("allure_append", False)
    )


def pytest_ctk_run_done(config: pytest.Config, summary: RunJson, report_dir: Path) -> None:
    """Write environment.properties, executor.json and categories.json into the Allure results directory."""
    alluredir = getattr(config.option, "allure_report_dir", None)
    if not alluredir:
        return
    results = Path(alluredir)
    results.mkdir(parents=True, exist_ok=True)
    (results / "environment.properties").write_text(environment_properties(summary), encoding="utf-8")
    executor = {
        "name": "tmf-ctk",
        "type": "pytest",
        "buildName": f"tmf-ctk {_version('tmf-ctk')} run of {summary.get('started', 'unknown date')}",
        "reportName": "TMF Open API conformance",
    }
    (results / "executor.json").write_text(json.dumps(executor, indent=2), encoding="utf-8")
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")


def environment_properties(summary: RunJson) -> str:
    """Target roots, API versions and tool versions as a Java properties file, credentials in URLs masked."""
    entries: dict[str, str] = {"target": Redactor().text(summary["target"])}
    for api_id, block in summary["apis"].items():
        with contextlib.suppress(KeyError):
            entries[f"{api_id}.version"] = tmfapis.api(api_id).version
        entries[f"{api_id}.root"] = Redactor().text(block["target"])
        entries[f"{api_id}.collection"] = block["collection"]
        entries[f"{api_id}.verdict"] = block["verdict"]
    entries["harness.version"] = _version("tmf-ctk")
    entries["python.version"] = platform.python_version()
    entries["pytest.version"] = pytest.__version__
    return "".join(f"{_property(key)}={_property(value)}\n" for key, value in entries.items())


def _property(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return escaped.replace("=", "\\=").replace(":", "\\:")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "development"


def _allure_active(config: pytest.Config) -> bool:
    return config.pluginmanager.get_plugin("allure_listener") is not None


def _listener(config: pytest.Config) -> Any:
    return config.pluginmanager.get_plugin("allure_listener")
