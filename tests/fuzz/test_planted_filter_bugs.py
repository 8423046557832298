"""The filter fuzzer finds each planted filter bug of the reference server, and passes without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from harness.fuzz import FILTER_TARGETS, FilterMismatch, FilterTarget, filter_machine, target
from mockserver import query

Fault = Callable[[pytest.MonkeyPatch], None]
CI = settings.get_profile("ci")


def _leaf_texts(instance: dict[str, Any], rule: query.Filter) -> list[str]:
    return [value for value in query.leaves(instance, rule.path) if isinstance(value, str)]


def _matcher(accepts: Callable[[str, str], bool]) -> Callable[[dict[str, Any], tuple[query.Filter, ...]], bool]:
    def matches(instance: dict[str, Any], filters: tuple[query.Filter, ...]) -> bool:
        return all(any(accepts(held, asked) for held in _leaf_texts(instance, rule) for asked in rule.values)
                   for rule in filters)
    return matches


def _only(choose: Callable[[tuple[query.Filter, ...]], tuple[query.Filter, ...]]) -> Fault:
    original = query.matches

    def plant(monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(query, "matches", lambda instance, filters: original(instance, choose(filters)))
    return plant


def _any_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    original = query.matches
    monkeypatch.setattr(query, "matches",
                        lambda instance, filters: any(original(instance, (rule,)) for rule in filters))


FAULTS: dict[str, Fault] = {
    "case-insensitive match": lambda mp: mp.setattr(query, "matches", _matcher(lambda h, a: h.lower() == a.lower())),
    "prefix match": lambda mp: mp.setattr(query, "matches", _matcher(lambda held, asked: held.startswith(asked))),
    "second filter ignored": _only(lambda filters: filters[:1]),
    "OR applied where AND asked": _any_filter,
    "nested path ignored": _only(lambda filters: tuple(rule for rule in filters if len(rule.path) == 1)),
    "quotes not stripped": lambda mp: mp.setattr(query, "split_values", lambda text: tuple(text.split(","))),
}


def _run(item: FilterTarget, api_roots: dict[str, str], http: requests.Session, chosen: settings) -> None:
    run_state_machine_as_test(filter_machine(item, api_roots[item.api_id], http), settings=chosen)


@pytest.mark.parametrize("fault", FAULTS)
def test_fuzzer_finds_planted_bug(fault: str, monkeypatch: pytest.MonkeyPatch, api_roots: dict[str, str],
                                  http: requests.Session) -> None:
    monkeypatch.setattr(query.EqualityIndex, "candidates", lambda self, filters: None)  # the matcher decides
    FAULTS[fault](monkeypatch)
    with pytest.raises(FilterMismatch):
        _run(target("customer"), api_roots, http, CI)


@pytest.mark.parametrize("item", FILTER_TARGETS, ids=lambda item: item.resource)
def test_fuzzer_passes_against_reference_server(item: FilterTarget, api_roots: dict[str, str],
                                                http: requests.Session) -> None:
    _run(item, api_roots, http, CI)
