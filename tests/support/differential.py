"""Compares a Newman run of an official kit with the CTK tier's run record, request by request, check by check.

The outcomes must be equal, except as listed in ``DIFFERENCES``, the one list of the documented
differences: where the kit's check cannot fail, ours may fail where the kit passes, never the reverse.
``disagreements`` returns one line per place where the two disagree otherwise.
``python -m tests.support.differential [FAULTS [APIS]]`` runs every planted defect on every API.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mockserver
import tmfapis
from tests.support.fault_proxy import FAULTS, start_fault_proxy
from tests.support.official_kits import REPO, KitRun, run_kit

__all__ = ["DIFFERENCES", "Difference", "disagreements", "documented", "main", "ours_outcome"]


@dataclass(frozen=True, slots=True)
class Difference:
    """A documented difference: a check of ours that may fail where the kit's check of that name passes."""

    check: re.Pattern[str]
    why: str


DIFFERENCES = (
    Difference(
        re.compile(r"^@?[\w.]+ is ", re.DOTALL),
        "the kit's `<attr> is <value>` evaluates `pm.expect(a) == b` and discards the result: it cannot fail",
    ),
    Difference(
        re.compile(r"^ID[A-Z]{2}\d{2} not expected on this test$"),
        "the kit's `<ID> not expected on this test` only logs: it cannot fail, so an ignored filter passes",
    ),
    Difference(
        re.compile(r"^Body includes value held on "),
        "the kit searches the body for the instance's own value (it fails only when the attribute is absent); "
        "ours search for the value held from the create, so a changed value fails",
    ),
)
# Not a check: a request whose variable was never set (its producer failed) is not sent by ours and is
# recorded as skipped; the kit sends the literal `{{IDCU01}}`. Allowed only after a failed request.
SKIPPED_AFTER_FAILURE = "skipped after a failed prerequisite"


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
                if kit_passed is None and theirs.errors:
                    continue  # the kit's script stopped before this check: it failed the request anyway
                state = "passes in the kit" if kit_passed else "is not a check of the kit"
                problems.append(f"{where}: {name!r} fails in ours and {state}")
    return problems


def _why(request: Any) -> str:
    failed = [a.name for a in request.assertions if not a.passed]
    return "; ".join([*request.errors, *failed[:3]])


def main(argv: list[str] | None = None) -> int:
    """Every planted defect on every API, kit beside the CTK tier; print the disagreements and a count line."""
    args = sys.argv[1:] if argv is None else argv
    faults = args[0].split(",") if args else [name for name in FAULTS if name != "relative_href"]
    api_ids = args[1].split(",") if len(args) > 1 else list(tmfapis.API_IDS)
    runs = kit_failed = ours_failed = problems = 0
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server:
        for fault in faults:
            for api_id in api_ids:
                with start_fault_proxy(server.url, fault) as proxy, tempfile.TemporaryDirectory() as report:
                    kit = run_kit(api_id, proxy.url + tmfapis.api(api_id).base_path)
                    suite = REPO / "harness" / "suites" / f"ctk{api_id[3:]}"
                    done = subprocess.run([sys.executable, "-m", "pytest", str(suite), "-m", "ctk", "--base-url",
                                           proxy.url, f"--ctk-report={report}", "-p", "no:cacheprovider", "-q"],
                                          cwd=REPO, capture_output=True, text=True, check=False, timeout=300)
                    record = Path(report) / "summary.json"
                    ours = json.loads(record.read_text(encoding="utf-8"))["apis"].get(api_id) if record.exists() else None
                if ours is None:  # the run stopped before any kit request (the pre-flight): the API failed
                    why = next((line for line in done.stdout.splitlines() if "pre-flight" in line), done.stdout[-200:])
                    found = [] if kit.failures else [f"{api_id}: ours stopped before any kit request ({why}), the kit passes"]
                else:
                    found = disagreements(kit, ours)
                runs, problems = runs + 1, problems + len(found)
                kit_failed += kit.failures > 0
                ours_failed += ours is None or ours["verdict"] == "failed"
                for line in found:
                    print(f"{fault}: {line}")
    print(f"{runs} runs: the kit fails {kit_failed}, ours fails {ours_failed}, {problems} disagreements")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
