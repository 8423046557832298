"""What differs between resources, as data: server-managed attributes, state attribute, side effects.

Everything else (routes, validation, events) is generic and derived from ``tmfapis``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = ["NOW", "CancelEffect", "ItemDefault", "ResourceRules", "completed", "now_text", "rules_for"]

NOW = object()  # stands for the current date-time, rendered when a value is set


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
    """A default for ``attribute`` of each object in the array ``array`` that lacks it, made from the object's id."""

    array: str
    attribute: str
    template: str  # formatted with the item's ``id``


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


RULES: Mapping[tuple[str, str], ResourceRules] = MappingProxyType(
    {
        ("tmf681", "communicationMessage"): ResourceRules(
            state_attribute="state", defaults=_frozen({"state": "initial"})
        ),
        ("tmf629", "customer"): ResourceRules(
            state_attribute="status", defaults=_frozen({"status": "Initialized"})
        ),
        ("tmf683", "partyInteraction"): ResourceRules(
            state_attribute="status",
            defaults=_frozen({"creationDate": NOW, "statusChangeDate": NOW}),
            stamped_on_state_change=("statusChangeDate",),
            create_defaults=_frozen(
                {"interactionDate": _frozen({"startDateTime": NOW, "endDateTime": NOW}), "status": "opened"}
            ),
            item_defaults=(
                ItemDefault("channel", "href", "urn:tmf683:channel:{id}"),
                ItemDefault("relatedParty", "href", "urn:tmf683:party:{id}"),
            ),
        ),
        ("tmf622", "productOrder"): ResourceRules(
            state_attribute="state", forced=_frozen({"orderDate": NOW, "state": "acknowledged"})
        ),
        ("tmf622", "cancelProductOrder"): ResourceRules(
            state_attribute="state",
            forced=_frozen({"state": "done", "effectiveCancellationDate": NOW}),
            effect=CancelEffect(
                target="productOrder",
                reference="productOrder",
                changes=_frozen({"state": "cancelled", "cancellationDate": NOW}),
                copied=_frozen({"cancellationReason": "cancellationReason"}),
            ),
        ),
        ("tmf635", "usage"): ResourceRules(
            state_attribute="status", defaults=_frozen({"status": "received"})
        ),
        ("tmf635", "usageSpecification"): ResourceRules(
            defaults=_frozen({"lastUpdate": NOW}), stamped_on_change=("lastUpdate",)
        ),
    }
)


def rules_for(api_id: str, resource: str) -> ResourceRules:
    """The rules of one resource; a resource without rules behaves generically."""
    return RULES.get((api_id, resource), ResourceRules())


def render(value: Any) -> Any:
    """A rule value as stored: ``NOW`` becomes the current date-time (one moment for an object's members)."""
    if isinstance(value, Mapping):
        moment = now_text()
        return {key: moment if member is NOW else member for key, member in value.items()}
    return now_text() if value is NOW else value


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
    if not isinstance(item, dict) or default.attribute in item or "id" not in item:
        return item
    return {**item, default.attribute: default.template.format(id=item["id"])}
