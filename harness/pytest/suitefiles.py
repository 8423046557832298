"""What a suite file is and which API it declares, and which API a test sends requests to: the one answer for
collection, ``--api``, the pre-flight (which sees only node ids under xdist), the payload checks and fuzzing.

A suite file is ``ctkNNN.yaml`` in a folder inside a folder named ``suites``
(``harness/suites/ctk629/ctk629.yaml``, or a user's copy ``mysuites/suites/ctk629/ctk629.yaml``); it
declares the API ``tmfNNN``, which its ``api`` key must name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath, PurePosixPath

import pytest

import tmfapis

__all__ = ["FUZZ_DIR", "SUITES_DIR", "api_of_item", "api_of_node_id", "apis_of_ids", "apis_of_items",
           "collected_suite_files", "declared_api", "packaged_suite", "suite_file_api"]

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
FUZZ_DIR = SUITES_DIR / "fuzz"
SUITE_NAME = re.compile(r"ctk(\d+)\.yaml")
# a suite file, a suite folder, a suites folder, or a project holding one (no deeper: no walk of a whole tree)
TIER_MARKERS = frozenset({"ctk", "spec", "fuzz"})
PARAMETER = re.compile(r"\[([^\]]+)\]$")  # a fuzz test's resource: test_filters[customer]
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


def api_of_item(item: pytest.Item) -> str | None:
    """The API a harness item (CTK, spec or fuzz) sends requests to; None for any other test."""
    names = {mark.name for mark in item.iter_markers()}
    return next((api_id for api_id in tmfapis.API_IDS if api_id in names), None) if names & TIER_MARKERS else None


def apis_of_items(items: Iterable[pytest.Item]) -> list[str]:
    """The APIs that the harness items send requests to, in ``tmfapis`` order."""
    wanted = {api_of_item(item) for item in items}
    return [api_id for api_id in tmfapis.API_IDS if api_id in wanted]


def apis_of_ids(ids: Sequence[str]) -> list[str]:
    """The same from node ids alone (what an xdist controller sees): the suite file, or the fuzzed resource."""
    resources = {name: api.id for api in map(tmfapis.api, tmfapis.API_IDS) for name in api.resources}
    wanted = set()
    for node_id in ids:
        path, _, name = node_id.partition("::")
        parameter = PARAMETER.search(name)
        if (api_id := api_of_node_id(node_id)) is not None:
            wanted.add(api_id)
        elif "fuzz" in PurePosixPath(path).parts and parameter and parameter.group(1) in resources:
            wanted.add(resources[parameter.group(1)])
    return [api_id for api_id in tmfapis.API_IDS if api_id in wanted]


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
