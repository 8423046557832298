"""The run record and what is written from it: records gathered in the controller, ``summary.json``, the HTML
report and the certification pack, then one terminal summary.

Records travel from the items (possibly on xdist workers) to the controller in ``report.user_properties``.
At the end the controller writes ``summary.json`` (also for a run the pre-flight stopped, saying why) and the
reports beside it, and calls ``pytest_ctk_run_done`` for the other reporters (Allure). A run that holds no
record and was not stopped writes nothing.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ReportError
from harness.pytest.context import CONTEXT_KEY, RunContext, run_context
from harness.pytest.fuzzing import fuzz_outcomes
from harness.pytest.items import CLEANUP_PROPERTY, RECORD_PROPERTY
from harness.pytest.preflight import PREFLIGHT_FAILED
from harness.record import SPEC_FOLDER, RunJson, request_outcome, standings
from harness.reports.fuzz import fuzz_blocks
from harness.reports.rebuild import write_reports
from harness.reports.summary import SUMMARY_FILE, build_summary, of_payload, run_target

__all__ = ["RecordCollector", "summary_lines"]

HYPOTHESIS_PLUGIN = "hypothesispytest"
WRITTEN = pytest.StashKey["Written"]()


@dataclass(frozen=True, slots=True, eq=False)
class RecordCollector:
    """Gathers the records in the controller (or the only process), whatever worker ran the items."""

    context: RunContext

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if not isinstance(value, dict):
                continue
            if name == RECORD_PROPERTY and report.when == "call":
                self.context.records.setdefault(value["api"], {})[value["index"]] = value["record"]
                self.context.suites[value["api"]] = value["suite"]
                if value["record"]["folder"] != SPEC_FOLDER:
                    self._progress(value["api"], value["suite"])
            elif name == CLEANUP_PROPERTY and report.when == "teardown" and value["left"]:
                self.context.left.setdefault(value["api"], []).extend(value["left"])

    def _progress(self, api_id: str, suite: dict[str, Any]) -> None:
        """Under xdist, one line per API once all its kit requests ran (alone, pytest's line per file does it)."""
        kit = [r for r in self.context.records[api_id].values() if r["folder"] != SPEC_FOLDER]
        reporter = self.context.config.pluginmanager.get_plugin("terminalreporter")
        if len(kit) != suite["planned"] or reporter is None or not self.context.config.getoption("numprocesses", None):
            return
        failed = sum(request_outcome(record) == "failed" for record in kit)
        reporter.write("\n")  # xdist's dots do not end their line
        reporter.write_line(f"{api_id} {suite['collection']}: {len(kit)}/{suite['planned']} kit requests run, {failed} failed")


@dataclass(slots=True)
class Written:
    """What the end of the run wrote: the run record, and the reports or why they are missing."""

    report_dir: Path
    summary: RunJson
    lines: list[str] = field(default_factory=list)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and CONTEXT_KEY in config.stash:
        config.pluginmanager.register(RecordCollector(run_context(config)), "ctk-record-collector")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    context = config.stash.get(CONTEXT_KEY, None)
    if context is None:
        return
    if hasattr(config, "workerinput"):
        context.close()
        return
    target = run_target(context.settings.base_url, context.embedded_url, context.settings.api_urls, context.records)
    context.close()
    ran_suites = bool(context.records) or context.preflight_failed
    if (ran_suites or config.option.collectonly) and "hypothesis" not in sys.modules \
            and config.pluginmanager.has_plugin(HYPOTHESIS_PLUGIN):
        # Its terminal summary imports all of Hypothesis (~0.5 s, seconds more when pytest rewrites its modules'
        # asserts) to report fuzzing this run did not do.
        config.pluginmanager.unregister(name=HYPOTHESIS_PLUGIN)
    if not ran_suites:
        return
    summary = build_summary(context.records, context.suites, context.left, target, context.started,
                            not_offered=context.not_offered, preflight_failed=context.preflight_failed)
    for api_id, block in fuzz_blocks(fuzz_outcomes(config)).items():
        summary["apis"][api_id]["fuzz"] = block
    summary = context.redactor.value(summary)
    report_dir = context.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written = Written(report_dir, summary)
    try:
        report, *pack = write_reports(summary, report_dir)
        where = pack[0].parent if pack else report_dir
        written.lines += [f"HTML report: {report}", f"certification pack: {where} ({len(pack)} statement{'' if len(pack) == 1 else 's'})"]
    except (ReportError, OSError) as exc:
        written.lines.append(f"HTML report not written: {exc}")
    config.stash[WRITTEN] = written
    config.hook.pytest_ctk_run_done(config=config, summary=summary, report_dir=report_dir)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if exitstatus == PREFLIGHT_FAILED and reporter is not None:  # pytest shows no terminal summary for this status
        for line in _closing_lines(written):
            reporter.write_line(line)


def summary_lines(summary: RunJson) -> list[str]:
    """The run in the terminal: one line per API run, a count line per API that left instances, then which APIs
    were certified, failed (also at the pre-flight, whose lines said why), incomplete and not offered."""
    lines = []
    for api_id, entry in summary["apis"].items():
        totals, spec = entry["totals"], entry["spec"]
        line = (f"{api_id} {entry['collection']}: {entry['verdict']} ({totals['requests']} requests, "
                f"{totals['failed_requests']} failed; {totals['assertions']} assertions, {totals['failed_assertions']} failed)")
        if spec["checks"]:
            line += f"; spec tier {spec['verdict']} ({spec['checks']} checks, {spec['deviations']} deviations{of_payload(spec)})"
        lines.append(line)
        if left := entry.get("undeleted"):
            lines.append(f"{api_id}: {len(left)} instance{'' if len(left) == 1 else 's'} not deleted "
                         f"(listed in {SUMMARY_FILE} under undeleted)")
    found = standings(summary)
    told = [f"{standing} {len(ids)} ({', '.join(ids)})" for standing, ids in found.items() if ids]
    lines.append("APIs: " + ("; ".join(told) or "none run"))
    return lines


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    written = config.stash.get(WRITTEN, None)
    if written is None:
        return
    terminalreporter.section("CTK run record")
    for line in _closing_lines(written):
        terminalreporter.write_line(line)


def _closing_lines(written: Written) -> list[str]:
    return [*summary_lines(written.summary), f"run record: {written.report_dir / SUMMARY_FILE}", *written.lines]
