"""What a run reads and imports before its first request: each file once, and nothing the run does not use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.ctk.declaration import load_declaration

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "harness" / "suites" / "ctk629" / "ctk629.yaml"
# run from an empty folder, as a vendor does: in the checkout, pytest would also load tests/conftest.py
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


def test_collecting_the_suites_imports_no_hypothesis(tmp_path: Path) -> None:
    """Hypothesis's pytest plugin imports all of it for a terminal summary that has nothing to say here."""
    result = subprocess.run([sys.executable, "-c", COLLECT], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.stdout.splitlines()[-1] == "0 False", result.stdout[-2000:] + result.stderr[-2000:]


def test_collecting_again_reads_the_kept_declarations_without_yaml_or_jsonschema(tmp_path: Path) -> None:
    """The second collection reads the declarations the first found valid; the server is not started either."""
    imported = COLLECT.replace('"hypothesis" in sys.modules', '[name for name in ("yaml", "jsonschema", "aiohttp") '
                                                               'if name in sys.modules]')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    (tmp_path / "empty").mkdir()  # run where a vendor runs, outside the checkout and its tests' conftest
    outputs = [subprocess.run([sys.executable, "-c", imported], cwd=tmp_path / "empty", capture_output=True, text=True, timeout=300,
                              check=False, env=env).stdout for _ in range(2)]
    assert outputs[0].splitlines()[-1].startswith("0 ["), outputs[0][-2000:]
    assert outputs[1].splitlines()[-1] == "0 []", outputs[1][-2000:]
