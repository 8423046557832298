"""A seed's instances, whichever reader found them: names checked, each instance validated and rendered.

Every fault is a ``SeedError`` of one sentence naming the file and where in it (``tmf629.customer[6].name``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tmfapis
from mockserver.resources import completed, rules_for
from mockserver.seed.quick import Check, quick_check

__all__ = ["Item", "Render", "SeedError", "SeedRows", "known_api", "known_resource", "rendered"]

# (API id, resource, validated body) -> (id, the instance as stored)
Render = Callable[[str, str, dict[str, Any]], tuple[str, bytes]]
SeedRows = dict[tuple[str, str], tuple[list[str], list[bytes]]]  # ids and stored bodies per collection
Item = tuple[str, str, int, Any]  # API id, resource, position in its list, instance
SERVER_SET = frozenset({"id", "href"})


class SeedError(ValueError):
    """The seed file cannot be used; the message says which file and what to fix."""


def known_api(path: Path, api_id: str) -> tmfapis.Api:
    if api_id not in tmfapis.API_IDS:
        raise SeedError(f"seed file {path}: unknown API id {api_id!r}; use one of {', '.join(tmfapis.API_IDS)}.")
    return tmfapis.api(api_id)


def known_resource(path: Path, api: tmfapis.Api, name: str) -> str:
    if name not in api.resources:
        raise SeedError(
            f"seed file {path}: {api.id} has no resource {name!r}; use one of {', '.join(api.resources)}."
        )
    return name


def rendered(path: Path, items: Iterator[Item], render: Render) -> SeedRows:
    """Every instance validated and rendered."""
    rows: SeedRows = {}
    last: tuple[str, str] | None = None
    for api_id, name, number, instance in items:
        if (api_id, name) != last:  # instances come a collection at a time
            last = (api_id, name)
            collection = rows.setdefault(last, ([], []))
            definition = tmfapis.api(api_id).resources[name].create_schema
            rules = rules_for(api_id, name)
            valid = _ignoring_id(api_id, definition)
        body = completed(rules, instance) if isinstance(instance, dict) else instance
        if not (isinstance(body, dict) and _plain_id(body) and valid(body)):
            _word_fault(path, (api_id, name, number), definition, api_id, body)
        instance_id, stored = render(api_id, name, body)
        collection[0].append(instance_id)
        collection[1].append(stored)
    return rows


def _without_id(instance: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in instance.items() if key not in SERVER_SET}


def _ignoring_id(api_id: str, definition: str) -> Check:
    """The quick check of a definition, blind to a seed's ``id`` and ``href`` (the server sets them)."""
    check = quick_check(api_id, definition)
    schema = tmfapis.api(api_id).definitions[definition]
    looked_at = {*schema.get("properties", {}), *schema.get("required", ())}
    if "$ref" not in schema and SERVER_SET.isdisjoint(looked_at) or _requires_id(api_id, definition):
        return check  # the schema does not look at them: nothing to take out
    return lambda instance: check(_without_id(instance))


def _plain_id(instance: dict[str, Any]) -> bool:
    """No ``id``, or a non-empty string one."""
    given = instance.get("id")
    return given is None and "id" not in instance or (isinstance(given, str) and given != "")


def _requires_id(api_id: str, definition: str) -> bool:
    """A resource the spec gives no create (only a seed fills it): its instances are checked with their id."""
    return "id" in tmfapis.api(api_id).definitions[definition].get("required", ())


def _word_fault(path: Path, place: tuple[str, str, int], definition: str, api_id: str, instance: Any) -> None:
    """Raise the SeedError naming what is wrong with an instance the quick test refused (jsonschema words a
    schema fault; should it find none, the instance is taken)."""
    where = "{}.{}[{}]".format(*place)
    if not isinstance(instance, dict):
        raise SeedError(f"seed file {path}: {where} must be an object.")
    if not _plain_id(instance):
        raise SeedError(f"seed file {path}: {where}.id must be a non-empty string.")
    validator = tmfapis.schema_validator(api_id, definition)
    checked = instance if _requires_id(api_id, definition) else _without_id(instance)
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(checked))
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path)
        raise SeedError(f"seed file {path}: {where}{'.' + at if at else ''}: {error.message}")

