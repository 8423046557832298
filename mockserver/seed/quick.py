"""A quick validity check of seed instances, compiled from the compact schemas of ``tmfapis``.

jsonschema takes about 90 microseconds an instance; this check of the keywords the compact schemas use
takes a few, and jsonschema still words every error. A schema using another keyword is checked by
jsonschema alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import tmfapis

__all__ = ["Check", "quick_check"]

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
    compiling: set[str] = set()
    definitions = tmfapis.api(api_id).definitions

    def named(name: str) -> Check:
        if name in compiling:  # a cycle: look the check up when it runs
            return lambda value: compiled[name](value)
        if name not in compiled:
            compiling.add(name)
            compiled[name] = of(definitions[name])
            compiling.discard(name)
        return compiled[name]

    def of(schema: dict[str, Any]) -> Check:
        if set(schema) - KEYWORDS:
            raise UnknownKeyword(", ".join(sorted(set(schema) - KEYWORDS)))
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(named(schema["$ref"].removeprefix("#/definitions/")))
        kinds = [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type")
        form = schema.get("format")
        if form not in tmfapis.format_checker().checkers:  # formats without a checker always conform
            form = None
        if kinds == ["object"] and ("required" in schema or "properties" in schema):
            checks.append(members_check(tuple(schema.get("required", ())), schema.get("properties", {}), True))
        elif kinds == ["string"] and form is not None:
            conforms = tmfapis.format_checker().conforms
            checks.append(lambda value: isinstance(value, str) and conforms(value, form))
        else:
            if kinds is not None:
                tests = [TYPES[kind] for kind in kinds]
                checks.append(tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests))
            if form is not None:
                checks.append(lambda value: tmfapis.format_checker().conforms(value, form))
            if "required" in schema or "properties" in schema:
                checks.append(members_check(tuple(schema.get("required", ())), schema.get("properties", {}), False))
        if "enum" in schema:
            allowed = [json.dumps(option, sort_keys=True) for option in schema["enum"]]
            checks.append(lambda value: json.dumps(value, sort_keys=True) in allowed)
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

    def members_check(required: tuple[str, ...], properties: dict[str, Any], only_objects: bool) -> Check:
        texts = frozenset(key for key, sub in properties.items() if plain_text(sub))
        members = {key: of(sub) for key, sub in properties.items() if key not in texts}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return not only_objects
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                if key in texts:
                    if not isinstance(item, str):
                        return False
                    continue
                member = members.get(key)
                if member is not None and not member(item):
                    return False
            return True

        return check

    def plain_text(schema: dict[str, Any]) -> bool:
        """A string schema with nothing else to check."""
        rest = set(schema) - {"type", "format"}
        return schema.get("type") == "string" and not rest and schema.get("format") not in checked_formats

    checked_formats = set(tmfapis.format_checker().checkers)
    try:
        return named(definition)
    except UnknownKeyword:
        validator = tmfapis.schema_validator(api_id, definition)
        return lambda value: bool(validator.is_valid(value))
