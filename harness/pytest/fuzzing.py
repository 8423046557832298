"""Fuzzing outcomes into the run record: the ``fuzz_outcome`` fixture records each fuzzed target's examples and
failure, the controller gathers them (through xdist too), and ``fuzz_outcomes`` hands them to the run record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

from harness.ctk.declaration import load_declaration
from harness.ctk.engine import plan
from harness.errors import DeclarationError
from harness.pytest.context import run_context
from harness.pytest.suitefiles import packaged_suite

__all__ = ["FUZZ_PROPERTY", "Counted", "fuzz_outcome", "fuzz_outcomes"]

FUZZ_PROPERTY = "ctk_fuzz"
OUTCOMES_KEY = pytest.StashKey[list[dict[str, Any]]]()


class Counted(Protocol):
    """A state machine class that counts the examples run with it, and the API root it runs against."""

    examples: int
    api_root: str


def pytest_configure(config: pytest.Config) -> None:
    config.stash[OUTCOMES_KEY] = []
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(FuzzCollector(config), "ctk-fuzz-collector")


@pytest.fixture
def fuzz_outcome(request: pytest.FixtureRequest) -> Callable[[str, str, Counted], AbstractContextManager[None]]:
    """``with fuzz_outcome(api_id, resource, machine): run it``: records the examples run and, on failure, the
    reproduction (the exception's message and Hypothesis's notes), then lets the failure through."""

    @contextmanager
    def recording(api_id: str, target: str, machine: Counted) -> Iterator[None]:
        reproduction = ""
        try:
            yield
        except Exception as exc:
            reproduction = "\n".join([str(exc), *getattr(exc, "__notes__", [])]).strip() or type(exc).__name__
            raise
        finally:
            outcome = {"api": api_id, "root": machine.api_root, "target": target, "examples": machine.examples,
                       "reproduction": reproduction}
            request.node.user_properties.append((FUZZ_PROPERTY, outcome))

    return recording


@dataclass(eq=False)
class FuzzCollector:
    """Gathers the outcomes in the controller; an API fuzzed without its kit still gets its run record entry."""

    config: pytest.Config
    seen: set[str] = field(default_factory=set)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == FUZZ_PROPERTY and isinstance(value, dict):
                self.config.stash[OUTCOMES_KEY].append(value)
                self._enter(str(value["api"]), str(value["root"]))

    def _enter(self, api_id: str, root: str) -> None:
        context = run_context(self.config)
        if api_id in context.records or api_id in self.seen:
            return
        self.seen.add(api_id)
        context.records[api_id] = {}
        suite = {"collection": "", "root": root, "planned": 0}
        try:  # the kit's name and size, so a run that fuzzed but did not run the kit reads as incomplete
            declaration = load_declaration(packaged_suite(api_id))
            suite.update(collection=declaration.collection, planned=len(plan(declaration)))
        except DeclarationError:
            pass
        context.suites.setdefault(api_id, suite)


def fuzz_outcomes(config: pytest.Config) -> list[dict[str, Any]]:
    """The outcome of every fuzzed target of the run, as gathered in the controller."""
    outcomes: list[dict[str, Any]] = config.stash.get(OUTCOMES_KEY, [])
    return list(outcomes)

