"""What the fuzzer knows of each resource, derived from ``tmfapis`` and the packaged suite declarations.

Nothing here names an API, a resource or an attribute: a resource is fuzzed on the plain string
attributes (no enum, no format) of its ``_Create`` schema, the ones its suite declaration holds or
filters on first, at most ``TOP_LEVEL`` of them, and on one string inside an array or object attribute.
One more such string carries the tag that marks the fuzzer's own instances (a plain attribute left over,
else ``@baseType`` or another common ``@`` attribute of that kind, else a nested one). The example bodies are
the smallest a ``_Create`` schema accepts (every required attribute, with a value of its type), under
the declaration's first payload where one exists (a body the kit itself sends).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tmfapis
from harness.ctk.declaration import ResourceSuite, load_declaration

__all__ = [
    "SUITES_DIR",
    "Filterable",
    "FuzzPlan",
    "create_example",
    "create_schema",
    "declared",
    "example_value",
    "fuzz_plan",
    "fuzz_plans",
    "fuzzable",
    "is_many",
    "leaf",
    "patch_example",
    "place",
    "resolve",
]

SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"
TOP_LEVEL = 3  # plain top-level attributes fuzzed per resource, beside one nested path
# Examples of each JSON Schema type and string format: valid, plain, and the same on every call.
EXAMPLE_FORMATS = {"date-time": "2024-05-01T10:00:00Z", "uri": "https://example.com/x", "base64": "Y3Rr"}
EXAMPLE_TYPES: Mapping[str, Any] = MappingProxyType(
    {"string": "ctk", "integer": 1, "number": 1, "boolean": True})
IDENTITY = frozenset(tmfapis.ALWAYS_SELECTED)  # set by the server, never fuzzed


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class Filterable:
    """A string attribute the fuzzer sets and filters on: ``name`` or a dotted ``relatedParty.id``."""

    path: str
    element: Mapping[str, Any] = field(default_factory=_frozen)  # what else the holding object needs


@dataclass(frozen=True, slots=True)
class FuzzPlan:
    """One resource to fuzz: the tag's attribute, what to filter on and the rest of a valid Create body."""

    api_id: str
    resource: str
    tag: Filterable
    filterables: tuple[Filterable, ...]
    base: Mapping[str, Any]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(item.path for item in self.filterables)

    def is_many(self, path: str) -> bool:
        """True when the path runs through an array, so an instance holds one or more values."""
        return is_many(self.api_id, self.resource, path)

    def enum(self, path: str) -> list[str]:
        """The values the schema allows at the path, or [] for any string."""
        return list(leaf(self.api_id, self.resource, path).get("enum") or [])

    def plain_values(self) -> dict[str, list[str]]:
        """One simple value per path (an enum's first value where the schema has one), for a fixed instance."""
        return {path: [(self.enum(path) or ["a"])[0]] for path in self.paths}


def resolve(api_id: str, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema a ``$ref`` chain ends on, in one API's definitions."""
    while "$ref" in schema:
        schema = tmfapis.api(api_id).definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def create_schema(api_id: str, resource: str) -> Mapping[str, Any]:
    return {"$ref": f"#/definitions/{tmfapis.api(api_id).resources[resource].create_schema}"}


def _holder(api_id: str, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object schema an attribute's values are: its items' schema when it is an array."""
    schema = resolve(api_id, schema)
    return resolve(api_id, schema.get("items", {})) if schema.get("type") == "array" else schema


def leaf(api_id: str, resource: str, path: str) -> Mapping[str, Any]:
    """The schema of a dotted path in the resource's Create schema, through objects and arrays."""
    schema: Mapping[str, Any] = create_schema(api_id, resource)
    for name in path.split("."):
        schema = resolve(api_id, _holder(api_id, schema).get("properties", {}).get(name, {}))
    return schema


def example_value(api_id: str, schema: Mapping[str, Any]) -> Any:
    """The smallest plain value the schema accepts: required attributes only, arrays at their least (one)."""
    schema = resolve(api_id, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: example_value(api_id, properties.get(name, {})) for name in schema.get("required", ())}
    if kind == "array":
        return [example_value(api_id, schema.get("items", {}))] * max(1, schema.get("minItems", 0))
    return EXAMPLE_FORMATS.get(schema.get("format", ""), EXAMPLE_TYPES.get(str(kind), "ctk"))


@cache
def declared() -> Mapping[tuple[str, str], ResourceSuite]:
    """(API id, resource) -> its part of a packaged suite declaration, for every declared resource."""
    found: dict[tuple[str, str], ResourceSuite] = {}
    for path in sorted(SUITES_DIR.glob("ctk*/ctk*.yaml")):
        for suite in load_declaration(path).resources:
            found.setdefault((suite.api_id, suite.resource), suite)
    return MappingProxyType(found)


def create_example(api_id: str, resource: str) -> dict[str, Any]:
    """A Create body the resource's ``_Create`` accepts: the declaration's first payload over the smallest one, or
    the smallest alone where that payload is no valid ``_Create`` (a kit's payload may lack what the spec requires)."""
    smallest: dict[str, Any] = example_value(api_id, create_schema(api_id, resource))
    suite = declared().get((api_id, resource))
    payload = dict(suite.payloads[0]) if suite and suite.payloads else {}
    merged: dict[str, Any] = _under(smallest, payload)
    definition = tmfapis.api(api_id).resources[resource].create_schema
    return merged if tmfapis.schema_validator(api_id, definition).is_valid(merged) else smallest


def _under(smallest: Any, given: Any) -> Any:
    """``given`` with what ``smallest`` requires where it lacks it: objects key by key, array items like the first."""
    if isinstance(smallest, dict) and isinstance(given, Mapping):
        return {**smallest, **{key: _under(smallest.get(key), value) for key, value in given.items()}}
    if isinstance(smallest, list) and smallest and isinstance(given, list):
        return [_under(smallest[0], item) for item in given]
    return given


def patch_example(api_id: str, resource: str) -> dict[str, Any]:
    """A merge patch that changes one plain string of the Create body (top-level where there is one), still valid."""
    paths = [*_plain_paths(api_id, resource, nested=False), *_plain_paths(api_id, resource, nested=True)]
    if not paths:
        raise LookupError(f"{api_id} {resource}: its Create schema holds no plain string to patch")
    patch: dict[str, Any] = {}
    place(api_id, resource, patch, _filterable(api_id, resource, paths[0]), ["patched by the ctk"])
    return patch


def is_many(api_id: str, resource: str, path: str) -> bool:
    """True when the path runs through an array, so an instance holds one or more values."""
    return resolve(api_id, leaf(api_id, resource, path.split(".")[0])).get("type") == "array"


def place(api_id: str, resource: str, body: dict[str, Any], filterable: Filterable, values: list[str]) -> None:
    """Put the values at the filterable's path of ``body``: one array element each where the path crosses an array."""
    head, _, rest = filterable.path.partition(".")
    if not rest:
        body[head] = values[0]
    elif is_many(api_id, resource, filterable.path):
        body[head] = [{**filterable.element, rest: value} for value in values]
    else:
        held = body.get(head)
        body[head] = {**(held if isinstance(held, dict) else {}), **filterable.element, rest: values[0]}


def _plain(api_id: str, schema: Mapping[str, Any]) -> bool:
    schema = resolve(api_id, schema)
    return schema.get("type") == "string" and "enum" not in schema and "format" not in schema


def _fuzzable_name(name: str) -> bool:
    return name not in IDENTITY and not name.startswith("@")


def _plain_paths(api_id: str, resource: str, *, nested: bool) -> Iterator[str]:
    """Plain string paths of the Create schema in spec order: top-level ones, or those one object down."""
    properties = resolve(api_id, create_schema(api_id, resource)).get("properties", {})
    for name, schema in properties.items():
        if not nested and _plain(api_id, schema) and _fuzzable_name(name):
            yield name
        holder = _holder(api_id, schema)
        if nested and _fuzzable_name(name) and "properties" in holder:
            required = holder.get("required", ())
            inner = [sub for sub, sub_schema in holder["properties"].items()
                     if _plain(api_id, sub_schema) and not sub.startswith("@")]  # an href is a uri: left out
            yield from (f"{name}.{sub}" for sub in sorted(inner, key=lambda sub: sub not in required))


def _marks(api_id: str, resource: str) -> list[str]:
    """Plain string attributes of the common TMF kind (``@`` names) that the server leaves as sent: tag holders."""
    properties = resolve(api_id, create_schema(api_id, resource)).get("properties", {})
    return [name for name, schema in properties.items()
            if name.startswith("@") and name not in IDENTITY and _plain(api_id, schema)]


def _filterable(api_id: str, resource: str, path: str) -> Filterable:
    """The path with whatever else its holding object requires (the smallest such object, minus the path)."""
    head, _, rest = path.partition(".")
    if not rest:
        return Filterable(path)
    holder = _holder(api_id, leaf(api_id, resource, head))
    element = {name: value for name, value in example_value(api_id, holder).items() if name != rest}
    return Filterable(path, _frozen(element))


def _preferred(api_id: str, resource: str) -> list[str]:
    """The declaration's filtered and held attributes that are plain strings of the Create schema, in its order."""
    suite = declared().get((api_id, resource))
    if suite is None:
        return []
    named = [*suite.filtered, *suite.held]
    return [path for path in dict.fromkeys(named) if _fuzzable_name(path) and _held_text(api_id, resource, path)]


def _held_text(api_id: str, resource: str, path: str) -> bool:
    """A string attribute without a format (an enum is fine: the fuzzer sends its values)."""
    schema = resolve(api_id, leaf(api_id, resource, path))
    return schema.get("type") == "string" and "format" not in schema


def fuzz_plan(api_id: str, resource: str) -> FuzzPlan | None:
    """How to fuzz one resource, or None when its Create schema holds no strings to tag and filter on."""
    top = list(dict.fromkeys([*_preferred(api_id, resource), *_plain_paths(api_id, resource, nested=False)]))
    nested = list(_plain_paths(api_id, resource, nested=True))
    paths = [*top[:TOP_LEVEL], *nested[:1]]
    heads = {path.split(".")[0] for path in paths}
    spare = [path for path in [*top[TOP_LEVEL:], *_marks(api_id, resource), *nested] if path.split(".")[0] not in heads]
    if not spare and len(paths) > 1:
        spare = [paths.pop()]
    if not spare or not paths:
        return None
    return FuzzPlan(api_id, resource, _filterable(api_id, resource, spare[0]),
                    tuple(_filterable(api_id, resource, path) for path in paths),
                    _frozen(create_example(api_id, resource)))


def fuzzable(api_id: str, resource: str) -> bool:
    """The fuzzer creates instances and deletes them at the end: the resource needs POST and DELETE."""
    described = tmfapis.api(api_id).resources[resource]
    return "POST" in described.collection_methods and "DELETE" in described.item_methods


@cache
def fuzz_plans() -> tuple[FuzzPlan, ...]:
    """A plan for every fuzzable resource of every API, in ``tmfapis`` order."""
    plans = (fuzz_plan(api.id, name) for api in tmfapis.apis() for name in api.resources if fuzzable(api.id, name))
    return tuple(plan for plan in plans if plan is not None)
