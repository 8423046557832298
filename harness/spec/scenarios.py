"""The spec tier: generic scenarios that check what the TMF OpenAPI v4 specs require beyond the kits.

Each scenario runs against one resource of an API, with payloads from the suite declaration (a
resource without one, such as ``cancelProductOrder``, gets a payload whose references point to
instances the scenario creates first). Every exchange becomes a ``RequestRecord`` in folder
``SPEC`` whose checks are all of tier "spec" (``harness.spec.run``); the pytest layer turns
deviations into xfails (or failures when the run is strict), so the CTK verdict and the exit status
are unchanged by default. The scenarios that look where the kits cannot are in ``beyond_kits``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import tmfapis
from harness.ctk import checks
from harness.errors import ScenarioSkipped
from harness.http import Reply, not_sent
from harness.record import CheckResult, RequestRecord
from harness.spec import beyond_kits
from harness.spec.run import (
    RECORD_INDEX_BASE,
    Scenario,
    ScenarioRun,
    header_is,
    listed,
    marker_attribute,
    patch_attribute,
    tag,
    verdict,
)
from harness.urls import query, resource_url, same_origin

__all__ = ["RECORD_INDEX_BASE", "SCENARIOS", "Scenario", "ScenarioRun", "ScenarioSkipped", "deviation_text",
           "marker_attribute", "patch_attribute"]

MERGE_PATCH = "application/merge-patch+json"  # the PATCH media type TMF630 asks for
EVENT_WAIT_S = 5.0
PAGED_INSTANCES = 3
PAGE_SIZE = 2
UNREACHABLE_CALLBACK = "http://listener.invalid/tmf-events"  # RFC 2606: never resolves


# ---- the scenarios --------------------------------------------------------------------------------


def _same_instance(name: str, reply: Reply, instance_id: str) -> CheckResult:
    if not reply.json_ok:
        return checks.failed(name, f"expected the instance {instance_id!r}, got no JSON body: {reply.problem}")
    got = reply.body.get("id") if isinstance(reply.body, dict) else None
    if isinstance(reply.body, dict):
        shown = checks.which(reply.body)
    else:
        shown = f"a JSON {'array' if isinstance(reply.body, list) else type(reply.body).__name__}, not one instance: " \
                f"{checks.show(reply.body)}"
    return verdict(name, reply.status == 200 and got == instance_id,
                   f"expected 200 with id {instance_id!r}, got {reply.status} {shown}")


def create_and_read(run: ScenarioRun) -> None:
    """POST answers 201 with id and href, href resolves, GET by id and the list validate."""
    resource = run.resource
    instance = run.create(resource, f"/{resource.name}", tag("create"))
    run.key = len(run.records) - 1
    if instance is None:
        return
    if "GET" not in resource.item_methods:  # a task resource: created, never read back
        return
    href = instance.get("href")
    if isinstance(href, str) and href:
        target = urljoin(run.api_root, href)
        reply = run.send("GET", target) if same_origin(target, run.api_root) else not_sent("GET", target, run.redactor, (
            f"the href {target} is on another origin than the API root {run.api_root}; not followed with credentials"))
        run.record(f"{{href of /{resource.name}}}", reply, [_same_instance("href resolves to the instance", reply, instance["id"])])
    reply = run.send("GET", run.url(resource, instance["id"]))
    run.record(f"/{resource.name}/{{id}}", reply, [
        _same_instance("GET by id returns the instance", reply, instance["id"]), *run.body_checks(reply, resource.entity)])
    if "GET" not in resource.collection_methods:
        return
    reply = run.send("GET", run.url(resource))
    run.record(f"/{resource.name}", reply, [
        checks.status_is(reply, (200, 206)), *run.body_checks(reply, resource.entity, listed=True)])


def field_selection(run: ScenarioRun) -> None:
    """``fields=a`` returns only id, href, @type and a, on the list and by id."""
    resource = run.resource
    attribute = marker_attribute(run.api, resource)
    assert attribute is not None  # applies() guarantees it
    marker = tag("fields")
    instance = run.create(resource, f"/{resource.name}", marker)
    if instance is None:
        return
    selection = query(("fields", attribute))
    reply = run.send("GET", run.url(resource, query=query(("fields", attribute), (attribute, marker))))
    run.record(f"/{resource.name}?fields={attribute}&{attribute}={{marker}}", reply,
               [checks.status_is(reply, (200, 206)), *_selected_only(reply, attribute, instance, as_list=True)], key=True)
    reply = run.send("GET", run.url(resource, instance["id"], selection))
    run.record(f"/{resource.name}/{{id}}?fields={attribute}", reply,
               [checks.status_is(reply, (200,)), *_selected_only(reply, attribute, instance, as_list=False)])


def _selected_only(reply: Reply, attribute: str, instance: Mapping[str, Any], as_list: bool) -> list[CheckResult]:
    only = f"fields={attribute} returns only id, href, @type and {attribute}"
    has_id = f"fields={attribute} keeps id"
    has_value = f"fields={attribute} returns {attribute}"
    items = listed(reply) if as_list else [reply.body] if reply.json_ok else f"no JSON body: {reply.problem}"
    if isinstance(items, str):
        return [checks.failed(only, items)]  # one fault, told once
    mine = [item for item in items if isinstance(item, dict) and item.get("id") == instance["id"]]
    allowed = {*tmfapis.ALWAYS_SELECTED, attribute}
    extra = sorted({key for item in items if isinstance(item, dict) for key in item} - allowed)
    no_id = sum(1 for item in items if not (isinstance(item, dict) and item.get("id")))
    results = [
        verdict(only, not extra, f"expected only {', '.join(sorted(allowed))}; also got {', '.join(extra)}"),
        verdict(has_id, bool(items) and not no_id, f"expected every instance to keep its id; {no_id} of {len(items)} have none"
                if items else "expected the created instance with its id; the answer holds no instance"),
    ]
    expected = instance.get(attribute)
    if as_list and not mine:
        why = "no item carries an id to find it by" if no_id == len(items) else "it is not there"
        results.append(checks.failed(has_value, f"expected the created instance (id {instance['id']!r}) in the answer; {why}"))
        return results
    if not mine and items and isinstance(items[0], dict):
        mine = items  # by id: the id check above already reports a missing id
    actual = mine[0].get(attribute) if mine else None
    results.append(verdict(has_value, actual == expected, f"expected {attribute} {checks.show(expected)}, got {checks.show(actual)}"))
    return results


def merge_patch(run: ScenarioRun) -> None:
    """PATCH with a merge patch answers 200 and the change is visible on the next GET (else: does application/json?)."""
    resource = run.resource
    attribute = patch_attribute(run.api, resource)
    assert attribute is not None
    instance = run.create(resource, f"/{resource.name}", tag("patch"))
    if instance is None:
        return
    value = tag("patched")
    url = run.url(resource, instance["id"])
    patch = run.update_body(resource, {attribute: value})
    patched = run.send("PATCH", url, content_type=MERGE_PATCH, raw=json.dumps(patch))
    run.sent.append(tmfapis.merge_patch(run.sent[-1], patch))
    read = run.send("GET", url)
    answered = patched.body.get(attribute) if isinstance(patched.body, dict) else None
    seen = read.body.get(attribute) if isinstance(read.body, dict) else None
    as_json, retried = ("", []) if seen == value else _with_plain_json(run, url, patch, attribute, value)
    sent_as = f"after a PATCH sent as {MERGE_PATCH} (TMF630)"
    run.record(f"/{resource.name}/{{id}}", key=True, reply=patched, results=[
        checks.status_is(patched, (200,)),
        verdict(f"PATCH answer shows {attribute}", answered == value,
                f"expected {attribute} {checks.show(value)} {sent_as}, got {checks.show(answered)}{as_json}"),
        *run.body_checks(patched, resource.entity),
    ])
    run.record(f"/{resource.name}/{{id}}", read, [
        checks.status_is(read, (200,)),
        verdict(f"PATCH of {attribute} is visible on the next GET", seen == value,
                f"expected {attribute} {checks.show(value)} {sent_as}, got {checks.show(seen)}{as_json}"),
    ])
    for reply in retried:  # shown beside the deviation they explain
        run.record(f"/{resource.name}/{{id}} (application/json)", reply, [])


def _with_plain_json(run: ScenarioRun, url: str, patch: Mapping[str, Any], attribute: str,
                     value: str) -> tuple[str, list[Reply]]:
    """Whether the same change applies when sent as application/json: a clause for the message, and the exchanges."""
    retried = run.send("PATCH", url, patch)
    if retried.status is None:
        return f"; sent as application/json it got no answer: {retried.problem}", [retried]
    reply = run.send("GET", url)
    applies = isinstance(reply.body, dict) and reply.body.get(attribute) == value
    return (f"; sent as application/json (answered {retried.status}) the same change "
            f"{'applies' if applies else 'does not apply either'}"), [retried, reply]


def delete_then_gone(run: ScenarioRun) -> None:
    """DELETE answers 204 and the next GET answers 404."""
    resource = run.resource
    instance = run.create(resource, f"/{resource.name}", tag("delete"))
    if instance is None:
        return
    url = run.url(resource, instance["id"])
    reply = run.send("DELETE", url)
    run.record(f"/{resource.name}/{{id}}", reply, [checks.status_is(reply, (204,))], key=True)
    if reply.status in (200, 202, 204):
        run.forget(url)
    reply = run.send("GET", url)
    run.record(f"/{resource.name}/{{id}} after DELETE", reply, [checks.status_is(reply, (404,)), *run.body_checks(reply)])


def paging(run: ScenarioRun) -> None:
    """offset/limit return the right slice of a filtered list, with X-Total-Count and X-Result-Count."""
    resource = run.resource
    attribute = marker_attribute(run.api, resource)
    assert attribute is not None
    marker = tag("paging")
    ids = []
    for number in range(1, PAGED_INSTANCES + 1):
        instance = run.create(resource, f"/{resource.name} ({number} of {PAGED_INSTANCES})", marker)
        if instance is None:
            return
        ids.append(instance["id"])
    seen: list[str] = []
    pages: list[tuple[str, Reply, list[CheckResult]]] = []
    for offset in range(0, PAGED_INSTANCES, PAGE_SIZE):
        expected = min(PAGE_SIZE, PAGED_INSTANCES - offset)
        query_string = query((attribute, marker), ("offset", str(offset)), ("limit", str(PAGE_SIZE)))
        reply = run.send("GET", run.url(resource, query=query_string))
        items = listed(reply)
        page = [str(item.get("id")) for item in items if isinstance(item, dict)] if isinstance(items, list) else []
        seen.extend(page)
        pages.append((f"/{resource.name}?{attribute}={{marker}}&offset={offset}&limit={PAGE_SIZE}", reply, [
            checks.status_is(reply, (200, 206)),
            header_is(reply, "X-Total-Count", PAGED_INSTANCES),
            header_is(reply, "X-Result-Count", len(page) if isinstance(items, list) else expected),
            _slice(f"offset={offset}&limit={PAGE_SIZE} returns {expected} of the {PAGED_INSTANCES} tagged instances",
                   items, page, ids, expected),
        ]))
    missing = sorted(set(ids) - set(seen))
    repeated = sorted({i for i in seen if seen.count(i) > 1})
    if all(isinstance(listed(reply), list) for _, reply, _ in pages):  # else each page's check tells why
        pages[-1][2].append(verdict("The pages together hold each tagged instance once", not (missing or repeated),
                                    f"expected {checks.show(sorted(ids))} once each; missing {checks.show(missing)}, "
                                    f"repeated {checks.show(repeated)}"))
    for number, (name, reply, results) in enumerate(pages):
        run.record(name, reply, results, key=number == 0)


def _slice(name: str, items: list[Any] | str, page: list[str], ids: list[str], expected: int) -> CheckResult:
    if isinstance(items, str):
        return checks.failed(name, items)
    tagged = [i for i in dict.fromkeys(page) if i in ids]
    untagged = [i for i in page if i not in ids]
    problem = f"expected {expected} distinct tagged instances, got {len(page)} items of which {len(tagged)} tagged"
    if untagged:
        problem += f"; not tagged instances (the filter is not applied?): {checks.show(untagged)}"
    if len(tagged) < len(page) - len(untagged):
        problem += f"; repeated: {checks.show(sorted({i for i in page if page.count(i) > 1}))}"
    return verdict(name, len(page) == expected and len(tagged) == expected, problem)


def error_bodies(run: ScenarioRun) -> None:
    """404 for an unknown id and 400 for malformed JSON or a missing required attribute carry a TMF Error."""
    resource = run.resource
    if "GET" in resource.item_methods:  # a task resource (POST only) declares no path to read an id from
        reply = run.send("GET", run.url(resource, f"spec-unknown-{uuid.uuid4()}"))
        run.record(f"/{resource.name}/{{unknown id}}", reply, [checks.status_is(reply, (404,)), *run.body_checks(reply)],
                   key=True)
    reply = run.send("POST", run.url(resource), content_type="application/json", raw='{"malformed": ')
    run.record(f"/{resource.name} (malformed JSON)", reply, [checks.status_is(reply, (400,)), *run.body_checks(reply)])
    required = run.api.definitions[resource.create_schema].get("required", [])
    # required by the spec and by the kit's payload schema (the Conformance Profile): a server may default the rest
    suite = run.suite
    if suite is not None:
        required = [name for name in required if name in suite.payload_schema.get("required", [])]
    if not required:
        return  # nothing the spec makes mandatory to leave out
    body = {key: value for key, value in run.payload(resource).items() if key != required[0]}
    reply = run.send("POST", run.url(resource), body)
    if reply.status in (200, 201) and isinstance(reply.body, dict) and isinstance(reply.body.get("id"), str):
        run.created.append((resource, run.url(resource, reply.body["id"])))
    run.record(f"/{resource.name} (without {required[0]})", reply, [checks.status_is(reply, (400,)), *run.body_checks(reply)])


def hub_and_events(run: ScenarioRun) -> None:
    """POST /hub answers 201, a create sends the matching CreateEvent (when callbacks can arrive), DELETE /hub/{id} 204."""
    resource = run.resource
    listener = run.listener
    callback = listener.url if listener is not None else UNREACHABLE_CALLBACK
    hub = resource_url(run.api_root, "hub")
    reply = run.send("POST", hub, {"callback": callback})
    registered = reply.body if isinstance(reply.body, dict) else {}
    run.record("/hub", reply, [checks.status_is(reply, (201,)), *run.body_checks(reply, "EventSubscription")], key=True)
    hub_id = registered.get("id")
    subscribed = reply.status is not None and 200 <= reply.status < 300 and isinstance(hub_id, str) and bool(hub_id)
    if listener is None:
        run.unverified = (f"{resource.event_type('Create')} not verified: no callback host (give --callback-host HOST, "
                          "an address of this machine the server can reach)")
    elif not subscribed:
        run.unverified = f"{resource.event_type('Create')} not awaited: the hub registration failed"
    elif "Create" not in resource.events:
        run.unverified = f"{resource.event_type('Create')} not awaited: the spec declares no such event"
    try:
        if listener is not None and subscribed and "Create" in resource.events:
            event_type = resource.event_type("Create")

            def event_came(instance: dict[str, Any]) -> list[CheckResult]:
                event, waited = listener.wait_for(event_type, instance["id"], EVENT_WAIT_S)
                return [verdict(f"{event_type} received for the created instance", event is not None,
                                f"expected a {event_type} about id {instance['id']!r} at {listener.url}; none within "
                                f"{waited:g}s, {listener.summary()}")]

            run.create(resource, f"/{resource.name}", tag("event"), also=event_came)
    finally:
        if isinstance(hub_id, str) and hub_id:
            reply = run.send("DELETE", resource_url(run.api_root, "hub", hub_id))
            run.record("/hub/{id}", reply, [checks.status_is(reply, (204,))])


def _has_marker(api: tmfapis.Api, resource: tmfapis.Resource) -> bool:
    return marker_attribute(api, resource) is not None


# Each scenario judges only instances it creates: none applies where the spec offers no POST to create one.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("create", "POST answers 201 with id and href, href resolves, bodies validate against the schema",
             lambda api, resource, suite: "POST" in resource.collection_methods, create_and_read),
    Scenario("fields", "fields=a returns only id, href, @type and a, on the list and by id",
             lambda api, resource, suite: "POST" in resource.collection_methods and _has_marker(api, resource), field_selection),
    Scenario("patch", "PATCH with a merge patch answers 200 and the change is visible on the next GET",
             lambda api, resource, suite: "POST" in resource.collection_methods and "PATCH" in resource.item_methods
             and patch_attribute(api, resource) is not None, merge_patch),
    Scenario("delete", "DELETE answers 204 and the next GET answers 404",
             lambda api, resource, suite: "POST" in resource.collection_methods and "DELETE" in resource.item_methods,
             delete_then_gone),
    Scenario("paging", "offset and limit return the right slice with X-Total-Count and X-Result-Count",
             lambda api, resource, suite: "POST" in resource.collection_methods and _has_marker(api, resource), paging),
    Scenario("errors", "404 and 400 answers carry a TMF Error body",
             lambda api, resource, suite: "POST" in resource.collection_methods, error_bodies),
    Scenario("hub", "POST /hub answers 201, a create sends its CreateEvent, DELETE /hub/{id} answers 204",
             lambda api, resource, suite: "POST" in resource.collection_methods, hub_and_events),
    Scenario("held-filters", "an equality filter on each held attribute leaves out a second instance that differs on it",
             lambda api, resource, suite: "POST" in resource.collection_methods and suite is not None,
             beyond_kits.held_filters),
    Scenario("counts", "X-Total-Count of a filter counts the matches, not the collection",
             lambda api, resource, suite: "POST" in resource.collection_methods and _has_marker(api, resource),
             lambda run: beyond_kits.matches_counted(run, str(marker_attribute(run.api, run.resource)))),
    Scenario("profile", "the Conformance Profile's mandatory response attributes are present and not blank",
             lambda api, resource, suite: "POST" in resource.collection_methods and bool(suite and suite.profile_mandatory),
             beyond_kits.profile_attributes),
)


def deviation_text(title: str, records: list[RequestRecord]) -> str:
    """Every failed spec check of a scenario with what was expected and what came back; empty when none."""
    lines = []
    for record in records:
        failed = [check for check in record.checks if check.outcome == "failed"]
        if failed:
            status = record.exchange.status if record.exchange and record.exchange.status is not None else "no response"
            lines.append(f"  {record.method} {record.url} -> {status}")
            lines.extend(f"    DEVIATION {check.name}: {check.message}" for check in failed)
    return f"{title}: spec deviations\n" + "\n".join(lines) if lines else ""
