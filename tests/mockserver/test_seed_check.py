"""The quick validity check used for large seeds says what jsonschema says, on valid and broken bodies."""

from __future__ import annotations

from typing import Any

import pytest
from served import PAYLOADS

import tmfapis
from mockserver.seed import quick_check

ODD_VALUES: list[Any] = [None, True, 1, 1.0, 2.5, "", "x", "2021-06-03T16:23:29.481Z", "2021-13-45", [], [{}], {}, {"id": 1}]


def variants(body: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """The body, then copies with one attribute (declared or present, nested one level) given odd values."""
    found: list[Any] = [body, [], "x", {}]
    names = set(body) | set(schema.get("properties", {}))
    for name in sorted(names):
        for value in ODD_VALUES:
            found.append({**body, name: value})
            inner = body.get(name)
            if isinstance(inner, dict):
                found += [{**body, name: {**inner, key: value}} for key in inner]
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                found += [{**body, name: [{**inner[0], key: value}]} for key in inner[0]]
    found += [{key: item for key, item in body.items() if key != name} for name in body]
    return found


@pytest.mark.parametrize(("api_id", "resource"), sorted(PAYLOADS))
def test_quick_check_agrees_with_jsonschema(api_id: str, resource: str) -> None:
    definition = tmfapis.api(api_id).resources[resource].create_schema
    validator = tmfapis.schema_validator(api_id, definition)
    check = quick_check(api_id, definition)
    schema = tmfapis.api(api_id).definitions[definition]
    bodies = variants(PAYLOADS[(api_id, resource)], schema)
    disagreements = [body for body in bodies if check(body) != validator.is_valid(body)]
    assert not disagreements, disagreements[:3]
    assert any(not validator.is_valid(body) for body in bodies), "some variants are invalid"
