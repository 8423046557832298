"""The self-contained HTML report, written as ``report.html`` next to ``summary.json``: per request what was sent,
what came back and every check. ``python -m harness.reports DIR`` rebuilds it (see ``harness.reports.rebuild``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.errors import ReportError
from harness.record import (
    BODY_LIMIT,
    ApiJson,
    CheckJson,
    MessageJson,
    RequestJson,
    RequestOutcome,
    RunJson,
    check_run_record,
    record_verdict,
    request_outcome,
    standings,
    transport_failed,
)
from harness.reports.fuzz import render_fuzz
from harness.reports.markup import (
    api_name,
    escape,
    facts,
    format_bytes,
    format_date,
    format_ms,
    format_seconds,
    kit_version,
    page,
    slug,
    tool_version,
    verdict_badge,
)
from harness.reports.summary import SUMMARY_FILE

__all__ = [
    "REPORT_FILE",
    "SUMMARY_FILE",
    "ReportError",
    "load_summary",
    "render_report",
    "write_report",
]

REPORT_FILE = "report.html"
REBUILD_HINT = "rebuild it with <code>python -m harness.reports DIR</code>."

STYLE = """
:root { --fail: #b3261e; --fail-bg: #fdecea; --warn: #8a5a00; --warn-bg: #fff4d6; --pass: #1e7b34;
  --pass-bg: #e8f5ec; --line: #d9dde3; --muted: #5f6b7a; --ink: #1d2430; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1200px; padding: 24px; background: #f6f7f9; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 0 0 12px; }
h3 { font-size: 16px; margin: 16px 0 8px; } h4 { font-size: 14px; margin: 0; word-break: break-all; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
  margin: 16px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.verdict { display: inline-block; padding: 1px 10px; border-radius: 12px; font-weight: 700;
  font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
.verdict.pass { background: var(--pass-bg); color: var(--pass); }
.verdict.fail { background: var(--fail); color: #fff; }
.verdict.incomplete { background: var(--warn-bg); color: var(--warn); border: 1px solid var(--warn); }
tr.fail td { background: var(--fail-bg); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 12px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-all; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(124px, 1fr)); gap: 8px;
  margin: 12px 0; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.figure b { display: block; font-size: 18px; } .figure.fail { border-color: var(--fail);
  background: var(--fail-bg); color: var(--fail); }
details.folder { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details.folder > summary { cursor: pointer; padding: 8px 12px; font-weight: 600; }
details.folder.fail > summary { background: var(--fail-bg); color: var(--fail); }
details.folder.deviation > summary { background: var(--warn-bg); color: var(--warn); }
.request { border-top: 1px solid var(--line); padding: 10px 12px 10px 16px; border-left: 4px solid var(--pass); }
.request.fail { border-left-color: var(--fail); background: #fffafa; }
.request.deviation { border-left-color: #e0a100; }
.request.skipped { border-left-color: var(--muted); }
.method { font-family: ui-monospace, monospace; font-weight: 700; margin-right: 6px; }
.request dl.facts { grid-template-columns: repeat(3, max-content 1fr); margin: 6px 0; }
.url { font: 12px/1.4 ui-monospace, monospace; margin: 4px 0; word-break: break-all; }
.problem { margin: 6px 0; padding: 6px 10px; border-radius: 4px; background: var(--fail-bg);
  color: var(--fail); font-weight: 600; white-space: pre-wrap; word-break: break-word; }
.problem.skipped { background: #eef0f3; color: var(--muted); font-weight: 400; }
table.checks td { padding: 2px 8px; } table.checks td.mark { width: 1.5em; font-weight: 700; }
tr.check.passed td.mark { color: var(--pass); }
tr.check.failed td { color: var(--fail); font-weight: 600; background: var(--fail-bg); }
tr.check.failed.spec td { color: var(--warn); background: var(--warn-bg); }
td.tier { color: var(--muted); font-size: 12px; width: 3em; }
pre.message { margin: 2px 0 0; white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace,
  monospace; color: var(--ink); font-weight: 400; }
footer { color: var(--muted); font-size: 12px; margin-top: 16px; }
details.exchange { margin: 6px 0; } details.exchange > summary { cursor: pointer; color: var(--muted); }
.messages { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; margin-top: 6px; }
.message { border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; min-width: 0; }
.message h5 { margin: 0 0 4px; font-size: 13px; }
table.headers td { font: 12px/1.35 ui-monospace, monospace; padding: 1px 6px; word-break: break-all; }
table.headers td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
pre.body { margin: 4px 0 0; padding: 6px; background: #f6f7f9; border-radius: 4px; max-height: 420px;
  overflow: auto; white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, monospace; }
.note { color: var(--warn); font-size: 12px; margin: 4px 0 0; }
section.fuzz pre.body { max-height: none; }
@media print {
  body { background: #fff; max-width: none; padding: 0; }
  section { border: none; padding: 0; margin: 12px 0; } .request, tr { break-inside: avoid; }
  pre.body { max-height: none; overflow: visible; }
}
"""


def load_summary(report_dir: Path) -> RunJson:
    """The run record in ``report_dir``, checked against the one shape the harness writes (``RunJson``)."""
    path = report_dir / SUMMARY_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(
            f"{path} does not exist; run the suites first or name the directory that holds it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return check_run_record(summary, str(path))


def write_report(summary: RunJson, report_dir: Path) -> Path:
    """Write ``report.html`` for ``summary`` into ``report_dir`` and return its path."""
    check_run_record(summary)
    path = report_dir / REPORT_FILE
    path.write_text(render_report(summary), encoding="utf-8")
    return path


def render_report(summary: RunJson) -> str:
    """The whole report as one HTML document with inline CSS and no external resources."""
    apis = [ApiView(api_id, entry, summary) for api_id, entry in summary["apis"].items()]
    overall = record_verdict(summary)
    title = "TMF Open API conformance report"
    return page(title, STYLE, f'data-verdict="{overall}"', [
        _render_header(title, summary, overall),
        _render_overview(apis),
        *(view.render() for view in apis),
        f"<footer>Written by tmf-ctk {escape(tool_version())} from {SUMMARY_FILE}; {REBUILD_HINT}</footer>",
    ])


class ApiView:
    """One API's block of the run record, with the figures the report shows for it."""

    def __init__(self, api_id: str, entry: ApiJson, summary: RunJson) -> None:
        self.api_id = api_id
        self.entry = entry
        self.requests = entry["requests"]
        self.anchor = "api-" + "".join(c if c.isalnum() else "-" for c in api_id)
        self.name = api_name(api_id)
        self.verdict = entry["verdict"]
        self.collection = entry["collection"]
        self.version = kit_version(api_id, self.collection)
        self.started = summary["started"]
        self.target = entry["target"] or summary["target"]
        self.totals = entry["totals"]
        self.deviations = entry["spec"]["deviations"]  # the server's; the payload's are said beside them
        self.payload_deviations = entry["spec"].get("payload", 0)
        timed = [request for request in self.requests if not request["skipped"]]
        self.received_bytes = sum(request["size_bytes"] for request in timed)
        self.average_ms = sum(request["duration_ms"] for request in timed) / len(timed) if timed else 0.0
        self.duration_s = sum(request["duration_ms"] for request in timed) / 1000

    def data_attributes(self) -> str:
        values = {
            "api": self.api_id,
            "verdict": self.verdict,
            "requests": self.totals["requests"],
            "failed-requests": self.totals["failed_requests"],
            "assertions": self.totals["assertions"],
            "failed-assertions": self.totals["failed_assertions"],
            "deviations": self.deviations,
        }
        return " ".join(f'data-{key}="{escape(value)}"' for key, value in values.items())

    def render(self) -> str:
        named = {
            "API": f"{self.name} ({self.api_id})",
            "Collection": self.collection,
            "Version": self.version,
            "Target": self.target,
            "Started": format_date(self.started),
            "Duration": format_seconds(self.duration_s),
            "Verdict": self.verdict,
        }
        t = self.totals
        figures = [
            ("Requests", t["requests"], False),
            ("Failed requests", t["failed_requests"], bool(t["failed_requests"])),
            ("Assertions", t["assertions"], False),
            ("Failed assertions", t["failed_assertions"], bool(t["failed_assertions"])),
            ("Spec deviations", self.deviations, False),
            *([("Deviations of the payload", self.payload_deviations, False)] if self.payload_deviations else []),
            ("Run duration", format_seconds(self.duration_s), False),
            ("Data received", format_bytes(self.received_bytes), False),
            ("Average response time", format_ms(self.average_ms), False),
        ]
        figure_html = "".join(
            f'<div class="figure{" fail" if alarming else ""}" data-figure="{slug(label)}">'
            f"{escape(label)}<b>{escape(value)}</b></div>"
            for label, value, alarming in figures
        )
        return (
            f'<section class="api" id="{self.anchor}" {self.data_attributes()}>'
            f"<h2>{escape(self.name)} {verdict_badge(self.verdict)}</h2>"
            f'{facts(named)}<div class="figures">{figure_html}</div>'
            f"{''.join(_render_folder(folder, requests) for folder, requests in _by_folder(self.requests))}"
            f"{render_fuzz(self.entry.get('fuzz'))}{_render_more(self.entry)}</section>"
        )


def _render_header(title: str, summary: RunJson, overall: str) -> str:
    named = {
        "Target": summary["target"],
        "Started": format_date(summary["started"]),
        "Run duration": format_seconds(summary["duration_s"]),
        "Verdict": overall,
    }
    for standing, api_ids in standings(summary).items():
        named[f"APIs {standing}"] = ", ".join(api_ids) or "none"
    return (
        f'<section id="run"><h1>{title} {verdict_badge(overall)}</h1>'
        f"{facts(named)}{_render_preflight(summary)}</section>"
    )


def _render_preflight(summary: RunJson) -> str:
    """Why the pre-flight stopped the run, and which APIs the system does not offer (what their roots answered)."""
    parts = []
    for css, heading, found in (
        ("preflight-failed", "The run stopped at the pre-flight: no kit request was sent", summary.get("preflight_failed", {})),
        ("not-offered", "Not offered: the root answered 404, so these APIs were neither run nor failed",
         summary.get("not_offered", {})),
    ):
        if found:
            rows = "".join(f'<tr data-api="{escape(api_id)}"><td>{escape(api_id)}</td><td>{escape(reason)}</td></tr>'
                           for api_id, reason in found.items())
            parts.append(f'<div class="{css}"><h3>{escape(heading)}</h3><table>{rows}</table></div>')
    return "".join(parts)


def _render_overview(apis: Sequence[ApiView]) -> str:
    head = (
        "<tr><th>API</th><th>Collection</th><th>Verdict</th><th class=num>Requests</th>"
        "<th class=num>Failed requests</th><th class=num>Assertions</th><th class=num>Failed assertions</th>"
        "<th class=num>Spec deviations</th><th class=num>Duration</th></tr>"
    )
    rows = []
    for view in apis:
        t = view.totals
        rows.append(
            f'<tr class="{"pass" if view.verdict == "passed" else "fail"}" {view.data_attributes()}>'
            f'<td><a href="#{view.anchor}">{escape(view.name)}</a></td>'
            f"<td>{escape(view.collection)}</td>"
            f"<td>{verdict_badge(view.verdict)}</td>"
            f"<td class=num>{escape(t['requests'])}</td><td class=num>{escape(t['failed_requests'])}</td>"
            f"<td class=num>{escape(t['assertions'])}</td><td class=num>{escape(t['failed_assertions'])}</td>"
            f"<td class=num>{view.deviations}</td><td class=num>{format_seconds(view.duration_s)}</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="9" class="muted">This run record holds no API.</td></tr>')
    return f'<section id="overview"><h2>Summary</h2><table>{head}{"".join(rows)}</table></section>'


def _by_folder(requests: Iterable[RequestJson]) -> list[tuple[str, list[RequestJson]]]:
    folders: dict[str, list[RequestJson]] = {}
    for request in requests:
        folders.setdefault(request["folder"] or "Requests", []).append(request)
    return list(folders.items())


def _render_folder(folder: str, requests: list[RequestJson]) -> str:
    outcomes = [request_outcome(request) for request in requests]
    failed = outcomes.count("failed")
    deviations = outcomes.count("deviation")
    state = "fail" if failed else "deviation" if "deviation" in outcomes else "pass"
    counts = f"{len(requests)} request{'' if len(requests) == 1 else 's'}, {failed} failed"
    if deviations:
        counts += f", {deviations} with spec deviations"
    if skipped := outcomes.count("skipped"):
        counts += f", {skipped} skipped"
    return (
        f'<details class="folder {state}" data-folder="{escape(folder)}" data-failed="{failed}"'
        f"{'' if state == 'pass' else ' open'}><summary>{escape(folder)} "
        f'<span class="muted">{counts}</span></summary>'
        f"{''.join(_render_request(request, outcome) for request, outcome in zip(requests, outcomes))}"
        "</details>"
    )


def _render_request(request: RequestJson, outcome: RequestOutcome) -> str:
    css = {"failed": "fail", "deviation": "deviation", "skipped": "skipped"}.get(outcome, "pass")
    status = request["status"]
    named = {
        "Status": "—" if status is None else status,
        "Time": format_ms(request["duration_ms"]),
        "Size": format_bytes(request["size_bytes"]),
    }
    problems = ""
    if request["error"]:
        kind = "Transport error" if transport_failed(request) else "Unusable answer"
        problems += f'<p class="problem" data-error>{kind}: {escape(request["error"])}</p>'
    if request["skipped"]:
        problems += f'<p class="problem skipped">Skipped: {escape(request["skipped"])}</p>'
    checks = request["checks"]
    rows = "".join(_render_check(check) for check in checks)
    table = f'<table class="checks">{rows}</table>' if rows else ""
    failed_checks = sum(check["outcome"] == "failed" for check in checks)
    return (
        f'<article class="request {css}" data-outcome="{outcome}" data-status="{escape(status or "")}"'
        f' data-checks="{len(checks)}" data-failed-checks="{failed_checks}">'
        f'<h4><span class="method">{escape(request["method"])}</span>{escape(request["name"])}</h4>'
        f'<p class="muted">{escape(request["description"])}</p>'
        f'<p class="url">{escape(request["url"])}</p>{"" if outcome == "skipped" else facts(named)}'
        f"{problems}{table}{_render_exchange(request, outcome)}</article>"
    )


def _render_exchange(request: RequestJson, outcome: RequestOutcome) -> str:
    """What was sent and what came back, as Newman showed it: request line, headers, bodies (already redacted)."""
    sent, answer = request.get("request"), request.get("response")
    if sent is None and answer is None:
        return ""
    status = request["status"]
    first_lines = {
        "request": f"{request['method']} {request['url']}",
        "response": f"No response: {request['error'] or 'no answer'}" if status is None else f"Status {status}",
    }
    parts = "".join(
        f'<div class="message" data-part="{part}"><h5>{part.capitalize()}</h5>'
        f'<p class="url">{escape(first_lines[part])}</p>'
        f"{_render_message(message, part) if message is not None else ''}</div>"
        for part, message in (("request", sent), ("response", answer))
    )
    opened = " open" if outcome in ("failed", "deviation") else ""
    return f'<details class="exchange"{opened}><summary>Request and response</summary><div class="messages">{parts}</div></details>'


def _render_message(message: MessageJson, part: str) -> str:
    rows = "".join(f"<tr><td>{escape(name)}</td><td>{escape(value)}</td></tr>" for name, value in message["headers"].items())
    text = body_text(message["body"]) if message["body"] else ""
    note = ""
    if message["truncated"]:
        note = (
            f'<p class="note" data-truncated>Body cut: the first {format_bytes(BODY_LIMIT)} of '
            f"{format_bytes(message['body_bytes'])} are shown.</p>"
        )
    shown = f'<pre class="body" data-body="{part}">{escape(text)}</pre>' if text else '<p class="muted">No body.</p>'
    return f'<table class="headers">{rows}</table>{shown}{note}'


def body_text(body: str) -> str:
    """A body as shown: JSON indented, anything else (including a cut JSON body) as it is."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def _render_check(check: CheckJson) -> str:
    failed = check["outcome"] == "failed"
    tier = check["tier"]
    detail = f'<pre class="message">{escape(check["message"] or "failed, with no message")}</pre>' if failed else ""
    return (
        f'<tr class="check {check["outcome"]} {escape(tier)}" data-outcome="{check["outcome"]}" data-tier="{escape(tier)}">'
        f'<td class="mark">{"✘" if failed else "✔"}</td><td class="tier">{escape(tier)}</td>'
        f"<td>{escape(check['name'])}{detail}</td></tr>"
    )


def _render_more(entry: ApiJson) -> str:
    """The spec tier's block and what was not deleted, as they are."""
    shown = {"spec": entry["spec"], **({"undeleted": entry["undeleted"]} if "undeleted" in entry else {})}
    items = "".join(f"<dt>{escape(key)}</dt><dd>{_render_value(value)}</dd>" for key, value in shown.items())
    return f'<div class="extras"><h3>More from this run</h3><dl class="facts">{items}</dl></div>'


def _render_value(value: object) -> str:
    """A block of the run record as escaped HTML: objects as term lists, lists as lists."""
    if isinstance(value, dict):
        items = "".join(f"<dt>{escape(key)}</dt><dd>{_render_value(item)}</dd>" for key, item in value.items())
        return f'<dl class="facts">{items}</dl>'
    if isinstance(value, list):
        return "<ul>" + "".join(f"<li>{_render_value(item)}</li>" for item in value) + "</ul>"
    return escape("" if value is None else value)
