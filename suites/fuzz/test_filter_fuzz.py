"""Fuzz every resource's list filters against the model: ``pytest -m fuzz [--hypothesis-profile thorough]``."""

from __future__ import annotations

import pytest
import requests
from hypothesis.stateful import run_state_machine_as_test

from harness.fuzz import FILTER_TARGETS, FilterTarget, filter_machine, fuzz_settings

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("item", [pytest.param(item, id=item.resource, marks=getattr(pytest.mark, item.api_id))
                                  for item in FILTER_TARGETS])
def test_filters_agree_with_model(item: FilterTarget, fuzz_api_roots: dict[str, str],
                                  fuzz_session: requests.Session) -> None:
    """Equality, OR, AND, nested-path and ``fields`` answers about our own instances match the model."""
    machine = filter_machine(item, fuzz_api_roots[item.api_id], fuzz_session)
    run_state_machine_as_test(machine, settings=fuzz_settings())
