"""Pre-flight in pytest: before the first request, each API root the selected items use is probed once.

Without xdist this happens in ``pytest_runtestloop``; under xdist the controller does it when the first
worker reports its collection, before any test is scheduled. A failing root stops the run with one line
per root and exit status ``PREFLIGHT_FAILED``. The embedded reference server is not probed. The same xdist hook
shows the run's target, which pytest's header shows without xdist.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

import pytest

import tmfapis
from harness.preflight import probe
from harness.pytest.context import run_context

__all__ = ["PREFLIGHT_FAILED", "apis_of_ids", "apis_of_items"]

PREFLIGHT_FAILED = 10  # pytest uses 0-6
TIER_MARKERS = ("ctk", "spec", "fuzz")
SUITE_FILE = re.compile(r"ctk(\d+)\.yaml")
PARAMETER = re.compile(r"\[([^\]]+)\]$")
DONE = pytest.StashKey[bool]()
TARGET_SHOWN = pytest.StashKey[bool]()


def apis_of_items(items: Iterable[pytest.Item]) -> list[str]:
    """The APIs that the selected harness items (CTK, spec or fuzz) send requests to."""
    wanted = {api_id for item in items if any(item.get_closest_marker(tier) for tier in TIER_MARKERS)
              for api_id in tmfapis.API_IDS if item.get_closest_marker(api_id)}
    return [api_id for api_id in tmfapis.API_IDS if api_id in wanted]


def _suite_file(path: str) -> re.Match[str] | None:
    """``path`` (of a node id) read as a suite's declaration file, ``ctkNNN.yaml``."""
    return SUITE_FILE.fullmatch(PurePosixPath(path).name)


def apis_of_ids(ids: Sequence[str]) -> list[str]:
    """The same from node ids alone (what an xdist controller sees): the suite file, or the fuzzed resource."""
    resources = {name: api.id for api in map(tmfapis.api, tmfapis.API_IDS) for name in api.resources}
    wanted = set()
    for node_id in ids:
        path, _, name = node_id.partition("::")
        suite = _suite_file(path)
        parameter = PARAMETER.search(name)
        if suite and f"tmf{suite.group(1)}" in tmfapis.API_IDS:
            wanted.add(f"tmf{suite.group(1)}")
        elif "fuzz" in PurePosixPath(path).parts and parameter and parameter.group(1) in resources:
            wanted.add(resources[parameter.group(1)])
    return [api_id for api_id in tmfapis.API_IDS if api_id in wanted]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # workers: the controller probed
        preflight(session.config, apis_of_items(session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: Sequence[str]) -> None:
    show_target(node.config, ids)
    preflight(node.config, apis_of_ids(ids))


def show_target(config: pytest.Config, ids: Sequence[str]) -> None:
    """Under xdist, the header's target lines (the controller collects nothing, so pytest asks it for none):
    once, when the first worker's collection holds kit requests."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.stash.get(TARGET_SHOWN, False):
        return
    if not any(_suite_file(node_id.partition("::")[0]) for node_id in ids):
        return
    config.stash[TARGET_SHOWN] = True
    for line in run_context(config).target_lines():
        reporter.write_line(line)


def preflight(config: pytest.Config, api_ids: Sequence[str]) -> None:
    """Probe each API's root once per run (not the embedded server's); stop the run when one cannot be tested."""
    if not api_ids or config.stash.get(DONE, False) or config.option.collectonly:
        return  # an xdist controller has no items of its own: it probes when a worker reports its collection
    config.stash[DONE] = True
    context = run_context(config)
    settings = context.settings
    roots = {api_id: context.api_root(api_id) for api_id in api_ids
             if api_id in settings.api_urls or settings.base_url is not None}
    if not roots:
        return
    session = context.http_session()

    def one(api_id: str) -> str | None:
        base_url = None if api_id in settings.api_urls else settings.base_url
        return probe(session, context.redactor, api_id, roots[api_id], base_url)

    with ThreadPoolExecutor(max_workers=len(roots)) as pool:
        problems = [problem for problem in pool.map(one, roots) if problem]
    if not problems:
        return
    lines = list(problems)
    earlier = context.report_dir / "summary.json"
    if earlier.exists():  # a vendor must not hand over an earlier run's record as this one's
        lines.append(f"{earlier} and its reports are from an earlier run; this run wrote none")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for problem in lines:
        line = context.redactor.text(f"pre-flight: {problem}")
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            sys.stderr.write(line + "\n")
    pytest.exit(f"pre-flight failed for {len(problems)} of {len(roots)} API roots; no kit request was sent",
                returncode=PREFLIGHT_FAILED)
