"""The pytest items: a suite declaration collected into one item per kit request, in the kit's order,
then one item per spec-tier scenario and resource."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tmfapis
from harness.ctk.declaration import ResourceSuite, SuiteDeclaration, load_declaration
from harness.ctk.engine import KitRequest, SuiteRun, plan
from harness.errors import CtkFailure, DeclarationError, RunFailure, ScenarioSkipped, SpecDeviation
from harness.http import cut_requests_under_way
from harness.pytest.context import run_context
from harness.pytest.lanes import Chain, Lanes, Step
from harness.pytest.suitefiles import declared_api
from harness.record import SPEC_FOLDER, RequestRecord
from harness.spec.scenarios import RECORD_INDEX_BASE, SCENARIOS, Scenario, ScenarioRun, deviation_text

__all__ = ["CLEANUP_PROPERTY", "RECORD_PROPERTY", "CtkFile", "CtkItem", "ScenarioDone", "SpecItem", "start_lanes",
           "stop_lanes"]

RECORD_PROPERTY = "ctk_record"
CLEANUP_PROPERTY = "ctk_cleanup"


class CtkFile(pytest.File):
    """A suite declaration (``suites/ctk681/ctk681.yaml``) collected into its kit requests, then its spec scenarios."""

    declaration: SuiteDeclaration
    run: SuiteRun | None = None
    last_item: pytest.Item | None = None  # the last item run, kit or spec: file teardown reports through it

    def collect(self) -> Iterator[pytest.Item]:
        try:
            self.declaration = load_declaration(self.path)
        except DeclarationError as exc:
            raise self.CollectError(str(exc)) from None
        if self.declaration.api_id != declared_api(self.path):
            raise self.CollectError(f"{self.path}: api: {self.declaration.api_id} is not the API its file name declares "
                                    f"({declared_api(self.path)})")
        seen: dict[str, int] = {}
        api_id = self.declaration.api_id
        tier, api, group = pytest.mark.ctk, getattr(pytest.mark, api_id), pytest.mark.xdist_group(api_id)  # once a file
        folders: dict[str, pytest.MarkDecorator] = {}
        configured = run_context(self.config).settings.payloads.get(api_id, {})
        for request in plan(self.declaration, configured):
            if request.step.routed:
                continue  # run, where the kit's asynchronous route reaches it, by the item whose answer took the route
            title = request.title
            seen[title] = seen.get(title, 0) + 1
            name = title if seen[title] == 1 else f"{title} [{seen[title]}]"
            item = CtkItem.from_parent(self, name=name, request=request)
            folder = folders.setdefault(request.folder, getattr(pytest.mark, f"folder_{request.folder}"))
            for marker in (tier, api, folder, group):
                item.add_marker(marker)
            yield item
        yield from spec_items(self, self.declaration)

    def suite_run(self) -> SuiteRun:
        """The suite's run state, made once (in pytest's thread: the first makes the embedded server start)."""
        if self.run is None:
            context = run_context(self.config)
            self.run = SuiteRun(
                declaration=self.declaration,
                api_root=context.api_root(self.declaration.api_id),
                session=context.http_session(),
                redactor=context.redactor,
                payloads=context.settings.payloads.get(self.declaration.api_id, {}),
            )
        return self.run

    def setup(self) -> None:
        self.suite_run()
        start_lanes(self.session)

    def delete_created(self) -> list[str]:
        """Delete what the kit's requests created; what is left behind, a line each."""
        return self.suite_run().cleanup(run_context(self.config).keep)

    def teardown(self) -> None:
        if self.run is None or self.last_item is None:
            return
        left = run_context(self.config).performed((self, CLEANUP_PROPERTY), self.delete_created)
        self.last_item.user_properties.append((CLEANUP_PROPERTY, {"api": self.declaration.api_id, "left": left}))
        self.run = None


class CtkItem(pytest.Item):
    """One kit request; fails listing every failed CTK-tier check with expected and actual values."""

    def __init__(self, *, request: KitRequest, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request = request
        self.record: RequestRecord | None = None

    @property
    def suite_file(self) -> CtkFile:
        assert isinstance(self.parent, CtkFile)
        return self.parent

    def perform(self) -> tuple[RequestRecord | None, str | None, list[tuple[KitRequest, RequestRecord]]]:
        """Send the kit request, or skip it naming the variable it lacks: the record, the reason it was skipped, and
        the requests the kit's asynchronous route ran right after it (a poll, where it went next) with theirs. A
        request the kit's run does not reach (it ended before) has no record, as it has no line in the kit's report.

        It touches no pytest state, so a lane's worker thread may do it ahead of the test."""
        run = self.suite_file.suite_run()
        if (ended := run.not_reached(self.request)) is not None:
            return None, ended, []
        reason = run.missing_prerequisite(self.request)
        if reason is not None:
            return run.skip(self.request, reason), reason, []
        record = run.run(self.request)
        return record, None, [(routed, run.run(routed)) for routed in run.routed_next()]

    def runtest(self) -> None:
        run = self.suite_file.suite_run()
        self.suite_file.last_item = self
        record, skipped, routes = run_context(self.config).performed(self, self.perform)
        if record is None:
            pytest.skip(f"not run: {skipped}")
        self._publish(run, record)
        for routed, routed_record in routes:
            publish(self, run, routed.index, routed_record)
        if skipped is not None:
            pytest.skip(skipped)
        records = [record, *(routed_record for _, routed_record in routes)]
        failed = [failure_text(each) for each in records if each.outcome == "failed"]
        if failed:
            raise CtkFailure("\n".join(failed))
        if any(each.outcome == "deviation" for each in records) and run_context(self.config).strict:
            raise CtkFailure(deviation_text(self.request.title, records))

    def _publish(self, run: SuiteRun, record: RequestRecord) -> None:
        self.record = record
        publish(self, run, self.request.index, record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, RunFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.request.title}"


def publish(item: pytest.Item, run: SuiteRun, index: int, record: RequestRecord) -> None:
    """Send a record to the controller (through xdist too) and to the reporters, from inside the test."""
    suite = {"collection": run.declaration.collection, "root": run.api_root, "planned": run.planned}
    item.user_properties.append(
        (RECORD_PROPERTY, {"api": run.declaration.api_id, "index": index, "suite": suite, "record": record.to_json()})
    )
    item.ihook.pytest_ctk_request_done(item=item, record=record)


def failure_text(record: RequestRecord) -> str:
    """Every failed CTK-tier check of a request with what was expected and what came back."""
    exchange = record.exchange
    status = exchange.status if exchange and exchange.status is not None else "no response"
    lines = [f"{record.folder} {record.method} {record.name}: {record.method} {exchange.url if exchange else record.url} -> {status}"]
    problem = exchange.error if exchange else None
    if problem:
        lines.append(f"  problem: {problem}")
    counts: dict[tuple[str, str], int] = {}
    unusable: list[str] = []  # checks that failed only because of the problem above
    for check in record.checks:
        if check.outcome == "failed" and check.tier == "ctk":
            if problem and problem in check.message and not check.name.startswith("Status code"):
                unusable.append(check.name)
                continue
            key = (check.name, check.message)
            counts[key] = counts.get(key, 0) + 1
    shared: dict[str, list[str]] = {}  # one message that several checks failed with is said once
    for (name, message), count in counts.items():
        shared.setdefault(message, []).append(name + (f" (x{count})" if count > 1 else ""))
    for message, names in shared.items():
        lines.append(f"  FAILED {'; '.join(names)}: {message}")
    if unusable:
        lines.append(f"  FAILED for that reason: {'; '.join(dict.fromkeys(unusable))}")
    return "\n".join(lines)


def spec_items(parent: CtkFile, declaration: SuiteDeclaration) -> Iterator[SpecItem]:
    """One spec-tier item per scenario per resource of the declaration's API, after the kit items."""
    api = tmfapis.api(declaration.api_id)
    position = 0
    suites = {suite.resource: suite for suite in declaration.resources}
    marks = (pytest.mark.spec, getattr(pytest.mark, api.id), pytest.mark.xdist_group(api.id))
    for resource in api.resources.values():
        for scenario in SCENARIOS:
            suite = suites.get(resource.name)
            if not scenario.applies(api, resource, suite):
                continue
            item = SpecItem.from_parent(parent, name=f"{SPEC_FOLDER} {scenario.name} /{resource.name}",
                                        scenario=scenario, resource=resource, suite=suite, position=position)
            for marker in marks:
                item.add_marker(marker)
            position += 1
            yield item


class SpecItem(pytest.Item):
    """One scenario on one resource; its deviations xfail the item, or fail it under ``--strict``."""

    def __init__(self, *, scenario: Scenario, resource: tmfapis.Resource, suite: ResourceSuite | None, position: int,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.resource = resource
        self.suite = suite  # the declaration being run, for the scenarios that read it
        self.position = position
        self.record: RequestRecord | None = None

    def perform(self) -> ScenarioDone:
        """Run the scenario and delete what it created; like ``CtkItem.perform``, it touches no pytest state."""
        parent = self.parent
        assert isinstance(parent, CtkFile)
        suite_run = parent.suite_run()
        context = run_context(self.config)
        api = tmfapis.api(suite_run.declaration.api_id)
        run = ScenarioRun(
            api=api, resource=self.resource, scenario=self.scenario, api_root=suite_run.api_root, suite=self.suite,
            session=suite_run.session, redactor=suite_run.redactor,
            payloads={**{s.resource: s.payloads for s in suite_run.declaration.resources},
                      **context.settings.payloads.get(api.id, {})},
            listener=context.callback_listener(suite_run.api_root) if self.scenario.name == "hub" else None,
        )
        skipped = error = None
        try:
            run.create_parent()
            self.scenario.run(run)
        except ScenarioSkipped as exc:
            skipped = str(exc)
        except Exception as exc:  # noqa: BLE001 - raised by the test once the record and what was left are published
            error = exc
        left = run.cleanup(context.keep)
        text = deviation_text(self.name, run.records)
        skipped = skipped or (None if text else run.unverified)  # a deviation outranks what was not verified
        record = run.scenario_record(skipped)
        if record is not None:
            record.skipped_reason = skipped
        return ScenarioDone(record, left, skipped, text, error)

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, CtkFile)
        suite_run = parent.suite_run()
        parent.last_item = self
        context = run_context(self.config)
        done = context.performed(self, self.perform)
        self.user_properties.append((CLEANUP_PROPERTY, {"api": suite_run.declaration.api_id, "left": done.left}))
        self.record = done.record
        if done.record is not None:
            publish(self, suite_run, RECORD_INDEX_BASE + self.position, done.record)
        if done.error is not None:
            raise done.error
        if done.skipped:
            pytest.skip(done.skipped)
        if done.deviations:
            if context.strict:
                raise SpecDeviation(done.deviations)
            pytest.xfail(done.deviations)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        # An xfail carries the deviations; pytest would also format (and parse the source of) its traceback.
        if isinstance(excinfo.value, RunFailure | pytest.xfail.Exception):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, self.name


@dataclass(frozen=True, slots=True)
class ScenarioDone:
    """What a scenario's run found: its record, what it left behind, why it was skipped, its deviations, an error."""

    record: RequestRecord | None
    left: list[str]
    skipped: str | None
    deviations: str
    error: Exception | None


def start_lanes(session: pytest.Session) -> None:
    """Once, before the first test of the suites: have their requests sent ahead, side by side where the order does
    not matter (``--ctk-concurrency`` above 1, outside xdist workers, whose tests pytest-xdist hands out one by one)."""
    context = run_context(session.config)
    if context.lanes is not None or context.concurrency == 1 or hasattr(session.config, "workerinput"):
        return
    lanes = Lanes(context.concurrency)
    context.lanes = lanes
    lanes.start(plan_lanes(session.items))


def plan_lanes(items: Sequence[pytest.Item]) -> list[list[list[Chain]]]:
    """One lane per API root (APIs at the same root, one after the other); per API, the kit's requests in order,
    then the spec scenarios, those of different resources side by side (a scenario judges its resource's
    collection), then the deletion of what the kit created."""
    files: dict[CtkFile, list[tuple[int, CtkItem | SpecItem]]] = {}
    for position, item in enumerate(items):
        if isinstance(item, CtkItem | SpecItem) and isinstance(item.parent, CtkFile):
            files.setdefault(item.parent, []).append((position, item))
    by_root: dict[str, list[list[Chain]]] = {}
    for suite_file, placed in files.items():
        kit = [(position, item) for position, item in placed if isinstance(item, CtkItem)]
        scenarios: dict[str, list[tuple[int, CtkItem | SpecItem]]] = {}
        for position, item in placed:
            if isinstance(item, SpecItem):
                scenarios.setdefault(item.resource.name, []).append((position, item))
        stages = [[_chain(kit)] if kit else [], [_chain(chain) for chain in scenarios.values()],
                  [Chain(placed[-1][0], (Step((suite_file, CLEANUP_PROPERTY), suite_file.delete_created, always=True),))]]
        by_root.setdefault(suite_file.suite_run().api_root, []).extend(stages)
    return list(by_root.values())


def _chain(placed: Sequence[tuple[int, CtkItem | SpecItem]]) -> Chain:
    return Chain(placed[0][0], tuple(Step(item, item.perform) for _, item in placed))


def stop_lanes(session: pytest.Session, interrupted: bool) -> None:
    """At the end of the test loop (also -x, Ctrl-C): drop what was not begun, cut the requests under way if the
    loop was interrupted, delete what was created; what the files pytest never reached left behind goes to the
    run record."""
    context = run_context(session.config)
    lanes = context.lanes
    if lanes is None:
        return
    lanes.drop()
    if interrupted:  # Ctrl-C does not wait for a server that does not answer
        cut_requests_under_way()
    lanes.stop()
    for suite_file in dict.fromkeys(item.parent for item in session.items if isinstance(item.parent, CtkFile)):
        key = (suite_file, CLEANUP_PROPERTY)
        if suite_file.last_item is None and key in lanes and (left := lanes.result(key)):
            context.left.setdefault(suite_file.declaration.api_id, []).extend(left)
