"""Hypothesis fuzzing of list filters: one state machine per resource, judged against an in-memory model.

A machine creates instances whose filterable attributes come from small alphabets, so values collide,
then asks equality, OR, AND, nested-path and ``fields`` queries and compares each answer with its model.
It judges only the instances it created (all carry a unique tag, and every query filters on it), so
other data on a shared system is ignored, and it deletes them at teardown. A mismatch fails with a
``FilterMismatch`` that names the exact URL and the instances needed to reproduce it: a single one when
that instance, created again alone, fails the same way.

Importing this module registers the Hypothesis profile ``thorough``; ``ci`` is Hypothesis's own. Under
either, ``fuzz_settings()`` gives the fuzzer's bounds (examples, steps per example, no deadline).
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, urlencode

import requests
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

import tmfapis
from harness import http
from harness.errors import FilterMismatch
from harness.redact import Redactor
from harness.urls import resource_url

__all__ = [
    "FILTER_TARGETS",
    "FUZZ_PROFILES",
    "FilterMismatch",
    "FilterTarget",
    "Filterable",
    "create_values",
    "filter_machine",
    "fuzz_settings",
    "hostile_bodies",
    "instance_body",
    "query_value",
    "target",
    "valid_bodies",
    "values_at",
]

# Profiles: ``thorough`` is ours; ``ci`` is Hypothesis's own (loaded automatically under CI), left as it is so
# other property tests keep their budget. The fuzzer takes its bounds per profile name from FUZZ_PROFILES.
_NETWORK = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=False,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])  # explain replays too much
settings.register_profile("thorough", _NETWORK, max_examples=300, stateful_step_count=50)
FUZZ_PROFILES = {
    "default": settings(_NETWORK, max_examples=25, stateful_step_count=15, derandomize=True, database=None),
    "thorough": settings.get_profile("thorough"),
}
FUZZ_PROFILES["ci"] = FUZZ_PROFILES["default"]

MAX_INSTANCES = 6  # per example: enough for collisions, few enough to shrink fast
# Values that collide on purpose: case pairs, prefixes, padding, unicode, quotes and URL-significant text.
SPECIMENS = ("a", "A", "ab", "a b", " a", "a ", "a,b", "b", "é", "É", "日本", "it's", "x&y=z", "1+1",
             "a+b", "50%", "%41", "'")
# A quote followed by a comma cannot be written in a TMF630 filter, quoted or not, so it is never generated.
VALUES = (st.sampled_from(SPECIMENS) | st.text(alphabet="aAb ,'&=+%é", min_size=1, max_size=3)).filter(
    lambda value: "'," not in value)


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class Filterable:
    """A string attribute the fuzzer sets and filters on: ``name`` or a dotted ``relatedParty.id``."""

    path: str
    element: Mapping[str, Any] = field(default_factory=_frozen)  # what else the holding object needs


@dataclass(frozen=True, slots=True)
class FilterTarget:
    """One resource to fuzz: its tag attribute, the rest of a valid Create body, and what to filter."""

    api_id: str
    resource: str
    tag: str
    filterables: tuple[Filterable, ...]
    base: Mapping[str, Any] = field(default_factory=_frozen)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(item.path for item in self.filterables)

    def is_many(self, path: str) -> bool:
        """True when the path runs through an array, so an instance holds one or more values."""
        return _leaf(self.api_id, self.resource, path.split(".")[0]).get("type") == "array"

    def plain_values(self) -> dict[str, list[str]]:
        """One simple value per path (an enum's first value where the schema has one), for a fixed instance."""
        return {path: [(_leaf(self.api_id, self.resource, path).get("enum") or ["a"])[0]] for path in self.paths}

    def values(self, path: str) -> st.SearchStrategy[str]:
        """Colliding strings, or the enum of the attribute when the schema has one."""
        enum = _leaf(self.api_id, self.resource, path).get("enum")
        return st.sampled_from(enum) if enum else VALUES


_REFERRED = _frozen({"@referredType": "Individual", "href": "https://example.com/party"})
FILTER_TARGETS: tuple[FilterTarget, ...] = (
    FilterTarget("tmf681", "communicationMessage", tag="description", filterables=(
        Filterable("content"), Filterable("messageType"), Filterable("sender.name"),
        Filterable("receiver.name"))),
    FilterTarget("tmf629", "customer", tag="statusReason", filterables=(
        Filterable("name"), Filterable("status"), Filterable("relatedParty.id", _REFERRED)),
        base=_frozen({"engagedParty": {"id": "fuzz-party", "@referredType": "Individual"}})),
    FilterTarget("tmf683", "partyInteraction", tag="description", filterables=(
        Filterable("direction"), Filterable("reason"), Filterable("relatedParty.id", _REFERRED)),
        base=_frozen({"interactionDate": {"startDateTime": "2024-05-01T10:00:00Z"}, "status": "open",
                      "channel": [{"id": "1", "href": "https://example.com/channel/1"}]})),
    FilterTarget("tmf622", "productOrder", tag="externalId", filterables=(
        Filterable("description"), Filterable("priority"), Filterable("relatedParty.id", _REFERRED)),
        base=_frozen({"productOrderItem": [{"id": "1", "action": "add"}]})),
    FilterTarget("tmf635", "usage", tag="usageType", filterables=(
        Filterable("description"), Filterable("status"), Filterable("relatedParty.id", _REFERRED))),
    FilterTarget("tmf635", "usageSpecification", tag="description", filterables=(
        Filterable("name"), Filterable("version"), Filterable("relatedParty.id", _REFERRED))),
)


def target(resource: str) -> FilterTarget:
    """The fuzz target of one resource, by name (``customer``)."""
    for item in FILTER_TARGETS:
        if item.resource == resource:
            return item
    known = ", ".join(item.resource for item in FILTER_TARGETS)
    raise KeyError(f"no fuzz target for resource {resource!r}; known: {known}") from None


def _resolve(api_id: str, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = tmfapis.api(api_id).definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _create_schema(api_id: str, resource: str) -> Mapping[str, Any]:
    return {"$ref": f"#/definitions/{tmfapis.api(api_id).resources[resource].create_schema}"}


def _leaf(api_id: str, resource: str, path: str) -> Mapping[str, Any]:
    schema: Mapping[str, Any] = _create_schema(api_id, resource)
    for name in path.split("."):
        schema = _resolve(api_id, schema)
        if schema.get("type") == "array":
            schema = _resolve(api_id, schema.get("items", {}))
        schema = _resolve(api_id, schema.get("properties", {}).get(name, {}))
    return schema


def create_values(item: FilterTarget) -> st.SearchStrategy[dict[str, list[str]]]:
    """Values for one instance: path -> its values (one, or one to two when the path runs through an array)."""
    return st.fixed_dictionaries({
        path: st.lists(item.values(path), min_size=1, max_size=2 if item.is_many(path) else 1)
        for path in item.paths
    })


def instance_body(item: FilterTarget, values: Mapping[str, Sequence[str]], tag: str) -> dict[str, Any]:
    """A Create body holding the given values and the tag, valid against the resource's Create schema."""
    body: dict[str, Any] = json.loads(json.dumps(dict(item.base)))
    body[item.tag] = tag
    for filterable in item.filterables:
        head, _, rest = filterable.path.partition(".")
        chosen = values[filterable.path]
        if not rest:
            body[head] = chosen[0]
        elif item.is_many(filterable.path):
            body[head] = [{**filterable.element, rest: value} for value in chosen]
        else:
            body[head] = {**body.get(head, {}), **filterable.element, rest: chosen[0]}
    return body


def values_at(instance: Any, path: str) -> list[Any]:
    """Every value a dotted path reaches, looking into arrays at any depth."""
    current = [instance]
    for name in path.split("."):
        reached = []
        for holder in current:
            for element in holder if isinstance(holder, list) else [holder]:
                if isinstance(element, dict) and name in element:
                    value = element[name]
                    reached.extend(value if isinstance(value, list) else [value])
        current = reached
    return current


def query_value(values: Sequence[str], quoted: Sequence[bool]) -> str:
    """An OR list as sent: a value with a comma or a leading quote must be quoted, others may be."""
    def one(value: str, wanted: bool) -> str:
        return f"'{value}'" if wanted or "," in value or value.startswith("'") else value
    return ",".join(one(value, wanted) for value, wanted in zip(values, quoted, strict=True))


@dataclass(frozen=True, slots=True)
class Held:
    """A query value taken from the instances: the ``index``-th value held at the path, maybe twisted."""

    index: int
    twist: str = "same"  # or "swapcase", "shorter", "longer": near misses that catch sloppy matching

    def resolve(self, held: Sequence[str]) -> str:
        value = held[self.index % len(held)]
        if self.twist == "swapcase":
            return value.swapcase()
        if self.twist == "shorter" and len(value) > 1:
            return value[:-1]
        return value + "b" if self.twist in ("shorter", "longer") else value


Pick = Held | str  # a value held by an instance (or a near miss of one), or a fresh value
PICKS: st.SearchStrategy[Pick] = st.builds(
    Held, st.integers(0, 2 * MAX_INSTANCES - 1), st.sampled_from(("same", "swapcase", "shorter", "longer"))
) | VALUES
OR_LIST = st.lists(st.tuples(PICKS, st.booleans()), min_size=1, max_size=3)  # (value, quoted) pairs
Condition = tuple[str, tuple[str, ...], tuple[bool, ...]]  # path, OR values, which ones are quoted


@dataclass(slots=True)
class _Created:
    number: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Judged:
    """One query's verdict: its URL, what is wrong, the instances it judged and those it misjudged."""

    url: str
    problems: list[str]
    model: Mapping[str, _Created]
    suspects: list[str] = field(default_factory=list)


def _new_tag() -> str:
    return f"ctk-fuzz-{uuid.uuid4().hex}"


def _numbers(model: Mapping[str, _Created], ids: Any) -> list[int]:
    return sorted(model[instance_id].number for instance_id in ids)


class FilterMachineBase(RuleBasedStateMachine):
    """Creates tagged instances and compares list answers with the model; ``filter_machine`` adds the rules."""

    target: FilterTarget
    api_root: str
    session: requests.Session
    redactor: Redactor = Redactor()
    examples = 0  # machines built from this class: one per example run, shrinking included

    def __init__(self) -> None:
        super().__init__()
        type(self).examples += 1
        self.tag = _new_tag()
        self.model: dict[str, _Created] = {}

    @property
    def collection_url(self) -> str:
        return resource_url(self.api_root, self.target.resource)

    def create(self, values: Mapping[str, Sequence[str]]) -> None:
        """POST one tagged instance holding the values and add it to the model."""
        __tracebackhide__ = True
        body = instance_body(self.target, values, self.tag)
        instance_id = self._post(body)
        self.model[instance_id] = _Created(len(self.model) + 1, body)
        note(f"instance {len(self.model)} is {instance_id}")

    def _post(self, body: dict[str, Any]) -> str:
        __tracebackhide__ = True
        reply = self.send("POST", self.collection_url, body)
        payload = reply.body
        if reply.status != 201 or not isinstance(payload, dict) or "id" not in payload:
            raise self.mismatch(f"POST {self.collection_url} {_text(body)} answered {reply.status} "
                                 f"{reply.text[:300]!r}; expected 201 with an id")
        return str(payload["id"])

    def _delete(self, instance_id: str) -> bool:
        """DELETE one instance; False when it may still exist."""
        try:
            reply = self.send("DELETE", resource_url(self.api_root, self.target.resource, instance_id))
        except FilterMismatch:
            return False
        return reply.status in (200, 202, 204, 404)

    def send(self, method: str, url: str, body: Any = None) -> http.Reply:
        """One request through the harness's bounded ``send``; no answer at all fails with the request named."""
        __tracebackhide__ = True
        reply = http.send(self.session, method, url, self.redactor, body)
        if reply.status is None:
            raise self.mismatch(f"{method} {url} failed: {reply.problem}")
        return reply

    def mismatch(self, message: str) -> FilterMismatch:
        """The failure, with the run's secrets masked: it names URLs and bodies the server echoed."""
        return FilterMismatch(self.redactor.text(message))

    def condition(self, path: str, picks: Sequence[tuple[Pick, bool]]) -> Condition:
        """The filter on ``path`` that the picks stand for, with held values looked up in the model."""
        held = sorted({value for created in self.model.values() for value in values_at(created.body, path)})
        values = tuple(pick.resolve(held) if isinstance(pick, Held) else pick for pick, _ in picks)
        return path, values, tuple(quoted for _, quoted in picks)

    def teardown(self) -> None:
        left = [instance_id for instance_id in self.model if not self._delete(instance_id)]
        if left:
            warnings.warn(f"could not delete {self.target.resource} {', '.join(left)}", stacklevel=1)

    def check(self, conditions: Sequence[Condition], fields: Sequence[str] = ()) -> None:
        """Send one list query and fail unless its answer about our instances equals the model's."""
        __tracebackhide__ = True  # the failure message says it all
        judged = self._judge(self.tag, self.model, conditions, fields)
        if judged.problems:
            raise self.mismatch(self._reproduction(self._smallest(judged, conditions, fields)))

    def _judge(self, tag: str, model: Mapping[str, _Created], conditions: Sequence[Condition],
               fields: Sequence[str]) -> _Judged:
        """Send the query restricted to ``tag`` and compare its answer about ``model`` with what the model says."""
        __tracebackhide__ = True
        params = [(self.target.tag, tag)]
        params += [(path, query_value(values, quoted)) for path, values, quoted in conditions]
        if fields:
            params.append(("fields", ",".join(fields)))
        url, items = self._get_all(params, model)
        own = {str(item.get("id")): item for item in items if isinstance(item, dict)
               and str(item.get("id")) in model}
        expected = {instance_id for instance_id, created in model.items()
                    if all(set(values_at(created.body, path)) & set(values) for path, values, _ in conditions)}
        note(f"GET {url} -> instances {_numbers(model, own)}")
        problems = []
        if set(own) != expected:
            problems.append(f"expected instances {_numbers(model, expected)}, got {_numbers(model, own)}")
            nameless = sum(1 for item in items if not isinstance(item, dict) or "id" not in item)
            if nameless:
                problems.append(f"{nameless} answered items have no id, so they cannot be told apart")
        if fields:
            problems += self._selection_problems(model, own, fields)
        suspects = (set(own) ^ expected) | (set(own) if fields else set())
        return _Judged(url, problems, model, sorted(suspects, key=lambda instance_id: model[instance_id].number))

    def _smallest(self, judged: _Judged, conditions: Sequence[Condition], fields: Sequence[str]) -> _Judged:
        """The failure with the fewest instances: one misjudged instance alone when it fails the same way.

        Hypothesis deletes a step only where removing a few choices at a time keeps the failure, so copies of
        one instance can survive shrinking; which ones survive changes with any literal in the loaded code.
        """
        __tracebackhide__ = True
        if len(judged.model) == 1:
            return judged
        for instance_id in judged.suspects:
            tag = _new_tag()
            body = {**judged.model[instance_id].body, self.target.tag: tag}
            try:  # a request failing here leaves the failure as first seen
                alone_id = self._post(body)
                try:
                    alone = self._judge(tag, {alone_id: _Created(1, body)}, conditions, fields)
                finally:
                    if not self._delete(alone_id):
                        warnings.warn(f"could not delete {self.target.resource} {alone_id}", stacklevel=1)
            except FilterMismatch:
                continue
            if alone.problems:
                return alone
        return judged

    def _selection_problems(self, model: Mapping[str, _Created], own: dict[str, Any],
                            fields: Sequence[str]) -> list[str]:
        """What is wrong with ``fields`` answers: unasked attributes, or asked values that differ."""
        problems = []
        for instance_id, item in own.items():
            number = model[instance_id].number
            extra = sorted(set(item) - set(tmfapis.ALWAYS_SELECTED) - set(fields))
            if extra:
                problems.append(f"instance {number} has unasked attributes {extra}")
            for path in self.target.paths:
                sent = sorted(values_at(model[instance_id].body, path))
                got = sorted(values_at(item, path))
                if path.split(".")[0] in fields and got != sent:
                    problems.append(f"instance {number} {path} is {got}, sent {sent}")
        return problems

    def _get_all(self, params: list[tuple[str, str]], model: Mapping[str, _Created]) -> tuple[str, list[Any]]:
        """Every item the query answers, following pages when the server returns 206."""
        __tracebackhide__ = True
        url = self._url(params)
        reply = self.send("GET", url)
        items = self._items(url, reply, model)
        total = next((value for name, value in reply.exchange.response_headers.items()
                      if name.lower() == "x-total-count"), "")
        while reply.status == 206 and total.isdigit() and len(items) < int(total):
            page_url = self._url([*params, ("offset", str(len(items)))])
            reply = self.send("GET", page_url)
            page = self._items(page_url, reply, model)
            if not page:
                break
            items += page
        return url, items

    def _items(self, url: str, reply: http.Reply, model: Mapping[str, _Created]) -> list[Any]:
        __tracebackhide__ = True
        payload = reply.body
        if reply.status not in (200, 206) or not isinstance(payload, list):
            raise self.mismatch(self._reproduction(_Judged(url, [
                f"answered {reply.status} {reply.text[:300]!r}; expected 200 with a JSON array"], model)))
        return payload

    def _url(self, params: list[tuple[str, str]]) -> str:
        return resource_url(self.api_root, self.target.resource, query=urlencode(params, quote_via=quote, safe=""))

    def _reproduction(self, judged: _Judged) -> str:
        lines = [f"GET {judged.url}", *(f"  {problem}" for problem in judged.problems),
                 f"Reproduce: create these instances with POST {self.collection_url}, then send the GET above."]
        lines += [f"  instance {created.number} (was {instance_id}): {_text(created.body)}"
                  for instance_id, created in judged.model.items()]
        return "\n".join(lines)


def filter_machine(item: FilterTarget, api_root: str, session: requests.Session,
                   redactor: Redactor | None = None) -> type[FilterMachineBase]:
    """A state machine class fuzzing one resource at ``api_root`` (an API root URL ending with "/")."""
    paths = st.sampled_from(item.paths)
    has_instances = precondition(lambda machine: bool(machine.model))

    class FilterMachine(FilterMachineBase):
        target = item

        @precondition(lambda machine: len(machine.model) < MAX_INSTANCES)
        @rule(values=create_values(item))
        def add_instance(self, values: dict[str, list[str]]) -> None:
            self.create(values)

        @has_instances
        @rule(path=paths, pick=st.tuples(PICKS, st.booleans()))
        def filter_equal(self, path: str, pick: tuple[Pick, bool]) -> None:
            self.check([self.condition(path, [pick])])

        @has_instances
        @rule(path=paths, picks=OR_LIST)
        def filter_any_of(self, path: str, picks: list[tuple[Pick, bool]]) -> None:
            self.check([self.condition(path, picks)])

        @has_instances
        @rule(conditions=st.lists(st.tuples(paths, OR_LIST), min_size=2, max_size=3, unique_by=lambda c: c[0]))
        def filter_all_of(self, conditions: list[tuple[str, list[tuple[Pick, bool]]]]) -> None:
            self.check([self.condition(path, picks) for path, picks in conditions])

        @has_instances
        @rule(fields=st.lists(st.sampled_from(sorted({path.split(".")[0] for path in item.paths})),
                              min_size=1, max_size=2, unique=True))
        def select_fields(self, fields: list[str]) -> None:
            self.check([], fields=fields)

    FilterMachine.__name__ = FilterMachine.__qualname__ = f"{item.resource[0].upper()}{item.resource[1:]}Filters"
    FilterMachine.api_root = api_root
    FilterMachine.session = session
    FilterMachine.redactor = redactor or Redactor()
    return FilterMachine


def fuzz_settings() -> settings:
    """The fuzzer's bounds for the loaded profile (``ci`` when none was chosen); other profiles apply as they are."""
    return FUZZ_PROFILES.get(settings.get_current_profile_name()) or settings()


def _text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


# Input robustness: bodies derived from the Create schemas, valid and deliberately broken.

ODD_STRINGS = ("", " ", "\x00", "\ud800", "\u202e", "\ufeff", "😀" * 3, "a" * 10_000, "'; DROP TABLE x;--",
               "${jndi:ldap://x}", "../../etc/passwd", "<script>", "%00", "null", "1e999", "\\", '"')
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(ODD_STRINGS) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _valid_values(api_id: str, schema: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    schema = _resolve(api_id, schema)
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        optional = {} if depth > 2 else {name: _valid_values(api_id, sub, depth + 1)
                                          for name, sub in properties.items() if name not in required}
        return st.fixed_dictionaries({name: _valid_values(api_id, properties[name], depth + 1)
                                      for name in sorted(required)}, optional=optional)
    if kind == "array":
        items = _valid_values(api_id, schema.get("items", {}), depth + 1)
        least = schema.get("minItems", 0)
        return st.lists(items, min_size=least, max_size=max(least, 0 if depth > 2 else 2))
    if kind == "string" and schema.get("format") == "date-time":
        return st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
    if kind == "string" and schema.get("format") == "uri":
        return st.just("https://example.com/x")
    simple: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=8), "integer": st.integers(-1000, 1000), "boolean": st.booleans(),
        "number": st.floats(allow_nan=False, allow_infinity=False, width=32),
    }
    return simple.get(str(kind), st.text(max_size=4))


@cache
def valid_bodies(api_id: str, resource: str) -> st.SearchStrategy[dict[str, Any]]:
    """Create bodies of one resource that its Create schema accepts."""
    return _valid_values(api_id, _create_schema(api_id, resource), 0)


@st.composite
def hostile_bodies(draw: st.DrawFn, api_id: str, resource: str) -> bytes:
    """Create request bodies as sent: valid ones, wrong types, missing or junk attributes, odd strings, non-JSON."""
    definition = _resolve(api_id, _create_schema(api_id, resource))
    names = sorted(definition.get("properties", {}))
    body: Any = dict(draw(valid_bodies(api_id, resource)))
    how = draw(st.sampled_from(("valid", "wrong type", "missing required", "extra junk", "odd string",
                                "not an object", "not JSON")))
    if how == "wrong type":
        body[draw(st.sampled_from(names))] = draw(ANY_JSON)
    elif how == "missing required" and definition.get("required"):
        body.pop(draw(st.sampled_from(definition["required"])))
    elif how == "extra junk":
        junk_names = st.sampled_from(("id", "href", "@type", "__proto__", "")) | st.text(max_size=6)
        body.update(draw(st.dictionaries(junk_names, ANY_JSON, min_size=1, max_size=3)))
    elif how == "odd string":
        body[draw(st.sampled_from(names))] = draw(st.sampled_from(ODD_STRINGS))
    elif how == "not an object":
        body = draw(ANY_JSON.filter(lambda value: not isinstance(value, dict)))
    elif how == "not JSON":
        return draw(st.binary(max_size=40) | st.sampled_from((b"{", b"\xff\xfe{}", b'{"a": 1,}', b"[" * 5000)))
    return json.dumps(body, allow_nan=True).encode()  # as a careless client writes it: NaN, escaped surrogates
