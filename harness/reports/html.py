"""The self-contained HTML report, written as ``report.html`` next to ``summary.json``: per request what was sent,
what came back and every check. ``python -m harness.reports DIR`` rebuilds it (see ``harness.reports.rebuild``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import tmfapis
from harness.errors import ReportError
from harness.record import (
    BODY_LIMIT,
    RunJson,
    Verdict,
    check_run_record,
    record_verdict,
    request_outcome,
    standings,
    transport_failed,
)
from harness.reports.certification import kit_version
from harness.reports.fuzz import render_fuzz
from harness.reports.markup import escape, slug, tool_version
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
# Nothing may load from outside the file, even if vendor text slipped past escaping.
CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
REBUILD_HINT = "rebuild it with <code>python -m harness.reports DIR</code>."
# The blocks of an API entry shown as they are (``spec``, ``undeleted``); the rest has its own place.
API_KEYS = frozenset({"collection", "verdict", "totals", "requests", "target", "fuzz"})

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
    apis = [ApiView(api_id, dict(entry), dict(summary)) for api_id, entry in summary["apis"].items()]
    overall = record_verdict(summary)
    title = "TMF Open API conformance report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{STYLE}</style></head>",
        f'<body data-verdict="{overall}">',
        _render_header(title, summary, overall),
        _render_overview(apis),
        *(view.render() for view in apis),
        f"<footer>Written by tmf-ctk {escape(tool_version())} from {SUMMARY_FILE}; {REBUILD_HINT}</footer>",
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


class ApiView:
    """One API's block of the run record, with the figures the report shows for it."""

    def __init__(self, api_id: str, entry: dict[str, Any], summary: dict[str, Any]) -> None:
        self.api_id = api_id
        self.entry = entry
        self.requests: list[dict[str, Any]] = entry.get("requests", [])
        self.anchor = "api-" + "".join(c if c.isalnum() else "-" for c in api_id)
        try:
            self.name = tmfapis.api(api_id).name
        except KeyError:
            self.name = api_id
        self.verdict: Verdict = entry["verdict"]
        self.passed = self.verdict == "passed"
        self.collection = str(entry.get("collection", ""))
        self.version = kit_version(api_id, self.collection)
        self.started = entry.get("started") or summary.get("started")
        self.target = _target_for(api_id, entry, summary)
        checks = [check for request in self.requests for check in request["checks"]]
        self.totals = dict(entry["totals"])
        self.deviations = sum(_check_failed(check) and check["tier"] == "spec" for check in checks)
        timed = [request for request in self.requests if not request.get("skipped")]
        self.received_bytes = sum(_number(request.get("size_bytes")) for request in timed)
        self.average_ms = sum(_number(r.get("duration_ms")) for r in timed) / len(timed) if timed else 0.0
        self.duration_s = (
            _number(entry.get("duration_s")) or sum(_number(r.get("duration_ms")) for r in timed) / 1000
        )

    def data_attributes(self) -> str:
        values = {
            "api": self.api_id,
            "verdict": self.verdict.lower(),
            "requests": self.totals["requests"],
            "failed-requests": self.totals["failed_requests"],
            "assertions": self.totals["assertions"],
            "failed-assertions": self.totals["failed_assertions"],
            "deviations": self.deviations,
        }
        return " ".join(f'data-{key}="{escape(value)}"' for key, value in values.items())

    def render(self) -> str:
        facts = {
            "API": f"{self.name} ({self.api_id})",
            "Collection": self.collection,
            "Version": self.version,
            "Target": self.target,
            "Started": _format_date(self.started),
            "Duration": _format_seconds(self.duration_s),
            "Verdict": self.verdict,
        }
        t = self.totals
        figures = [
            ("Requests", t["requests"], False),
            ("Failed requests", t["failed_requests"], bool(t["failed_requests"])),
            ("Assertions", t["assertions"], False),
            ("Failed assertions", t["failed_assertions"], bool(t["failed_assertions"])),
            ("Spec deviations", self.deviations, False),
            ("Run duration", _format_seconds(self.duration_s), False),
            ("Data received", _format_bytes(self.received_bytes), False),
            ("Average response time", _format_ms(self.average_ms), False),
        ]
        figure_html = "".join(
            f'<div class="figure{" fail" if alarming else ""}" data-figure="{slug(label)}">'
            f"{escape(label)}<b>{escape(value)}</b></div>"
            for label, value, alarming in figures
        )
        return (
            f'<section class="api" id="{self.anchor}" {self.data_attributes()}>'
            f"<h2>{escape(self.name)} {_verdict_badge(self.verdict, self.passed)}</h2>"
            f'{_render_facts(facts)}<div class="figures">{figure_html}</div>'
            f"{''.join(_render_folder(folder, requests) for folder, requests in _by_folder(self.requests))}"
            f"{render_fuzz(self.entry.get('fuzz'))}"
            f"{_render_extras('More from this run', self.entry, API_KEYS, heading='h3')}</section>"
        )


def _render_header(title: str, summary: RunJson, overall: str) -> str:
    facts = {
        "Target": summary["target"],
        "Started": _format_date(summary.get("started")),
        "Run duration": _format_seconds(_number(summary.get("duration_s"))),
        "Verdict": overall,
    }
    for standing, api_ids in standings(summary).items():
        facts[f"APIs {standing}"] = ", ".join(api_ids) or "none"
    return (
        f'<section id="run"><h1>{title} {_verdict_badge(overall, overall == "passed")}</h1>'
        f"{_render_facts(facts)}{_render_preflight(summary)}</section>"
    )


def _render_preflight(summary: RunJson) -> str:
    """Why the pre-flight stopped the run, and which APIs the system does not offer (what their roots answered)."""
    parts = []
    for key, heading in (("preflight_failed", "The run stopped at the pre-flight: no kit request was sent"),
                         ("not_offered", "Not offered: the root answered 404, so these APIs were neither run nor failed")):
        found: dict[str, str] = summary.get(key, {})  # type: ignore[assignment]
        if found:
            rows = "".join(f'<tr data-api="{escape(api_id)}"><td>{escape(api_id)}</td><td>{escape(reason)}</td></tr>'
                           for api_id, reason in found.items())
            parts.append(f'<div class="{key.replace("_", "-")}"><h3>{escape(heading)}</h3><table>{rows}</table></div>')
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
            f'<tr class="{"pass" if view.passed else "fail"}" {view.data_attributes()}>'
            f'<td><a href="#{view.anchor}">{escape(view.name)}</a></td>'
            f"<td>{escape(view.entry.get('collection', ''))}</td>"
            f"<td>{_verdict_badge(view.verdict, view.passed)}</td>"
            f"<td class=num>{escape(t['requests'])}</td><td class=num>{escape(t['failed_requests'])}</td>"
            f"<td class=num>{escape(t['assertions'])}</td><td class=num>{escape(t['failed_assertions'])}</td>"
            f"<td class=num>{view.deviations}</td><td class=num>{_format_seconds(view.duration_s)}</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="9" class="muted">This run record holds no API.</td></tr>')
    return f'<section id="overview"><h2>Summary</h2><table>{head}{"".join(rows)}</table></section>'


def _by_folder(requests: Iterable[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    folders: dict[str, list[dict[str, Any]]] = {}
    for request in requests:
        folders.setdefault(str(request.get("folder") or "Requests"), []).append(request)
    return list(folders.items())


def _render_folder(folder: str, requests: list[dict[str, Any]]) -> str:
    outcomes = [request_outcome(request) for request in requests]  # type: ignore[arg-type]
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


def _render_request(request: dict[str, Any], outcome: str) -> str:
    css = {"failed": "fail", "deviation": "deviation", "skipped": "skipped"}.get(outcome, "pass")
    status = request.get("status")
    facts = {
        "Status": "—" if status is None else status,
        "Time": _format_ms(_number(request.get("duration_ms"))),
        "Size": _format_bytes(_number(request.get("size_bytes"))),
    }
    problems = ""
    if request.get("error"):
        kind = "Transport error" if transport_failed(request) else "Unusable answer"  # type: ignore[arg-type]
        problems += f'<p class="problem" data-error>{kind}: {escape(request["error"])}</p>'
    if request.get("skipped"):
        problems += f'<p class="problem skipped">Skipped: {escape(request["skipped"])}</p>'
    checks = request.get("checks", [])
    rows = "".join(_render_check(check) for check in checks)
    table = f'<table class="checks">{rows}</table>' if rows else ""
    return (
        f'<article class="request {css}" data-outcome="{outcome}" data-status="{escape(status or "")}"'
        f' data-checks="{len(checks)}" data-failed-checks="{sum(map(_check_failed, checks))}">'
        f'<h4><span class="method">{escape(request.get("method", ""))}</span>{escape(request.get("name", ""))}</h4>'
        f'<p class="muted">{escape(request.get("description", ""))}</p>'
        f'<p class="url">{escape(request.get("url", ""))}</p>{"" if outcome == "skipped" else _render_facts(facts)}'
        f"{problems}{table}{_render_exchange(request, outcome)}</article>"
    )


def _render_exchange(request: dict[str, Any], outcome: str) -> str:
    """What was sent and what came back, as Newman showed it: request line, headers, bodies (already redacted)."""
    sent, answer = request.get("request"), request.get("response")
    if not isinstance(sent, dict) and not isinstance(answer, dict):
        return ""
    status = request.get("status")
    first_lines = {
        "request": f"{request.get('method', '')} {request.get('url', '')}",
        "response": f"No response: {request.get('error') or 'no answer'}" if status is None else f"Status {status}",
    }
    parts = "".join(
        f'<div class="message" data-part="{part}"><h5>{part.capitalize()}</h5>'
        f'<p class="url">{escape(first_lines[part])}</p>'
        f"{_render_message(message, part) if isinstance(message, dict) else ''}</div>"
        for part, message in (("request", sent), ("response", answer))
    )
    opened = " open" if outcome in ("failed", "deviation") else ""
    return f'<details class="exchange"{opened}><summary>Request and response</summary><div class="messages">{parts}</div></details>'


def _render_message(message: dict[str, Any], part: str) -> str:
    headers = message.get("headers")
    headers = headers if isinstance(headers, dict) else {}
    rows = "".join(f"<tr><td>{escape(name)}</td><td>{escape(value)}</td></tr>" for name, value in headers.items())
    body = message.get("body")
    text = body_text(body) if isinstance(body, str) and body else ""
    note = ""
    if message.get("truncated"):
        note = (
            f'<p class="note" data-truncated>Body cut: the first {_format_bytes(BODY_LIMIT)} of '
            f"{_format_bytes(_number(message.get('body_bytes')))} are shown.</p>"
        )
    shown = f'<pre class="body" data-body="{part}">{escape(text)}</pre>' if text else '<p class="muted">No body.</p>'
    return f'<table class="headers">{rows}</table>{shown}{note}'


def body_text(body: str) -> str:
    """A body as shown: JSON indented, anything else (including a cut JSON body) as it is."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def _render_check(check: dict[str, Any]) -> str:
    failed = _check_failed(check)
    tier = _tier(check)
    detail = ""
    if failed:
        lines = [str(check.get("message") or "failed, with no message")]
        lines += [f"{key}: {check[key]}" for key in ("expected", "actual") if key in check]
        detail = f'<pre class="message">{escape(chr(10).join(lines))}</pre>'
    outcome = "failed" if failed else "passed"
    return (
        f'<tr class="check {outcome} {escape(tier)}" data-outcome="{outcome}" data-tier="{escape(tier)}">'
        f'<td class="mark">{"✘" if failed else "✔"}</td><td class="tier">{escape(tier)}</td>'
        f"<td>{escape(check.get('name', ''))}{detail}</td></tr>"
    )


def _render_facts(facts: dict[str, Any]) -> str:
    items = "".join(f"<dt>{escape(key)}</dt><dd>{escape(value)}</dd>" for key, value in facts.items())
    return f'<dl class="facts">{items}</dl>'


def _render_extras(title: str, record: dict[str, Any], known: frozenset[str], heading: str = "h2") -> str:
    extras = {key: value for key, value in record.items() if key not in known}
    if not extras:
        return ""
    body = _render_value(extras)
    if heading == "h2":
        return f'<section class="extras"><h2>{escape(title)}</h2>{body}</section>'
    return f'<div class="extras"><{heading}>{escape(title)}</{heading}>{body}</div>'


def _render_value(value: Any, depth: int = 0) -> str:
    """Any JSON value as escaped HTML: objects as term lists, lists of objects as tables."""
    if depth > 6:
        return f"<code>{escape(json.dumps(value))}</code>"
    if isinstance(value, dict):
        items = "".join(
            f"<dt>{escape(key)}</dt><dd>{_render_value(item, depth + 1)}</dd>" for key, item in value.items()
        )
        return f'<dl class="facts">{items}</dl>'
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            columns = list(dict.fromkeys(key for item in value for key in item))
            head = "".join(f"<th>{escape(column)}</th>" for column in columns)
            rows = "".join(
                "<tr>"
                + "".join(f"<td>{_render_value(item.get(c, ''), depth + 1)}</td>" for c in columns)
                + "</tr>"
                for item in value
            )
            return f"<table><tr>{head}</tr>{rows}</table>"
        return "<ul>" + "".join(f"<li>{_render_value(item, depth + 1)}</li>" for item in value) + "</ul>"
    return escape("" if value is None else value)


def _check_failed(check: dict[str, Any]) -> bool:
    return bool(check["outcome"] == "failed")


def _tier(check: dict[str, Any]) -> str:
    return str(check["tier"])


def _target_for(api_id: str, entry: dict[str, Any], summary: dict[str, Any]) -> str:
    return str(entry["target"] or summary["target"])


def _verdict_badge(verdict: str, passed: bool) -> str:
    css = "pass" if passed else "incomplete" if verdict == "incomplete" else "fail"
    return f'<span class="verdict {css}">{escape(verdict)}</span>'


def _format_date(value: Any) -> str:
    if not isinstance(value, str):
        return "" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%a %d %b %Y %H:%M:%S %Z").strip()


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return _format_ms(seconds * 1000)
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m {seconds % 60:.0f}s"


def _format_ms(milliseconds: float) -> str:
    return f"{milliseconds:.0f}ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f}s"


def _format_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.2f}{unit}"
        size /= 1024
    return f"{size:.2f}MB"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0



