"""What differs between resources, as data: server-managed attributes, state attribute, side effects.

Everything else (routes, validation, events) is generic and derived from ``tmfapis``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = ["NOW", "CancelEffect", "ResourceRules", "now_text", "rules_for"]

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
class ResourceRules:
    """Server-side behaviour of one resource beyond the generic create/read/update/delete."""

    state_attribute: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=_frozen)  # set on create when absent
    forced: Mapping[str, Any] = field(default_factory=_frozen)  # always set on create
    stamped_on_change: tuple[str, ...] = ()  # set to now on every update
    stamped_on_state_change: tuple[str, ...] = ()  # set to now when the state changes
    effect: CancelEffect | None = None


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
    """A rule value as stored: ``NOW`` becomes the current date-time."""
    return now_text() if value is NOW else value
