"""What the tests that run the suites in pytester share: the reference server and the copy of the suites."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import mockserver

__all__ = ["REPO", "SUITES", "copy_suites", "reference_server"]

REPO = Path(__file__).resolve().parents[2]
SUITES = REPO / "harness" / "suites"


@pytest.fixture
def reference_server() -> Iterator[mockserver.BackgroundServer]:
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server:
        yield server


def copy_suites(directory: Path, names: Iterable[str]) -> None:
    """Copy the named suites into ``directory/suites`` as a user's project would hold them."""
    for name in names:
        target = directory / "suites" / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(SUITES / name / f"{name}.yaml", target / f"{name}.yaml")
