"""Pre-flight in pytest: before the first request, each API root the selected items use is probed once.

Without xdist this happens in ``pytest_runtestloop``; under xdist the controller does it when the first
worker reports its collection, before any test is scheduled. The probe asks for the resource the kit first
sends to, as the suite declaration being run lists it first. A root that answers 404 is an API the system
does not offer: its tests are left out (deselected; under xdist, where the workers hold the items, skipped),
unless the API was selected explicitly (``--api``, ``-m tmf629``, ``--api-url``) or no selected API is offered
at all. Any other failing root stops the run with one line per root and exit status ``PREFLIGHT_FAILED``; the
run record says why. The embedded reference server is not probed. The same xdist hook shows the run's target,
which pytest's header shows without xdist.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import tmfapis
from harness.ctk.declaration import load_declaration
from harness.errors import DeclarationError
from harness.preflight import Finding, probe
from harness.pytest.context import run_context
from harness.pytest.items import CtkFile
from harness.pytest.settings import selected_apis
from harness.pytest.suitefiles import api_of_item, api_of_node_id, apis_of_ids, apis_of_items

__all__ = ["PREFLIGHT_FAILED", "explicit_apis"]

PREFLIGHT_FAILED = 10  # pytest uses 0-6
NOT_OFFERED_FILE = "ctk_not_offered"  # the workerinput key of the file where an xdist controller leaves its finding
DONE = pytest.StashKey[bool]()
TARGET_SHOWN = pytest.StashKey[bool]()
WORKER_NOT_OFFERED = pytest.StashKey[dict[str, str]]()
SHARED_FOLDER = pytest.StashKey[tempfile.TemporaryDirectory[str]]()


def explicit_apis(config: pytest.Config) -> frozenset[str]:
    """The APIs the command selects by name: ``--api``, ``-m`` (not negated) or their own ``--api-url``."""
    words = re.findall(r"[\w-]+", config.getoption("markexpr") or "")
    marked = {word for position, word in enumerate(words)
              if word in tmfapis.API_IDS and (position == 0 or words[position - 1] != "not")}
    return selected_apis(config) | marked | set(run_context(config).settings.api_urls)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):  # workers: the controller probed
        return
    first = {item.parent.declaration.api_id: item.parent.declaration.resources[0].resource
             for item in session.items if isinstance(item.parent, CtkFile)}
    not_offered = preflight(session.config, apis_of_items(session.items), first)
    left_out = [item for item in session.items if api_of_item(item) in not_offered]
    if left_out:
        session.items[:] = [item for item in session.items if api_of_item(item) not in not_offered]
        session.config.hook.pytest_deselected(items=left_out)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """An xdist worker learns where the controller leaves the APIs the pre-flight found not offered."""
    config = node.config
    if SHARED_FOLDER not in config.stash:
        config.stash[SHARED_FOLDER] = tempfile.TemporaryDirectory(prefix="ctk-preflight-")
    node.workerinput[NOT_OFFERED_FILE] = str(Path(config.stash[SHARED_FOLDER].name) / "not-offered.json")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(SHARED_FOLDER, None)
    if folder is not None:
        folder.cleanup()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: Sequence[str]) -> None:
    api_ids = apis_of_ids(ids)
    show_target(node.config, ids, api_ids)
    not_offered = preflight(node.config, api_ids, _first_resources(node.config, ids))
    target = node.workerinput.get(NOT_OFFERED_FILE)
    if target:  # written before any test is scheduled: scheduling waits for every worker's collection
        Path(target).write_text(json.dumps(not_offered), encoding="utf-8")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under xdist, the tests of an API the controller's pre-flight found not offered are skipped, not run."""
    api_id = api_of_item(item)
    if api_id is None or not hasattr(item.config, "workerinput"):
        return
    not_offered = _worker_not_offered(item.config)
    if api_id in not_offered:
        pytest.skip(f"not offered: {not_offered[api_id]}")


def _worker_not_offered(config: pytest.Config) -> dict[str, str]:
    if WORKER_NOT_OFFERED not in config.stash:
        path = Path(config.workerinput.get(NOT_OFFERED_FILE, ""))  # type: ignore[attr-defined]
        config.stash[WORKER_NOT_OFFERED] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return config.stash[WORKER_NOT_OFFERED]


def show_target(config: pytest.Config, ids: Sequence[str], api_ids: Sequence[str]) -> None:
    """Under xdist, the header's target lines (the controller collects nothing, so pytest asks it for none):
    once, when the first worker's collection holds kit requests."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.stash.get(TARGET_SHOWN, False):
        return
    if not any(api_of_node_id(node_id) for node_id in ids):
        return
    config.stash[TARGET_SHOWN] = True
    for line in run_context(config).target_lines(api_ids):
        reporter.write_line(line)


def _first_resources(config: pytest.Config, ids: Sequence[str]) -> dict[str, str]:
    """API id -> the resource its kit first sends to, read from the suite files of the node ids (as an xdist
    controller sees the run)."""
    found: dict[str, str] = {}
    for path in dict.fromkeys(node_id.partition("::")[0] for node_id in ids if api_of_node_id(node_id)):
        try:
            declaration = load_declaration(config.rootpath / path)
        except DeclarationError:
            continue  # reported by the worker that collected it
        found.setdefault(declaration.api_id, declaration.resources[0].resource)
    return found


def preflight(config: pytest.Config, api_ids: Sequence[str], first: Mapping[str, str]) -> dict[str, str]:
    """Probe each API's root once per run (not the embedded server's), on the resource its kit first sends to
    (``first``); stop the run when one cannot be tested.

    Returns the APIs found not offered (API id -> what the root answered), whose tests are left out.
    """
    context = run_context(config)
    if not api_ids or config.stash.get(DONE, False) or config.option.collectonly:
        return context.not_offered  # an xdist controller has no items of its own: it probes when a worker reports
    config.stash[DONE] = True
    settings = context.settings
    roots = {api_id: context.api_root(api_id) for api_id in api_ids
             if api_id in settings.api_urls or settings.base_url is not None}
    if not roots:
        return context.not_offered
    session = context.http_session()

    def one(api_id: str) -> Finding | None:
        base_url = None if api_id in settings.api_urls else settings.base_url
        return probe(session, context.redactor, api_id, roots[api_id], base_url, first.get(api_id))

    with ThreadPoolExecutor(max_workers=min(len(roots), 16)) as pool:
        findings = [finding for finding in pool.map(one, roots) if finding]
    explicit = explicit_apis(config)
    absent = [finding for finding in findings if finding.not_offered and finding.api_id not in explicit]
    if len(absent) < len(api_ids):  # else none is offered: the target is wrong, not the choice of APIs
        context.not_offered.update((finding.api_id, finding.what) for finding in absent)
    problems = [finding for finding in findings if finding.api_id not in context.not_offered]
    if problems:
        _stop(config, problems, len(roots))
    return context.not_offered


def _stop(config: pytest.Config, problems: Sequence[Finding], probed: int) -> None:
    """One line per failing root, the run record's reason, and exit status ``PREFLIGHT_FAILED``."""
    context = run_context(config)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for finding in problems:
        line = context.redactor.text(f"pre-flight: {finding.line}")
        context.preflight_failed[finding.api_id] = context.redactor.text(finding.reason)
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            sys.stderr.write(line + "\n")
    pytest.exit(f"pre-flight failed for {len(problems)} of {probed} API roots; no kit request was sent",
                returncode=PREFLIGHT_FAILED)
