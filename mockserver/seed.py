"""Seed files: JSON or YAML ``{<api id>: {<resource>: [instances...]}}``, validated like creates.

A seed instance may carry its own ``id`` (kept) but never an ``href`` (the server sets it). Seeds
fill only collections that are empty when the server starts, so a journal is never duplicated.
Seeding a ``cancelProductOrder`` records it without cancelling any order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

import tmfapis
from mockserver.resources import completed, rules_for

__all__ = ["SeedError", "SeedInstances", "load_seed", "quick_check"]

SeedInstances = dict[tuple[str, str], list[dict[str, Any]]]


class SeedError(ValueError):
    """The seed file cannot be used; the message says which file and what to fix."""


def load_seed(path: Path) -> SeedInstances:
    """The instances of a seed file, per (API id, resource), after validating every one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SeedError(f"seed file {path} cannot be read: {error}") from None
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        problem = str(error).splitlines()[0]
        raise SeedError(f"seed file {path} is not valid JSON or YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must map API ids ({', '.join(tmfapis.API_IDS)}) to resources.")
    seed: SeedInstances = {}
    for api_id, resources in data.items():
        if api_id not in tmfapis.API_IDS:
            raise SeedError(
                f"seed file {path}: unknown API id {api_id!r}; use one of {', '.join(tmfapis.API_IDS)}."
            )
        api = tmfapis.api(api_id)
        if not isinstance(resources, dict):
            raise SeedError(f"seed file {path}: {api_id} must map resource names to lists of instances.")
        for name, instances in resources.items():
            if name not in api.resources:
                raise SeedError(
                    f"seed file {path}: {api_id} has no resource {name!r}; "
                    f"use one of {', '.join(api.resources)}."
                )
            if not isinstance(instances, list):
                raise SeedError(f"seed file {path}: {api_id}.{name} must be a list of instances.")
            validator = tmfapis.schema_validator(api_id, api.resources[name].create_schema)
            valid = quick_check(api_id, api.resources[name].create_schema)
            rules = rules_for(api_id, name)
            instances = [completed(rules, item) if isinstance(item, dict) else item for item in instances]
            for number, instance in enumerate(instances):
                _check(path, f"{api_id}.{name}[{number}]", validator, valid, instance)
            seed[(api_id, name)] = instances
    return seed


def _check(
    path: Path, where: str, validator: jsonschema.protocols.Validator, valid: Check, instance: Any
) -> None:
    if not isinstance(instance, dict):
        raise SeedError(f"seed file {path}: {where} must be an object.")
    if "id" in instance and not (isinstance(instance["id"], str) and instance["id"]):
        raise SeedError(f"seed file {path}: {where}.id must be a non-empty string.")
    body = {key: value for key, value in instance.items() if key not in ("id", "href")}
    if valid(body):
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path)
        raise SeedError(f"seed file {path}: {where}{'.' + at if at else ''}: {error.message}")


# ---- a quick validity check for large seeds -----------------------------------------------------------
# jsonschema takes about 90 microseconds an instance; this check of the keywords the compact schemas
# use takes a few, and jsonschema still words every error. A schema using another keyword is checked by
# jsonschema alone.

Check = Callable[[Any], bool]
KEYWORDS = frozenset({"$ref", "type", "format", "enum", "properties", "required", "items", "minItems"})
TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "integer": lambda value: (isinstance(value, int) and not isinstance(value, bool))
    or (isinstance(value, float) and value.is_integer()),
    "boolean": lambda value: isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "null": lambda value: value is None,
}


class UnknownKeyword(Exception):
    """The schema uses a keyword the quick check does not know."""


@cache
def quick_check(api_id: str, definition: str) -> Check:
    """True when an instance is valid against one definition of an API (as jsonschema would say)."""
    compiled: dict[str, Check] = {}
    definitions = tmfapis.api(api_id).definitions

    def named(name: str) -> Check:
        if name not in compiled:
            compiled[name] = lambda value: compiled[name](value)  # until compiled: refs may cycle
            compiled[name] = of(definitions[name])
        return compiled[name]

    def of(schema: dict[str, Any]) -> Check:
        if set(schema) - KEYWORDS:
            raise UnknownKeyword(", ".join(sorted(set(schema) - KEYWORDS)))
        checks: list[Check] = []
        if "$ref" in schema:
            name = schema["$ref"].removeprefix("#/definitions/")
            named(name)
            checks.append(lambda value: compiled[name](value))
        if "type" in schema:
            kinds = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
            tests = [TYPES[kind] for kind in kinds]
            checks.append(tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests))
        if "format" in schema:
            form = schema["format"]
            checks.append(lambda value: tmfapis.FORMAT_CHECKER.conforms(value, form))
        if "enum" in schema:
            allowed = [json.dumps(option, sort_keys=True) for option in schema["enum"]]
            checks.append(lambda value: json.dumps(value, sort_keys=True) in allowed)
        if "required" in schema or "properties" in schema:
            checks.append(members_check(tuple(schema.get("required", ())), schema.get("properties", {})))
        if "items" in schema:
            item_check = of(schema["items"])
            checks.append(lambda value: not isinstance(value, list) or all(map(item_check, value)))
        if "minItems" in schema:
            least = schema["minItems"]
            checks.append(lambda value: not isinstance(value, list) or len(value) >= least)
        if len(checks) == 1:
            return checks[0]

        def every(value: Any) -> bool:
            for check in checks:
                if not check(value):
                    return False
            return True

        return every

    def members_check(required: tuple[str, ...], properties: dict[str, Any]) -> Check:
        members = {key: of(sub) for key, sub in properties.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                member = members.get(key)
                if member is not None and not member(item):
                    return False
            return True

        return check

    try:
        return named(definition)
    except UnknownKeyword:
        validator = tmfapis.schema_validator(api_id, definition)
        return lambda value: bool(validator.is_valid(value))
