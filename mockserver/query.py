"""TMF630 list queries: parsing, filtering, field selection, sorting and an equality index.

The rules, as the reference server applies them:

- Reserved parameters are ``fields``, ``offset``, ``limit`` and ``sort``. Every other parameter is a
  filter ``attr=value`` on any attribute. A dotted name follows nested objects and arrays:
  ``relatedParty.id=42`` matches when any element of the ``relatedParty`` array has ``id`` 42, and
  arrays are crossed at any depth (a path ending on an array matches any of its elements).
- A comma-separated value means OR (``state=a,b``); an empty value or element stands for the empty
  string (``name=`` finds instances whose name is ""). Several parameters, or the same one repeated,
  mean AND (``state=a&name=b``, ``state.ne=a&state.ne=b``).
- An element of the value wrapped in single quotes is taken literally, commas included, and matches
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
- A hub listener's ``query`` (``eventType=CustomerCreateEvent&event.customer.status=Approved``) uses
  the same filter syntax against the event body; it may start with ``?``, its parts are
  percent-decoded (``+`` stays a plus), spaces around ``=`` and ``&`` are ignored, and reserved
  parameters are not allowed there.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

__all__ = [
    "EqualityIndex",
    "Filter",
    "ListQuery",
    "QueryError",
    "matches",
    "parse_filters",
    "parse_list_query",
    "select_fields",
    "sort_instances",
]

RESERVED = ("fields", "offset", "limit", "sort")
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte")
ALWAYS_SELECTED = ("id", "href", "@type")
MAX_INDEXED_PATHS = 32
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
    keys: frozenset[Hashable] = field(init=False, repr=False, compare=False)
    operands: tuple[Operand, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = frozenset(key for value in self.values for key in query_keys(value))
        operands = tuple(Operand(value, as_number(value), as_moment(value)) for value in self.values)
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


def _closing_quote(text: str, start: int) -> int:
    """Where the quoted element opening at ``start`` closes: a quote before a comma or the end."""
    end = start + 1
    while (end := text.find("'", end)) >= 0:
        if end + 1 == len(text) or text[end + 1] == ",":
            return end
        end += 1
    return -1


def split_values(text: str) -> tuple[str, ...]:
    """A filter value split at commas into its OR list, honouring single-quoted elements."""
    values: list[str] = []
    start = 0
    while True:
        closing = _closing_quote(text, start) if text.startswith("'", start) else -1
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
    filters = tuple(
        parse_filter(name, value)
        for name, values in params.items()
        if name not in RESERVED
        for value in values
    )
    fields = tuple(_names(params, "fields")) if "fields" in params else None
    sort = tuple(
        (name[1:], True) if name.startswith("-") else (name.removeprefix("+"), False)
        for name in _names(params, "sort")
    )
    if any(not path or "" in path.split(".") for path, _ in sort):
        raise QueryError("sort: an attribute name is empty")
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
    tree: Tree = {name: None for name in ALWAYS_SELECTED}
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


def sort_instances(
    instances: list[dict[str, Any]], sort: tuple[tuple[str, bool], ...]
) -> list[dict[str, Any]]:
    """The instances stably sorted by each (path, descending) in turn, missing values last."""
    result = list(instances)
    for name, descending in reversed(sort):
        path = tuple(name.split("."))
        keyed = [(_first_sort_key(item, path), item) for item in result]
        present = [(key, item) for key, item in keyed if key is not None]
        present.sort(key=lambda pair: pair[0], reverse=descending)
        result = [item for _, item in present] + [item for key, item in keyed if key is None]
    return result


# ---- equality index -------------------------------------------------------------------------------


@dataclass(slots=True)
class PathIndex:
    """For one dotted path: equality key -> ids holding it, and each id's keys for removal."""

    ids_by_key: dict[Hashable, set[str]] = field(default_factory=dict)
    keys_by_id: dict[str, frozenset[Hashable]] = field(default_factory=dict)

    def add(self, instance_id: str, instance: dict[str, Any], path: tuple[str, ...]) -> None:
        found = leaves(instance, path)
        if not found:
            return
        if len(found) == 1 and isinstance(found[0], str):  # the common case, made quick
            keys = frozenset(found)
        else:
            keys = frozenset(key for value in found if (key := value_key(value)) is not None)
        if keys:
            self.keys_by_id[instance_id] = keys
            for key in keys:
                self.ids_by_key.setdefault(key, set()).add(instance_id)

    def remove(self, instance_id: str) -> None:
        for key in self.keys_by_id.pop(instance_id, ()):
            ids = self.ids_by_key[key]
            ids.discard(instance_id)
            if not ids:
                del self.ids_by_key[key]


class EqualityIndex:
    """The ids of one resource's instances by attribute value, for every path equality filters use.

    A path is indexed the first time a filter asks for it (from the instances added so far) and kept
    up to date afterwards; the least recently used path is dropped beyond ``MAX_INDEXED_PATHS``.
    """

    __slots__ = ("_instances", "_paths")

    def __init__(self) -> None:
        self._instances: dict[str, dict[str, Any]] = {}
        self._paths: OrderedDict[tuple[str, ...], PathIndex] = OrderedDict()

    def add(self, instance_id: str, instance: dict[str, Any]) -> None:
        """Index a new instance, or the new content of an existing one."""
        if instance_id in self._instances:
            self._forget(instance_id)
        self._instances[instance_id] = instance
        for path, index in self._paths.items():
            index.add(instance_id, instance, path)

    def remove(self, instance_id: str, instance: dict[str, Any]) -> None:
        """Forget an instance; the keys it was indexed under are remembered, so ``instance`` may differ."""
        self._forget(instance_id)

    def _forget(self, instance_id: str) -> None:
        self._instances.pop(instance_id, None)
        for index in self._paths.values():
            index.remove(instance_id)

    def _index(self, path: tuple[str, ...]) -> PathIndex:
        index = self._paths.get(path)
        if index is None:
            index = self._paths[path] = PathIndex()
            for instance_id, instance in self._instances.items():
                index.add(instance_id, instance, path)
            if len(self._paths) > MAX_INDEXED_PATHS:
                self._paths.popitem(last=False)
        else:
            self._paths.move_to_end(path)
        return index

    def candidates(self, filters: tuple[Filter, ...]) -> set[str] | None:
        """A superset of the ids matching every equality filter, or None when no filter narrows."""
        found: list[set[str]] = []
        for rule in filters:
            if rule.op != "eq":
                continue
            ids_by_key = self._index(rule.path).ids_by_key
            groups = [ids_by_key[key] for key in rule.keys if key in ids_by_key]
            found.append(set().union(*groups) if len(groups) != 1 else set(groups[0]))
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        found.sort(key=len)
        return found[0].intersection(*found[1:])
