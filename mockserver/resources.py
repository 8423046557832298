"""What differs between resources, as data: server-set attributes, state attribute, side effects.

The server-set values tmfapis derives from each spec (``Resource.server_set``, ``Resource.state``) are
completed by ``behaviour.json``, per API id and resource: what the spec cannot say (a lifecycle's initial
value, dates stamped on change, a cancel's effect on its order, operations an official kit uses beyond
the spec). Everything else (routes, validation, events) is generic and derived from ``tmfapis``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tmfapis

__all__ = ["NOW", "CancelEffect", "ItemDefault", "ResourceRules", "completed", "now_text", "rules_for"]

NOW = "$now"  # stands for the current date-time, rendered when a value is set
BEHAVIOUR_FILE = Path(__file__).resolve().parent / "behaviour.json"


def now_text() -> str:
    """The current UTC time as an ISO 8601 date-time with milliseconds and ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _frozen(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class CancelEffect:
    """Creating this resource changes another one: the instance its ``reference`` attribute names."""

    target: str
    reference: str
    changes: Mapping[str, Any]
    copied: Mapping[str, str]  # target attribute <- attribute of the request


@dataclass(frozen=True, slots=True)
class ItemDefault:
    """Defaults for each object with an ``id`` in the array ``array``: what it lacks of ``values`` (objects
    completed member by member), text formatted with the object's id (``urn:channel:{id}``)."""

    array: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceRules:
    """Server-side behaviour of one resource beyond the generic create/read/update/delete."""

    state_attribute: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=_frozen)  # set on create when absent
    forced: Mapping[str, Any] = field(default_factory=_frozen)  # always set on create
    stamped_on_change: tuple[str, ...] = ()  # set to now on every update
    stamped_on_state_change: tuple[str, ...] = ()  # set to now when the state changes
    effect: CancelEffect | None = None
    # What the OpenAPI _Create requires beyond the Conformance Profile: filled in on create when absent.
    create_defaults: Mapping[str, Any] = field(default_factory=_frozen)
    item_defaults: tuple[ItemDefault, ...] = ()
    extra_methods: Mapping[str, tuple[str, ...]] = field(default_factory=_frozen)  # "collection"/"item" -> methods
    server_only: tuple[str, ...] = ()  # what the server sets and a create may not send (not in the _Create, not forced)


@cache
def _behaviour() -> Mapping[str, Any]:
    data: dict[str, Any] = json.loads(BEHAVIOUR_FILE.read_text(encoding="utf-8"))
    return data


def rules_for(api_id: str, resource: str) -> ResourceRules:
    """The rules of one resource: the spec's server-set values, completed by ``behaviour.json``."""
    api = tmfapis.api(api_id)
    derived = api.resources[resource]
    given: Mapping[str, Any] = _behaviour().get(api_id, {}).get(resource, {})
    sendable = api.definitions[derived.create_schema].get("properties", {})
    forced = given.get("forced", {})  # what the server always sets may be sent, and is overridden
    effect = given.get("effect")
    return ResourceRules(
        state_attribute=given.get("state", derived.state),
        defaults=_frozen({**derived.server_set, **given.get("defaults", {})}),
        forced=_frozen(forced),
        stamped_on_change=tuple(given.get("stampedOnChange", ())),
        stamped_on_state_change=tuple(given.get("stampedOnStateChange", ())),
        effect=None if effect is None else CancelEffect(
            effect["target"], effect["reference"], _frozen(effect["changes"]), _frozen(effect["copied"])
        ),
        create_defaults=_frozen(given.get("createDefaults")),
        item_defaults=tuple(ItemDefault(item["array"], _frozen(item["values"])) for item in given.get("itemDefaults", ())),
        extra_methods=_frozen({kind: tuple(methods) for kind, methods in given.get("methods", {}).items()}),
        server_only=tuple(key for key in derived.server_set if key not in sendable and key not in forced)
        if derived.create_schema != derived.entity
        else (),
    )


def render(value: Any) -> Any:
    """A rule value as stored: ``NOW`` becomes the current date-time (one moment for an object's members)."""
    if isinstance(value, Mapping):
        moment = now_text()
        return {key: moment if member == NOW else member for key, member in value.items()}
    return now_text() if value == NOW else value


def completed(rules: ResourceRules, body: dict[str, Any]) -> dict[str, Any]:
    """The create body with the rules' create defaults where absent; wrong types are left for validation."""
    if not rules.create_defaults and not rules.item_defaults:
        return body
    body = {**body, **{key: render(value) for key, value in rules.create_defaults.items() if key not in body}}
    for default in rules.item_defaults:
        items = body.get(default.array)
        if isinstance(items, list):
            body[default.array] = [_with_default(item, default) for item in items]
    return body


def _with_default(item: Any, default: ItemDefault) -> Any:
    if not isinstance(item, dict) or "id" not in item:
        return item
    return _filled(item, default.values, str(item["id"]))


def _filled(given: dict[str, Any], values: Mapping[str, Any], item_id: str) -> dict[str, Any]:
    """``given`` with what it lacks of ``values``; an object present on both sides is completed in turn."""
    result = dict(given)
    for key, value in values.items():
        if key not in result:
            result[key] = value.format(id=item_id) if isinstance(value, str) else value
        elif isinstance(value, Mapping) and isinstance(result[key], dict):
            result[key] = _filled(result[key], value, item_id)
    return result
