"""Planted filter bugs for the reference server: monkeypatches of ``mockserver.query``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from mockserver import query

Matcher = Callable[[dict[str, Any], tuple[query.Filter, ...]], bool]
ORIGINAL_MATCHES = query.matches


def _text_matcher(accepts: Callable[[str, str], bool]) -> Matcher:
    def matches(instance: dict[str, Any], filters: tuple[query.Filter, ...]) -> bool:
        return all(any(isinstance(held, str) and accepts(held, asked)
                       for held in query.leaves(instance, rule.path) for asked in rule.values)
                   for rule in filters)
    return matches


def _some_filters(choose: Callable[[tuple[query.Filter, ...]], tuple[query.Filter, ...]]) -> Matcher:
    return lambda instance, filters: ORIGINAL_MATCHES(instance, choose(filters))


def _any_filter(instance: dict[str, Any], filters: tuple[query.Filter, ...]) -> bool:
    return any(ORIGINAL_MATCHES(instance, (rule,)) for rule in filters)


MATCHER_FAULTS: dict[str, Matcher] = {
    "case-insensitive match": _text_matcher(lambda held, asked: held.casefold() == asked.casefold()),
    "prefix match": _text_matcher(lambda held, asked: held.startswith(asked)),
    "second filter ignored": _some_filters(lambda filters: filters[:1]),
    "OR applied where AND asked": _any_filter,
    "nested path ignored": _some_filters(lambda filters: tuple(rule for rule in filters if len(rule.path) == 1)),
}
FAULTS = (*MATCHER_FAULTS, "quotes not stripped", "fields not applied", "fields drop the id")
ORIGINAL_SELECT = query.select_fields


def plant(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    """Make the running reference server filter with one of FAULTS until the monkeypatch is undone."""
    monkeypatch.setattr(query.EqualityIndex, "candidates", lambda self, filters: None)  # the matcher decides
    if fault == "quotes not stripped":
        monkeypatch.setattr(query, "split_values", lambda text: tuple(text.split(",")))
    elif fault == "fields not applied":
        monkeypatch.setattr(query, "select_fields", lambda instance, fields: instance)
    elif fault == "fields drop the id":
        monkeypatch.setattr(query, "select_fields", lambda instance, fields: {
            name: value for name, value in ORIGINAL_SELECT(instance, fields).items() if fields is None or name != "id"})
    else:
        monkeypatch.setattr(query, "matches", MATCHER_FAULTS[fault])


def page_by_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the running reference server answer lists two items at a time (206 and X-Total-Count)."""
    original = query.parse_list_query

    def paged(params: Any) -> query.ListQuery:
        asked = original(params)
        return asked if asked.limit is not None else dataclasses.replace(asked, limit=2)
    monkeypatch.setattr(query, "parse_list_query", paged)
