"""What a run reads and imports before its first request: each file once, and nothing the run does not use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.ctk.declaration import load_declaration

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "harness" / "suites" / "ctk629" / "ctk629.yaml"
COLLECT = """
import sys, pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "--pyargs", "harness.suites"])
print(int(code), "hypothesis" in sys.modules)
"""


def test_a_declaration_is_read_once_and_again_when_its_text_changes(tmp_path: Path) -> None:
    path = tmp_path / "ctk629.yaml"
    text = SUITE.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_declaration(path)
    assert load_declaration(path) is first
    path.write_text(text.replace(f"collection: {first.collection}", "collection: Another kit"), encoding="utf-8")
    assert load_declaration(path).collection == "Another kit"


def test_collecting_the_suites_imports_no_hypothesis() -> None:
    """Hypothesis's pytest plugin imports all of it for a terminal summary that has nothing to say here."""
    result = subprocess.run([sys.executable, "-c", COLLECT], cwd=REPO, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.stdout.splitlines()[-1] == "0 False", result.stdout[-2000:] + result.stderr[-2000:]
