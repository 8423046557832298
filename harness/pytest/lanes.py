"""Work done ahead of pytest on worker threads, side by side where its order does not matter.

A lane is a list of stages done one after the other; a stage is a list of chains done side by side; a chain is
a list of steps done in order. Each step's result (or exception) is kept under its key until ``result`` asks
for it. A free worker takes the chain that comes first in pytest's order, so that what pytest reports next is
ready first, and one worker does everything in pytest's order. ``stop`` drops the steps not begun, except
those marked ``always`` (deleting what was created), and waits for the workers.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Chain", "Lanes", "Step"]


@dataclass(frozen=True, slots=True)
class Step:
    """One piece of work and the key its result is kept under."""

    key: Hashable
    work: Callable[[], Any]
    always: bool = False  # done even after ``stop``: the deletion of what the run created


@dataclass(frozen=True, slots=True)
class Chain:
    """Steps done in order, one after the other; ``position`` is where the first stands in pytest's order."""

    position: int
    steps: tuple[Step, ...]


@dataclass(eq=False)
class _Lane:
    stages: list[Sequence[Chain]]
    running: int = 0  # chains of the current stage not yet done


@dataclass(eq=False)
class Lanes:
    """Worker threads doing lanes of work ahead of the one thread that asks for the results in order."""

    workers: int
    _results: dict[Hashable, Future[Any]] = field(default_factory=dict)
    _ready: queue.PriorityQueue[tuple[float, int, Chain | None, _Lane | None]] = field(default_factory=queue.PriorityQueue)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _open: int = 0  # lanes not finished
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, lanes: Sequence[Sequence[Sequence[Chain]]]) -> None:
        """Begin every lane's first stage; the workers go on from there."""
        for stages in lanes:
            for chain in (chain for stage in stages for chain in stage):
                for step in chain.steps:
                    self._results[step.key] = Future()
        for stages in lanes:
            self._open += 1
            self._next_stage(_Lane(list(stages)))
        for number in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"ctk-lane-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._results

    def result(self, key: Hashable) -> Any:
        """The result of the step under ``key`` once it is done (its exception raised here)."""
        return self._results[key].result()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def drop(self) -> None:
        """From now on, drop the steps not begun, but the ``always`` ones."""
        self._stopping.set()

    def stop(self) -> None:
        """Drop what has not begun (but the ``always`` steps), wait for what runs, end the workers."""
        self.drop()
        with self._changed:
            self._changed.wait_for(lambda: self._open == 0)
        for _ in self._threads:
            self._ready.put((float("inf"), next(self._order), None, None))
        for thread in self._threads:
            thread.join()

    def _next_stage(self, lane: _Lane) -> None:
        """Queue the lane's next stage that has chains; close the lane when none is left."""
        while lane.stages:
            stage = lane.stages.pop(0)
            if stage:
                lane.running = len(stage)
                for chain in stage:
                    self._ready.put((chain.position, next(self._order), chain, lane))
                return
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    def _work(self) -> None:
        while True:
            _, _, chain, lane = self._ready.get()
            if chain is None or lane is None:
                return
            for step in chain.steps:
                self._do(step)
            with self._changed:
                lane.running -= 1
                stage_done = lane.running == 0
            if stage_done:  # queued before this worker takes another chain: one worker keeps pytest's order
                self._next_stage(lane)

    def _do(self, step: Step) -> None:
        future = self._results[step.key]
        if self._stopping.is_set() and not step.always:
            future.cancel()
            return
        future.set_running_or_notify_cancel()
        try:
            future.set_result(step.work())
        except BaseException as exc:  # noqa: BLE001 - raised in the test that asks; a worker never dies of one step
            future.set_exception(exc)
