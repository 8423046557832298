"""The certification pack: one conformance statement per API, in the shape of the certified submissions.

Each ``certification/<api id>.html`` holds the overview of the API's resources with the operations the run
saw supported, then the kit's requests as this run's CTK tier ran them, laid out as the kit's Newman report
lays them out, then the spec tier and fuzzing beside them. Every document is self-contained HTML with print
CSS, so a vendor can print it to PDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import tmfapis
from harness.record import SPEC_FOLDER, ApiJson, CheckJson, RequestJson, RunJson, request_outcome
from harness.reports.fuzz import render_fuzz
from harness.reports.markup import (
    api_name,
    escape,
    facts,
    format_bytes,
    format_ms,
    format_seconds,
    kit_version,
    page,
    slug,
    spec_version,
    tool_version,
    verdict_badge,
)
from harness.reports.summary import of_payload

__all__ = [
    "OPERATIONS",
    "PACK_DIR",
    "Support",
    "missed_success",
    "newman_tests",
    "operation_support",
    "render_statement",
    "resource_of",
    "write_pack",
]

PACK_DIR = "certification"
# What the spec answers when an operation works: the evidence that the server supports it.
SUCCESS: Mapping[str, tuple[int, ...]] = {"GET": (200, 206), "POST": (201,), "PATCH": (200,), "DELETE": (204,)}
OPERATIONS = tuple(SUCCESS)
SUPPORTED, FAILED, NOT_OBSERVED, NOT_IN_SPEC = "supported", "failed", "not observed", "not in the spec"
STATUS_CHECK = re.compile(r"^Status code is (\d{3}(?:(?:,| or) \d{3})*)$")

STYLE = """
:root { --fail: #b3261e; --fail-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff4d6; --pass: #1e7b34;
  --pass-bg: #e8f5ec; --line: #c9ced6; --muted: #5f6b7a; --ink: #1d2430; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1000px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 6px; } h2 { font-size: 18px; margin: 24px 0 8px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 16px 0 6px; } h4 { font-size: 14px; margin: 0 0 4px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; padding: 4px 8px; border: 1px solid var(--line); vertical-align: top; }
th { background: #eef0f3; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 12px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-all; }
.muted { color: var(--muted); }
.verdict { display: inline-block; padding: 1px 10px; border-radius: 12px; font-weight: 700; font-size: 12px;
  text-transform: uppercase; }
.verdict.pass { background: var(--pass-bg); color: var(--pass); } .verdict.fail { background: var(--fail); color: #fff; }
.verdict.incomplete { background: var(--warn-bg); color: var(--warn); }
td.op { text-align: center; width: 19%; } td.op small { display: block; color: var(--muted); font-size: 11px;
  font-weight: 400; word-break: break-word; }
td.op.supported { background: var(--pass-bg); color: var(--pass); font-weight: 600; }
td.op.failed { background: var(--fail-bg); color: var(--fail); font-weight: 600; }
td.op.not-observed, td.op.not-in-the-spec { color: var(--muted); }
.request { border: 1px solid var(--line); border-left: 4px solid var(--pass); padding: 8px 12px; margin: 8px 0;
  break-inside: avoid; }
.request.failed { border-left-color: var(--fail); } .request.skipped { border-left-color: var(--muted); }
p.spec-checks { font-size: 12px; margin: 4px 0 0; }
tr.failed td { background: var(--fail-bg); color: var(--fail); }
pre { white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, monospace; margin: 4px 0; }
.failure { color: var(--fail); } .fuzz-failure h4 { color: var(--fail); }
footer { color: var(--muted); font-size: 11px; margin-top: 24px; border-top: 1px solid var(--line); padding-top: 6px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; } table, tr, .request { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


@dataclass(frozen=True, slots=True)
class Support:
    """One operation of one resource as the run observed it, with the exchange that shows it."""

    state: str
    evidence: str = ""


def resource_of(api_id: str, name: str) -> str:
    """The resource a request is about: the first segment of its path, spelled as the API spells it."""
    first = name.lstrip("/").split("?")[0].split("/")[0]
    try:
        resources = tmfapis.api(api_id).resources
    except KeyError:
        return first
    return next((resource for resource in resources if resource.lower() == first.lower()), first)


def missed_success(request: RequestJson) -> bool:
    """Whether a request meant to succeed did not: it got no answer, or a failed status check named a 2xx."""
    if request["status"] is None and request["error"]:
        return True
    return any(
        200 <= int(code) < 300
        for check in request["checks"]
        if check["outcome"] != "passed" and (match := STATUS_CHECK.match(check["name"]))
        for code in re.findall(r"\d{3}", match.group(1))
    )


def operation_support(api_id: str, requests: Iterable[RequestJson]) -> dict[str, dict[str, Support]]:
    """resource -> operation -> supported (answered as the spec says), failed (a request meant to succeed did not),
    not observed, or not in the spec. One failing observation outweighs passing ones."""
    try:
        declared = {
            name: set(resource.collection_methods) | set(resource.item_methods)
            for name, resource in tmfapis.api(api_id).resources.items()
        }
    except KeyError:
        declared = {}
    seen: dict[str, dict[str, list[Support]]] = {name: {} for name in declared}
    for request in requests:
        method = request["method"].upper()
        resource = resource_of(api_id, request["name"])
        if request["skipped"] or method not in SUCCESS or (declared and resource not in declared):
            continue
        status = request["status"]
        where = "spec tier" if request["folder"] == SPEC_FOLDER else f"kit {request['folder']}"
        answer = "no answer" if status is None else str(status)
        evidence = f"{answer} to {method} {request['name']} ({where})"
        if status in SUCCESS[method]:
            seen.setdefault(resource, {}).setdefault(method, []).append(Support(SUPPORTED, evidence))
        elif missed_success(request):
            seen.setdefault(resource, {}).setdefault(method, []).append(Support(FAILED, evidence))
    table: dict[str, dict[str, Support]] = {}
    for resource, methods in seen.items():
        row = {}
        for method in OPERATIONS:
            found = methods.get(method, [])
            failed = [support for support in found if support.state == FAILED]
            if failed or found:
                row[method] = (failed or found)[0]
            else:
                in_spec = method in declared.get(resource, SUCCESS)
                row[method] = Support(NOT_OBSERVED if in_spec else NOT_IN_SPEC)
        table[resource] = row
    return table


def newman_tests(request: RequestJson, tier: str = "ctk") -> list[tuple[str, int, int]]:
    """The request's checks of one tier as Newman's Tests table: name, pass count, fail count, in first-seen order."""
    counts: dict[str, list[int]] = {}
    for check in request["checks"]:
        if check["tier"] != tier:
            continue
        tally = counts.setdefault(check["name"], [0, 0])
        tally[0 if check["outcome"] == "passed" else 1] += 1
    return [(name, passed, failed) for name, (passed, failed) in counts.items()]


def write_pack(summary: RunJson, report_dir: Path) -> list[Path]:
    """Write ``certification/<api id>.html`` for each API of the run record (and only those: statements of an
    earlier run in the same directory are removed); return their paths."""
    pack = report_dir / PACK_DIR
    pack.mkdir(parents=True, exist_ok=True)
    for stale in pack.glob("*.html"):
        stale.unlink()
    written = []
    for api_id in summary["apis"]:
        path = pack / f"{_file_name(api_id)}.html"
        path.write_text(render_statement(summary, api_id), encoding="utf-8")
        written.append(path)
    return written


def render_statement(summary: RunJson, api_id: str) -> str:
    """One API's conformance statement as a self-contained HTML document."""
    entry = summary["apis"][api_id]
    requests = entry["requests"]
    kit = [request for request in requests if request["folder"] != SPEC_FOLDER]
    spec = [request for request in requests if request["folder"] == SPEC_FOLDER]
    name = api_name(api_id)
    collection = entry["collection"]
    verdict = entry["verdict"]
    title = f"{name} conformance statement"
    named = {
        "API": f"{name} ({api_id})" + (f", specification {spec_version(api_id)}" if spec_version(api_id) else ""),
        "Conformance test kit": collection,
        "Kit version": kit_version(api_id, collection),
        "System under test": entry["target"] or summary["target"],
        "Run started": summary["started"],
        "Run duration (all APIs)": format_seconds(summary["duration_s"]),
        "CTK verdict": verdict,
        "Spec tier": f"{entry['spec']['verdict']} ({entry['spec']['deviations']} deviations{of_payload(entry['spec'])})",
    }
    body = f'data-api="{escape(api_id)}" data-verdict="{escape(verdict)}" data-collection="{escape(collection)}"'
    return page(title, STYLE, body, [
        f"<header><h1>{escape(title)} {verdict_badge(verdict)}</h1>{facts(named)}</header>",
        _overview(api_id, requests),
        _kit_results(entry, kit, summary),
        _spec_results(spec),
        render_fuzz(entry.get("fuzz")),
        (
            f"<footer>Written by tmf-ctk {escape(tool_version())} from summary.json; rebuild with "
            "<code>tmf-ctk-report DIR</code>. Request and response bodies are in report.html.</footer>"
        ),
    ])


def _overview(api_id: str, requests: Iterable[RequestJson]) -> str:
    support = operation_support(api_id, requests)
    head = "<tr><th class=num>#</th><th>Resource</th>" + "".join(f"<th>{op}</th>" for op in OPERATIONS) + "</tr>"
    rows = []
    for number, (resource, operations) in enumerate(support.items(), start=1):
        cells = "".join(
            f'<td class="op {slug(cell.state)}" data-operation="{op}" data-state="{escape(cell.state)}"'
            f' title="{escape(cell.evidence)}">{escape(cell.state)}'
            f"{f'<small>{escape(cell.evidence)}</small>' if cell.evidence else ''}</td>"
            for op, cell in operations.items()
        )
        rows.append(f'<tr data-resource="{escape(resource)}"><td class=num>{number}</td><td>{escape(resource)}</td>{cells}</tr>')
    legend = (
        '<p class="muted">An operation is <b>supported</b> when the run saw it answered as the specification says '
        "(GET 200, POST 201, PATCH 200, DELETE 204) in a kit request or a spec-tier scenario, <b>failed</b> when a "
        "request meant to succeed got another answer or none, <b>not observed</b> when no request exercised it.</p>"
    )
    return f'<section id="overview"><h2>1. Overview of the certified API</h2><table>{head}{"".join(rows)}</table>{legend}</section>'


def _kit_results(entry: ApiJson, kit: list[RequestJson], summary: RunJson) -> str:
    """The kit's requests as the CTK tier ran them, in the layout of the kit's Newman report."""
    totals = entry["totals"]
    timed = [request for request in kit if not request["skipped"]]
    received = sum(request["size_bytes"] for request in timed)
    average = sum(request["duration_ms"] for request in timed) / len(timed) if timed else 0.0
    failures: list[tuple[RequestJson, CheckJson]] = [
        (request, check) for request in kit for check in request["checks"]
        if check["outcome"] != "passed" and check["tier"] == "ctk"
    ]
    skipped = sum(1 for request in kit if request["skipped"])
    overview = {
        "Collection": entry["collection"],
        "Time": summary["started"],
        "Run by": f"tmf-ctk {tool_version()}: the kit's requests and checks, ported (CTK tier), not the kit run by Newman",
    }
    figures = (
        f"<table><tr><th></th><th class=num>Total</th><th class=num>Failed</th></tr>"
        f'<tr data-row="requests"><td>Requests</td><td class=num>{escape(totals["requests"])}</td>'
        f'<td class=num>{escape(totals["failed_requests"])}</td></tr>'
        f'<tr data-row="assertions"><td>Assertions</td><td class=num>{escape(totals["assertions"])}</td>'
        f'<td class=num>{escape(totals["failed_assertions"])}</td></tr>'
        f'<tr data-row="skipped"><td>Requests skipped</td><td class=num>{skipped}</td><td class=num></td></tr></table>'
    )
    run_facts = {
        "Total run duration": format_seconds(sum(request["duration_ms"] for request in timed) / 1000),
        "Total data received": format_bytes(received),
        "Average response time": format_ms(average),
        "Total failures": len(failures),
    }
    folders: dict[str, list[RequestJson]] = {}
    for request in kit:
        folders.setdefault(request["folder"] or "Requests", []).append(request)
    blocks = "".join(
        f'<section class="folder" data-folder="{escape(folder)}"><h3>{escape(folder)}</h3>'
        f"{''.join(_kit_request(request) for request in members)}</section>"
        for folder, members in folders.items()
    )
    failure_list = ""
    if failures:
        items = "".join(
            f"<li><b>{escape(request['folder'])} {escape(request['method'])} "
            f"{escape(request['name'])}</b>: {escape(check['name'])}"
            f"<pre>{escape(check['message'])}</pre></li>"
            for request, check in failures
        )
        failure_list = f'<h3>Failures</h3><ol class="failure">{items}</ol>'
    return (
        f'<section id="results"><h2>2. Test results</h2><h3>The kit\'s requests, as the CTK tier ran them</h3>'
        f"{facts(overview)}{figures}{facts(run_facts)}<h3>Requests</h3>{blocks}{failure_list}</section>"
    )


def _kit_request(request: RequestJson) -> str:
    outcome = request_outcome(request)
    rows = newman_tests(request)
    passed = sum(row[1] for row in rows)
    failed = sum(row[2] for row in rows)
    status = request["status"]
    named: dict[str, object] = {"Description": request["description"], "Method": request["method"], "URL": request["url"]}
    if request["skipped"]:
        named["Skipped"] = request["skipped"]
    else:
        named.update({
            "Mean time per request": format_ms(request["duration_ms"]),
            "Mean size per request": format_bytes(request["size_bytes"]),
            "Total passed tests": passed,
            "Total failed tests": failed,
            "Status code": "no answer" if status is None else status,
        })
        if request["error"]:
            named["Problem"] = request["error"]
    table = "".join(
        f'<tr class="{"failed" if fail else "passed"}"><td>{escape(name)}</td><td class=num>{ok}</td>'
        f"<td class=num>{fail}</td></tr>"
        for name, ok, fail in rows
    )
    tests = (
        f"<table class=tests><tr><th>Name</th><th class=num>Pass count</th><th class=num>Fail count</th></tr>{table}</table>"
        if rows else ""
    )
    spec = "; ".join(
        f"{name}: {'failed' if fail else 'passed'}" for name, _, fail in newman_tests(request, tier="spec")
    )
    beside = f'<p class="spec-checks muted">Spec tier, beside the kit: {escape(spec)}</p>' if spec else ""
    return (
        f'<article class="request {outcome}" data-outcome="{outcome}" data-passed="{passed}" data-failed="{failed}">'
        f"<h4>{escape(request['method'])} {escape(request['name'])}</h4>{facts(named)}{tests}{beside}"
        "</article>"
    )


def _spec_results(spec: list[RequestJson]) -> str:
    if not spec:
        return ""
    rows = []
    for request in spec:
        checks = request["checks"]
        failed = [check for check in checks if check["outcome"] != "passed"]
        state = "skipped" if request["skipped"] else "deviates" if failed else "conforms"
        detail = "".join(f"<pre>{escape(check['name'])}: {escape(check['message'])}</pre>" for check in failed)
        if request["skipped"]:
            detail = f"<pre>{escape(request['skipped'])}</pre>"
        description = request["description"].split(". Exchanges: ")[0]
        rows.append(
            f'<tr class="{"failed" if failed else ""}" data-scenario="{state}"><td>{escape(description)}</td>'
            f"<td>{escape(request['method'])} {escape(request['name'])}</td>"
            f"<td class=num>{len(checks) - len(failed)}</td><td class=num>{len(failed)}</td>"
            f"<td>{escape(state)}{detail}</td></tr>"
        )
    return (
        '<section id="spec"><h2>3. Specification tier</h2><p class="muted">Generic scenarios beyond the kit, '
        "checked against the official OpenAPI specification; a deviation does not change the CTK verdict.</p>"
        "<table><tr><th>Scenario</th><th>Request</th><th class=num>Passed</th><th class=num>Failed</th><th>Result</th></tr>"
        f"{''.join(rows)}</table></section>"
    )


def _file_name(api_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in api_id) or "api"
