"""Large JSON seeds read by two processes: the second (``python -m mockserver.seed``) renders the second half
while this one renders the first, and hands its rows back pickled on its standard output.
"""

from __future__ import annotations

import importlib
import pickle
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import tmfapis
from mockserver.seed.items import Render, SeedRows, rendered
from mockserver.seed.stream import NotPlain, Split, streamed

__all__ = ["PARALLEL_BYTES", "render_rest", "rendered_in_two", "split_point", "start_child"]

PARALLEL_BYTES = 32 * 2**20  # a JSON seed this large (some 100,000 instances) is rendered by two processes
BETWEEN_OBJECTS = re.compile(r"\}[ \t\n\r]*,(?=[ \t\n\r]*\{)")
LIST_OPENS = re.compile(r"[ \t\n\r]*:[ \t\n\r]*\[")


def start_child(path: Path, render: Render) -> subprocess.Popen[bytes] | None:
    """The process rendering the second half of a seed of ``PARALLEL_BYTES`` or more, started before the file is
    read here; None for a smaller file, or when it cannot start."""
    if _size(path) < PARALLEL_BYTES:
        return None
    command = [sys.executable, "-m", "mockserver.seed", str(path), f"{render.__module__}:{render.__qualname__}"]
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE)
    except OSError:
        return None


def _size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # read_text words the error


def split_point(text: str) -> Split | None:
    """The guess: the first gap between two objects after the middle, in the list whose name comes last
    before it; None when the text shows neither."""
    gap = BETWEEN_OBJECTS.search(text, len(text) // 2)
    if gap is None:
        return None
    opened = [(text.rfind(f'"{name}"', 0, gap.start()), name) for name in _collections()]
    for at, name in sorted(opened, reverse=True):
        if at >= 0 and LIST_OPENS.match(text, at + len(name) + 2):
            return Split(gap.end(), _collections()[name], name)
    return None


@cache
def _collections() -> dict[str, str]:
    """API id by resource name, for the names only one API serves."""
    serving: dict[str, list[str]] = {}
    for api in tmfapis.apis():
        for name in api.resources:
            serving.setdefault(name, []).append(api.id)
    return {name: ids[0] for name, ids in serving.items() if len(ids) == 1}


def rendered_in_two(path: Path, text: str, render: Render, child: subprocess.Popen[bytes]) -> SeedRows:
    """The instances before the split rendered here, those after it meanwhile by ``child``.

    The child is a fresh interpreter (so nothing of the caller's program runs again in it). Where the
    guess does not hold, this process reads on alone; where the child fails or refuses (a fault it
    cannot number), the rest is rendered here, so that any error is worded as one process words it.
    """
    split = split_point(text)
    if split is None:
        return rendered(path, streamed(path, text), render)
    rows = rendered(path, streamed(path, text, stop=split), render)
    if not split.reached:
        return rows
    try:
        kind, offset, rest = pickle.load(child.stdout)  # type: ignore[arg-type]
    except (EOFError, pickle.UnpicklingError, ValueError):
        kind, offset, rest = "failed", None, None
    if kind != "rows" or offset != split.offset:
        rest = rendered(path, streamed(path, text, resume=split), render)
    for key, (ids, bodies) in rest.items():
        held_ids, held_bodies = rows.setdefault(key, ([], []))
        held_ids += ids
        held_bodies += bodies
    return rows


def render_rest(path: str, render_name: str) -> None:
    """The child of ``_rendered_in_two``: writes its outcome for the second half, pickled, to stdout."""
    module, _, name = render_name.partition(":")
    render = getattr(importlib.import_module(module), name)
    outcome: tuple[str, int | None, Any] = ("refused", None, None)
    seed = Path(path)
    try:
        text = seed.read_text(encoding="utf-8")
        split = split_point(text)
        if split is not None:
            outcome = ("rows", split.offset, rendered(seed, streamed(seed, text, resume=split), render))
    except (OSError, ValueError, NotPlain):  # SeedError is a ValueError: this process cannot number the fault
        pass
    pickle.dump(outcome, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)

