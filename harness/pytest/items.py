"""The pytest items: a suite declaration collected into one item per kit request, in the kit's order,
then one item per spec-tier scenario and resource."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tmfapis
from harness.ctk.declaration import ResourceSuite, SuiteDeclaration, load_declaration
from harness.ctk.engine import KitRequest, SuiteRun, plan
from harness.errors import CtkFailure, DeclarationError, RunFailure, ScenarioSkipped, SpecDeviation
from harness.pytest.context import run_context
from harness.pytest.suitefiles import declared_api
from harness.record import SPEC_FOLDER, RequestRecord
from harness.spec.scenarios import RECORD_INDEX_BASE, SCENARIOS, Scenario, ScenarioRun, deviation_text

__all__ = ["CLEANUP_PROPERTY", "RECORD_PROPERTY", "CtkFile", "CtkItem", "SpecItem"]

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
        configured = run_context(self.config).settings.payloads.get(api_id, {})
        for request in plan(self.declaration, configured):
            if request.step.routed:
                continue  # run, where the kit's asynchronous route reaches it, by the item whose answer took the route
            title = request.title
            seen[title] = seen.get(title, 0) + 1
            name = title if seen[title] == 1 else f"{title} [{seen[title]}]"
            item = CtkItem.from_parent(self, name=name, request=request)
            for marker in (pytest.mark.ctk, getattr(pytest.mark, api_id), getattr(pytest.mark, f"folder_{request.folder}"),
                           pytest.mark.xdist_group(api_id)):
                item.add_marker(marker)
            yield item
        yield from spec_items(self, self.declaration)

    def setup(self) -> None:
        context = run_context(self.config)
        self.run = SuiteRun(
            declaration=self.declaration,
            api_root=context.api_root(self.declaration.api_id),
            session=context.http_session(),
            redactor=context.redactor,
            payloads=context.settings.payloads.get(self.declaration.api_id, {}),
        )

    def teardown(self) -> None:
        if self.run is None or self.last_item is None:
            return
        context = run_context(self.config)
        left = self.run.cleanup(context.keep)
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

    def runtest(self) -> None:
        run = self.suite_file.run
        assert run is not None
        self.suite_file.last_item = self
        request = self.request
        reason = run.missing_prerequisite(request)
        if reason is not None:
            self._publish(run, run.skip(request, reason))
            pytest.skip(reason)
        record = run.run(request)
        self._publish(run, record)
        records = [record]
        for routed in run.routed_next():
            records.append(run.run(routed))
            publish(self, run, routed.index, records[-1])
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
    for (name, message), count in counts.items():
        times = f" (x{count})" if count > 1 else ""
        lines.append(f"  FAILED {name}{times}: {message}")
    if unusable:
        lines.append(f"  FAILED for that reason: {'; '.join(dict.fromkeys(unusable))}")
    return "\n".join(lines)


def spec_items(parent: CtkFile, declaration: SuiteDeclaration) -> Iterator[SpecItem]:
    """One spec-tier item per scenario per resource of the declaration's API, after the kit items."""
    api = tmfapis.api(declaration.api_id)
    position = 0
    suites = {suite.resource: suite for suite in declaration.resources}
    for resource in api.resources.values():
        for scenario in SCENARIOS:
            suite = suites.get(resource.name)
            if not scenario.applies(api, resource, suite):
                continue
            item = SpecItem.from_parent(parent, name=f"{SPEC_FOLDER} {scenario.name} /{resource.name}",
                                        scenario=scenario, resource=resource, suite=suite, position=position)
            for marker in (pytest.mark.spec, getattr(pytest.mark, api.id), pytest.mark.xdist_group(api.id)):
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

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, CtkFile) and parent.run is not None
        suite_run = parent.run
        parent.last_item = self
        context = run_context(self.config)
        api = tmfapis.api(suite_run.declaration.api_id)
        run = ScenarioRun(
            api=api, resource=self.resource, scenario=self.scenario, api_root=suite_run.api_root, suite=self.suite,
            session=suite_run.session, redactor=suite_run.redactor,
            payloads={**{s.resource: s.payloads for s in suite_run.declaration.resources},
                      **context.settings.payloads.get(api.id, {})},
            listener=context.callback_listener(suite_run.api_root) if self.scenario.name == "hub" else None,
        )
        skipped = None
        try:
            self.scenario.run(run)
        except ScenarioSkipped as exc:
            skipped = str(exc)
        finally:
            left = run.cleanup(context.keep)
            self.user_properties.append((CLEANUP_PROPERTY, {"api": api.id, "left": left}))
            text = deviation_text(self.name, run.records)
            skipped = skipped or (None if text else run.unverified)  # a deviation outranks what was not verified
            self._publish(run, suite_run, skipped)
        if skipped:
            pytest.skip(skipped)
        if text:
            if context.strict:
                raise SpecDeviation(text)
            pytest.xfail(text)

    def _publish(self, run: ScenarioRun, suite_run: SuiteRun, skipped: str | None) -> None:
        record = run.scenario_record()
        self.record = record
        if record is None:
            return
        record.skipped_reason = skipped
        publish(self, suite_run, RECORD_INDEX_BASE + self.position, record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        # An xfail carries the deviations; pytest would also format (and parse the source of) its traceback.
        if isinstance(excinfo.value, RunFailure | pytest.xfail.Exception):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, self.name
