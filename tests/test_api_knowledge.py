"""No API id, resource name or held attribute name of a particular API in the Python of the packages.

Per-API knowledge is data (``tmfapis/schemas``, the suite declarations, derived JSON). This scans the
Python of ``tmfapis``, ``mockserver`` and ``harness`` for string literals that name one: an API id in
a literal without spaces (prose, such as a message showing the form ``tmf629=URL``, and docstrings may
show one), or a literal that is a resource name of ``tmfapis`` or an attribute that one API's suite
declaration alone holds. The project's own vocabulary is not such knowledge: the keys and values of the declaration
schema and of the run record, the keywords of JSON Schema, the attributes every TMF resource has (``id``, ``href``, ``@type``),
those of the TMF Error and event envelopes and those the state-change events follow. None is left: the reference server's overrides are data.
"""

from __future__ import annotations

import ast
import json
import re
import typing
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from allure_commons.types import LabelType

import tmfapis
from harness import record
from harness.ctk.declaration import DECLARATION_SCHEMA
from harness.fuzz.derived import declared

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tmfapis", "mockserver", "harness")
API_ID = re.compile(r"tmf\d{3}", re.IGNORECASE)
def _schema_words(schema: Any) -> Iterator[str]:
    """Keywords, property names and enum values of a JSON Schema (``type``, ``properties``...), at any depth."""
    if isinstance(schema, dict):
        yield from schema
        yield from schema.get("properties", {})
        yield from (value for value in schema.get("enum", ()) if isinstance(value, str))
        for value in schema.values():
            yield from _schema_words(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _schema_words(value)


def _record_keys() -> Iterator[str]:
    for value in vars(record).values():
        if typing.is_typeddict(value):
            yield from value.__annotations__


def _common_attributes() -> Iterator[str]:
    """The attributes of the TMF Error and of the TMF event envelopes (``eventType``, ``event``...), in any API."""
    for api in tmfapis.apis():
        for name, definition in api.definitions.items():
            if name == "Error" or name.endswith("Event"):
                yield from definition.get("properties", {})


def _behaviour_keys() -> Iterator[str]:
    """The keys of ``mockserver/behaviour.json``'s rules (``state``, ``defaults``...): the server's own format."""
    behaviour = json.loads((REPO / "mockserver" / "behaviour.json").read_text(encoding="utf-8"))
    for api_id, resources in behaviour.items():
        for rules in resources.values() if api_id != "$comment" else ():
            yield from rules


def _state_attributes() -> Iterator[str]:
    """The attributes the TMF state-change events follow (``state``, ``status``), in any API."""
    return (resource.state for api in tmfapis.apis() for resource in api.resources.values() if resource.state)


def _vocabulary() -> frozenset[str]:
    """What the project's own formats say: the declaration schema, the run record, the server's behaviour rules,
    TMF's common attributes, Allure's label names."""
    return frozenset([*_schema_words(DECLARATION_SCHEMA), *_record_keys(), *_behaviour_keys(), *tmfapis.ALWAYS_SELECTED,
                      *_common_attributes(), *_state_attributes(),
                      *(v for k, v in vars(LabelType).items() if isinstance(v, str) and k.isupper()),
                      *jsonschema.Draft7Validator.META_SCHEMA["properties"]])


VOCABULARY = _vocabulary()
RESOURCES = frozenset(name for api in tmfapis.apis() for name in api.resources) - VOCABULARY
_HOLDERS = Counter(name for api_id in {key[0] for key in declared()} for name in
                   {held for (holder, _), suite in declared().items() if holder == api_id for held in suite.held})
HELD = frozenset(name for name, apis in _HOLDERS.items() if apis == 1) - VOCABULARY  # one API's own attributes


def _prose_and_docstrings(tree: ast.AST) -> set[int]:
    """The nodes of docstrings, of help, description and epilog texts, and of ``__all__``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            skipped.update(id(inner) for inner in ast.walk(node.value))  # Python names, not data
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))
        if isinstance(node, ast.keyword) and node.arg in ("help", "description", "epilog"):
            skipped.update(id(inner) for inner in ast.walk(node.value))
    return skipped


def named(text: str) -> bool:
    """Whether one string literal names a particular API, resource or held attribute."""
    return bool(API_ID.search(text) and not re.search(r"\s", text)) or text in RESOURCES or text in HELD


def literals(source: str) -> Iterator[str]:
    """The string literals of a module that name a particular API, resource or held attribute."""
    tree = ast.parse(source)
    skipped = _prose_and_docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped and named(node.value):
            yield node.value


FOUND = {path.relative_to(REPO).as_posix(): set(literals(path.read_text(encoding="utf-8")))
         for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_no_api_resource_or_attribute_name_in_the_python(name: str) -> None:
    assert sorted(FOUND[name]) == [], f"{name}: keep per-API knowledge in data (tmfapis/schemas, the declarations)"


def test_the_scan_finds_a_planted_name() -> None:
    attribute = min(HELD)
    planted = f'RULES = {{("tmf629", "customer"): {{"state": "x"}}}}\nHINT = "use --api-url tmf629=URL"\nKEY = "{attribute}"\n'
    assert sorted(literals(planted)) == sorted(["customer", attribute, "tmf629"])
    assert sorted(literals('"""An example: tmf629 customer."""\nparser.add_argument("--x", help="tmf629")\n')) == []
