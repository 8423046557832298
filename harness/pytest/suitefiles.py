"""What a suite file is and which API it declares: the one answer for collection, the pre-flight (which sees only
node ids under xdist), the payload checks and fuzzing.

A suite file is ``ctkNNN.yaml`` in a folder inside a folder named ``suites``
(``harness/suites/ctk629/ctk629.yaml``, or a user's copy ``mysuites/suites/ctk629/ctk629.yaml``); it
declares the API ``tmfNNN``, which its ``api`` key must name.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath, PurePosixPath

import pytest

import tmfapis

__all__ = ["FUZZ_DIR", "SUITES_DIR", "api_of_node_id", "collected_suite_files", "declared_api", "packaged_suite",
           "suite_file_api"]

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
FUZZ_DIR = SUITES_DIR / "fuzz"
SUITE_NAME = re.compile(r"ctk(\d+)\.yaml")
# a suite file, a suite folder, a suites folder, or a project holding one (no deeper: no walk of a whole tree)
SEARCHED = ("ctk*.yaml", "*/ctk*.yaml", "suites/*/ctk*.yaml", "*/suites/*/ctk*.yaml")


def declared_api(path: PurePath) -> str | None:
    """The API the suite file at ``path`` declares, or None when ``path`` is no suite file."""
    match = SUITE_NAME.fullmatch(path.name)
    if match is None or path.parent.parent.name != "suites":
        return None
    return f"tmf{match.group(1)}"


def suite_file_api(path: PurePath) -> str | None:
    """The same, for a file whose API is one ``tmfapis`` lists (what can be collected and run)."""
    api_id = declared_api(path)
    return api_id if api_id in tmfapis.API_IDS else None


def api_of_node_id(node_id: str) -> str | None:
    """The API of a test from its node id alone (``suites/ctk629/ctk629.yaml::N1 POST /Customer``), as an xdist
    controller sees it; None for a test outside the suite files."""
    return suite_file_api(PurePosixPath(node_id.partition("::")[0]))


def packaged_suite(api_id: str) -> Path:
    """Where the package's own suite file of ``api_id`` is (it may not exist for every API)."""
    name = f"ctk{api_id.removeprefix('tmf')}"
    return SUITES_DIR / name / f"{name}.yaml"


def collected_suite_files(config: pytest.Config) -> list[Path]:
    """The suite files under the paths given on the command line outside the package, found as collection finds them."""
    found: list[Path] = []
    for arg in config.args:
        path = config.invocation_params.dir / arg.split("::")[0]
        candidates = [path] if path.is_file() else sorted(c for p in SEARCHED for c in path.glob(p)) if path.is_dir() else []
        found += [c.resolve() for c in candidates if declared_api(c) and c.resolve().parent.parent != SUITES_DIR]
    return found
