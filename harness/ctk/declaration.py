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
    "DeclarationError", "PatchStep", "ResourceSuite", "Step", "SuiteDeclaration", "create_deviation", "load_declaration",
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
_STEP = {
    "oneOf": [
        {"enum": ["delete", "gone"]},
        {
            "type": "object",
            "required": ["fields"],
            "additionalProperties": False,
            "properties": {"fields": _NAME, "check_status": {"type": "boolean"}},
        },
        {
            "type": "object",
            "required": ["filter"],
            "additionalProperties": False,
            "properties": {"filter": _NAME, "quote": {"enum": ["none", "name", "both"]}},
        },
        {
            "type": "object",
            "required": ["patch"],
            "additionalProperties": False,
            "properties": {
                "patch": {
                    "type": "object",
                    "required": ["body", "typed", "compared"],
                    "additionalProperties": False,
                    "properties": {
                        "body": {"type": "object", "minProperties": 1},
                        "typed": {"type": "array", "items": _NAME},
                        "compared": {"type": "array", "items": _NAME},
                    },
                }
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
                    "code": {"type": "string", "pattern": "^[A-Z]{2}$"},
                    "typed": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {"enum": list(JSON_TYPES)},
                    },
                    "held": {"type": "array", "minItems": 1, "items": _NAME},
                    "mandatory": {"type": "array", "minItems": 1, "items": _NAME},
                    "payload_schema": {"type": "object"},
                    "profile_mandatory": {"type": "array", "items": _NAME},
                    "payloads": {"type": "array", "minItems": 1, "maxItems": 9, "items": {"type": "object"}},
                    "steps": {"type": "array", "items": _STEP},
                    "list_compares_values": {"type": "boolean"},
                },
            },
        },
    },
}
DECLARATION_VALIDATOR = jsonschema.Draft7Validator(DECLARATION_SCHEMA)
# libyaml's loader where PyYAML has it: the same documents, read several times faster.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class PatchStep:
    """The kit's PATCH of instance 01: the body sent and the subsets of attributes it checks."""

    body: Mapping[str, Any]
    typed: tuple[str, ...]
    compared: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One N2 step: ``fields``, ``filter`` (run once per instance), ``delete``, ``gone`` or ``patch``."""

    kind: Literal["fields", "filter", "delete", "gone", "patch"]
    attribute: str | None = None
    check_status: bool = False  # the TMF629 kit checks the status code of some field selections
    quote: Literal["none", "name", "both"] = "none"  # where the kit wrapped the value in quotes
    patch: PatchStep | None = None


@dataclass(frozen=True, slots=True)
class ResourceSuite:
    """The kit template's parameters for one resource."""

    api_id: str
    resource: str
    title: str
    code: str
    typed: Mapping[str, str]
    held: tuple[str, ...]
    mandatory: tuple[str, ...]
    payloads: tuple[Mapping[str, Any], ...]
    steps: tuple[Step, ...]
    list_compares_values: bool = False  # whether the kit's N1 list makes the "<attr> is <value>" checks
    payload_schema: Mapping[str, Any] = field(default_factory=dict)  # the kit's, as harness.ctk.derive reduced it
    profile_mandatory: tuple[str, ...] = ()  # the Conformance Profile's mandatory response attributes

    @property
    def instances(self) -> int:
        return len(self.payloads)

    @property
    def filtered(self) -> tuple[str, ...]:
        return tuple(step.attribute for step in self.steps if step.kind == "filter" and step.attribute)

    def variable(self, attribute: str, instance: int) -> str:
        """The kit's variable name, ``IDCU01`` for attribute ``id`` of instance 1."""
        return f"{attribute.upper()}{self.code}{instance:02d}"

    def with_payloads(self, payloads: tuple[Mapping[str, Any], ...]) -> ResourceSuite:
        return replace(self, payloads=payloads)


@dataclass(frozen=True, slots=True)
class SuiteDeclaration:
    """One CTK port: its API, the kit collection it reproduces and its resources in kit order."""

    api_id: str
    collection: str
    resources: tuple[ResourceSuite, ...]
    path: Path

    def resource(self, name: str) -> ResourceSuite:
        return next(suite for suite in self.resources if suite.resource == name)


def create_deviation(suite: ResourceSuite, payload: Mapping[str, Any]) -> str | None:
    """Where a payload the kit accepts lacks what the OpenAPI ``_Create`` requires (a deviation of the payload), or None."""
    create = tmfapis.api(suite.api_id).resources[suite.resource].create_schema
    error = jsonschema.exceptions.best_match(tmfapis.schema_validator(suite.api_id, create).iter_errors(payload))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    return f"the payload is not a valid {create}: {where}: {error.message}"


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
    resources = []
    for index, entry in enumerate(data["resources"]):
        resources.append(_resource(path, api, index, entry))
    return SuiteDeclaration(data["api"], data["collection"], tuple(resources), path)


def _resource(path: Path, api: tmfapis.Api, index: int, entry: dict[str, Any]) -> ResourceSuite:
    at = ("resources", index)
    if entry["resource"] not in api.resources:
        raise DeclarationError(
            f"{_where(path, (*at, 'resource'))}: {entry['resource']!r} is not a resource of {api.id} "
            f"(known: {', '.join(api.resources)})"
        )
    typed = dict(entry["typed"])
    for position, attribute in enumerate(entry["held"]):
        if attribute not in typed:
            raise DeclarationError(f"{_where(path, (*at, 'held', position))}: {attribute!r} is not a typed attribute")
    steps = tuple(_step(path, (*at, "steps", position), typed, raw) for position, raw in enumerate(entry["steps"]))
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
        held=tuple(entry["held"]),
        mandatory=tuple(entry["mandatory"]),
        payloads=(),
        steps=steps,
        list_compares_values=entry.get("list_compares_values", False),
        payload_schema=entry["payload_schema"],
        profile_mandatory=tuple(entry.get("profile_mandatory", ())),
    )
    payloads = tuple(entry["payloads"])
    problem = payload_problem(suite, payloads)
    if problem:
        raise DeclarationError(f"{_where(path, (*at, 'payloads'))}: {problem}")
    return suite.with_payloads(payloads)


def _step(path: Path, at: tuple[Any, ...], typed: dict[str, str], raw: Any) -> Step:
    if raw in ("delete", "gone"):
        return Step(kind=raw)
    if "patch" in raw:
        patch = raw["patch"]
        for key in ("typed", "compared"):
            for position, attribute in enumerate(patch[key]):
                if attribute not in typed:
                    raise DeclarationError(
                        f"{_where(path, (*at, 'patch', key, position))}: {attribute!r} is not a typed attribute"
                    )
        return Step(kind="patch", patch=PatchStep(dict(patch["body"]), tuple(patch["typed"]), tuple(patch["compared"])))
    kind: Literal["fields", "filter"] = "fields" if "fields" in raw else "filter"
    attribute = raw[kind]
    if attribute not in typed:
        raise DeclarationError(f"{_where(path, (*at, kind))}: {attribute!r} is not a typed attribute")
    return Step(kind=kind, attribute=attribute, check_status=raw.get("check_status", False), quote=raw.get("quote", "none"))


def payload_problem(suite: ResourceSuite, payloads: tuple[Mapping[str, Any], ...]) -> str | None:
    """Why these payloads cannot be used for ``suite`` (kit schema, instance count, distinct filter values), or None.

    As the kit's launcher did, a payload is validated against the kit's own payload schema; what the
    OpenAPI ``_Create`` requires beyond it is the spec tier's to report (``create_deviation``).
    """
    if len(payloads) != suite.instances and suite.payloads:
        return f"{suite.resource} needs {suite.instances} payloads (one per instance the kit creates), got {len(payloads)}"
    validator = jsonschema.Draft7Validator(suite.payload_schema)
    for number, payload in enumerate(payloads, start=1):
        if not isinstance(payload, Mapping):
            return f"payload {number:02d} of {suite.resource} must be a JSON object"
        error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
            return f"payload {number:02d} of {suite.resource} does not fit the kit's schema: {where}: {error.message}"
    for attribute in suite.filtered:
        values = [payload.get(attribute) for payload in payloads]
        sent = [value for value in values if value is not None]
        if len(sent) != len(set(map(repr, sent))):
            return (
                f"payloads of {suite.resource} must differ on the filtered attribute {attribute!r} "
                "so a filter can tell the instances apart"
            )
    return None
