"""Property tests: ``mockserver.query`` against a plain model of the TMF630 rules over small alphabets.

Values come from small pools so that they collide: texts with spaces, unicode, quotes, ``&``, ``=``,
``+``, ``%`` and commas, numbers written several ways, and date-times whose instants the model
knows from a hand-written table.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import query

NAMES = ("a", "b", "c")
# Each date-time text with its instant in seconds since 2021-06-03T00:00:00Z, worked out by hand.
INSTANTS = {
    "2021-06-03": 0.0,
    "2021-06-03T00:00:00Z": 0.0,
    "2021-06-03T02:00:00+02:00": 0.0,
    "2021-06-03T16:23:29.481Z": 59009.481,
    "2021-06-03T18:23:29.481+02:00": 59009.481,
    "2021-06-03T16:23:29.481": 59009.481,
    "2021-06-03T16:23:30Z": 59010.0,
    "2021-06-02T23:59:59Z": -1.0,
    "2021-06-04": 86400.0,
}
TEXTS = ("", "x", "X", "x ", " x", "é", "x,y", "'x'", "'x,y'", "a&b=c", "1+1", "50%", "'", ",", "true")
NUMBER_TEXTS = ("1", "1.0", "1e0", "01", "-0", "0", "2", "10", "9", "1.5", "-2")
SCALARS = st.one_of(
    st.sampled_from(TEXTS + NUMBER_TEXTS + tuple(INSTANTS)),
    st.sampled_from((0, 1, 2, 10, -2, 0.0, 1.0, 1.5, True, False, None)),
)
QUERY_TEXTS = st.sampled_from(TEXTS + NUMBER_TEXTS + tuple(INSTANTS) + ("false", "True", "null"))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
    max_leaves=8,
)
INSTANCES = st.dictionaries(st.sampled_from(NAMES), JSON, max_size=3)
RECORDS = st.dictionaries(st.sampled_from((*NAMES, "id", "href", "@type", "note")), JSON, max_size=5)
PATHS = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(tuple)
FILTERS = st.builds(
    query.Filter,
    PATHS,
    st.sampled_from(query.OPERATORS),
    st.lists(QUERY_TEXTS, min_size=1, max_size=3).map(tuple),
)
EQUALITY_FILTERS = st.builds(
    query.Filter, PATHS, st.just("eq"), st.lists(QUERY_TEXTS, min_size=1, max_size=3).map(tuple)
)


# ---- the model --------------------------------------------------------------------------------------


def pairs(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, leaf) of a JSON value in document order; arrays add nothing to the path."""
    if isinstance(value, list):
        for item in value:
            yield from pairs(item, prefix)
    elif isinstance(value, dict):
        if prefix:
            yield prefix, value
        for name, item in value.items():
            yield from pairs(item, (*prefix, name))
    else:
        yield prefix, value


def values_at(instance: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    """The leaves found at a path."""
    return [value for at, value in pairs(instance) if at == path]


def number_of(text: str) -> float | int | None:
    """The number a text is written as, when it is exactly a finite JSON number."""
    if text != text.strip() or text in ("NaN", "Infinity", "-Infinity"):
        return None
    try:
        number = json.loads(text)
    except ValueError:
        return None
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        return None
    return number


def model_equal(value: Any, text: str) -> bool:
    """TMF630 equality of one JSON leaf with one query text."""
    if value is True or value is False:
        return text == ("true" if value else "false")
    if isinstance(value, str):
        return value == text
    if isinstance(value, int | float):
        return number_of(text) == value
    return False


def model_order(value: Any, text: str, op: str) -> bool:
    """TMF630 ordering of one JSON leaf against one query text."""
    if value is None or value is True or value is False or isinstance(value, dict):
        return False
    left: Any
    right: Any
    if isinstance(value, int | float):
        if number_of(text) is None:
            return False
        left, right = value, number_of(text)
    elif value in INSTANTS and text in INSTANTS:
        left, right = INSTANTS[value], INSTANTS[text]
    elif number_of(value) is not None and number_of(text) is not None:
        left, right = number_of(value), number_of(text)
    else:
        left, right = value, text
    outcomes: dict[str, bool] = {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }
    return outcomes[op]


def model_matches(instance: dict[str, Any], filters: tuple[query.Filter, ...]) -> bool:
    """Every filter holds for some leaf and listed value (``ne``: no leaf equals any value)."""
    for rule in filters:
        found = values_at(instance, rule.path)
        if rule.op == "eq":
            ok = any(model_equal(value, text) for value in found for text in rule.values)
        elif rule.op == "ne":
            ok = not any(model_equal(value, text) for value in found for text in rule.values)
        else:
            ok = any(model_order(value, text, rule.op) for value in found for text in rule.values)
        if not ok:
            return False
    return True


MISSING = object()


def model_select(value: Any, paths: list[tuple[str, ...]]) -> Any:
    """The parts of a value the paths reach; MISSING when they reach nothing."""
    if () in paths:
        return value
    if isinstance(value, dict):
        kept = {}
        for name, item in value.items():
            below = [path[1:] for path in paths if path[0] == name]
            if below and (selected := model_select(item, below)) is not MISSING:
                kept[name] = selected
        return kept or MISSING
    if isinstance(value, list):
        return [s for item in value if (s := model_select(item, paths)) is not MISSING] or MISSING
    return MISSING


def model_sort_key(instance: dict[str, Any], path: tuple[str, ...]) -> tuple[int, Any] | None:
    """Rank and value of the first orderable leaf: numbers, date-times, texts, booleans."""
    for value in values_at(instance, path):
        if value is True or value is False:
            return (3, value)
        if isinstance(value, int | float):
            return (0, value)
        if isinstance(value, str):
            return (1, INSTANTS[value]) if value in INSTANTS else (2, value)
    return None


def model_sort(instances: list[dict[str, Any]], sort: tuple[tuple[str, bool], ...]) -> list[dict[str, Any]]:
    """A stable sort with a comparator that puts missing values last whatever the direction."""

    def compare(one: dict[str, Any], other: dict[str, Any]) -> int:
        for name, descending in sort:
            path = tuple(name.split("."))
            mine, theirs = model_sort_key(one, path), model_sort_key(other, path)
            if mine is None and theirs is None:
                continue
            if mine is None or theirs is None:
                return 1 if mine is None else -1
            if mine != theirs:
                return (1 if mine > theirs else -1) * (-1 if descending else 1)
        return 0

    return sorted(instances, key=functools.cmp_to_key(compare))


# ---- the properties ---------------------------------------------------------------------------------


@settings(max_examples=200)
@given(INSTANCES, st.lists(FILTERS, max_size=3).map(tuple))
def test_matches_agrees_with_the_model(instance: dict[str, Any], filters: tuple[query.Filter, ...]) -> None:
    assert query.matches(instance, filters) == model_matches(instance, filters)


@given(st.lists(QUERY_TEXTS, min_size=1, max_size=4))
def test_quoted_or_lists_round_trip(texts: list[str]) -> None:
    # Quoting every element makes any text literal, unless it holds the quote-comma closing sequence.
    if any("'," in text for text in texts):
        return
    written = ",".join(f"'{text}'" for text in texts)
    assert query.split_values(written) == tuple(texts)


@given(RECORDS, st.lists(PATHS.map(".".join), max_size=3).map(tuple))
def test_select_fields_agrees_with_the_model(instance: dict[str, Any], fields: tuple[str, ...]) -> None:
    paths = [("id",), ("href",)] + [tuple(name.split(".")) for name in fields]
    expected = model_select(instance, paths)
    assert query.select_fields(instance, fields) == ({} if expected is MISSING else expected)


@given(
    st.lists(INSTANCES, max_size=8).map(
        lambda items: [{**item, "id": str(n)} for n, item in enumerate(items)]
    ),
    st.lists(st.tuples(PATHS.map(".".join), st.booleans()), min_size=1, max_size=2).map(tuple),
)
def test_sort_agrees_with_the_model(
    instances: list[dict[str, Any]], sort: tuple[tuple[str, bool], ...]
) -> None:
    assert [item["id"] for item in query.sort_instances(instances, sort)] == [
        item["id"] for item in model_sort(instances, sort)
    ]


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from("pqrst"), INSTANCES),
        st.tuples(st.just("delete"), st.sampled_from("pqrst")),
        st.tuples(st.just("ask"), st.lists(st.one_of(EQUALITY_FILTERS, FILTERS), max_size=3).map(tuple)),
        st.tuples(st.just("build"), PATHS, st.integers(1, 3)),  # part of an index, as a slow request does
    ),
    max_size=20,
)


@settings(max_examples=150)
@given(STEPS)
def test_index_agrees_with_matches(steps: list[tuple[Any, ...]]) -> None:
    stored: dict[int, dict[str, Any]] = {}
    index = query.EqualityIndex(stored.get)
    for step in steps:
        if step[0] == "put":
            _, name, instance = step
            slot = "pqrst".index(name)
            if slot in stored:
                index.remove(slot, stored[slot])
            stored[slot] = instance
            index.add(slot, instance)
        elif step[0] == "delete":
            if "pqrst".index(step[1]) in stored:
                slot = "pqrst".index(step[1])
                index.remove(slot, stored.pop(slot))
        elif step[0] == "build":
            index.build_step(step[1], step[2])
        else:
            filters = step[1]
            matching = {i for i, instance in stored.items() if model_matches(instance, filters)}
            narrowed = index.candidates(filters)
            candidates = None if narrowed is None else list(narrowed.slots())
            if candidates is not None:
                assert candidates == sorted(set(candidates)), "ascending, each once"
            if not any(rule.op == "eq" for rule in filters):
                assert candidates is None
            elif all(rule.op == "eq" for rule in filters):
                assert set(candidates or ()) == matching, "equality alone is answered exactly"
            else:
                assert candidates is not None and set(candidates) >= matching


HOSTILE = st.text(alphabet="ab.,'\"<>=-+09 é&%:TZ\x00", max_size=10)


@given(st.dictionaries(HOSTILE, st.lists(HOSTILE, min_size=1, max_size=2), max_size=4), RECORDS)
def test_any_parameters_parse_or_raise_a_query_error_naming_one(
    params: dict[str, list[str]], instance: dict[str, Any]
) -> None:
    try:
        parsed = query.parse_list_query(params)
    except query.QueryError as error:
        assert any(str(error).startswith(name) for name in params if name) or str(error).startswith(
            "a filter"
        )
        return
    index = query.EqualityIndex({1: instance}.get)
    index.add(1, instance)
    narrowed = index.candidates(parsed.filters)
    if query.matches(instance, parsed.filters):
        assert narrowed is None or 1 in narrowed.slots()
    query.select_fields(instance, parsed.fields)
    query.sort_instances([instance, {"id": "2"}], parsed.sort)


@given(HOSTILE)
def test_any_listener_query_parses_or_raises_a_query_error(text: str) -> None:
    try:
        filters = query.parse_filters(text)
    except query.QueryError:
        return
    query.matches({"eventType": "X", "event": {"a": [1, "b"]}}, filters)
