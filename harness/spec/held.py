"""Spec-tier scenarios for what the kits run but cannot show, whatever data the server already holds.

Each judges only instances it creates: an equality filter on each held attribute must leave out a
second instance that differs on it; ``X-Total-Count`` must count the matches, not the collection; the
Conformance Profile's mandatory response attributes must be there, on the create, by id and in a list.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import tmfapis
from harness.ctk import checks
from harness.ctk.declaration import ResourceSuite
from harness.http import Reply
from harness.record import CheckResult
from harness.urls import query


class ScenarioRun(Protocol):
    """What these scenarios use of a scenario's run; ``harness.spec.scenarios.ScenarioRun`` is one."""

    api: tmfapis.Api
    resource: tmfapis.Resource
    suite: ResourceSuite | None
    created: list[tuple[tmfapis.Resource, str]]
    key: int | None
    unverified: str | None

    def url(self, resource: tmfapis.Resource, instance_id: str | None = None, query: str = "") -> str: ...

    def send(self, method: str, url: str, body: Any = None, *, content_type: str | None = None,
             raw: str | None = None) -> Reply: ...

    def record(self, name: str, reply: Reply, results: list[CheckResult], key: bool = False) -> None: ...

    def payload(self, resource: tmfapis.Resource, marker: str | None = None) -> dict[str, Any]: ...

__all__ = ["held_filters", "matches_counted", "profile_attributes"]

SERVER_ASSIGNED = ("id", "href")


def _tag(what: str) -> str:
    return f"spec-{what}-{uuid.uuid4().hex[:10]}"


def _other(api: tmfapis.Api, definition: str, attribute: str, value: Any) -> Any:
    """A value of ``attribute`` that differs from ``value`` and still fits the Create schema, or None."""
    schema = api.definitions[definition].get("properties", {}).get(attribute, {})
    if "enum" in schema or "$ref" in schema:
        target = api.definitions.get(str(schema.get("$ref", "")).rsplit("/", 1)[-1], schema)
        return next((option for option in target.get("enum", []) if option != value), None)
    return f"{value} ({_tag('other')})" if isinstance(value, str) and "format" not in schema else None


def _ids(reply: Reply) -> list[Any]:
    return [item.get("id") for item in reply.body if isinstance(item, dict)] if isinstance(reply.body, list) else []


def held_filters(run: ScenarioRun) -> None:
    """Per held attribute: ``?attr=<value of the first>`` returns the first instance and not a second that differs."""
    resource, suite = run.resource, run.suite
    assert suite is not None  # applies() guarantees it
    body = run.payload(resource)
    second_body = copy.deepcopy(body)
    for attribute in suite.held:
        if attribute in body and attribute not in SERVER_ASSIGNED:
            changed = _other(run.api, resource.create_schema, attribute, body[attribute])
            if changed is not None:
                second_body[attribute] = changed
    first = _create(run, f"/{resource.name} (the first)", body)
    second = _create(run, f"/{resource.name} (a second, differing on every held attribute)", second_body)
    if first is None or second is None:
        return
    untold = []
    for attribute in suite.held:
        value = first.get(attribute)
        if not isinstance(value, str) or value == second.get(attribute):
            if attribute in body:  # a server-set value (orderDate) may equal the other's: nothing to tell apart
                untold.append(attribute)
            continue
        reply = run.send("GET", run.url(resource, query=query((attribute, value))))
        found = _ids(reply)
        kept = f"{attribute}=<value of the first> returns the first instance"
        left_out = f"{attribute}=<value of the first> leaves out the second, which differs on {attribute}"
        run.record(f"/{resource.name}?{attribute}={{value of the first}}", reply, [
            checks.status_is(reply, (200, 206), tier="spec"),
            _verdict(kept, first["id"] in found, f"expected id {first['id']!r} among {checks.show(found)}"),
            _verdict(left_out, second["id"] not in found,
                     f"the filter returned the second instance (id {second['id']!r}), whose {attribute} is "
                     f"{checks.show(second.get(attribute))}: the filter is ignored or matches loosely"),
        ], key=run.key is None)
    if untold:
        run.unverified = f"not filtered on {', '.join(untold)}: the two instances hold the same or no text value there"


def matches_counted(run: ScenarioRun, attribute: str) -> None:
    """With a non-matching instance created first, ``X-Total-Count`` of a filter on ``attribute`` counts the two matches."""
    resource = run.resource
    other, tag = _tag("unmatched"), _tag("counted")
    created = [_create(run, f"/{resource.name} (not matching)", _marked(run, attribute, other))]
    created += [_create(run, f"/{resource.name} (matching {n} of 2)", _marked(run, attribute, tag)) for n in (1, 2)]
    if None in created:
        return
    wanted = sorted(str(instance["id"]) for instance in created[1:] if instance is not None)
    reply = run.send("GET", run.url(resource, query=query((attribute, tag))))
    found = sorted(str(i) for i in _ids(reply))
    run.record(f"/{resource.name}?{attribute}={{tag of two of three}}", reply, [
        checks.status_is(reply, (200, 206), tier="spec"),
        _header(reply, "X-Total-Count", 2),
        _verdict("The filter returns exactly the two matching instances", found == wanted,
                 f"expected ids {checks.show(wanted)}, got {checks.show(found)}"),
    ], key=True)


def profile_attributes(run: ScenarioRun) -> None:
    """The Conformance Profile's mandatory response attributes are present and not blank: create, by id, list."""
    resource, suite = run.resource, run.suite
    assert suite is not None and suite.profile_mandatory
    body = run.payload(resource)
    # an attribute the payload itself sends blank is the payload's deviation, not the server's
    attributes = tuple(a for a in suite.profile_mandatory if body.get(a, True) not in _BLANK)
    instance = _create(run, f"/{resource.name}", body, list(attributes))
    if instance is None:
        return
    reply = run.send("GET", run.url(resource, instance["id"]))
    found = reply.body if isinstance(reply.body, dict) else None
    run.record(f"/{resource.name}/{{id}}", reply, [_profile(attributes, found, reply)], key=True)
    reply = run.send("GET", run.url(resource, query=query(("id", str(instance["id"])))))
    mine = next((i for i in reply.body if isinstance(i, dict) and i.get("id") == instance["id"]), None) \
        if isinstance(reply.body, list) else None
    run.record(f"/{resource.name}?id={{id}}", reply, [_profile(attributes, mine, reply)])


def _create(
    run: ScenarioRun, name: str, body: Mapping[str, Any], profile: list[str] | None = None
) -> dict[str, Any] | None:
    reply = run.send("POST", run.url(run.resource), dict(body))
    answer = reply.body if isinstance(reply.body, dict) and isinstance(reply.body.get("id"), str) else None
    results = [checks.status_is(reply, (201,), tier="spec")]
    if profile is not None:
        results.append(_profile(tuple(profile), answer, reply))
    if answer is not None:
        run.created.append((run.resource, run.url(run.resource, answer["id"])))
    run.record(name, reply, results)
    return answer


def _marked(run: ScenarioRun, attribute: str, value: str) -> dict[str, Any]:
    return {**run.payload(run.resource), attribute: value}


def _profile(attributes: tuple[str, ...], instance: dict[str, Any] | None, reply: Reply) -> CheckResult:
    name = "The Conformance Profile's mandatory attributes are present"
    if instance is None:
        return checks.failed(name, f"expected the instance as a JSON object, got {checks.show(reply.body) if reply.json_ok else reply.problem}", "spec")
    blank = [a for a in attributes if instance.get(a) in _BLANK]
    return _verdict(name, not blank, f"missing or blank: {', '.join(blank)} (id {checks.show(instance.get('id'))})")


def _header(reply: Reply, header: str, expected: int) -> CheckResult:
    name = f"{header} is {expected}"
    headers = {key.lower(): value for key, value in reply.exchange.response_headers.items()}
    actual = headers.get(header.lower())
    return _verdict(name, actual is not None and actual.strip() == str(expected),
                    f"expected {header}: {expected} (the matches), got {actual!r}")


_BLANK: tuple[Any, ...] = (None, "", [], {})


def _verdict(name: str, ok: bool, message: str) -> CheckResult:
    return checks.passed(name, "spec") if ok else checks.failed(name, message, "spec")
