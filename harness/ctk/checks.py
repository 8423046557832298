"""The kit's checks as small functions returning ``CheckResult``s named exactly as the kit names them.

Each check is evaluated on its own and really asserts: a mismatch fails with what was expected
and what came back. When there is no usable JSON body, each body check fails once with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jsonschema

import tmfapis
from harness.ctk.declaration import JSON_TYPES, ResourceSuite, create_deviation
from harness.http import Reply, excerpt
from harness.record import CheckResult, Tier

__all__ = [
    "attribute_equals",
    "body_includes",
    "body_matches",
    "held_values",
    "instance_checks",
    "instances_of",
    "not_array",
    "not_expected",
    "payload_conforms",
    "selection",
    "status_is",
]


def passed(name: str, tier: Tier = "ctk") -> CheckResult:
    return CheckResult(name=name, tier=tier, outcome="passed")


def failed(name: str, message: str, tier: Tier = "ctk") -> CheckResult:
    return CheckResult(name=name, tier=tier, outcome="failed", message=message)


def show(value: Any) -> str:
    """A short JSON rendering of a value for failure messages."""
    return excerpt(json.dumps(value, ensure_ascii=False)) if value is not None else "nothing (absent)"


def status_is(reply: Reply, expected: Sequence[int], tier: Tier = "ctk") -> CheckResult:
    name = "Status code is " + " or ".join(map(str, expected))
    wanted = " or ".join(map(str, expected))
    if reply.status is None:
        return failed(name, f"expected {wanted}, got no response: {reply.problem}", tier)
    if reply.status in expected:
        return passed(name, tier)
    detail = f" with body {excerpt(reply.text)!r}" if reply.text else ""
    return failed(name, f"expected {wanted}, got {reply.status}{detail}", tier)


def not_array(reply: Reply) -> list[CheckResult]:
    """The kit records this check only when the create answered with an array."""
    if isinstance(reply.body, list):
        return [failed("Array not expected as response", f"expected a JSON object, got an array of {len(reply.body)} items")]
    return []


def instances_of(reply: Reply) -> list[Any]:
    """The instances a response carries: the array's items, or the body itself when it is one object."""
    if not reply.json_ok:
        return []
    return list(reply.body) if isinstance(reply.body, list) else [reply.body]


def _contains(text: str, value: Any) -> bool:
    """Whether the raw body holds the value as the kit searches for it: a string verbatim, anything else as JSON.

    The kit's ``pm.response.text()`` include does not decode JSON escapes, so a body that writes "/" as
    "\\/" or "é" as "\\u00e9" fails there; ours fails it too.
    """
    return (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)) in text


def body_includes(
    reply: Reply, suite: ResourceSuite, attribute: str, held: Iterable[Mapping[str, Any]], instance: Any
) -> CheckResult:
    """``Body includes value held on <attr>``: the instance has the attribute, and the body holds each held value.

    The kit searches the body for the instance's own value, so it fails when the instance lacks it;
    ours also searches for the values held from the create, so a changed value fails too.
    """
    name = f"Body includes value held on {attribute}"
    if not reply.json_ok:
        return failed(name, f"no body to search: {reply.problem}")
    held = list(held)
    if any(attribute not in values for values in held):
        return failed(name, f"no value is held on {attribute}: the create's answer did not carry one")
    if not isinstance(instance, dict):
        return failed(name, f"expected a JSON object with {attribute}, got {show(instance)}")
    if instance.get(attribute) is None:
        return failed(name, f"the instance (id {show(instance.get('id'))}) has no {attribute}")
    missing = [values[attribute] for values in held if not _contains(reply.text, values[attribute])]
    if missing:
        return failed(name, f"expected the body to include {', '.join(show(value) for value in missing)}; it does not")
    return passed(name)


def instance_checks(
    reply: Reply,
    suite: ResourceSuite,
    instance: Any,
    held: Sequence[Mapping[str, Any]],
    typed: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Checks 3 to 5 of the template on one instance: mandatory set, typed attributes, held values in the body."""
    results = []
    name = "Instance has all mandatory attributes"
    if not reply.json_ok:
        results.append(failed(name, reply.problem or ""))
    elif not isinstance(instance, dict):
        results.append(failed(name, f"expected a JSON object, got {show(instance)}"))
    else:
        missing = [attribute for attribute in suite.mandatory if attribute not in instance]
        message = f"missing: {', '.join(missing)} (id {show(instance.get('id'))})"
        results.append(failed(name, message) if missing else passed(name))
    for attribute in suite.typed if typed is None else typed:
        results.append(_typed(reply, instance, attribute, suite.typed[attribute]))
    results.extend(body_includes(reply, suite, attribute, held, instance) for attribute in suite.includes)
    return results


def _typed(reply: Reply, instance: Any, attribute: str, json_type: str) -> CheckResult:
    name = f"Response has {attribute} attribute"
    if not reply.json_ok:
        return failed(name, reply.problem or "")
    if not isinstance(instance, dict) or attribute not in instance:
        return failed(name, f"expected {attribute} ({json_type}); it is absent")
    value = instance[attribute]
    if isinstance(value, JSON_TYPES[json_type]) and not (json_type == "number" and isinstance(value, bool)):
        return passed(name)
    return failed(name, f"expected {attribute} to be a JSON {json_type}, got {show(value)}")


def held_values(
    reply: Reply,
    suite: ResourceSuite,
    instance_number: int,
    held: Mapping[str, Any],
    attributes: Iterable[str] | None = None,
    tier: Tier = "ctk",
) -> list[CheckResult]:
    """``<attr> is <held value>`` for one created instance, found in the response by its id."""
    attributes = list(suite.compared if attributes is None else attributes)
    names = [f"{attribute} is {_plain(held.get(attribute))}" for attribute in attributes]
    if not reply.json_ok:
        return [failed(name, f"no instance to compare: {reply.problem}", tier) for name in names]
    wanted_id = held.get("id")
    found = next((item for item in instances_of(reply) if isinstance(item, dict) and item.get("id") == wanted_id), None)
    if found is None:
        variable = suite.variable("id", instance_number)
        message = f"the created instance {variable} (id {show(wanted_id)}) is not in the response"
        return [failed(name, message, tier) for name in names]
    results = []
    for attribute, name in zip(attributes, names, strict=True):
        expected, actual = held.get(attribute), found.get(attribute)
        if actual == expected:
            results.append(passed(name, tier))
        else:
            results.append(failed(name, f"expected {attribute} {show(expected)}, got {show(actual)}", tier))
    return results


def not_expected(reply: Reply, suite: ResourceSuite, other_number: int, other_id: Any) -> CheckResult:
    """``<ID> not expected on this test``: the other created instance must not pass the filter."""
    name = f"{suite.variable('id', other_number)} not expected on this test"
    if not reply.json_ok:
        return failed(name, f"cannot tell: {reply.problem}")
    if any(isinstance(item, dict) and item.get("id") == other_id for item in instances_of(reply)):
        return failed(name, f"the filter returned the other created instance (id {show(other_id)}), whose value differs")
    return passed(name)


def payload_conforms(suite: ResourceSuite, payload: Mapping[str, Any]) -> CheckResult:
    """Spec tier: the payload the kit's schema accepted also has what the OpenAPI ``_Create`` requires."""
    create = tmfapis.api(suite.api_id).resources[suite.resource].create_schema
    name = f"Payload is a valid {create}"
    problem = create_deviation(suite, payload)
    return failed(name, f"a deviation of the payload, not of the server: {problem}", "spec") if problem else passed(name, "spec")


def body_matches(reply: Reply, api_id: str, definition: str, tier: Tier = "spec", listed: bool = False) -> CheckResult:
    """``Body matches the <Entity> schema``: the body (every item of a list) validates against the spec's definition."""
    name = f"Body matches the {definition} schema"
    if not reply.json_ok:
        return failed(name, f"no body to validate: {reply.problem}", tier)
    if listed and not isinstance(reply.body, list):
        return failed(name, f"expected a JSON array of {definition}, got {show(reply.body)}", tier)
    validator = tmfapis.schema_validator(api_id, definition)
    for position, instance in enumerate(reply.body if listed else [reply.body]):
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
            item = f"item {position}: " if listed else ""
            return failed(name, f"expected a valid {definition}; {item}{where}: {error.message}", tier)
    return passed(name, tier)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def selection(reply: Reply, attribute: str) -> list[CheckResult]:
    """A field selection's checks, where the kit makes them: an array of instances with id, href and the attribute only."""
    must, only = "Instance must have id, href and filtered attribute", "Instance has only id, href and filtered attribute"
    wanted = {"id", "href", attribute}
    if not reply.json_ok:
        return [failed(name, f"no body: {reply.problem}") for name in (must, only, "Array expected as response")]
    if not isinstance(reply.body, list) or not reply.body:
        return [failed("Array expected as response", f"expected a non-empty JSON array, got {show(reply.body)}")]
    results = []
    for instance in reply.body:
        keys = set(instance) if isinstance(instance, dict) else set()
        missing, extra = sorted(wanted - keys), sorted(keys - wanted)
        results.append(failed(must, f"missing: {', '.join(missing)} in {show(instance)}") if missing else passed(must))
        results.append(failed(only, f"not selected: {', '.join(extra)} in {show(instance)}") if extra else passed(only))
    return results


def attribute_equals(reply: Reply, name: str, expected: Mapping[str, Any]) -> CheckResult:
    """A check the kit names itself (``Your test name``): each given attribute of the answer has the given value."""
    body = reply.body if reply.json_ok and isinstance(reply.body, dict) else None
    if body is None:
        return failed(name, f"expected a JSON object, got {reply.problem or show(reply.body)}")
    wrong = [f"{key} {show(body.get(key))} (expected {show(value)})" for key, value in expected.items() if body.get(key) != value]
    return failed(name, "; ".join(wrong)) if wrong else passed(name)
