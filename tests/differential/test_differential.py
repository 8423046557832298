"""Side by side for every ported API: Newman runs the official kit, the CTK tier the same API, same server.

A slice of the defects x APIs grid runs behind planted vendor defects: each defect on one ported API, taken in
turn (the clean run of every ported API beside its kit is in test_reference_server.py).
They agree request by request and check by check, beyond the documented differences
(``tests/support/differential.py``). The whole grid is ``python -m tests.support.differential``.
"""

from __future__ import annotations

import pytest

import mockserver
from tests.differential.conftest import SideBySide
from tests.support.differential import DEFECTS, HARMLESS, SPEC_ONLY, judge, ported
from tests.support.fault_proxy import start_fault_proxy

pytestmark = pytest.mark.usefixtures("kits_present")

PORTED = tuple(ported())
# The CI slice: each fault on one of the first five ports in turn (each pairing seen to alter what it plants);
# the full grid is python -m tests.support.differential --defects all --apis all.
SLICE_APIS = PORTED[:5]
SLICE = [(fault, SLICE_APIS[index % len(SLICE_APIS)]) for index, fault in enumerate(name for name in DEFECTS
                                                                                    if name not in SPEC_ONLY)]


@pytest.mark.parametrize(("fault", "api_id"), SLICE, ids=[f"{fault}-{api_id}" for fault, api_id in SLICE])
def test_behind_a_planted_defect_they_agree(
    module_server: mockserver.BackgroundServer, side_by_side: SideBySide, fault: str, api_id: str
) -> None:
    with start_fault_proxy(module_server.url, fault) as proxy:
        kits, summary = side_by_side(proxy.url, (api_id,))
    [result] = judge(fault, kits, summary, proxy.tally.altered)
    assert result.problems() == []
    assert result.altered, f"{fault} found nothing to alter in what {api_id}'s kit and suite asked"
    if fault in HARMLESS:
        assert not result.ours_failed and not result.kit.failures, f"{fault} is no defect, yet {api_id} fails"
    if result.kit.failures:
        assert result.ours_failed, f"the kit fails {api_id} behind {fault}, ours passes it"


def test_the_slice_plants_every_defect_the_ctk_tier_sees_each_on_another_ported_api() -> None:
    assert {fault for fault, _ in SLICE} | set(SPEC_ONLY) == set(DEFECTS)
    assert len({api_id for _, api_id in SLICE}) == min(len(SLICE), len(SLICE_APIS))
