"""Spec-tier scenarios for what the kits run but cannot show, whatever data the server already holds.

Each judges only instances it creates: an equality filter on each held attribute must leave out a
second instance that differs on it; ``X-Total-Count`` must count the matches, not the collection; the
Conformance Profile's mandatory response attributes must be there, on the create, by id and in a list.
"""

from __future__ import annotations

import copy
from typing import Any

from harness.ctk import checks
from harness.ctk.declaration import ResourceSuite
from harness.record import PAYLOAD_FAULT, CheckResult
from harness.spec.run import PREFERRED_TEXT_ATTRIBUTES, ScenarioRun, header_is, listed, tag, verdict
from harness.urls import query

__all__ = ["held_filters", "matches_counted", "profile_attributes"]

BLANK: tuple[Any, ...] = (None, "", [], {})


def _other(run: ScenarioRun, suite: ResourceSuite, attribute: str, value: Any) -> Any:
    """A value of ``attribute`` that differs from ``value`` and a server will accept, or None when none is known.

    In order: another payload's value (configured or declared), another value of the spec's enum, and for
    prose (free text of several words, or a name or description) the value with a tag appended. A single
    word may be one of a closed list the spec does not spell out, so it is not made up.
    """
    payloads = [*run.payloads.get(run.resource.name, ()), *suite.payloads]
    other = next((body[attribute] for body in payloads if attribute in body and body[attribute] != value), None)
    if other is not None:
        return other
    schema = run.api.definitions[run.resource.create_schema].get("properties", {}).get(attribute, {})
    target = run.api.definitions.get(str(schema.get("$ref", "")).rsplit("/", 1)[-1], schema)
    if "enum" in target:
        return next((option for option in target["enum"] if option != value), None)
    prose = attribute in PREFERRED_TEXT_ATTRIBUTES or (isinstance(value, str) and len(value.split()) > 1)
    return f"{value} ({tag('other')})" if isinstance(value, str) and prose and "format" not in schema else None


def held_filters(run: ScenarioRun) -> None:
    """Per held attribute: ``?attr=<value of the first>`` returns the first instance and not a second that differs."""
    resource, suite = run.resource, run.suite
    assert suite is not None  # applies() guarantees it
    body = run.payload(resource)
    second_body = copy.deepcopy(body)
    unknown = []  # attributes no other acceptable value is known for
    for attribute in suite.held:
        if attribute in body and attribute not in checks.SERVER_ASSIGNED:
            changed = _other(run, suite, attribute, body[attribute])
            if changed is None:
                unknown.append(attribute)
            else:
                second_body[attribute] = changed
    first = run.create(resource, f"/{resource.name} (the first)", body=body)
    second = run.create(resource, f"/{resource.name} (a second, differing where another value is known)", body=second_body)
    if first is None or second is None:
        return
    untold = []
    for attribute in suite.held:
        value = first.get(attribute)
        if not isinstance(value, str) or value == second.get(attribute):
            if attribute in body and attribute not in unknown:  # a server-set value (a date) may equal the other's
                untold.append(attribute)
            continue
        reply = run.send("GET", run.url(resource, query=query((attribute, value))))
        found = listed(reply)
        ids = [item.get("id") for item in found if isinstance(item, dict)] if isinstance(found, list) else []
        kept = f"{attribute}=<value of the first> returns the first instance"
        left_out = f"{attribute}=<value of the first> leaves out the second, which differs on {attribute}"
        judged = [checks.failed(kept, found)] if isinstance(found, str) else [  # not a list: one fault, told once
            verdict(kept, first["id"] in ids, f"expected id {first['id']!r} among the ids of the answer {checks.show(ids)}"),
            verdict(left_out, second["id"] not in ids,
                    f"the filter returned the second instance (id {second['id']!r}), whose {attribute} is "
                    f"{checks.show(second.get(attribute))}: the filter is ignored or matches loosely"),
        ]
        run.record(f"/{resource.name}?{attribute}={{value of the first}}", reply,
                   [checks.status_is(reply, (200, 206)), *judged], key=run.key is None)
    run.unverified = "; ".join(filter(None, [
        f"not filtered on {', '.join(unknown)}: no other value is known that a server would accept (the payloads hold "
        "one, the spec lists none, and a made-up one may fall outside a closed list)" if unknown else "",
        f"not filtered on {', '.join(untold)}: the two instances hold the same or no text value there" if untold else "",
    ])) or None


def matches_counted(run: ScenarioRun, attribute: str) -> None:
    """With a non-matching instance created first, ``X-Total-Count`` of a filter on ``attribute`` counts the two matches."""
    resource = run.resource
    other, marker = tag("unmatched"), tag("counted")
    created = [run.create(resource, f"/{resource.name} (not matching)", other)]
    created += [run.create(resource, f"/{resource.name} (matching {n} of 2)", marker) for n in (1, 2)]
    if None in created:
        return
    wanted = sorted(str(instance["id"]) for instance in created[1:] if instance is not None)
    reply = run.send("GET", run.url(resource, query=query((attribute, marker))))
    found = listed(reply)
    ids = sorted(str(item.get("id")) for item in found if isinstance(item, dict)) if isinstance(found, list) else []
    run.record(f"/{resource.name}?{attribute}={{tag of two of three}}", reply, [
        checks.status_is(reply, (200, 206)),
        header_is(reply, "X-Total-Count", 2),
        verdict("The filter returns exactly the two matching instances", ids == wanted,
                found if isinstance(found, str) else f"expected ids {checks.show(wanted)}, got {checks.show(ids)}"),
    ], key=True)


PROFILE = "The Conformance Profile's mandatory attributes are present"


def profile_attributes(run: ScenarioRun) -> None:
    """The Conformance Profile's mandatory response attributes are present and not blank: create, by id, list.

    An attribute the payload itself sends blank and the server echoes is the payload's deviation, told once.
    """
    resource, suite = run.resource, run.suite
    assert suite is not None and suite.profile_mandatory
    body = run.payload(resource)
    sent_blank = tuple(name for name in suite.profile_mandatory if name in body and body[name] in BLANK)
    attributes = tuple(name for name in suite.profile_mandatory if name not in sent_blank)

    def on_create(instance: dict[str, Any]) -> list[CheckResult]:
        echoed = [name for name in sent_blank if instance.get(name) in BLANK]
        return [_profile(attributes, instance), verdict(
            "Payload gives the Conformance Profile's mandatory attributes", not echoed,
            f"{PAYLOAD_FAULT}: it sends {', '.join(echoed)} blank, and the server "
            "keeps what it is sent")]

    instance = run.create(resource, f"/{resource.name}", body=body, also=on_create)
    if instance is None:
        return
    reply = run.send("GET", run.url(resource, instance["id"]))
    by_id = reply.body if isinstance(reply.body, dict) else (
        f"expected the instance as a JSON object, got {checks.show(reply.body) if reply.json_ok else reply.problem}")
    run.record(f"/{resource.name}/{{id}}", reply, [_profile(attributes, by_id)], key=True)
    reply = run.send("GET", run.url(resource, query=query(("id", str(instance["id"])))))
    found = listed(reply)
    mine = found if isinstance(found, str) else next(
        (item for item in found if isinstance(item, dict) and item.get("id") == instance["id"]),
        f"the created instance (id {instance['id']!r}) is not in the answer to ?id=: {checks.show(found)}")
    run.record(f"/{resource.name}?id={{id}}", reply, [_profile(attributes, mine)])


def _profile(attributes: tuple[str, ...], instance: dict[str, Any] | str) -> CheckResult:
    """The profile's attributes present and not blank in ``instance``, or why there is no instance to look at."""
    if isinstance(instance, str):
        return checks.failed(PROFILE, instance)
    blank = [a for a in attributes if instance.get(a) in BLANK]
    return verdict(PROFILE, not blank, f"missing or blank: {', '.join(blank)} {checks.which(instance)}")
