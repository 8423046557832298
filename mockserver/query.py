"""TMF630 list queries: parsing, filtering, field selection, sorting and an equality index.

The rules, as the reference server applies them:

- Reserved parameters are ``fields``, ``offset``, ``limit`` and ``sort``. Every other parameter is a
  filter ``attr=value`` on any attribute. A dotted name follows nested objects and arrays:
  ``relatedParty.id=42`` matches when any element of the ``relatedParty`` array has ``id`` 42, and
  arrays are crossed at any depth (a path ending on an array matches any of its elements).
- A comma-separated value means OR (``state=a,b``); an empty value or element stands for the empty
  string (``name=`` finds instances whose name is ""). Several parameters, or the same one repeated,
  mean AND (``state=a&name=b``, ``state.ne=a&state.ne=b``).
- An element of the value wrapped in single (or double) quotes is taken literally, commas included, and matches
  the unquoted text: ``orderDate='2021-06-03T16:23:29.481Z'`` equals
  ``orderDate=2021-06-03T16:23:29.481Z``, and ``name='a,b',c`` means "a,b" or "c". A quoted element
  ends at the first quote followed by a comma or by the end; an element that opens a quote without
  closing it this way is plain text (``name='s-Hertogenbosch`` looks for that text, quote included).
- Equality (``attr=v`` or ``attr.eq=v``) compares the query text with the JSON value: strings
  exactly (case-sensitive, no prefix match, no trimming), booleans as ``true``/``false``, numbers by
  numeric value when the query text is written as a JSON number (``1`` matches 1 and 1.0, ``1e2``
  matches 100). A missing attribute, null, an object or an array never equals anything.
- ``attr.ne=v`` is the exact negation of ``attr=v``: it matches when no value at the path equals
  any listed value, so it also matches an absent attribute or null.
- Ordering operators ``attr.gt``, ``.gte``, ``.lt``, ``.lte`` (and the TMF630 forms ``attr>v``,
  ``attr>=v``, ``attr<v``, ``attr<=v``) compare as date-times when both sides read as ISO 8601
  date-times (``YYYY-MM-DD`` with an optional time; no offset means UTC), else as numbers when both
  read as JSON numbers (a JSON number, or a string written as one), else as strings by code point
  when the attribute is a string. Booleans, null, objects and a number against a non-numeric
  value never match. With several values or array elements, any one satisfying the operator
  matches. The last dotted segment is an operator when it is one of ``eq ne gt gte lt lte``.
- ``fields=a,b`` keeps only ``id``, ``href``, ``@type`` and the asked attributes; ``fields=a.b``
  keeps the nested sub-attribute (inside arrays, the object elements that have it); an unknown
  field is simply absent. ``fields`` given twice asks for both lists. An empty ``fields`` or an
  empty field name is a 400.
- ``offset`` (default 0) and ``limit`` (default: everything) are non-negative decimal integers,
  given at most once, else a 400 naming the parameter. ``limit=0`` answers an empty page, which
  still reports the total count.
- ``sort=attr,-attr`` sorts by each attribute in turn, ``-`` meaning descending (``+`` or nothing
  ascending); the sort is stable and instances without a value (absent, null or an object) come
  last in both directions. Values order as numbers, then date-times, then other strings, then
  booleans; a path crossing arrays sorts by its first such value. ``sort`` given twice sorts by
  both lists in order; an empty sort name is a 400.
- One request takes at most ``MAX_FILTERS`` (64) filter parameters, ``MAX_VALUES`` (1000) values in
  one filter, ``MAX_SORT_KEYS`` (16) sort attributes and ``MAX_FIELDS`` (256) field names; beyond,
  the answer is a 400 naming the limit.
- A hub listener's ``query`` (``eventType=CustomerCreateEvent&event.customer.status=Approved``) uses
  the same filter syntax against the event body; it may start with ``?``, its parts are
  percent-decoded (``+`` stays a plus), spaces around ``=`` and ``&`` are ignored, and reserved
  parameters are not allowed there.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeAlias
from urllib.parse import unquote

import tmfapis

__all__ = [
    "EqualityIndex",
    "Filter",
    "ListQuery",
    "Narrowed",
    "QueryError",
    "matches",
    "parse_filters",
    "parse_list_query",
    "select_fields",
    "sort_instances",
    "sort_key",
]

RESERVED = ("fields", "offset", "limit", "sort")
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte")
MAX_INDEXED_PATHS = 16
# Bounds on one list request, so that none keeps the server from others for long (a 400 names them).
MAX_FILTERS = 64  # filter parameters, repetitions included
MAX_VALUES = 1000  # comma-separated values in one filter
MAX_SORT_KEYS = 16
MAX_FIELDS = 256
MAX_INTEGER_DIGITS = 18

JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
ISO_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
DECIMAL_INTEGER = re.compile(r"[0-9]+")
# TMF630 comparison forms as they reach us after query-string splitting: "a>=5" arrives as key "a>".
SYMBOL_OPERATORS = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}


class QueryError(ValueError):
    """A list query the server cannot answer; the message names the offending parameter."""


@dataclass(frozen=True, slots=True)
class Operand:
    """One query value with the readings the comparisons need, parsed once."""

    text: str
    number: int | float | None
    moment: datetime | None


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter: the attribute path, the operator and the values it accepts (OR)."""

    path: tuple[str, ...]
    op: str
    values: tuple[str, ...]
    keys: frozenset[Hashable] = field(init=False, repr=False, compare=False)  # what eq and ne look for
    operands: tuple[Operand, ...] = field(init=False, repr=False, compare=False)  # what orderings compare

    def __post_init__(self) -> None:
        equality = self.op in ("eq", "ne")
        keys = frozenset(key for value in self.values for key in query_keys(value)) if equality else frozenset()
        operands = () if equality else tuple(Operand(value, as_number(value), as_moment(value)) for value in self.values)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "operands", operands)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A parsed list request: filters (AND), selected fields, sort keys and the page asked for."""

    filters: tuple[Filter, ...] = ()
    fields: tuple[str, ...] | None = None
    sort: tuple[tuple[str, bool], ...] = ()
    offset: int = 0
    limit: int | None = None


# ---- reading values -------------------------------------------------------------------------------


def as_number(text: str) -> int | float | None:
    """The number a text written as a JSON number stands for, else None."""
    found = JSON_NUMBER.fullmatch(text)
    if found is None:
        return None
    try:
        if found.group(1) is None and found.group(2) is None:
            return int(text)
        number = float(text)
    except ValueError:  # more digits than Python converts
        return None
    return number if math.isfinite(number) else None


def as_moment(text: str) -> datetime | None:
    """The aware date-time an ISO 8601 text stands for (no offset means UTC), else None."""
    if ISO_DATE_TIME.fullmatch(text) is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def value_key(value: Any) -> Hashable | None:
    """The equality key of a JSON leaf value, or None when it can never equal a query value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return None


def query_keys(text: str) -> tuple[Hashable, ...]:
    """Every equality key a query value matches: itself, its number, its boolean."""
    keys: list[Hashable] = [text]
    number = as_number(text)
    if number is not None:
        keys.append(number)
    if text in ("true", "false"):
        keys.append(("bool", text == "true"))
    return tuple(keys)


def leaves(instance: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at a dotted path, crossing arrays at any depth; empty when absent."""
    current: list[Any] = []
    _append_flat(current, instance)
    for name in path:
        following: list[Any] = []
        for item in current:
            if isinstance(item, dict) and name in item:
                value = item[name]
                if isinstance(value, list):
                    _append_flat(following, value)
                else:
                    following.append(value)
        current = following
    return current


def _append_flat(out: list[Any], value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _append_flat(out, item)
    else:
        out.append(value)


# ---- parsing --------------------------------------------------------------------------------------


QUOTES = ("'", '"')  # the official kits quote filter values both ways


def _closing_quote(text: str, start: int) -> int:
    """Where the quoted element opening at ``start`` closes: the same quote before a comma or the end."""
    end = start + 1
    while (end := text.find(text[start], end)) >= 0:
        if end + 1 == len(text) or text[end + 1] == ",":
            return end
        end += 1
    return -1


def split_values(text: str) -> tuple[str, ...]:
    """A filter value split at commas into its OR list, honouring quoted elements."""
    if "," not in text and not text.startswith(QUOTES):
        return (text,)
    values: list[str] = []
    start = 0
    while True:
        closing = _closing_quote(text, start) if text.startswith(QUOTES, start) else -1
        if closing >= 0:
            values.append(text[start + 1 : closing])
            start = closing + 1
        else:
            comma = text.find(",", start)
            end = len(text) if comma < 0 else comma
            values.append(text[start:end])
            start = end
        if start == len(text):
            return tuple(values)
        start += 1  # past the comma
        if start == len(text):
            values.append("")
            return tuple(values)


def _path(name: str, parameter: str) -> tuple[str, ...]:
    path = tuple(name.split("."))
    if not name or "" in path:
        raise QueryError(f"{parameter or 'a filter'}: the attribute name is empty or has an empty segment")
    return path


def parse_filter(name: str, value: str) -> Filter:
    """One filter from a parameter name (``attr``, ``attr.gte``, TMF630 ``attr>``) and its value."""
    if "<" in name or ">" in name:
        symbol_at = min(i for i in (name.find("<"), name.find(">")) if i >= 0)
        attribute, rest = name[:symbol_at], name[symbol_at:]
        if rest in ("<", ">"):  # "a<=v" arrives as name "a<" and value "v"
            op = SYMBOL_OPERATORS[rest + "="]
        elif value == "":  # "a<v" arrives as name "a<v" with no value
            op, value = SYMBOL_OPERATORS[rest[0]], rest[1:]
        else:
            raise QueryError(f"{name}: '<' or '>' must be followed by the value to compare with")
        return Filter(_path(attribute, name), op, split_values(value))
    path = _path(name, name)
    if len(path) > 1 and path[-1] in OPERATORS:
        return Filter(path[:-1], path[-1], split_values(value))
    return Filter(path, "eq", split_values(value))


def _decimal(params: Mapping[str, list[str]], name: str) -> int | None:
    given = params.get(name)
    if not given:
        return None
    if len(given) > 1:
        raise QueryError(f"{name} must be given at most once")
    text = given[0]
    if DECIMAL_INTEGER.fullmatch(text) is None or len(text) > MAX_INTEGER_DIGITS:
        raise QueryError(f"{name} must be a non-negative integer of at most {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _names(params: Mapping[str, list[str]], parameter: str) -> list[str]:
    names: list[str] = []
    for text in params.get(parameter, ()):
        for name in text.split(","):
            if not name or "" in name.split("."):
                raise QueryError(f"{parameter}: an attribute name is empty")
            names.append(name)
    return names


def parse_list_query(params: Mapping[str, list[str]]) -> ListQuery:
    """The list query a request's parameters (each name with all its values) ask for."""
    given = sum(len(values) for name, values in params.items() if name not in RESERVED)
    if given > MAX_FILTERS:
        raise QueryError(f"a filter: at most {MAX_FILTERS} filters may be given in one request, not {given}")
    filters = tuple(
        parse_filter(name, value)
        for name, values in params.items()
        if name not in RESERVED
        for value in values
    )
    for rule in filters:
        if len(rule.values) > MAX_VALUES:
            name = ".".join(rule.path)
            raise QueryError(f"{name}: at most {MAX_VALUES} comma-separated values are allowed in one filter")
    fields = tuple(_names(params, "fields")) if "fields" in params else None
    if fields is not None and len(fields) > MAX_FIELDS:
        raise QueryError(f"fields: at most {MAX_FIELDS} attribute names are allowed, not {len(fields)}")
    sort = tuple(
        (name[1:], True) if name.startswith("-") else (name.removeprefix("+"), False)
        for name in _names(params, "sort")
    )
    if any(not path or "" in path.split(".") for path, _ in sort):
        raise QueryError("sort: an attribute name is empty")
    if len(sort) > MAX_SORT_KEYS:
        raise QueryError(f"sort: at most {MAX_SORT_KEYS} sort attributes are allowed, not {len(sort)}")
    return ListQuery(filters, fields, sort, _decimal(params, "offset") or 0, _decimal(params, "limit"))


@lru_cache(maxsize=256)
def parse_filters(text: str) -> tuple[Filter, ...]:
    """The filters of a hub listener's ``query`` text, such as ``eventType=CustomerCreateEvent``."""
    filters: list[Filter] = []
    for part in text.strip().removeprefix("?").split("&"):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        name, value = unquote(name.strip()), unquote(value.strip())
        if name in RESERVED:
            raise QueryError(f"{name}: only filters are allowed in a listener query")
        filters.append(parse_filter(name, value))
    return tuple(filters)


# ---- filtering ------------------------------------------------------------------------------------


def _ordered(value: Any, operand: Operand, op: str) -> bool:
    """Whether ``value op operand`` holds under the comparison rules of the module docstring."""
    left: Any
    right: Any
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        if operand.number is None or (isinstance(value, float) and math.isnan(value)):
            return False
        left, right = value, operand.number
    elif isinstance(value, str):
        moment = as_moment(value) if operand.moment is not None else None
        number = as_number(value) if moment is None and operand.number is not None else None
        if moment is not None:
            left, right = moment, operand.moment
        elif number is not None:
            left, right = number, operand.number
        else:
            left, right = value, operand.text
    else:
        return False
    if op == "gt":
        return bool(left > right)
    if op == "gte":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _matches_one(instance: dict[str, Any], rule: Filter) -> bool:
    if rule.op in ("eq", "ne"):
        keys = rule.keys
        found = False
        for value in leaves(instance, rule.path):
            if (value if isinstance(value, str) else value_key(value)) in keys:
                found = True
                break
        return found if rule.op == "eq" else not found
    return any(
        _ordered(value, operand, rule.op)
        for value in leaves(instance, rule.path)
        for operand in rule.operands
    )


def matches(instance: dict[str, Any], filters: tuple[Filter, ...]) -> bool:
    """Whether an instance satisfies every filter (no filters: always)."""
    return all(_matches_one(instance, rule) for rule in filters)


# ---- fields ---------------------------------------------------------------------------------------

# A selection tree maps an attribute to None (keep it whole) or to the tree of its sub-attributes.
Tree = dict[str, "Tree | None"]
ABSENT = object()


@lru_cache(maxsize=256)
def _selection_tree(fields: tuple[str, ...]) -> Tree:
    tree: Tree = {name: None for name in tmfapis.SELECTION_KEEPS}
    for name in fields:
        node = tree
        *parents, last = name.split(".")
        for parent in parents:
            child = node.setdefault(parent, {})
            if child is None:  # an ancestor is already kept whole
                break
            node = child
        else:
            node[last] = None
    return tree


def _project(value: Any, tree: Tree | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, dict):
        kept = {}
        for name, item in value.items():
            if name in tree and (projected := _project(item, tree[name])) is not ABSENT:
                kept[name] = projected
        return kept or ABSENT
    if isinstance(value, list):
        elements = [p for item in value if (p := _project(item, tree)) is not ABSENT]
        return elements or ABSENT
    return ABSENT


def select_fields(instance: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    """The instance reduced to ``id``, ``href``, ``@type`` and the asked fields (None: unchanged)."""
    if fields is None:
        return instance
    projected = _project(instance, _selection_tree(fields))
    return {} if projected is ABSENT else dict(projected)


# ---- sorting --------------------------------------------------------------------------------------


def _sort_key(value: Any) -> tuple[int, Any] | None:
    """Numbers, then date-times, then strings, then booleans; None for what sorts last."""
    if isinstance(value, bool):
        return (3, value)
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else (0, value)
    if isinstance(value, str):
        moment = as_moment(value)
        return (1, moment) if moment is not None else (2, value)
    return None


def _first_sort_key(instance: dict[str, Any], path: tuple[str, ...]) -> tuple[int, Any] | None:
    return next((key for value in leaves(instance, path) if (key := _sort_key(value)) is not None), None)


MICROSECOND = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST = (1,)  # the key part of a missing value: after every present one, in both directions


def _descending(key: tuple[int, Any]) -> tuple[int, Any]:
    """A key that orders ascending exactly as ``key`` orders descending."""
    rank, value = key
    if rank == 1:
        value = -((value - EPOCH) // MICROSECOND)
    elif rank == 2:  # code points negated; the closing 1 puts a longer text before its prefix
        value = (*(-ord(char) for char in value), 1)
    else:
        value = -value
    return (-rank, value)


def sort_key(instance: dict[str, Any], sort: tuple[tuple[tuple[str, ...], bool], ...]) -> tuple[Any, ...]:
    """One comparable key for a (path, descending) list: ascending order of keys is the asked order."""
    parts: list[tuple[Any, ...]] = []
    for path, descending in sort:
        key = _first_sort_key(instance, path)
        parts.append(LAST if key is None else (0, *(_descending(key) if descending else key)))
    return tuple(parts)


def sort_paths(sort: tuple[tuple[str, bool], ...]) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The sort keys of a list query with their names split into paths."""
    return tuple((tuple(name.split(".")), descending) for name, descending in sort)


def sort_instances(
    instances: list[dict[str, Any]], sort: tuple[tuple[str, bool], ...]
) -> list[dict[str, Any]]:
    """The instances stably sorted by each (path, descending) in turn, missing values last."""
    paths = sort_paths(sort)
    return sorted(instances, key=lambda item: sort_key(item, paths))


# ---- equality index -------------------------------------------------------------------------------

Postings: TypeAlias = "int | array[int]"  # the slots holding one key: a lone slot, or an ascending array of them


def _keys(instance: dict[str, Any], path: tuple[str, ...]) -> set[Hashable]:
    return {key for value in leaves(instance, path) if (key := value_key(value)) is not None}


def _as_sequence(postings: Postings) -> Sequence[int]:
    return (postings,) if isinstance(postings, int) else postings


@dataclass(slots=True)
class PathIndex:
    """For one dotted path: equality key -> ascending slots holding it; slots below ``built`` are in."""

    postings: dict[Hashable, Postings] = field(default_factory=dict)
    built: int = 0

    def add(self, slot: int, instance: dict[str, Any], path: tuple[str, ...]) -> None:
        for key in _keys(instance, path):
            held = self.postings.get(key)
            if held is None:
                self.postings[key] = slot  # most values are unique: no array for them
            elif isinstance(held, int):
                self.postings[key] = array("q", sorted((held, slot)))
            elif slot > held[-1]:
                held.append(slot)
            else:
                held.insert(bisect_left(held, slot), slot)

    def remove(self, slot: int, instance: dict[str, Any], path: tuple[str, ...]) -> None:
        for key in _keys(instance, path):
            held = self.postings.get(key)
            if isinstance(held, int):
                if held == slot:
                    del self.postings[key]
            elif held is not None:
                at = bisect_left(held, slot)
                if at < len(held) and held[at] == slot:
                    del held[at]
                    if len(held) == 1:
                        self.postings[key] = held[0]


@dataclass(frozen=True, slots=True)
class Narrowed:
    """The slots that equality filters allow: per filter, the postings of each of its keys (OR)."""

    groups: tuple[tuple[Sequence[int], ...], ...]

    @property
    def single(self) -> Sequence[int] | None:
        """The answer as one ascending sequence when no union or intersection is needed."""
        if len(self.groups) == 1 and len(self.groups[0]) <= 1:
            return self.groups[0][0] if self.groups[0] else ()
        return None

    def slots(self) -> Iterator[int]:
        """The allowed slots in ascending order, each once; postings are copied, so writes may go on."""
        groups = [[array("q", p) if isinstance(p, array) else p for p in group] for group in self.groups]
        if any(not group for group in groups):
            return iter(())
        groups.sort(key=lambda group: sum(len(p) for p in group))
        first, rest = groups[0], groups[1:]
        return (
            slot
            for slot in _union(first)
            if all(any(_holds(p, slot) for p in group) for group in rest)
        )


def _union(sequences: list[Sequence[int]]) -> Iterator[int]:
    """The slots of ascending sequences, ascending, each once."""
    if len(sequences) == 1:
        yield from sequences[0]
        return
    last = -1
    for slot in heapq.merge(*sequences):
        if slot != last:
            yield slot
            last = slot


def _holds(sequence: Sequence[int], slot: int) -> bool:
    at = bisect_left(sequence, slot)
    return at < len(sequence) and sequence[at] == slot


class EqualityIndex:
    """Slots of one collection by attribute value, for every path equality filters use.

    A path's index is built on its first use, a bounded step at a time (``build_step``), and kept up
    to date by ``add``/``remove`` afterwards; beyond ``MAX_INDEXED_PATHS`` the least recently used
    complete one is dropped. ``read(slot)`` gives the instance stored at a slot, or None, and
    ``size()`` the number of slots (by default, one past the highest slot added).
    """

    __slots__ = ("_paths", "_read", "_seen", "_size")

    def __init__(
        self, read: Callable[[int], dict[str, Any] | None], size: Callable[[], int] | None = None
    ) -> None:
        self._read = read
        self._seen = 0
        self._size = size or (lambda: self._seen)
        self._paths: OrderedDict[tuple[str, ...], PathIndex] = OrderedDict()

    def add(self, slot: int, instance: dict[str, Any]) -> None:
        """Index the new content of a slot: a new one, or a replaced one after ``remove``."""
        self._seen = max(self._seen, slot + 1)
        for path, index in self._paths.items():
            if slot <= index.built:  # beyond, a build still to come reads the slot itself
                index.add(slot, instance, path)
                index.built += slot == index.built

    def remove(self, slot: int, instance: dict[str, Any]) -> None:
        """Forget the content ``instance`` had at ``slot`` (before a replacement or a deletion)."""
        for path, index in self._paths.items():
            if slot < index.built:
                index.remove(slot, instance, path)

    @property
    def active(self) -> bool:
        """Whether any path is indexed, so that writes must keep the index up to date."""
        return bool(self._paths)

    def is_built(self, path: tuple[str, ...]) -> bool:
        """Whether the path's index covers every slot."""
        index = self._paths.get(path)
        return index is not None and index.built >= self._size()

    def build_step(self, path: tuple[str, ...], budget: int) -> bool:
        """Index up to ``budget`` more slots of a path (starting its index if needed); True when done."""
        index = self._paths.get(path)
        if index is None:
            index = self._paths[path] = PathIndex()
            complete = [p for p, i in self._paths.items() if i.built >= self._size() and p != path]
            while len(self._paths) > MAX_INDEXED_PATHS and complete:
                del self._paths[complete.pop(0)]
        end = min(self._size(), index.built + budget)
        for slot in range(index.built, end):
            instance = self._read(slot)
            if instance is not None:
                index.add(slot, instance, path)
        index.built = end
        return end >= self._size()

    def build(self, path: tuple[str, ...]) -> None:
        """Index a path completely, at once."""
        while not self.build_step(path, 1 << 30):
            pass

    def candidates(self, filters: tuple[Filter, ...]) -> Narrowed | None:
        """What the indexes of the equality filters allow (built now where not yet), or None."""
        groups = []
        for rule in filters:
            if rule.op != "eq":
                continue
            if not self.is_built(rule.path):
                self.build(rule.path)
            index = self._paths[rule.path]
            self._paths.move_to_end(rule.path)
            found = (index.postings.get(key) for key in rule.keys)
            groups.append(tuple(_as_sequence(p) for p in found if p is not None))
        return Narrowed(tuple(groups)) if groups else None
