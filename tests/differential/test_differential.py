"""Side by side: Newman runs each official kit and the CTK tier runs the same API against the same server.

Against the reference server both pass; behind each planted vendor defect they agree request by
request and check by check, beyond the documented differences (``tests/support/differential.py``).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import mockserver
import tmfapis
from tests.support.differential import disagreements
from tests.support.fault_proxy import FAULTS, start_fault_proxy
from tests.support.official_kits import ENVIRONMENT_KEYS, KitRun, run_kit
from tests.support.suite_runs import copy_suites

pytestmark = pytest.mark.usefixtures("kits_present")

# fault -> the APIs it is planted on, and whether the official kit fails them (proof the defect is planted)
FAULT_RUNS: dict[str, tuple[tuple[str, ...], bool]] = {
    "wrong_status": (("tmf635",), True),
    "create_error": (("tmf681",), True),
    "missing_href": (("tmf683",), True),
    "wrong_type": (("tmf681",), True),
    "html_body": (("tmf622",), True),
    "server_error": (("tmf629",), True),
    "filter_ignored": (("tmf683",), False),
    "delete_noop": (("tmf681",), True),
    "patch_201": (("tmf629",), True),
    "changed_value": (("tmf681",), False),
    "array_create": (("tmf635",), True),
    "array_by_id": (("tmf622",), False),
    "dropped_instances": (("tmf681",), True),
    "leftovers": (("tmf635",), True),
    "html_errors": (("tmf629",), False),
    "fields_unanswered": (("tmf622",), True),
    "numeric_ids": (("tmf683",), True),
    "missing_state": (("tmf622",), True),
    "missing_engagedParty": (("tmf629",), True),
    "missing_usageSpecification": (("tmf635",), True),
    "missing_channel": (("tmf683",), True),
    "filter_empty": (("tmf683",), True),
    "null_values": (("tmf629",), True),
    "list_as_object": (("tmf635",), False),
    "empty_create": (("tmf622",), True),
    "unknown_is_400": (("tmf681",), True),
}


def run_ctk_tier(pytester: pytest.Pytester, base_url: str, api_ids: tuple[str, ...]) -> dict[str, Any]:
    """The CTK tier as a user runs it (``pytest suites -m ctk --base-url URL``), in pytester; the run record."""
    copy_suites(pytester.path, [f"ctk{api_id.removeprefix('tmf')}" for api_id in api_ids])
    report = pytester.path / "report"
    result = pytester.runpytest("-p", "no:cacheprovider", "-m", "ctk", "--base-url", base_url, "--ctk-report", str(report))
    summary_path = report / "summary.json"
    assert summary_path.exists(), result.stdout.str()[-3000:]
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    return summary


def side_by_side(
    pytester: pytest.Pytester, base_url: str, api_ids: tuple[str, ...]
) -> tuple[dict[str, KitRun], dict[str, Any]]:
    """The kits (in Newman, in the background) and the CTK tier at the same time against the same server.

    Each judges only the instances it created; the other's instances are valid ones in the collection.
    """
    with ThreadPoolExecutor(max_workers=len(api_ids)) as pool:
        kits = {i: pool.submit(run_kit, i, base_url.rstrip("/") + tmfapis.api(i).base_path) for i in api_ids}
        ours = run_ctk_tier(pytester, base_url, api_ids)
        return {api_id: kit.result() for api_id, kit in kits.items()}, ours


def test_both_pass_the_reference_server_and_agree(
    module_server: mockserver.BackgroundServer, pytester: pytest.Pytester
) -> None:
    api_ids = tuple(ENVIRONMENT_KEYS)
    kits, summary = side_by_side(pytester, module_server.url, api_ids)
    for api_id in api_ids:
        assert kits[api_id].failures == 0, api_id
        assert summary["apis"][api_id]["verdict"] == "passed", api_id
        assert disagreements(kits[api_id], summary["apis"][api_id]) == []


@pytest.mark.parametrize("fault", list(FAULT_RUNS))
def test_behind_a_planted_defect_they_agree(
    module_server: mockserver.BackgroundServer, pytester: pytest.Pytester, fault: str
) -> None:
    api_ids, kit_fails = FAULT_RUNS[fault]
    with start_fault_proxy(module_server.url, fault) as proxy:
        kits, summary = side_by_side(pytester, proxy.url, api_ids)
    problems = []
    for api_id in api_ids:
        assert (kits[api_id].failures > 0) == kit_fails, f"{fault} is not planted as expected on {api_id}"
        if kit_fails:
            assert summary["apis"][api_id]["verdict"] == "failed", f"ours passes {api_id}, the kit fails it"
        problems += disagreements(kits[api_id], summary["apis"][api_id])
    assert problems == []


def test_every_planted_defect_is_run() -> None:
    assert set(FAULT_RUNS) <= set(FAULTS)
    assert len(FAULT_RUNS) >= 15
