"""A declaration found valid is kept and read again without YAML or jsonschema; any change of its text is validated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.ctk import declaration
from harness.ctk.declaration import load_declaration
from harness.errors import DeclarationError
from tests.support.suite_runs import SUITES


@pytest.fixture
def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of one suite, with an empty cache of its own."""
    monkeypatch.setattr(declaration, "CACHE_DIR", tmp_path / "cache")
    declaration._declaration.cache_clear()
    target = tmp_path / "suites" / "ctk629" / "ctk629.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(SUITES / "ctk629" / "ctk629.yaml", target)
    return target


def _read_again(path: Path) -> declaration.SuiteDeclaration:
    declaration._declaration.cache_clear()  # as a new run would
    return load_declaration(path)


def test_a_valid_declaration_is_read_again_from_the_cache_unvalidated(suite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_declaration(suite)
    assert len(list(declaration.CACHE_DIR.glob("*.json"))) == 1

    def refuse(*args: object) -> None:
        raise AssertionError("validated again")

    monkeypatch.setattr(declaration, "_validated_data", refuse)
    monkeypatch.setattr(declaration, "payload_problem", refuse)
    assert _read_again(suite) == first


def test_a_changed_declaration_is_validated_and_an_invalid_one_never_kept(suite: Path) -> None:
    load_declaration(suite)
    suite.write_text(suite.read_text(encoding="utf-8").replace("code: CU", "code: cu"), encoding="utf-8")
    with pytest.raises(DeclarationError, match="code"):
        _read_again(suite)
    assert len(list(declaration.CACHE_DIR.glob("*.json"))) == 1


def test_other_rules_do_not_trust_what_was_kept(suite: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_declaration(suite)
    monkeypatch.setattr(declaration, "RULES", "changed rules")
    _read_again(suite)
    assert len(list(declaration.CACHE_DIR.glob("*.json"))) == 2


def test_a_broken_or_unwritable_cache_changes_nothing(suite: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = load_declaration(suite)
    for kept in declaration.CACHE_DIR.glob("*.json"):
        kept.write_text("{not json", encoding="utf-8")
    assert _read_again(suite) == first
    blocked = tmp_path / "a file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setattr(declaration, "CACHE_DIR", blocked / "cache")
    assert _read_again(suite) == first
