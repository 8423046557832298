"""One description of the TMF Open APIs v4, read by the reference server and the harness.

Each API's paths, resources and compact schemas live in ``schemas/<api id>.json``, derived from
the official specs by ``python -m tmfapis.derive``; ``schemas/apis.json`` lists the APIs in order,
with their names and specs. This module turns them into records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

__all__ = ["ALWAYS_SELECTED", "API_IDS", "SELECTION_KEEPS", "Api", "Resource", "api", "apis", "format_checker", "merge_patch",
           "schema_validator"]

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
# The APIs in the project's usual order, each with its display name and the official spec it is derived from.
INDEX_FILE = SCHEMA_DIR / "apis.json"
API_NAMES: dict[str, str] = {entry["id"]: entry["name"] for entry in json.loads(INDEX_FILE.read_text(encoding="utf-8"))}
API_IDS = tuple(API_NAMES)
# What a TMF630 field selection may keep beside the asked attributes.
ALWAYS_SELECTED = ("id", "href", "@type")
# What the reference server's field selection keeps beside them, as the official kits check (``Instance has
# only id, href and filtered attribute``).
SELECTION_KEEPS = ("id", "href")
# The TMF681 spec declares no listener paths; its events follow the common TMF pattern.
STANDARD_EVENTS = ("Create", "AttributeValueChange", "StateChange", "Delete")


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource of an API: its collection path, schemas and what it allows."""

    name: str
    entity: str
    create_schema: str
    update_schema: str | None
    collection_methods: tuple[str, ...]
    item_methods: tuple[str, ...]
    events: tuple[str, ...]
    parent: str | None = None  # the resource whose instance it is nested under (``processFlow/{id}/taskFlow``)
    state: str | None = None  # the attribute its state-change events follow
    server_set: Mapping[str, Any] = field(default_factory=dict)  # set on create when absent ("$now": the moment)

    def event_type(self, kind: str) -> str:
        """``CustomerCreateEvent`` for ``kind`` "Create"."""
        return f"{self.entity}{kind}Event"


@dataclass(frozen=True, slots=True)
class Api:
    """One TMF Open API: its id (``tmf681``), display name, standard base path and resources."""

    id: str
    name: str
    title: str
    version: str
    base_path: str
    resources: dict[str, Resource]
    definitions: dict[str, Any]

    def schema(self, definition: str) -> dict[str, Any]:
        """A self-contained JSON Schema for one definition of this API."""
        return {"$ref": f"#/definitions/{definition}", "definitions": self.definitions}


@cache
def api(api_id: str) -> Api:
    """The description of one API, by id (``tmf629``)."""
    if api_id not in API_NAMES:
        raise KeyError(f"unknown API id {api_id!r}; known: {', '.join(API_IDS)}")
    data = json.loads((SCHEMA_DIR / f"{api_id}.json").read_text(encoding="utf-8"))
    resources = {
        name: Resource(
            name=name,
            entity=entry["entity"],
            create_schema=entry["create"],
            update_schema=entry["update"],
            collection_methods=tuple(entry["collection"]),
            item_methods=tuple(entry["item"]),
            events=tuple(entry["events"]) or STANDARD_EVENTS,
            parent=entry.get("parent"),
            state=entry.get("state"),
            server_set=MappingProxyType(entry.get("serverSet", {})),
        )
        for name, entry in data["resources"].items()
    }
    return Api(
        id=api_id,
        name=API_NAMES[api_id],
        title=data["title"],
        version=data["version"],
        base_path=data["basePath"],
        resources=resources,
        definitions=data["definitions"],
    )


def apis() -> list[Api]:
    """All the APIs, in the project's usual order."""
    return [api(api_id) for api_id in API_IDS]


def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


def _is_uri(value: object) -> bool:
    return value != ""  # no URI is empty; anything else is left to the consumer


@cache
def format_checker() -> jsonschema.FormatChecker:
    """The formats checked: date-times and non-empty URIs (jsonschema, a tenth of a second to import, on first use)."""
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_is_date_time)
    checker.checks("uri")(_is_uri)
    return checker


@cache
def schema_validator(api_id: str, definition: str) -> jsonschema.protocols.Validator:
    """A cached Draft 7 validator for one definition, checking date-time formats and non-empty URIs."""
    import jsonschema

    schema = api(api_id).schema(definition)
    return jsonschema.Draft7Validator(schema, format_checker=format_checker())


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, as a PATCH of these APIs applies: a new value, both arguments left unchanged (objects
    merge key by key, null removes a key, anything else replaces)."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
