"""Compares a Newman run of an official kit with the CTK tier's run record, request by request, check by check.

The outcomes must be equal, except as listed in ``DIFFERENCES``, the one list of the documented
differences: where the kit's check cannot fail, ours may fail where the kit passes, never the reverse.
``disagreements`` returns one line per place where the two disagree otherwise.
``python -m tests.support.differential --defects all --apis all`` plants every defect on every ported API
(the APIs with a suite declaration), the kits run concurrently, and prints each disagreement and a count line.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

import mockserver
import tmfapis
from harness.cleanup import KEPT
from harness.ctk.declaration import load_declaration
from harness.fuzz.derived import SUITES_DIR
from tests.support.fault_proxy import FAULTS, start_fault_proxy
from tests.support.official_kits import REPO, KitRequest, KitRun, run_kits

__all__ = [
    "AJV_ERROR", "DEFECTS", "DIFFERENCES", "HARMLESS", "SPEC_ONLY", "Difference", "Verdicts", "delete_kept", "disagreements", "documented",
    "judge", "main",
    "ours_outcome", "ported", "run_side_by_side",
]


@dataclass(frozen=True, slots=True)
class Difference:
    """A documented difference: a check of ours that may fail where the kit's check of that name passes."""

    check: re.Pattern[str]
    why: str


DIFFERENCES = (
    Difference(
        re.compile(r"^@?[\w.]+ is ", re.DOTALL),
        "the kit's `<attr> is <value>` evaluates `pm.expect(a) == b` and discards the result (TMF678's `state is onHold` "
        "is a test without a function, which Postman records as passed): it cannot fail",
    ),
    Difference(
        re.compile(r"^ID[A-Z]{2,6}\d{2} not expected on this test$"),
        "the kit's `<ID> not expected on this test` only logs: it cannot fail, so an ignored filter passes",
    ),
    Difference(
        re.compile(r"^Body includes value held on "),
        "the kit searches the body for the instance's own value (it fails only when the attribute is absent); "
        "ours search for the value held from the create, so a changed value fails",
    ),
)
# A check named by one of ajv's errors (``JSON.stringify(error)``) exists only where that error does, in the kit as in
# ours: never excused by a kit script that stopped, since ours stops where the kit's does (``reads``).
AJV_ERROR = re.compile(r'^\{"keyword":')
# Not a check: a request whose variable was never set (its producer failed) is not sent by ours and is
# recorded as skipped; the kit sends the literal `{{IDCU01}}`. Allowed only after a failed request.
SKIPPED_AFTER_FAILURE = "skipped after a failed prerequisite"
# Not defects: what the kits accept, and so must ours (both pass behind them).
HARMLESS = ("relative_href", "bom_bodies")
# What ``--defects all`` plants: every fault but relative hrefs, which the kits' own href checks cannot follow.
DEFECTS = tuple(name for name in FAULTS if name != "relative_href")
# Defects only the spec tier sees: the kits and the CTK tier both pass behind them (left out of the CI slice).
SPEC_ONLY = ("delete_refused", "patch_ignored", "total_uncounted", "list_as_object")


def documented(check: str) -> bool:
    return any(difference.check.match(check) for difference in DIFFERENCES)


def ours_outcome(request: Mapping[str, Any]) -> str:
    """passed, failed (a CTK-tier check failed or no answer came) or skipped."""
    if request.get("skipped"):
        return "skipped"
    failed = request.get("error") or any(
        check["outcome"] == "failed" for check in request["checks"] if check["tier"] == "ctk"
    )
    return "failed" if failed else "passed"


def _ours_checks(request: Mapping[str, Any]) -> dict[str, bool]:
    result: dict[str, bool] = {}
    for check in request["checks"]:
        if check["tier"] == "ctk":
            result[check["name"]] = result.get(check["name"], True) and check["outcome"] == "passed"
    return result


def disagreements(kit: KitRun, ours: Mapping[str, Any]) -> list[str]:
    """Where the kit's run and ours (one API's entry of ``summary.json``) disagree beyond ``DIFFERENCES``."""
    problems: list[str] = []
    mine = ours["requests"]
    if len(mine) != len(kit.requests):
        return [f"{kit.api_id}: the kit made {len(kit.requests)} requests, ours {len(mine)}"]
    earlier_failure = False
    for position, (theirs, request) in enumerate(zip(kit.requests, mine, strict=True)):
        where = f"{kit.api_id} #{position + 1} {theirs.method} {theirs.name}"
        outcome = ours_outcome(request)
        if outcome == "skipped":
            if not earlier_failure:
                problems.append(f"{where}: ours skipped it although no earlier request failed")
            continue
        earlier_failure = earlier_failure or outcome == "failed"
        if theirs.failed and outcome == "passed":
            problems.append(f"{where}: the kit fails it ({_why(theirs)}), ours passes")
        if request.get("error") and request.get("status") is None and not theirs.failed:
            problems.append(f"{where}: ours got no answer ({request['error']}), the kit passes it")
        kit_checks, our_checks = theirs.outcomes(), _ours_checks(request)
        for name in dict.fromkeys([*kit_checks, *our_checks]):
            kit_passed, ours_passed = kit_checks.get(name), our_checks.get(name)
            if kit_passed is False and ours_passed is not False:
                state = "passes in ours" if ours_passed else "is not a check of ours here"
                problems.append(f"{where}: {name!r} fails in the kit and {state}")
            elif ours_passed is False and kit_passed is not False and not documented(name):
                if kit_passed is None and theirs.errors and not AJV_ERROR.match(name):
                    continue  # the kit's script stopped before this check: it failed the request anyway
                state = "passes in the kit" if kit_passed else "is not a check of the kit"
                problems.append(f"{where}: {name!r} fails in ours and {state}")
    return problems


def _why(request: Any) -> str:
    failed = [a.name for a in request.assertions if not a.passed]
    return "; ".join([*request.errors, *failed[:3]])


def ported() -> dict[str, Path]:
    """API id -> its packaged suite declaration, for every declared suite, in ``tmfapis`` order."""
    found = {load_declaration(path).api_id: path for path in sorted(SUITES_DIR.glob("ctk*/ctk*.yaml"))}
    return {api_id: found[api_id] for api_id in tmfapis.API_IDS if api_id in found}


@dataclass(frozen=True, slots=True)
class Verdicts:
    """One API behind one planted defect: the kit's run, ours (None when the pre-flight stopped it), the disagreements."""

    fault: str
    api_id: str
    kit: KitRun
    ours: Mapping[str, Any] | None
    altered: int  # exchanges of this API the defect changed: 0 when it was not planted here
    stopped: str = ""  # the pre-flight's line when ours stopped before any kit request

    @property
    def ours_failed(self) -> bool:
        return self.ours is None or self.ours["verdict"] == "failed"

    def problems(self) -> list[str]:
        if self.ours is not None:
            return disagreements(self.kit, self.ours)
        if self.kit.failures:
            return []
        return [f"{self.api_id}: ours stopped before any kit request ({self.stopped}), the kit passes"]


def judge(fault: str, kits: Mapping[str, KitRun], summary: Mapping[str, Any] | None, altered: Mapping[str, int],
          stopped: str = "") -> list[Verdicts]:
    """Per API: the kit's run beside ours from one run record (None, or an API in its ``preflight_failed``: the
    pre-flight stopped ours before any kit request)."""
    stops = summary.get("preflight_failed", {}) if summary else {}
    return [Verdicts(fault, api_id, kit, None if summary is None or api_id in stops else summary["apis"].get(api_id),
                     altered.get(api_id, 0), stops.get(api_id, stopped)) for api_id, kit in kits.items()]


def run_side_by_side(upstream: str, fault: str, api_ids: Sequence[str], jobs: int = 8) -> list[Verdicts]:
    """Behind ``fault`` (``none``: a clean proxy): the kits in one Node process, ``jobs`` at a time, beside one
    CTK-tier run."""
    suites = ported()
    with start_fault_proxy(upstream, fault) as proxy, tempfile.TemporaryDirectory() as report, \
            ThreadPoolExecutor(max_workers=1) as pool:
        roots = {api_id: proxy.url + tmfapis.api(api_id).base_path for api_id in api_ids}
        kits = pool.submit(run_kits, roots, max(1, jobs), 1)
        done = subprocess.run([sys.executable, "-m", "pytest", *(str(suites[api_id]) for api_id in api_ids), "-m", "ctk",
                               "--base-url", proxy.url, f"--ctk-report={report}", "-p", "no:cacheprovider", "-q",
                               "--keep"], cwd=REPO, capture_output=True, text=True, check=False, timeout=900)
        record = Path(report) / "summary.json"
        summary = json.loads(record.read_text(encoding="utf-8")) if record.exists() else None
        runs = _finished(api_ids, kits)
        delete_kept(summary)
    stopped = next((line for line in done.stdout.splitlines() if "pre-flight" in line), done.stdout[-200:])
    return judge(fault, runs, summary, proxy.tally.altered, stopped)


def delete_kept(summary: Mapping[str, Any] | None) -> None:
    """Delete what ours kept (``--keep``), once the kits are done: a kit that goes on with the last instance a list
    shows (TMF664) may have taken ours, which deleting at the end of our run would pull from under it."""
    for entry in (summary or {}).get("apis", {}).values():
        for line in entry.get("undeleted", []):
            if line.endswith(f": {KEPT}"):
                requests.delete(line.removesuffix(f": {KEPT}"), timeout=10)


def _finished(api_ids: Sequence[str], kits: Future[dict[str, KitRun]]) -> dict[str, KitRun]:
    """The kits' runs, or for each one failed request saying why Newman did not finish (a timeout, no report)."""
    try:
        return kits.result()
    except (subprocess.TimeoutExpired, RuntimeError, OSError) as exc:
        failed = (KitRequest("(the whole kit)", "", "", None, (), (f"Newman did not finish: {exc}",)),)
        return {api_id: KitRun(api_id, failed) for api_id in api_ids}


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    if text == "all":
        return list(known)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(f"unknown {what} {', '.join(unknown) or repr(text)}; known: all, {', '.join(known)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Planted defects x ported APIs, each kit beside the CTK tier; print the disagreements and a count line."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.differential", description=main.__doc__)
    parser.add_argument("--defects", default="all",
                        help="all (a clean run, then every defect but relative_href), none (the clean run) or a,b")
    parser.add_argument("--apis", default="all", help="all (every ported API) or tmf629,tmf681")
    parser.add_argument("--jobs", type=int, default=8, help="kits at a time in the one Node process of a defect (default 8)")
    parser.add_argument("--parallel", type=int, default=1, help="defects run at a time (default 1)")
    args = parser.parse_args(argv)
    try:
        faults = _names(args.defects, ["none", *DEFECTS], "defect")
        api_ids = _names(args.apis, list(ported()), "ported API")
    except ValueError as exc:
        parser.error(str(exc))
    started = time.monotonic()
    results: list[Verdicts] = []
    problems: list[str] = []
    seeded = mockserver.ServerConfig(port=0, access_log=False, seed_path=mockserver.KIT_SEED)  # for the kits that only read
    with mockserver.start_background(seeded) as server, \
            ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        for run in pool.map(lambda fault: run_side_by_side(server.url, fault, api_ids, args.jobs), faults):
            results += run
            for line in (f"{item.fault}: {line}" for item in run for line in item.problems()):
                problems.append(line)
                print(line, flush=True)  # as each defect ends: a long grid shows its findings early
    unplanted = sorted(f"{item.fault} on {item.api_id}" for item in results if not item.altered and item.fault != "none")
    if unplanted:
        print(f"not planted (nothing to alter): {', '.join(unplanted)}")
    print(f"{len(results)} runs ({len(faults)} defects x {len(api_ids)} APIs) in {time.monotonic() - started:.0f} s: "
          f"the kit fails {sum(item.kit.failures > 0 for item in results)}, ours fails "
          f"{sum(item.ours_failed for item in results)}, {len(problems)} disagreements")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
