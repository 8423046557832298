"""Side by side behind planted vendor defects: Newman runs the official kit, the CTK tier the same API.

Behind each defect they agree request by request and check by check, beyond the documented
differences (``tests/support/differential.py``); the clean run is in ``test_reference_server.py``.
"""

from __future__ import annotations

import pytest

import mockserver
from tests.differential.conftest import SideBySide
from tests.support.differential import disagreements
from tests.support.fault_proxy import FAULTS, start_fault_proxy

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
    "bom_bodies": (("tmf629",), False),
    "escaped_slashes": (("tmf683",), True),
    "nan_values": (("tmf681",), True),
    "empty_create": (("tmf622",), True),
    "unknown_is_400": (("tmf681",), True),
}


@pytest.mark.parametrize("fault", list(FAULT_RUNS))
def test_behind_a_planted_defect_they_agree(
    module_server: mockserver.BackgroundServer, side_by_side: SideBySide, fault: str
) -> None:
    api_ids, kit_fails = FAULT_RUNS[fault]
    with start_fault_proxy(module_server.url, fault) as proxy:
        kits, summary = side_by_side(proxy.url, api_ids)
    problems = []
    for api_id in api_ids:
        assert (kits[api_id].failures > 0) == kit_fails, f"{fault} is not planted as expected on {api_id}"
        if summary is None or api_id in summary.get("preflight_failed", {}):  # ours stopped before any kit request
            assert kit_fails, f"ours stopped at the pre-flight, the kit passes {api_id}"
            continue
        if kit_fails:
            assert summary["apis"][api_id]["verdict"] == "failed", f"ours passes {api_id}, the kit fails it"
        problems += disagreements(kits[api_id], summary["apis"][api_id])
    assert problems == []


def test_every_planted_defect_is_run() -> None:
    assert set(FAULT_RUNS) <= set(FAULTS)
    assert len(FAULT_RUNS) >= 15
