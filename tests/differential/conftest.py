"""Fixtures for running the official kits with Newman beside the CTK tier: one reference server per module."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import mockserver
import tmfapis
from tests.support.differential import delete_kept
from tests.support.official_kits import KitRun, require_kits, run_kits
from tests.support.suite_runs import copy_suites

# (base URL, the APIs run on both sides, the APIs whose kits alone run) -> the kit runs, our run record or None
SideBySide = Callable[..., tuple[dict[str, KitRun], dict[str, Any] | None]]


@pytest.fixture
def kits_present() -> None:
    """Skip (fail under CI=true) when the official kits or Newman are absent."""
    require_kits()


@pytest.fixture(scope="module")
def module_server() -> Iterator[mockserver.BackgroundServer]:
    """One reference server shared by a module's tests (each kit works in its own API's collections), holding
    the kit seed the kits that only read need."""
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False, seed_path=mockserver.KIT_SEED)) as server:
        yield server


@pytest.fixture
def side_by_side(pytester: pytest.Pytester) -> SideBySide:
    """Run the kits (Newman, in the background) and the CTK tier at the same time against one server.

    The CTK tier runs as a user runs it (``pytest suites -m ctk --base-url URL``), in pytester; each side
    judges only the instances it created, the other's are valid instances in the collection.
    Returns the kit runs per API and the CTK tier's run record (None when the pre-flight stopped the run).
    """

    def run(base_url: str, api_ids: tuple[str, ...], kits_only: tuple[str, ...] = ()
            ) -> tuple[dict[str, KitRun], dict[str, Any] | None]:
        roots = {i: base_url.rstrip("/") + tmfapis.api(i).base_path for i in (*api_ids, *kits_only)}
        with ThreadPoolExecutor(max_workers=1) as pool:  # the kits in Node, beside the CTK tier
            kits = pool.submit(run_kits, roots)
            copy_suites(pytester.path, [f"ctk{api_id.removeprefix('tmf')}" for api_id in api_ids])
            report = pytester.path / "report"
            result = pytester.runpytest("-p", "no:cacheprovider", "-m", "ctk", "--base-url", base_url,
                                        "--ctk-report", str(report), "--keep")
            summary_path = report / "summary.json"
            output = result.stdout.str()
            assert summary_path.exists() or "pre-flight failed" in output, output[-3000:]
            summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
            runs = kits.result()
            delete_kept(summary)  # once the kits are done, as a kit may go on with an instance of ours
            return runs, summary

    return run
