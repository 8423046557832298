"""ruff over the whole project and ``mypy --strict`` over its three packages, as part of the project's tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tmfapis", "mockserver", "harness")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed: install the project with its test extra (pip install -e '.[test]')")
    return found


def test_ruff_is_clean() -> None:
    result = _run(_tool("ruff"), "check", *PACKAGES, "tests", "benchmarks", "conftest.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = _run(_tool("mypy"), "--strict", *PACKAGES)
    assert result.returncode == 0, result.stdout + result.stderr
