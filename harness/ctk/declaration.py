"""Suite declarations: what differs between the five CTK ports, loaded from ``suites/*/ctk*.yaml``.

A declaration names the API, the kit collection and, per resource, the kit's API code, the typed
and held attributes, the default payloads (one per instance the kit creates) and the N2 steps in
the kit's order. Everything else (N1, E1, checks, variables) is the engine's template.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import tmfapis
from harness.ctk.ajv import KEYWORDS, unknown_keywords
from harness.errors import DeclarationError

__all__ = [
    "DEFAULT_FOLDER",
    "DEFAULT_STATUS",
    "INSTANCE_CHECKING",
    "DeclarationError",
    "IncludesIf",
    "Kind",
    "PatchStep",
    "ResourceSuite",
    "SchemaCheck",
    "Step",
    "SuiteDeclaration",
    "TypedAt",
    "kit_variable",
    "load_declaration",
]

JsonType = Literal["string", "array", "object", "number", "boolean", "integer"]
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "array": list,
    "object": dict,
    "number": (int, float),
    "boolean": bool,
    "integer": (),  # chai's a('integer') names no type chai detects (5 is a 'number'): it fails on every value
}

_NAME = {"type": "string", "minLength": 1}
_NAMES = {"type": "array", "items": _NAME}
_STATUSES = {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}}
# attribute -> the condition under which the kit requires it (``bundledProductSpecification: {isBundle: true}``)
_WHEN = {"type": "object", "additionalProperties": {"type": "object", "minProperties": 1}}
# One kit request: "<kind> [attribute] [instance]" (``create 1``, ``filter name 2``, ``missing``; ``start`` is the
# kit's routing request to www.example.com, which checks nothing and is not sent), alone or as
# ``do`` with what departs from the template: the kit's folder, name, statuses, its own names for template
# checks, a quoted filter value, a field selection's checks, the typed, included, mandatory attributes and
# value checks where the request's differ from the create's, a PATCH body, checks of one attribute's value,
# which instances of a list answer it checks, attributes it requires only under a condition, the kit's ajv checks
# against a schema written in its script, its own checks of a value's type at a path, checks it makes only where
# the answer holds a value.
# ``poll RESOURCE`` is the kit's request sent again until the answer says the work is done (``until``), at most
# ``tries`` times ``wait`` seconds apart; ``missing RESOURCE`` reads an unknown id of another resource at the root.
# The kit's asynchronous route: a request ``accepted`` with 202 keeps the monitor id from a header or the body and
# goes to the poll; the requests only that route reaches are ``routed`` (not run where no request answered 202).
# A request whose answer has a status of ``ends_on`` ends the kit's run (``postman.setNextRequest("null")``); one with
# a status or values ({attribute: value}) of ``goes_to`` goes on with the later request named
# (``postman.setNextRequest("<name>")``: those between are not run).
# ``only_on``: the checks (by the kit's name) the kit makes only where the answer has one of the statuses listed.
_REQUEST = {
    "type": "string", "pattern": r"^(start|create|reject|list|retrieve|fields|filter|patch|delete|gone|missing|poll)( \S+)*$"
}
# A kit's ajv check of the answer against a schema written in its test script, with the kit's ajv options.
_VALID = {
    "type": "object",
    "required": ["name", "schema"],
    "additionalProperties": False,
    "properties": {
        "name": _NAME,
        "errors_in_name": {"type": "boolean"},  # the kit appends ajv.errorsText() to the name
        "each": {"type": "boolean"},  # each instance of a non-empty array answer, else the whole body
        "otherwise": {"type": "boolean"},  # the whole body where the answer is no non-empty array (the kit's else branch)
        "error_checks": {"type": "boolean"},  # each ajv error is a failed check named by its JSON
        "all_errors": {"type": "boolean"},
        "json_pointers": {"type": "boolean"},
        "schema": {"type": "object"},
    },
}
# A kit's own check of the JSON type of the value at a path of the answer (keys and array indexes); ``present``: made
# only where the answer has the path's first attribute.
_TYPED_AT = {
    "type": "object",
    "required": ["path", "type"],
    "additionalProperties": False,
    "properties": {"path": {"type": "array", "minItems": 1, "items": {"type": ["string", "integer"]}},
                   "type": {"enum": list(JSON_TYPES)}, "present": {"const": True}},
}
# Checks a kit makes only where the answer holds a value (``if``): that the body includes the answer's value at a path.
_INCLUDES_IF = {
    "type": "object",
    "required": ["if", "includes"],
    "additionalProperties": False,
    "properties": {"if": {"type": "object", "minProperties": 1},
                   "includes": {"type": "object", "minProperties": 1, "additionalProperties": _NAME}},
}
_TYPES = {"type": "object", "additionalProperties": {"enum": list(JSON_TYPES)}}
# The kit's "at least one of" these attributes, checked in its mandatory check, each one found typed by a check
# nested in it: ``present`` found among the instance's keys, ``set`` by a value JavaScript takes as true.
_ONE_OF = {"type": "object", "additionalProperties": False,
           "properties": {"present": _TYPES, "set": _TYPES}}
_STEP = {
    "oneOf": [
        _REQUEST,
        {
            "type": "object",
            "required": ["do"],
            "additionalProperties": False,
            "properties": {
                "do": _REQUEST,
                "folder": {"type": "string", "pattern": "^[NE][0-9]$"},
                "name": _NAME,
                "status": _STATUSES,
                "rename": {"type": "object", "additionalProperties": _NAME},
                "quote": {"enum": ["none", "name", "both", "double"]},
                "selection": {"enum": [True, False, "must"]},
                "hold": {"enum": ["first", "last"]},
                "fields": _NAME,
                "instance_checks": {"type": "boolean"},
                "values": _NAMES,
                "body": {},
                "typed": {"type": "object", "additionalProperties": {"enum": list(JSON_TYPES)}},
                "includes": _NAMES,
                "mandatory": _NAMES,
                "expect": {"type": "object", "additionalProperties": {"type": "object", "minProperties": 1}},
                "instances": {"enum": ["every", "items", "items_or_one", "items_else_array", "one", "first"]},
                "when": _WHEN,
                "one_of": _ONE_OF,
                "single": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"typed": {"type": "object", "additionalProperties": {"enum": list(JSON_TYPES)}},
                                   "includes": _NAMES, "mandatory": _NAMES, "when": _WHEN, "one_of": _ONE_OF,
                                   "rename": {"type": "object", "additionalProperties": _NAME}},
                },
                "valid": {"type": "array", "items": _VALID},
                "typed_at": {"type": "object", "additionalProperties": _TYPED_AT},
                "includes_if": {"type": "array", "items": _INCLUDES_IF},
                "unset_values": _NAMES,
                "reads": _NAMES,
                "accepted": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                             "properties": {"header": _NAME, "body": _NAME}},
                "routed": {"type": "boolean"},
                "holds": _NAMES,
                "until": {"type": "object", "minProperties": 1, "maxProperties": 1},
                "tries": {"type": "integer", "minimum": 1, "maximum": 1000},
                "wait": {"type": "number", "minimum": 0, "maximum": 60},
                "give_up": _NAME,
                "then": _NAME,
                "ends_on": _STATUSES,
                "goes_to": {"type": "object", "additionalProperties": {"type": "array", "items": {
                    "oneOf": [_STATUSES["items"], {"type": "object", "minProperties": 1}]}}},
                "only_on": {"type": "object", "additionalProperties": _STATUSES},
            },
        },
    ]
}
DECLARATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["api", "collection", "resources"],
    "additionalProperties": False,
    "properties": {
        "api": {"enum": list(tmfapis.API_IDS)},
        "collection": _NAME,
        "resources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["resource", "title", "code", "typed", "held", "mandatory", "payload_schema", "payloads", "steps"],
                "additionalProperties": False,
                "properties": {
                    "resource": _NAME,
                    "title": _NAME,
                    "code": {"type": "string", "pattern": "^[A-Z]{2,6}$"},
                    "under": _NAME,
                    "each_payload": {"type": "boolean"},
                    "by_type": {"type": "object", "additionalProperties": {
                        "type": "object", "additionalProperties": {"enum": list(JSON_TYPES)}}},
                    "typed": {"type": "object", "additionalProperties": {"enum": list(JSON_TYPES)}},
                    "held": _NAMES,
                    "includes": _NAMES,
                    "held_at": {"type": "object", "additionalProperties": _NAME},
                    "compared": _NAMES,
                    "mandatory": _NAMES,
                    "when": _WHEN,
                    "one_of": _ONE_OF,
                    "any_of": {"type": "object", "additionalProperties": {"type": "array", "minItems": 1, "items": _NAME}},
                    "typed_if_truthy": _NAMES,
                    "payload_schema": {"type": "object"},
                    "profile_mandatory": _NAMES,
                    "payloads": {"type": "array", "maxItems": 9, "items": {"type": "object"}},
                    "steps": {"type": "array", "minItems": 1, "items": _STEP},
                },
            },
        },
    },
}

Kind = Literal["start", "create", "reject", "list", "retrieve", "fields", "filter", "patch", "delete", "gone", "missing",
               "poll"]
DEFAULT_STATUS: dict[str, tuple[int, ...]] = {
    "create": (201,), "reject": (400,), "list": (200,), "retrieve": (200,), "filter": (200,), "patch": (200,),
    "delete": (204,), "gone": (404,), "missing": (404,), "fields": (), "start": (), "poll": (),
}
INSTANCE_CHECKING: tuple[str, ...] = ("create", "list", "retrieve", "filter", "poll")  # kinds checking the instances
DEFAULT_FOLDER: dict[str, str] = {
    "start": "N0", "create": "N1", "list": "N1", "retrieve": "N1", "missing": "E1", "reject": "E2", "poll": "N1",
}  # else N2


@dataclass(frozen=True, slots=True)
class PatchStep:
    """The kit's PATCH of an instance: the body sent and the attributes whose values it compares."""

    body: Mapping[str, Any]
    compared: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """The kit's ajv validation of an answer against a schema its test script writes out, with its ajv options."""

    name: str
    schema: Mapping[str, Any]
    errors_in_name: bool = False  # the check is named ``name + ajv.errorsText()``
    each: bool = False  # each instance of a non-empty array answer is validated, else the whole body
    # the whole body is validated where the answer is no non-empty array (the kit's else branch; with ``each``: beside it)
    otherwise: bool = False
    error_checks: bool = False  # each ajv error is also a failed check named ``JSON.stringify(error)``
    all_errors: bool = False
    json_pointers: bool = False


@dataclass(frozen=True, slots=True)
class TypedAt:
    """The kit's own check that the answer holds a value of a JSON type at a path (``orderItem[0].state``)."""

    path: tuple[str | int, ...]
    type: str
    present: bool = False  # made only where the answer has the path's first attribute


@dataclass(frozen=True, slots=True)
class IncludesIf:
    """Checks the kit makes only where the answer holds the given values (dotted paths): that the body text includes
    the answer's own value at a path, each check named by the kit."""

    when: Mapping[str, Any]
    includes: Mapping[str, str]  # check name -> dotted path


@dataclass(frozen=True, slots=True)
class Step:
    """One kit request of a resource, in the kit's order; what is not given follows the template."""

    kind: Kind
    attribute: str | None = None
    instance: int = 0  # the created instance (1-based) the request is about; 0 for none
    folder: str | None = None
    name: str | None = None  # the kit's own request name, where it departs from ``/<title><suffix>``
    status: tuple[int, ...] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)  # the kit's own names of template checks
    # where the kit wrapped the value in quotes: in the name only, in name and URL, in the URL in double quotes
    quote: Literal["none", "name", "both", "double"] = "none"
    # a field selection checks that the instances hold only id, href and the attribute ("must": at least these)
    selection: bool | Literal["must"] = False
    fields: str | None = None  # a filter's field selection, sent as ``&fields=<fields>``
    hold: Literal["first", "last"] | None = None  # a list whose first (last) instance is instance 01 (none created)
    values: tuple[str, ...] | None = None  # the value checks made, where they depart from the resource's
    # whether the request checks the answer's instances (mandatory, typed, included), where not as its kind does
    instance_checks: bool | None = None
    # the instance checks, where they depart from the create's
    typed: Mapping[str, str] | None = None
    includes: tuple[str, ...] | None = None
    mandatory: tuple[str, ...] | None = None
    patch: PatchStep | None = None
    body: Any = None  # what a reject step posts: a payload the server must refuse
    expect: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # named checks: attribute equals value
    # which instances of a list answer get the instance checks: every item (an empty array or an object judged
    # as one instance), only the items of an array (a kit script without an else branch: an empty array or an
    # object gets none), or the items of an array, an empty one getting none, and any other answer judged as one
    # instance (a script whose array branch takes every array, ``if (Array.isArray(jsonData))``), the items of a
    # non-empty array, any other answer getting the kit's ``Array expected as response`` instead (an empty array
    # passes it), the first item alone (``instance = jsonData[0]``: an object or an empty array leaves it none, and
    # every check fails), or the whole answer as one instance, an array too (a script with no branch for an array)
    instances: Literal["every", "items", "items_or_one", "items_else_array", "one", "first"] = "every"
    when: Mapping[str, Mapping[str, Any]] | None = None  # the conditional attributes, where they depart from the create's
    one_of: Mapping[str, Mapping[str, str]] | None = None  # the "at least one of" attributes, where they depart
    # the instance checks of an answer that is no non-empty array (the kit's else branch), where they depart from the
    # items': typed, includes, mandatory, when, and the names of its checks (rename)
    single: Mapping[str, Any] = field(default_factory=dict)
    valid: tuple[SchemaCheck, ...] = ()  # the kit's ajv checks against schemas of its own
    typed_at: Mapping[str, TypedAt] = field(default_factory=dict)  # named checks: the value at a path has a JSON type
    includes_if: tuple[IncludesIf, ...] = ()  # named checks made where the answer holds a value
    # the kit's value checks of an instance it never creates, made on an answer instance without id (``<attr> is
    # undefined``): those of a dotted attribute fail where its parent is absent
    unset_values: tuple[str, ...] = ()
    # the dotted paths a create's script reads before and while it keeps values: where a parent on the way is absent,
    # its script stops there and the variables it would keep after it stay unset; a list the kit holds instance 01
    # from reads them of each instance, and checks neither the instance where it stops nor the later ones
    reads: tuple[str, ...] = ()
    accepted: Mapping[str, str] | None = None  # on a 202 answer, where the monitor id is: {"header": name} or {"body": name}
    routed: bool = False  # reached only on the kit's asynchronous route
    holds: tuple[str, ...] = ()  # attributes a read keeps from its answer (a list's: its last item) for later requests
    until: Mapping[str, Any] | None = None  # a poll's end: the attribute's value saying the work is done
    tries: int = 1
    wait: float = 0.0
    give_up: str | None = None  # the check a poll fails when the value never came
    then: str | None = None  # the request (its kit name) the route goes to after the poll
    ends_on: tuple[int, ...] = ()  # the statuses on which the kit's run ends after this request
    # a later request's name -> the statuses and the answer's values ({attribute: value}) on which the run goes there
    goes_to: Mapping[str, tuple[int | Mapping[str, Any], ...]] = field(default_factory=dict)
    only_on: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # check name -> the only statuses it is made on

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if self.status is not None else DEFAULT_STATUS[self.kind]


@dataclass(frozen=True, slots=True)
class ResourceSuite:
    """The kit template's parameters for one resource."""

    api_id: str
    resource: str
    title: str
    code: str
    typed: Mapping[str, str]
    held: tuple[str, ...]  # the attributes the kit's create keeps in variables
    mandatory: tuple[str, ...]
    payloads: tuple[Mapping[str, Any], ...]
    steps: tuple[Step, ...]
    payload_schema: Mapping[str, Any] = field(default_factory=dict)  # the kit's, as harness.ctk.derive reduced it
    profile_mandatory: tuple[str, ...] = ()  # the Conformance Profile's mandatory response attributes
    includes: tuple[str, ...] = ()  # "Body includes value held on <attr>"
    compared: tuple[str, ...] = ()  # "<attr> is <value>", where the kit compares them
    held_at: Mapping[str, str] = field(default_factory=dict)  # the dotted path of a value the kit names otherwise
    # attributes the kit requires (and type-checks, where typed) only on instances meeting a condition
    when: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # the kit's "at least one of" attributes ({"present": {attribute: type}, "set": {...}}), in its mandatory check
    one_of: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    any_of: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # named checks: the instance has one of these
    typed_if_truthy: tuple[str, ...] = ()  # typed attributes the kit checks only where the value is truthy (``if (x)``)

    def path(self, attribute: str) -> tuple[str, ...]:
        """Where the kit reads ``attribute`` in an instance: ``account.id`` is nested, and so is what ``held_at`` names."""
        return tuple(self.held_at.get(attribute, attribute).split("."))
    under: str | None = None  # the resource under whose instance 01 the kit reads this one (``a/{id}/b``)
    each_payload: bool = False  # the kit runs the steps once per payload, each creating instance 01 anew
    by_type: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # per @type, further typed mandatory attributes

    @property
    def instances(self) -> int:
        """The instances later requests use: the created ones, or the one a list holds where none is created."""
        if self.each_payload:
            return 1
        return len(self.payloads) or int(any(step.hold for step in self.steps))

    @property
    def filtered(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.attribute for step in self.steps if step.kind == "filter" and step.attribute))

    @property
    def kept(self) -> tuple[str, ...]:
        """Every attribute whose created value a later request uses."""
        return tuple(dict.fromkeys((*self.held, *self.includes, *self.compared, *self.filtered)))

    def variable(self, attribute: str, instance: int) -> str:
        """The kit's variable name, ``IDCU01`` for attribute ``id`` of instance 1."""
        return kit_variable(attribute, self.code, instance)

    def with_payloads(self, payloads: tuple[Mapping[str, Any], ...]) -> ResourceSuite:
        return replace(self, payloads=payloads)

    def completed(self, payloads: tuple[Mapping[str, Any], ...]) -> tuple[Mapping[str, Any], ...]:
        """One payload per created instance: those given, then for each missing one the first given with this
        declaration's own values of the filtered attributes, so a filter still tells the instances apart."""
        if not payloads or len(payloads) >= len(self.payloads) or self.each_payload:
            return payloads
        first = payloads[0]
        return (*payloads, *({**first, **{name: own[name] for name in self.filtered if name in own}}
                             for own in self.payloads[len(payloads):]))


@dataclass(frozen=True, slots=True)
class SuiteDeclaration:
    """One CTK port: its API, the kit collection it reproduces and its resources in kit order."""

    api_id: str
    collection: str
    resources: tuple[ResourceSuite, ...]
    path: Path

    def resource(self, name: str) -> ResourceSuite:
        return next(suite for suite in self.resources if suite.resource == name)


def kit_variable(attribute: str, code: str, instance: int) -> str:
    """The kit's variable name, ``IDCU01`` for attribute ``id``, code ``CU``, instance 1."""
    return f"{attribute.upper()}{code}{instance:02d}"


def _where(path: Path, location: Any) -> str:
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    return f"{path}: {key or 'top level'}"


def load_declaration(path: Path) -> SuiteDeclaration:
    """Read and validate one suite declaration; raise ``DeclarationError`` naming file and key.

    A file is parsed and validated once per text: the run's settings and its collection read the same files."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeclarationError(f"{path}: cannot read the suite declaration: {exc}") from None
    return _declaration(path, text)


@lru_cache(maxsize=256)
def _declaration(path: Path, text: str) -> SuiteDeclaration:
    cached = _cache_file(text)
    data = _cached_data(cached)
    validated = data is not None
    if data is None:
        data = _validated_data(path, text)
    api = tmfapis.api(data["api"])
    resources: list[ResourceSuite] = []
    for index, entry in enumerate(data["resources"]):
        resources.append(_resource(path, api, index, entry, validated=validated))
        if resources[-1].under not in (None, *(earlier.resource for earlier in resources[:-1])):
            raise DeclarationError(f"{_where(path, ('resources', index, 'under'))}: {resources[-1].under!r} is not a "
                                   "resource declared before this one")
    if not validated:
        _keep(cached, data)
    return SuiteDeclaration(data["api"], data["collection"], tuple(resources), path)


def _validated_data(path: Path, text: str) -> Any:
    import jsonschema  # neither is needed for a declaration read from the cache
    import yaml

    try:  # libyaml's loader where PyYAML has it: the same documents, read several times faster
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise DeclarationError(f"{path}: cannot read the suite declaration: {exc}") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(DECLARATION_SCHEMA).iter_errors(data))
    if error is not None:
        raise DeclarationError(f"{_where(path, error.absolute_path)}: {error.message}")
    return data


# A declaration found valid is kept as JSON under a key of its text and of this module's rules: read again, it is
# neither parsed as YAML nor validated by jsonschema (most of what collecting the suites costs).
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tmf-ctk" / "declarations"
RULES = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _cache_file(text: str) -> Path:
    return CACHE_DIR / f"{hashlib.sha256(f'{RULES}{text}'.encode()).hexdigest()}.json"


def _cached_data(cached: Path) -> Any:
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _keep(cached: Path, data: Any) -> None:
    """Keep a valid declaration's data for the next run, where it is plain JSON and a cache can be written."""
    if json.loads(json.dumps(data, default=str)) != data:
        return
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=CACHE_DIR, delete=False) as out:
            json.dump(data, out)
        os.replace(out.name, cached)  # whole or not at all, also with runs side by side
    except OSError:
        pass


def _resource(path: Path, api: tmfapis.Api, index: int, entry: dict[str, Any], *, validated: bool) -> ResourceSuite:
    at = ("resources", index)
    if entry["resource"] not in api.resources:
        raise DeclarationError(
            f"{_where(path, (*at, 'resource'))}: {entry['resource']!r} is not a resource of {api.id} "
            f"(known: {', '.join(api.resources)})"
        )
    typed = dict(entry["typed"])
    held = tuple(entry["held"])
    steps = tuple(_step(path, (*at, "steps", position), raw) for position, raw in enumerate(entry["steps"]))
    if not validated:
        import jsonschema

        try:
            jsonschema.Draft7Validator.check_schema(entry["payload_schema"])
        except jsonschema.SchemaError as exc:
            raise DeclarationError(f"{_where(path, (*at, 'payload_schema'))}: not a JSON schema: {exc.message}") from None
    suite = ResourceSuite(
        api_id=api.id,
        resource=entry["resource"],
        title=entry["title"],
        code=entry["code"],
        typed=typed,
        held=held,
        mandatory=tuple(entry["mandatory"]),
        payloads=(),
        steps=steps,
        payload_schema=entry["payload_schema"],
        profile_mandatory=tuple(entry.get("profile_mandatory", ())),
        includes=tuple(entry.get("includes", held)),
        compared=tuple(entry.get("compared", held)),
        held_at=dict(entry.get("held_at", {})),
        when=dict(entry.get("when", {})),
        one_of=dict(entry.get("one_of", {})),
        any_of={name: tuple(attributes) for name, attributes in entry.get("any_of", {}).items()},
        typed_if_truthy=tuple(entry.get("typed_if_truthy", ())),
        under=entry.get("under"),
        each_payload=entry.get("each_payload", False),
        by_type=entry.get("by_type", {}),
    )
    creates = sorted(step.instance for step in steps if step.kind == "create")
    payloads = tuple(entry["payloads"])
    if creates != list(range(1, (1 if suite.each_payload and payloads else len(payloads)) + 1)):
        raise DeclarationError(
            f"{_where(path, (*at, 'payloads'))}: {len(payloads)} payloads, but the steps create instances {creates}"
        )
    known = len(payloads) or int(any(step.hold for step in steps))
    for position, step in enumerate(steps):
        if step.instance > known and step.kind != "create":
            raise DeclarationError(f"{_where(path, (*at, 'steps', position))}: instance {step.instance} is never created")
        if step.kind in ("poll", "missing") and step.attribute and step.attribute not in api.resources:
            raise DeclarationError(f"{_where(path, (*at, 'steps', position))}: {step.attribute!r} is not a resource of {api.id}")
    problem = None if validated else payload_problem(suite, payloads)
    if problem:
        raise DeclarationError(f"{_where(path, (*at, 'payloads'))}: {problem}")
    return suite.with_payloads(payloads)


def _step(path: Path, at: tuple[Any, ...], raw: Any) -> Step:
    options: dict[str, Any] = {"do": raw} if isinstance(raw, str) else dict(raw)
    kind, *words = options.pop("do").split()
    numbers = [int(word) for word in words if word.isdigit()]
    names = [word for word in words if not word.isdigit()]
    takes_attribute = kind in ("fields", "filter", "poll")
    names_allowed = (1,) if takes_attribute else (0, 1) if kind == "missing" else (0,)
    if len(names) not in names_allowed or len(numbers) > 1:
        shape = {"poll": "poll RESOURCE", "missing": "missing [RESOURCE]"}.get(
            kind, f"{kind} ATTRIBUTE [INSTANCE]" if takes_attribute else f"{kind} [INSTANCE]")
        raise DeclarationError(f"{_where(path, at)}: expected {shape!r}, got {' '.join([kind, *words])!r}")
    if (kind == "poll") != ("until" in options):
        raise DeclarationError(f"{_where(path, at)}: a poll says until which value it polls, other steps do not")
    # a field selection of one instance (``fields state 1``) reads it by id; without a number, the collection
    instance = numbers[0] if numbers else (0 if kind in ("start", "list", "fields", "missing", "reject", "poll") else 1)
    body, values = options.pop("body", None), options.pop("values", None)
    patch = None
    if (body is None) == (kind in ("patch", "reject")):
        raise DeclarationError(f"{_where(path, at)}: a patch and a reject have a body, other steps none")
    if kind == "patch":
        patch = PatchStep(dict(body), tuple(values or ()))
    lists: dict[str, Any] = {key: tuple(options.pop(key)) for key in ("status", "includes", "mandatory", "unset_values",
                                                                    "reads", "holds", "ends_on") if key in options}
    for key in ("goes_to", "only_on"):
        if key in options:
            options[key] = {name: tuple(statuses) for name, statuses in options[key].items()}
    valid = tuple(SchemaCheck(**entry) for entry in options.pop("valid", ()))
    typed_at = {name: TypedAt(tuple(entry["path"]), entry["type"], entry.get("present", False))
                for name, entry in options.pop("typed_at", {}).items()}
    includes_if = tuple(IncludesIf(entry["if"], entry["includes"]) for entry in options.pop("includes_if", ()))
    for check in valid:
        if unknown := unknown_keywords(check.schema):
            raise DeclarationError(f"{_where(path, (*at, 'valid'))}: keywords {', '.join(unknown)} are not known to the "
                                   f"ajv checks (known: {', '.join(KEYWORDS)})")
    return Step(
        kind=kind,
        attribute=names[0] if names else None,
        instance=instance,
        values=None if values is None or patch else tuple(values),
        patch=patch,
        body=body if kind == "reject" else None,
        valid=valid,
        typed_at=typed_at,
        includes_if=includes_if,
        **lists,
        **options,
    )


def payload_problem(suite: ResourceSuite, payloads: tuple[Mapping[str, Any], ...]) -> str | None:
    """Why these payloads cannot be used for ``suite`` (kit schema, instance count, distinct filter values), or None.

    One payload per resource is enough: the further instances are derived from it (``ResourceSuite.completed``).

    As the kit's launcher did, a payload is validated against the kit's own payload schema; what the
    OpenAPI ``_Create`` requires beyond it is the spec tier's to report (``checks.payload_conforms``).
    """
    if len(payloads) > len(suite.payloads) and suite.payloads and not suite.each_payload:
        return (f"{suite.resource} takes at most {len(suite.payloads)} payloads (one per instance the kit creates; "
                f"one is enough), got {len(payloads)}")
    import jsonschema

    payloads = suite.completed(payloads)
    validator = jsonschema.Draft7Validator(suite.payload_schema)
    for number, payload in enumerate(payloads, start=1):
        if not isinstance(payload, Mapping):
            return f"payload {number:02d} of {suite.resource} must be a JSON object"
        error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
            return f"payload {number:02d} of {suite.resource} does not fit the kit's schema: {where}: {error.message}"
    for attribute in () if suite.each_payload else suite.filtered:  # one instance at a time: nothing to tell apart
        values = [payload.get(attribute) for payload in payloads]
        sent = [value for value in values if value is not None]
        if len(sent) != len(set(map(repr, sent))):
            return (
                f"payloads of {suite.resource} must differ on the filtered attribute {attribute!r} "
                "so a filter can tell the instances apart"
            )
    return None
