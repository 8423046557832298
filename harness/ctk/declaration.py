"""Suite declarations: what differs between the five CTK ports, loaded from ``suites/*/ctk*.yaml``.

A declaration names the API, the kit collection and, per resource, the kit's API code, the typed
and held attributes, the default payloads (one per instance the kit creates) and the N2 steps in
the kit's order. Everything else (N1, E1, checks, variables) is the engine's template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

import tmfapis
from harness.errors import DeclarationError

__all__ = [
    "DEFAULT_FOLDER", "DEFAULT_STATUS", "INSTANCE_CHECKING", "DeclarationError", "Kind", "PatchStep", "ResourceSuite", "Step", "SuiteDeclaration",
    "kit_variable", "load_declaration",
]

JsonType = Literal["string", "array", "object", "number", "boolean"]
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "array": list,
    "object": dict,
    "number": (int, float),
    "boolean": bool,
}

_NAME = {"type": "string", "minLength": 1}
_NAMES = {"type": "array", "items": _NAME}
_STATUSES = {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}}
# One kit request: "<kind> [attribute] [instance]" (``create 1``, ``filter name 2``, ``missing``; ``start`` is the
# kit's routing request to www.example.com, which checks nothing and is not sent), alone or as
# ``do`` with what departs from the template: the kit's folder, name, statuses, its own names for template
# checks, a quoted filter value, a field selection's checks, the typed, included, mandatory attributes and
# value checks where the request's differ from the create's, a PATCH body, checks of one attribute's value.
# ``poll RESOURCE`` is the kit's request sent again until the answer says the work is done (``until``), at most
# ``tries`` times ``wait`` seconds apart; ``missing RESOURCE`` reads an unknown id of another resource at the root.
# The kit's asynchronous route: a request ``accepted`` with 202 keeps the monitor id from a header or the body and
# goes to the poll; the requests only that route reaches are ``routed`` (not run where no request answered 202).
_REQUEST = {
    "type": "string", "pattern": r"^(start|create|reject|list|retrieve|fields|filter|patch|delete|gone|missing|poll)( \S+)*$"
}
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
                "accepted": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                             "properties": {"header": _NAME, "body": _NAME}},
                "routed": {"type": "boolean"},
                "holds": _NAMES,
                "unchecked_empty": {"type": "boolean"},
                "otherwise": {"type": "object", "additionalProperties": False, "properties": {
                    "rename": {"type": "object", "additionalProperties": _NAME}, "mandatory": _NAMES}},
                "until": {"type": "object", "minProperties": 1, "maxProperties": 1},
                "tries": {"type": "integer", "minimum": 1, "maximum": 1000},
                "wait": {"type": "number", "minimum": 0, "maximum": 60},
                "give_up": _NAME,
                "then": _NAME,
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
                    "compared": _NAMES,
                    "mandatory": _NAMES,
                    "payload_schema": {"type": "object"},
                    "profile_mandatory": _NAMES,
                    "payloads": {"type": "array", "maxItems": 9, "items": {"type": "object"}},
                    "steps": {"type": "array", "minItems": 1, "items": _STEP},
                },
            },
        },
    },
}
DECLARATION_VALIDATOR = jsonschema.Draft7Validator(DECLARATION_SCHEMA)
# libyaml's loader where PyYAML has it: the same documents, read several times faster.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
    accepted: Mapping[str, str] | None = None  # on a 202 answer, where the monitor id is: {"header": name} or {"body": name}
    routed: bool = False  # reached only on the kit's asynchronous route
    holds: tuple[str, ...] = ()  # attributes a read by id keeps from its answer for later requests
    unchecked_empty: bool = False  # an empty list answer gets no instance check, as the kit's script makes none
    # the mandatory check of an answer that is no non-empty list, where the kit's other branch departs from this step's
    # own: its name and attributes, over the create's
    otherwise: Mapping[str, Any] | None = None
    until: Mapping[str, Any] | None = None  # a poll's end: the attribute's value saying the work is done
    tries: int = 1
    wait: float = 0.0
    give_up: str | None = None  # the check a poll fails when the value never came
    then: str | None = None  # the request (its kit name) the route goes to after the poll

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
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise DeclarationError(f"{path}: cannot read the suite declaration: {exc}") from None
    error = jsonschema.exceptions.best_match(DECLARATION_VALIDATOR.iter_errors(data))
    if error is not None:
        raise DeclarationError(f"{_where(path, error.absolute_path)}: {error.message}")
    api = tmfapis.api(data["api"])
    resources: list[ResourceSuite] = []
    for index, entry in enumerate(data["resources"]):
        resources.append(_resource(path, api, index, entry))
        if resources[-1].under not in (None, *(earlier.resource for earlier in resources[:-1])):
            raise DeclarationError(f"{_where(path, ('resources', index, 'under'))}: {resources[-1].under!r} is not a "
                                   "resource declared before this one")
    return SuiteDeclaration(data["api"], data["collection"], tuple(resources), path)


def _resource(path: Path, api: tmfapis.Api, index: int, entry: dict[str, Any]) -> ResourceSuite:
    at = ("resources", index)
    if entry["resource"] not in api.resources:
        raise DeclarationError(
            f"{_where(path, (*at, 'resource'))}: {entry['resource']!r} is not a resource of {api.id} "
            f"(known: {', '.join(api.resources)})"
        )
    typed = dict(entry["typed"])
    held = tuple(entry["held"])
    steps = tuple(_step(path, (*at, "steps", position), raw) for position, raw in enumerate(entry["steps"]))
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
    problem = payload_problem(suite, payloads)
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
    lists: dict[str, Any] = {key: tuple(options.pop(key)) for key in ("status", "includes", "mandatory", "holds")
                             if key in options}
    return Step(
        kind=kind,
        attribute=names[0] if names else None,
        instance=instance,
        values=None if values is None or patch else tuple(values),
        patch=patch,
        body=body if kind == "reject" else None,
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
