"""The team's shared reference material beside the repository (``../shared``): specs, certified reports, kits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["SHARED", "shared_dir"]

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def shared_dir(*parts: str) -> Path:
    """``../shared/<parts>``; when absent the calling test is skipped with the reason, or fails under CI=true."""
    path = SHARED.joinpath(*parts)
    if not path.is_dir():
        reason = f"{path} is absent (the reference material beside the repository)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must have it")
        pytest.skip(reason)
    return path
