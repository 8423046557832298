"""Fuzz every resource's list filters against the model; each failure prints a reproducible request."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
import requests
from hypothesis.stateful import run_state_machine_as_test

from harness.fuzz.machine import FILTER_TARGETS, FilterTarget, filter_machine, fuzz_settings
from harness.redact import Redactor

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("item", [pytest.param(item, id=f"{item.api_id}-{item.resource}", marks=getattr(pytest.mark, item.api_id))
                                  for item in FILTER_TARGETS])
def test_filters_agree_with_model(item: FilterTarget, api_roots: dict[str, str],
                                  http_session: requests.Session, ctk_redactor: Redactor,
                                  fuzz_outcome: Callable[[str, str, Any], AbstractContextManager[None]]) -> None:
    """Equality, OR, AND, nested-path and ``fields`` answers about our own instances match the model."""
    machine = filter_machine(item, api_roots[item.api_id], http_session, ctk_redactor)
    with fuzz_outcome(item.api_id, item.resource, machine):  # examples and failure go into the run record
        run_state_machine_as_test(machine, settings=fuzz_settings())
