"""The certification pack: one conformance statement per API, in the shape of the certified submissions.

Each ``certification/<api id>.html`` holds the overview of the API's resources with the operations the run
saw supported, then the kit's test results in Newman's layout, then the spec tier and fuzzing beside them.
Every document is self-contained HTML with print CSS, so a vendor can print it to PDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tmfapis
from harness.record import SPEC_FOLDER, request_outcome
from harness.reports.fuzz import render_fuzz
from harness.reports.markup import escape, slug, tool_version

__all__ = [
    "OPERATIONS",
    "PACK_DIR",
    "Support",
    "kit_version",
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
CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
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


def missed_success(request: Mapping[str, Any]) -> bool:
    """Whether a request meant to succeed did not: it got no answer, or a failed status check named a 2xx."""
    if request.get("status") is None and request.get("error"):
        return True
    return any(
        200 <= int(code) < 300
        for check in request.get("checks", [])
        if check.get("outcome") != "passed" and (match := STATUS_CHECK.match(str(check.get("name", ""))))
        for code in re.findall(r"\d{3}", match.group(1))
    )


def operation_support(api_id: str, requests: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Support]]:
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
        method = str(request.get("method", "")).upper()
        resource = resource_of(api_id, str(request.get("name", "")))
        if request.get("skipped") or method not in SUCCESS or (declared and resource not in declared):
            continue
        status = request.get("status")
        where = "spec tier" if request.get("folder") == SPEC_FOLDER else f"kit {request.get('folder', '')}"
        answer = "no answer" if status is None else str(status)
        evidence = f"{answer} to {method} {request.get('name', '')} ({where})"
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


def newman_tests(request: Mapping[str, Any], tier: str = "ctk") -> list[tuple[str, int, int]]:
    """The request's checks of one tier as Newman's Tests table: name, pass count, fail count, in first-seen order."""
    counts: dict[str, list[int]] = {}
    for check in request.get("checks", []):
        if check.get("tier", "ctk") != tier:
            continue
        tally = counts.setdefault(str(check.get("name", "")), [0, 0])
        tally[0 if check.get("outcome") == "passed" else 1] += 1
    return [(name, passed, failed) for name, (passed, failed) in counts.items()]


def write_pack(summary: Mapping[str, Any], report_dir: Path) -> list[Path]:
    """Write ``certification/<api id>.html`` for each API of the run record (and only those: statements of an
    earlier run in the same directory are removed); return their paths."""
    pack = report_dir / PACK_DIR
    pack.mkdir(parents=True, exist_ok=True)
    for stale in pack.glob("*.html"):
        stale.unlink()
    written = []
    for api_id in summary.get("apis", {}):
        path = pack / f"{_file_name(api_id)}.html"
        path.write_text(render_statement(summary, api_id), encoding="utf-8")
        written.append(path)
    return written


def render_statement(summary: Mapping[str, Any], api_id: str) -> str:
    """One API's conformance statement as a self-contained HTML document."""
    entry: Mapping[str, Any] = summary["apis"][api_id]
    requests: list[Mapping[str, Any]] = list(entry.get("requests", []))
    kit = [request for request in requests if request.get("folder") != SPEC_FOLDER]
    spec = [request for request in requests if request.get("folder") == SPEC_FOLDER]
    name = _api_name(api_id)
    collection = str(entry.get("collection", ""))
    verdict = str(entry.get("verdict", ""))
    title = f"{name} conformance statement"
    facts = {
        "API": f"{name} ({api_id})" + (f", specification {_spec_version(api_id)}" if _spec_version(api_id) else ""),
        "Conformance test kit": collection,
        "Kit version": kit_version(api_id, collection),
        "System under test": entry.get("target") or summary.get("target", ""),
        "Run started": summary.get("started", ""),
        "Run duration (all APIs)": _seconds(_number(summary.get("duration_s"))),
        "CTK verdict": verdict,
    }
    spec_block = entry.get("spec") if isinstance(entry.get("spec"), Mapping) else None
    if spec_block:
        facts["Spec tier"] = f"{spec_block.get('verdict', '')} ({spec_block.get('deviations', 0)} deviations)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>",
        f'<body data-api="{escape(api_id)}" data-verdict="{escape(verdict)}" data-collection="{escape(collection)}">',
        f"<header><h1>{escape(title)} {_badge(verdict)}</h1>{_facts(facts)}</header>",
        _overview(api_id, requests),
        _newman_results(entry, kit, collection, summary),
        _spec_results(spec),
        render_fuzz(entry.get("fuzz")),
        (
            f"<footer>Written by tmf-ctk {escape(tool_version())} from summary.json; rebuild with "
            "<code>tmf-ctk-report DIR</code>. Request and response bodies are in report.html.</footer>"
        ),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _overview(api_id: str, requests: Iterable[Mapping[str, Any]]) -> str:
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


def _newman_results(
    entry: Mapping[str, Any], kit: list[Mapping[str, Any]], collection: str, summary: Mapping[str, Any]
) -> str:
    totals: Mapping[str, Any] = entry.get("totals", {})
    timed = [request for request in kit if not request.get("skipped")]
    received = sum(_number(request.get("size_bytes")) for request in timed)
    average = sum(_number(request.get("duration_ms")) for request in timed) / len(timed) if timed else 0.0
    failures = [(request, check) for request in kit for check in request.get("checks", [])
                if check.get("outcome") != "passed" and check.get("tier", "ctk") == "ctk"]
    skipped = sum(1 for request in kit if request.get("skipped"))
    overview = {
        "Collection": collection,
        "Time": summary.get("started", ""),
        "Exported with": f"tmf-ctk {tool_version()}",
    }
    figures = (
        f"<table><tr><th></th><th class=num>Total</th><th class=num>Failed</th></tr>"
        f'<tr data-row="requests"><td>Requests</td><td class=num>{escape(totals.get("requests", len(kit)))}</td>'
        f'<td class=num>{escape(totals.get("failed_requests", 0))}</td></tr>'
        f'<tr data-row="assertions"><td>Assertions</td><td class=num>{escape(totals.get("assertions", 0))}</td>'
        f'<td class=num>{escape(totals.get("failed_assertions", 0))}</td></tr>'
        f'<tr data-row="skipped"><td>Requests skipped</td><td class=num>{skipped}</td><td class=num></td></tr></table>'
    )
    run_facts = {
        "Total run duration": _seconds(sum(_number(r.get("duration_ms")) for r in timed) / 1000),
        "Total data received": _size(received),
        "Average response time": f"{average:.0f}ms",
        "Total failures": len(failures),
    }
    folders: dict[str, list[Mapping[str, Any]]] = {}
    for request in kit:
        folders.setdefault(str(request.get("folder") or "Requests"), []).append(request)
    blocks = "".join(
        f'<section class="folder" data-folder="{escape(folder)}"><h3>{escape(folder)}</h3>'
        f"{''.join(_newman_request(request) for request in members)}</section>"
        for folder, members in folders.items()
    )
    failure_list = ""
    if failures:
        items = "".join(
            f"<li><b>{escape(request.get('folder', ''))} {escape(request.get('method', ''))} "
            f"{escape(request.get('name', ''))}</b>: {escape(check.get('name', ''))}"
            f"<pre>{escape(check.get('message', ''))}</pre></li>"
            for request, check in failures
        )
        failure_list = f'<h3>Failures</h3><ol class="failure">{items}</ol>'
    return (
        f'<section id="results"><h2>2. Test results</h2><h3>Newman report</h3>{_facts(overview)}{figures}'
        f"{_facts(run_facts)}<h3>Requests</h3>{blocks}{failure_list}</section>"
    )


def _newman_request(request: Mapping[str, Any]) -> str:
    outcome = request_outcome(request)  # type: ignore[arg-type]  # a RequestJson read back from summary.json
    rows = newman_tests(request)
    passed = sum(row[1] for row in rows)
    failed = sum(row[2] for row in rows)
    status = request.get("status")
    facts: dict[str, Any] = {
        "Description": request.get("description", ""),
        "Method": request.get("method", ""),
        "URL": request.get("url", ""),
    }
    if request.get("skipped"):
        facts["Skipped"] = request["skipped"]
    else:
        facts.update({
            "Mean time per request": f"{_number(request.get('duration_ms')):.0f}ms",
            "Mean size per request": _size(_number(request.get("size_bytes"))),
            "Total passed tests": passed,
            "Total failed tests": failed,
            "Status code": "no answer" if status is None else status,
        })
        if request.get("error"):
            facts["Problem"] = request["error"]
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
        f"<h4>{escape(request.get('method', ''))} {escape(request.get('name', ''))}</h4>{_facts(facts)}{tests}{beside}"
        "</article>"
    )


def _spec_results(spec: list[Mapping[str, Any]]) -> str:
    if not spec:
        return ""
    rows = []
    for request in spec:
        checks = list(request.get("checks", []))
        failed = [check for check in checks if check.get("outcome") != "passed"]
        state = "skipped" if request.get("skipped") else "deviates" if failed else "conforms"
        detail = "".join(f"<pre>{escape(check.get('name', ''))}: {escape(check.get('message', ''))}</pre>" for check in failed)
        if request.get("skipped"):
            detail = f"<pre>{escape(request['skipped'])}</pre>"
        description = str(request.get("description", "")).split(". Exchanges: ")[0]
        rows.append(
            f'<tr class="{"failed" if failed else ""}" data-scenario="{state}"><td>{escape(description)}</td>'
            f"<td>{escape(request.get('method', ''))} {escape(request.get('name', ''))}</td>"
            f"<td class=num>{len(checks) - len(failed)}</td><td class=num>{len(failed)}</td>"
            f"<td>{escape(state)}{detail}</td></tr>"
        )
    return (
        '<section id="spec"><h2>3. Specification tier</h2><p class="muted">Generic scenarios beyond the kit, '
        "checked against the official OpenAPI specification; a deviation does not change the CTK verdict.</p>"
        "<table><tr><th>Scenario</th><th>Request</th><th class=num>Passed</th><th class=num>Failed</th><th>Result</th></tr>"
        f"{''.join(rows)}</table></section>"
    )


def _facts(facts: Mapping[str, Any]) -> str:
    items = "".join(f"<dt>{escape(key)}</dt><dd>{escape(value)}</dd>" for key, value in facts.items())
    return f'<dl class="facts">{items}</dl>'


def _badge(verdict: str) -> str:
    state = verdict.lower()
    css = "pass" if state == "passed" else "incomplete" if state == "incomplete" else "fail"
    return f'<span class="verdict {css}">{escape(verdict)}</span>'


def _api_name(api_id: str) -> str:
    try:
        return tmfapis.api(api_id).name
    except KeyError:
        return api_id


def _spec_version(api_id: str) -> str:
    try:
        return tmfapis.api(api_id).version
    except KeyError:
        return ""


def kit_version(api_id: str, collection: str) -> str:
    """The kit's version: the end of its collection name (``CTK-Customer-4.0.0``), else the API's spec version."""
    match = re.search(r"-(\d+(?:\.\d+)+)$", collection)
    return match.group(1) if match else _spec_version(api_id)


def _file_name(api_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in api_id) or "api"



def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"


def _size(size: float) -> str:
    return f"{size:.0f}B" if size < 1024 else f"{size / 1024:.2f}KB" if size < 1024 * 1024 else f"{size / 1048576:.2f}MB"


