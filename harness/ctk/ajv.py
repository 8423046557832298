"""What ajv 6 (the validator of the Postman sandbox the kits run in) reports for a schema written in a kit's test script.

A kit names a check after ajv's errors (``"Schema is valid?: " + ajv.errorsText()``), so a port must give the
same errors in the same order: ajv checks ``type`` first where no keyword of that type is present, then the
array keywords, the object keywords (``required``, then ``properties`` in their order) and ``anyOf`` last, whose
failing branches' errors come before its own. Without ``allErrors`` ajv stops at the first error (and a branch
of ``anyOf`` at its first). Only the keywords the kits use are known; a schema with another is refused.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = ["KEYWORDS", "AjvError", "ajv_errors", "errors_text", "unknown_keywords"]

KEYWORDS = ("$schema", "type", "properties", "required", "items", "anyOf")
_IDENTIFIER = re.compile(r"^[a-z$_][a-z$_0-9]*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AjvError:
    """One of ajv's ``errors``, its fields in ajv's order (``JSON.stringify`` of it is ``as_json``)."""

    keyword: str
    dataPath: str  # ajv's names
    schemaPath: str
    params: Mapping[str, str]
    message: str

    @property
    def as_json(self) -> str:
        """``JSON.stringify`` of the error: its fields in ajv's order, no spaces, text other than ASCII kept."""
        fields = {"keyword": self.keyword, "dataPath": self.dataPath, "schemaPath": self.schemaPath,
                  "params": dict(self.params), "message": self.message}
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def unknown_keywords(schema: Any) -> list[str]:
    """The keywords of ``schema`` (at any depth) this module does not know."""
    if not isinstance(schema, Mapping):
        return []
    unknown = [key for key in schema if key not in KEYWORDS]
    for key, value in schema.items():
        if key == "properties" and isinstance(value, Mapping):
            unknown += [word for node in value.values() for word in unknown_keywords(node)]
        elif key == "items":
            unknown += unknown_keywords(value)
        elif key == "anyOf" and isinstance(value, list):
            unknown += [word for node in value for word in unknown_keywords(node)]
    return list(dict.fromkeys(unknown))


def errors_text(errors: list[AjvError]) -> str:
    """``ajv.errorsText()``: each error as ``data<path> <message>``, joined by a comma, or "No errors"."""
    return ", ".join(f"data{error.dataPath} {error.message}" for error in errors) or "No errors"


def ajv_errors(schema: Mapping[str, Any], data: Any, all_errors: bool = False, json_pointers: bool = False) -> list[AjvError]:
    """ajv's errors validating ``data`` against ``schema`` with options ``allErrors`` and ``jsonPointers``."""
    return _Validation(all_errors, json_pointers).errors(schema, data, "", "#")


@dataclass(frozen=True, slots=True)
class _Validation:
    all_errors: bool
    json_pointers: bool

    def errors(self, schema: Mapping[str, Any], data: Any, path: str, at: str) -> list[AjvError]:
        declared = schema.get("type")
        types = declared if isinstance(declared, list) else [declared] if declared else []
        group = {"object": ("required", "properties"), "array": ("items",)}.get(declared) if isinstance(declared, str) else None
        found: list[AjvError] = []
        if types and not (group and any(key in schema for key in group)) and not self._is(data, types):
            found.append(self._type_error(types, path, at))
            if not self.all_errors:
                return found
        for kind, keywords, check in (("array", ("items",), self._array), ("object", ("required", "properties"), self._object)):
            if not any(key in schema for key in keywords):
                continue
            if self._is(data, [kind]):
                found += check(schema, data, path, at)
            elif declared == kind:
                found.append(self._type_error(types, path, at))
            if found and not self.all_errors:
                return found
        if "anyOf" in schema:
            found += self._any_of(schema["anyOf"], data, path, at)
        return found

    @staticmethod
    def _is(data: Any, types: list[str]) -> bool:
        return any(_type_checker().is_type(data, name) for name in types)

    @staticmethod
    def _type_error(types: list[str], path: str, at: str) -> AjvError:
        return AjvError("type", path, f"{at}/type", {"type": ",".join(types)}, f"should be {','.join(types)}")

    def _array(self, schema: Mapping[str, Any], data: list[Any], path: str, at: str) -> list[AjvError]:
        items = schema["items"]
        found: list[AjvError] = []
        if not isinstance(items, Mapping):
            return found
        for index, item in enumerate(data):
            found += self.errors(items, item, path + (f"/{index}" if self.json_pointers else f"[{index}]"), f"{at}/items")
            if found and not self.all_errors:
                break
        return found

    def _object(self, schema: Mapping[str, Any], data: Mapping[str, Any], path: str, at: str) -> list[AjvError]:
        found: list[AjvError] = []
        properties, required = schema.get("properties", {}), schema.get("required", ())
        # ajv checks a required property that has a schema of its own where it checks ``properties``
        for name in [name for name in required if not properties.get(name)]:
            if name not in data:
                # here, without allErrors, ajv names the missing property as a path
                missing = name if self.all_errors or self.json_pointers else self._property(name)
                found.append(self._missing(missing, path, at))
                if not self.all_errors:
                    return found
        for name, node in properties.items():
            if not node:
                continue
            if name not in data:
                found += [self._missing(name, path, at)] if name in required else []
            else:
                found += self.errors(node, data[name], path + self._property(name), f"{at}/properties/{_fragment(name)}")
            if found and not self.all_errors:
                return found
        return found

    @staticmethod
    def _missing(name: str, path: str, at: str) -> AjvError:
        return AjvError("required", path, f"{at}/required", {"missingProperty": name}, f"should have required property '{name}'")

    def _any_of(self, branches: list[Mapping[str, Any]], data: Any, path: str, at: str) -> list[AjvError]:
        found: list[AjvError] = []
        for index, branch in enumerate(branches):
            errors = self.errors(branch, data, path, f"{at}/anyOf/{index}")
            if not errors:
                return []
            found += errors
        return [*found, AjvError("anyOf", path, f"{at}/anyOf", {}, "should match some schema in anyOf")]

    def _property(self, name: str) -> str:
        if self.json_pointers:
            return "/" + name.replace("~", "~0").replace("/", "~1")
        if _IDENTIFIER.match(name):
            return f".{name}"
        return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _fragment(name: str) -> str:
    """A property name in a schema path, as ajv writes it (a JSON pointer token, URI-encoded)."""
    return quote(name.replace("~", "~0").replace("/", "~1"), safe="-_.!~*'()")


@functools.cache
def _type_checker() -> Any:
    """Draft 7's type checker, ajv's default draft (1.0 is an integer in JavaScript); jsonschema is imported only
    when an answer is checked, not when a declaration is read."""
    import jsonschema

    return jsonschema.Draft7Validator.TYPE_CHECKER
