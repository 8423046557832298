"""Fixtures of the report tests: fresh handmade run records for each test."""

from __future__ import annotations

from typing import Any

import pytest
import report_samples


@pytest.fixture
def passing_summary() -> dict[str, Any]:
    return report_samples.passing_summary()


@pytest.fixture
def failing_summary() -> dict[str, Any]:
    return report_samples.failing_summary()


@pytest.fixture
def hostile_summary() -> dict[str, Any]:
    return report_samples.hostile_summary()
