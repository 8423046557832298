"""Tests that read ``../shared`` skip with a reason where it is absent, and fail under CI=true."""

from __future__ import annotations

import pytest

from tests.support.shared import shared_dir


def test_an_absent_folder_skips_with_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-such-folder is absent"):
        shared_dir("no-such-folder")


def test_an_absent_folder_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have it"):
        shared_dir("no-such-folder")
