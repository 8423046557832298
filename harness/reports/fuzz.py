"""The fuzzing block of an API in the run record (``fuzz``), as built from the fuzz tests and as shown in reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.record import FuzzBlock
from harness.reports.markup import escape

__all__ = ["fuzz_blocks", "render_fuzz"]


def fuzz_blocks(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, FuzzBlock]:
    """Per API ``{targets, examples, failures: [{target, reproduction}]}`` from one outcome per fuzzed target."""
    blocks: dict[str, FuzzBlock] = {}
    for outcome in outcomes:
        block = blocks.setdefault(str(outcome["api"]), {"targets": [], "examples": 0, "failures": []})
        block["targets"].append(str(outcome["target"]))
        block["examples"] += int(outcome["examples"])
        if outcome.get("reproduction"):
            block["failures"].append({"target": str(outcome["target"]), "reproduction": str(outcome["reproduction"])})
    return blocks


def render_fuzz(block: FuzzBlock | None) -> str:
    """An API's fuzzing outcome as an HTML section (empty when the run did not fuzz it); every text escaped."""
    if block is None:
        return ""
    targets, failures = block["targets"], block["failures"]
    verdict = "fail" if failures else "pass"
    rows = "".join(
        f'<div class="fuzz-failure" data-target="{escape(failure["target"])}">'
        f'<h4>{escape(failure["target"])}</h4>'
        f'<pre class="body reproduction">{escape(failure["reproduction"])}</pre></div>'
        for failure in failures
    )
    summary = (
        f"{len(targets)} target{'' if len(targets) == 1 else 's'} ({escape(', '.join(targets))}), "
        f"{escape(block['examples'])} examples run, {len(failures)} failed"
    )
    label = "failed" if failures else "passed"
    return (
        f'<section class="fuzz" data-fuzz-targets="{len(targets)}" data-fuzz-examples="{escape(block["examples"])}"'
        f' data-fuzz-failures="{len(failures)}"><h3>Filter fuzzing <span class="verdict {verdict}">{label}</span></h3>'
        f"<p>{summary}</p>{rows}</section>"
    )
