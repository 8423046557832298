"""Collection of suite declarations: one pytest item per kit request, in the kit's order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.engine import KitRequest, SuiteRun, plan
from harness.record import RequestRecord
from harness.spec import deviation_text, spec_items, strict_mode
from harness.suite import DeclarationError, SuiteDeclaration, load_declaration

__all__ = ["CLEANUP_PROPERTY", "RECORD_PROPERTY", "CtkFailure", "CtkFile", "CtkItem"]

RECORD_PROPERTY = "ctk_record"
CLEANUP_PROPERTY = "ctk_cleanup"


class CtkFailure(Exception):
    """A kit request with failed CTK-tier checks."""


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
        seen: dict[str, int] = {}
        api_id = self.declaration.api_id
        for request in plan(self.declaration):
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
        from harness.plugin import run_context

        context = run_context(self.config)
        self.run = SuiteRun(
            declaration=self.declaration,
            api_root=context.api_root(self.declaration.api_id),
            session=context.http_session(),
            redactor=context.redactor,
            payloads=context.settings.payloads.get(self.declaration.api_id, {}),
        )

    def teardown(self) -> None:
        from harness.plugin import run_context

        if self.run is None or self.last_item is None:
            return
        context = run_context(self.config)
        left = [f"{c.url}: kept (--keep)" for c in self.run.created if not c.deleted] if context.keep else self.run.cleanup()
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
        if record.ctk_failed:
            raise CtkFailure(failure_text(record))
        if record.failed and strict_mode(self.config):
            raise CtkFailure(deviation_text(self.request.title, [record]))

    def _publish(self, run: SuiteRun, record: RequestRecord) -> None:
        self.record = record
        publish(self, run, self.request.index, record)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CtkFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.request.title}"


def publish(item: pytest.Item, run: SuiteRun, index: int, record: RequestRecord) -> None:
    """Send a record to the controller (through xdist too) and to the reporters, from inside the test."""
    suite = {"collection": run.declaration.collection, "root": run.api_root, "planned": len(run.requests)}
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
