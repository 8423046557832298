"""The spec tier: generic scenarios that check what the TMF OpenAPI v4 specs require beyond the kits.

Each scenario runs against one resource of an API, with payloads from the suite declaration (a
resource without one, such as ``cancelProductOrder``, gets a payload whose references point to
instances the scenario creates first). Every exchange becomes a ``RequestRecord`` in folder
``SPEC`` whose checks are all of tier "spec"; the pytest layer turns deviations into xfails (or
failures when the run is strict), so the CTK verdict and the exit status are unchanged by default.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

import tmfapis
from harness.cleanup import delete_created
from harness.ctk import checks
from harness.ctk.declaration import ResourceSuite
from harness.errors import ScenarioSkipped
from harness.http import Reply, not_sent, send
from harness.record import SPEC_FOLDER, CheckResult, RequestRecord
from harness.redact import Redactor
from harness.spec import held
from harness.spec.listener import CallbackListener
from harness.urls import query, resource_url, same_origin

__all__ = ["RECORD_INDEX_BASE", "SCENARIOS", "Scenario", "ScenarioRun", "ScenarioSkipped", "deviation_text",
           "marker_attribute", "patch_attribute"]

MERGE_PATCH = "application/merge-patch+json"
EVENT_WAIT_S = 5.0
PAGED_INSTANCES = 3
PAGE_SIZE = 2
UNREACHABLE_CALLBACK = "http://listener.invalid/tmf-events"  # RFC 2606: never resolves
RECORD_INDEX_BASE = 100_000  # scenario records sort after every kit request of the API
PREFERRED_TEXT_ATTRIBUTES = ("name", "description")


# ---- what a resource offers the scenarios ---------------------------------------------------------


def _plain_text_attributes(api: tmfapis.Api, definition: str | None) -> list[str]:
    """Attributes of a definition that accept any string (no enum, no format), ids and @-meta left out."""
    if definition is None:
        return []
    properties = api.definitions.get(definition, {}).get("properties", {})
    return [
        name
        for name, schema in properties.items()
        if schema.get("type") == "string" and "enum" not in schema and "format" not in schema
        and not name.startswith("@") and name not in ("id", "href")
    ]


def marker_attribute(api: tmfapis.Api, resource: tmfapis.Resource) -> str | None:
    """A free-text attribute of the Create schema to tag, select and filter on (``name``, ``description``...)."""
    candidates = _plain_text_attributes(api, resource.create_schema)
    for name in PREFERRED_TEXT_ATTRIBUTES:
        if name in candidates:
            return name
    return candidates[0] if candidates else None


def patch_attribute(api: tmfapis.Api, resource: tmfapis.Resource) -> str | None:
    """A free-text attribute the Update schema accepts, preferring the marker attribute."""
    candidates = _plain_text_attributes(api, resource.update_schema)
    marker = marker_attribute(api, resource)
    if marker in candidates:
        return marker
    return candidates[0] if candidates else None


def _ref_target(api: tmfapis.Api, schema: Mapping[str, Any]) -> tmfapis.Resource | None:
    """The resource a ``<Entity>Ref`` attribute points to, if it is one of this API's."""
    ref = str(schema.get("$ref", ""))
    entity = ref.rsplit("/", 1)[-1].removesuffix("Ref") if ref.endswith("Ref") else ""
    return next((r for r in api.resources.values() if r.entity == entity), None)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One generic scenario: its name, what it checks and which resources it applies to."""

    name: str
    description: str
    applies: Callable[[tmfapis.Api, tmfapis.Resource, ResourceSuite | None], bool]  # the suite: the run declaration's
    run: Callable[[ScenarioRun], None]


# ---- one scenario's run ---------------------------------------------------------------------------


@dataclass(slots=True)
class ScenarioRun:
    """The state of one scenario on one resource: where it sends, what it created, the records it made."""

    api: tmfapis.Api
    resource: tmfapis.Resource
    scenario: Scenario
    api_root: str
    session: requests.Session
    redactor: Redactor
    payloads: Mapping[str, tuple[Mapping[str, Any], ...]]
    suite: ResourceSuite | None = None  # the resource in the suite declaration being run, if it declares it
    listener: CallbackListener | None = None
    records: list[RequestRecord] = field(default_factory=list)  # one per exchange, in order
    key: int | None = None  # the exchange the scenario is about, shown when nothing failed
    created: list[tuple[tmfapis.Resource, str]] = field(default_factory=list)  # (resource, item URL)
    unverified: str | None = None  # what the scenario could not check, shown as the item's skip reason

    # -- HTTP --------------------------------------------------------------------------------------

    def url(self, resource: tmfapis.Resource, instance_id: str | None = None, query: str = "") -> str:
        return resource_url(self.api_root, resource.name, instance_id, query)

    def send(self, method: str, url: str, body: Any = None, *, content_type: str | None = None,
             raw: str | None = None) -> Reply:
        return send(self.session, method, url, self.redactor, body, raw=raw,
                    content_type=content_type or "application/json")

    def record(self, name: str, reply: Reply, results: list[CheckResult], key: bool = False) -> None:
        """Keep one exchange of the scenario with its checks (all of tier spec)."""
        exchange = reply.exchange
        spec_results = [CheckResult(r.name, "spec", r.outcome, r.message) for r in results]
        record = RequestRecord(
            api_id=self.api.id,
            collection=f"spec: {self.scenario.name}",
            folder=SPEC_FOLDER,
            name=name,
            description=self.scenario.description,
            method=exchange.method,
            url=exchange.url,
            exchange=exchange,
            checks=spec_results,
        )
        self.records.append(self.redactor.record(record))
        if key:
            self.key = len(self.records) - 1

    def scenario_record(self) -> RequestRecord | None:
        """The whole scenario as one record: every check (failures name their exchange) and the telling exchange."""
        if not self.records:
            return None
        failing = next((record for record in self.records if record.failed), None)
        shown = failing or self.records[self.key if self.key is not None else -1]
        results = [
            check if check.outcome == "passed" else
            CheckResult(check.name, check.tier, check.outcome, f"{_exchange_line(record)}: {check.message}")
            for record in self.records for check in record.checks
        ]
        steps = "; ".join(_exchange_line(record) for record in self.records)
        return RequestRecord(
            api_id=shown.api_id, collection=shown.collection, folder=SPEC_FOLDER, name=shown.name,
            description=f"{self.scenario.description}. Exchanges: {steps}", method=shown.method, url=shown.url,
            exchange=shown.exchange, checks=results,
        )

    # -- instances ---------------------------------------------------------------------------------

    def payload(self, resource: tmfapis.Resource, marker: str | None = None) -> dict[str, Any]:
        """A create body for ``resource``: the declaration's first payload, or one built from its references."""
        declared = self.payloads.get(resource.name)
        if declared:
            body = copy.deepcopy(dict(declared[0]))
        else:
            body = self._built_payload(resource)
        attribute = marker_attribute(self.api, resource)
        if marker is not None and attribute is not None:
            body[attribute] = marker
        return body

    def _built_payload(self, resource: tmfapis.Resource) -> dict[str, Any]:
        definition = self.api.definitions[resource.create_schema]
        body: dict[str, Any] = {}
        for attribute in definition.get("required", []):
            target = _ref_target(self.api, definition.get("properties", {}).get(attribute, {}))
            if target is None or target is resource or not self.payloads.get(target.name):
                raise ScenarioSkipped(
                    f"no payload for {resource.name}: its required {attribute!r} is not a reference to a resource "
                    "the suite declaration creates"
                )
            instance = self.create(target, f"/{target.name} (referenced by {resource.name})")
            if instance is None:
                raise ScenarioSkipped(f"the {target.name} that {resource.name} refers to could not be created")
            body[attribute] = {"id": instance["id"], "href": instance.get("href", "")}
        return body

    def create(self, resource: tmfapis.Resource, name: str, marker: str | None = None) -> dict[str, Any] | None:
        """POST an instance and check the answer: 201, id and href, the entity schema. None when unusable."""
        reply = self.send("POST", self.url(resource), self.payload(resource, marker))
        body = reply.body if isinstance(reply.body, dict) else None
        results = [checks.status_is(reply, (201,), tier="spec"), _has_id_and_href(reply, body),
                   checks.body_matches(reply, self.api.id, resource.entity, tier="spec")]
        if body is not None and isinstance(body.get("id"), str) and body["id"]:
            self.created.append((resource, self.url(resource, body["id"])))
        self.record(name, reply, results)
        return body if body is not None and isinstance(body.get("id"), str) and body["id"] else None

    def cleanup(self, keep: bool = False) -> list[str]:
        """Delete what the scenario created, newest first (unless ``keep``); a line per instance left behind."""
        left = delete_created(self.session, self.redactor, list(reversed(self.created)), keep)
        self.created.clear()
        return left

    def forget(self, url: str) -> None:
        self.created = [(resource, known) for resource, known in self.created if known != url]


def _exchange_line(record: RequestRecord) -> str:
    status = record.exchange.status if record.exchange and record.exchange.status is not None else "no response"
    return f"{record.method} {record.name} -> {status}"


def _has_id_and_href(reply: Reply, body: Any) -> CheckResult:
    name = "Response has id and href"
    if not reply.json_ok:
        return checks.failed(name, f"no body to read: {reply.problem}", "spec")
    if not isinstance(body, dict):
        return checks.failed(name, f"expected a JSON object with id and href, got {checks.show(body)}", "spec")
    missing = [key for key in ("id", "href") if not (isinstance(body.get(key), str) and body[key])]
    if missing:
        return checks.failed(name, f"expected non-empty string id and href; missing or empty: {', '.join(missing)}", "spec")
    return checks.passed(name, "spec")


def _same_instance(name: str, reply: Reply, instance_id: str) -> CheckResult:
    if not reply.json_ok:
        return checks.failed(name, f"expected the instance {instance_id!r}, got no JSON body: {reply.problem}", "spec")
    got = reply.body.get("id") if isinstance(reply.body, dict) else None
    if reply.status == 200 and got == instance_id:
        return checks.passed(name, "spec")
    return checks.failed(name, f"expected 200 with id {instance_id!r}, got {reply.status} with id {checks.show(got)}", "spec")


# ---- the scenarios --------------------------------------------------------------------------------


def _tag(what: str) -> str:
    return f"spec-{what}-{uuid.uuid4().hex[:10]}"


def create_and_read(run: ScenarioRun) -> None:
    """POST answers 201 with id and href, href resolves, GET by id and the list validate."""
    resource = run.resource
    instance = run.create(resource, f"/{resource.name}", _tag("create"))
    run.key = len(run.records) - 1
    if instance is None:
        return
    href = instance.get("href")
    if isinstance(href, str) and href:
        target = urljoin(run.api_root, href)
        reply = run.send("GET", target) if same_origin(target, run.api_root) else not_sent("GET", target, run.redactor, (
            f"the href {target} is on another origin than the API root {run.api_root}; not followed with credentials"))
        run.record(f"{{href of /{resource.name}}}", reply, [_same_instance("href resolves to the instance", reply, instance["id"])])
    reply = run.send("GET", run.url(resource, instance["id"]))
    run.record(f"/{resource.name}/{{id}}", reply, [
        _same_instance("GET by id returns the instance", reply, instance["id"]),
        checks.body_matches(reply, run.api.id, resource.entity, tier="spec"),
    ])
    reply = run.send("GET", run.url(resource))
    run.record(f"/{resource.name}", reply, [
        checks.status_is(reply, (200, 206), tier="spec"),
        checks.body_matches(reply, run.api.id, resource.entity, tier="spec", listed=True),
    ])


def field_selection(run: ScenarioRun) -> None:
    """``fields=a`` returns only id, href, @type and a, on the list and by id."""
    resource = run.resource
    attribute = marker_attribute(run.api, resource)
    assert attribute is not None  # applies() guarantees it
    marker = _tag("fields")
    instance = run.create(resource, f"/{resource.name}", marker)
    if instance is None:
        return
    selection = query(("fields", attribute))
    reply = run.send("GET", run.url(resource, query=query(("fields", attribute), (attribute, marker))))
    run.record(f"/{resource.name}?fields={attribute}&{attribute}={{marker}}", reply,
               [checks.status_is(reply, (200, 206), tier="spec"), *_selected_only(reply, attribute, instance, listed=True)],
               key=True)
    reply = run.send("GET", run.url(resource, instance["id"], selection))
    run.record(f"/{resource.name}/{{id}}?fields={attribute}", reply,
               [checks.status_is(reply, (200,), tier="spec"), *_selected_only(reply, attribute, instance, listed=False)])


def _selected_only(reply: Reply, attribute: str, instance: Mapping[str, Any], listed: bool) -> list[CheckResult]:
    only = f"fields={attribute} returns only id, href, @type and {attribute}"
    has_id = f"fields={attribute} keeps id"
    has_value = f"fields={attribute} returns {attribute}"
    if not reply.json_ok:
        return [checks.failed(name, f"no body to read: {reply.problem}", "spec") for name in (only, has_id, has_value)]
    if listed and not isinstance(reply.body, list):
        return [checks.failed(only, f"expected a JSON array, got {checks.show(reply.body)}", "spec")]
    items = list(reply.body) if listed else [reply.body]
    mine = [item for item in items if isinstance(item, dict) and item.get("id") == instance["id"]]
    allowed = {*tmfapis.ALWAYS_SELECTED, attribute}
    extra = sorted({key for item in items if isinstance(item, dict) for key in item} - allowed)
    results = [checks.failed(only, f"expected only {', '.join(sorted(allowed))}; also got {', '.join(extra)}", "spec")
               if extra else checks.passed(only, "spec")]
    no_id = sum(1 for item in items if not (isinstance(item, dict) and item.get("id")))
    if no_id or not items:
        results.append(checks.failed(has_id, f"expected every instance to keep its id; {no_id} of {len(items)} have none", "spec"))
    else:
        results.append(checks.passed(has_id, "spec"))
    expected = instance.get(attribute)
    if listed and not mine:
        why = "no item carries an id to find it by" if no_id == len(items) else "it is not there"
        results.append(checks.failed(has_value, f"expected the created instance (id {instance['id']!r}) in the answer; {why}", "spec"))
    elif not listed and not mine and items and isinstance(items[0], dict):
        mine = items  # the id check above already reports a missing id
        actual = items[0].get(attribute)
        results.append(checks.passed(has_value, "spec") if actual == expected else
                       checks.failed(has_value, f"expected {attribute} {checks.show(expected)}, got {checks.show(actual)}", "spec"))
    else:
        actual = mine[0].get(attribute) if mine else None
        results.append(checks.passed(has_value, "spec") if actual == expected else
                       checks.failed(has_value, f"expected {attribute} {checks.show(expected)}, got {checks.show(actual)}", "spec"))
    return results


def merge_patch(run: ScenarioRun) -> None:
    """PATCH with a merge patch answers 200 and the change is visible on the next GET."""
    resource = run.resource
    attribute = patch_attribute(run.api, resource)
    assert attribute is not None
    instance = run.create(resource, f"/{resource.name}", _tag("patch"))
    if instance is None:
        return
    value = _tag("patched")
    url = run.url(resource, instance["id"])
    patch = json.dumps({attribute: value})
    reply = run.send("PATCH", url, content_type=MERGE_PATCH, raw=patch)
    answered = reply.body.get(attribute) if isinstance(reply.body, dict) else None
    run.record(f"/{resource.name}/{{id}}", key=True, reply=reply, results=[
        checks.status_is(reply, (200,), tier="spec"),
        checks.passed(f"PATCH answer shows {attribute}", "spec") if answered == value else
        checks.failed(f"PATCH answer shows {attribute}", f"expected {attribute} {checks.show(value)}, got {checks.show(answered)}", "spec"),
        checks.body_matches(reply, run.api.id, resource.entity, tier="spec"),
    ])
    reply = run.send("GET", url)
    seen = reply.body.get(attribute) if isinstance(reply.body, dict) else None
    name = f"PATCH of {attribute} is visible on the next GET"
    run.record(f"/{resource.name}/{{id}}", reply, [
        checks.status_is(reply, (200,), tier="spec"),
        checks.passed(name, "spec") if seen == value else
        checks.failed(name, f"expected {attribute} {checks.show(value)}, got {checks.show(seen)}", "spec"),
    ])


def delete_then_gone(run: ScenarioRun) -> None:
    """DELETE answers 204 and the next GET answers 404."""
    resource = run.resource
    instance = run.create(resource, f"/{resource.name}", _tag("delete"))
    if instance is None:
        return
    url = run.url(resource, instance["id"])
    reply = run.send("DELETE", url)
    run.record(f"/{resource.name}/{{id}}", reply, [checks.status_is(reply, (204,), tier="spec")], key=True)
    if reply.status in (200, 202, 204):
        run.forget(url)
    reply = run.send("GET", url)
    run.record(f"/{resource.name}/{{id}} after DELETE", reply, [
        checks.status_is(reply, (404,), tier="spec"),
        checks.body_matches(reply, run.api.id, "Error", tier="spec"),
    ])


def paging(run: ScenarioRun) -> None:
    """offset/limit return the right slice of a filtered list, with X-Total-Count and X-Result-Count."""
    resource = run.resource
    attribute = marker_attribute(run.api, resource)
    assert attribute is not None
    marker = _tag("paging")
    ids = []
    for number in range(1, PAGED_INSTANCES + 1):
        instance = run.create(resource, f"/{resource.name} ({number} of {PAGED_INSTANCES})", marker)
        if instance is None:
            return
        ids.append(instance["id"])
    seen: list[str] = []
    for offset in range(0, PAGED_INSTANCES, PAGE_SIZE):
        expected = min(PAGE_SIZE, PAGED_INSTANCES - offset)
        query_string = query((attribute, marker), ("offset", str(offset)), ("limit", str(PAGE_SIZE)))
        reply = run.send("GET", run.url(resource, query=query_string))
        page = [item.get("id") for item in reply.body if isinstance(item, dict)] if isinstance(reply.body, list) else []
        seen.extend(str(i) for i in page)
        slice_name = f"offset={offset}&limit={PAGE_SIZE} returns {expected} of the {PAGED_INSTANCES} tagged instances"
        fresh = [i for i in page if i in ids and page.count(i) == 1]
        results = [
            checks.status_is(reply, (200, 206), tier="spec"),
            _header_is(reply, "X-Total-Count", PAGED_INSTANCES),
            _header_is(reply, "X-Result-Count", len(page) if isinstance(reply.body, list) else expected),
            checks.passed(slice_name, "spec") if len(page) == expected and len(fresh) == expected else
            checks.failed(slice_name, f"expected {expected} distinct tagged instances, got {len(page)} items: {checks.show(page)}", "spec"),
        ]
        run.record(f"/{resource.name}?{attribute}={{marker}}&offset={offset}&limit={PAGE_SIZE}", reply, results, key=offset == 0)
    name = "The pages together hold each tagged instance once"
    last = run.records[-1]
    missing = sorted(set(ids) - set(seen))
    repeated = sorted({i for i in seen if seen.count(i) > 1})
    if missing or repeated:
        last.checks.append(checks.failed(name, f"expected {checks.show(sorted(ids))} once each; missing {checks.show(missing)}, "
                                               f"repeated {checks.show(repeated)}", "spec"))
    else:
        last.checks.append(checks.passed(name, "spec"))


def _header_is(reply: Reply, header: str, expected: int) -> CheckResult:
    name = f"{header} is {expected}"
    if reply.status is None:
        return checks.failed(name, f"no response: {reply.problem}", "spec")
    headers = {key.lower(): value for key, value in reply.exchange.response_headers.items()}
    actual = headers.get(header.lower())
    if actual is None:
        return checks.failed(name, f"expected header {header}: {expected}; it is absent", "spec")
    if actual.strip() != str(expected):
        return checks.failed(name, f"expected header {header}: {expected}, got {actual!r}", "spec")
    return checks.passed(name, "spec")


def error_bodies(run: ScenarioRun) -> None:
    """404 for an unknown id and 400 for malformed JSON or a missing required attribute carry a TMF Error."""
    resource = run.resource
    reply = run.send("GET", run.url(resource, f"spec-unknown-{uuid.uuid4()}"))
    run.record(f"/{resource.name}/{{unknown id}}", reply, [
        checks.status_is(reply, (404,), tier="spec"), checks.body_matches(reply, run.api.id, "Error", tier="spec")], key=True)
    reply = run.send("POST", run.url(resource), content_type="application/json", raw='{"malformed": ')
    run.record(f"/{resource.name} (malformed JSON)", reply, [
        checks.status_is(reply, (400,), tier="spec"), checks.body_matches(reply, run.api.id, "Error", tier="spec")])
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
    run.record(f"/{resource.name} (without {required[0]})", reply, [
        checks.status_is(reply, (400,), tier="spec"), checks.body_matches(reply, run.api.id, "Error", tier="spec")])


def hub_and_events(run: ScenarioRun) -> None:
    """POST /hub answers 201, a create sends the matching CreateEvent (when callbacks can arrive), DELETE /hub/{id} 204."""
    resource = run.resource
    listener = run.listener
    callback = listener.url if listener is not None else UNREACHABLE_CALLBACK
    hub = resource_url(run.api_root, "hub")
    reply = run.send("POST", hub, {"callback": callback})
    registered = reply.body if isinstance(reply.body, dict) else {}
    run.record("/hub", reply, [checks.status_is(reply, (201,), tier="spec"),
                               checks.body_matches(reply, run.api.id, "EventSubscription", tier="spec")], key=True)
    hub_id = registered.get("id")
    if listener is None:
        run.unverified = (f"{resource.event_type('Create')} not verified: no callback host (give --callback-host HOST, "
                          "an address of this machine the server can reach)")
    try:
        if listener is not None and isinstance(hub_id, str):
            instance = run.create(resource, f"/{resource.name}", _tag("event"))
            if instance is not None:
                event_type = resource.event_type("Create")
                event = listener.wait_for(event_type, instance["id"], EVENT_WAIT_S)
                name = f"{event_type} received for the created instance"
                result = checks.passed(name, "spec") if event is not None else checks.failed(
                    name, f"expected a {event_type} about id {instance['id']!r} at {listener.url} within "
                          f"{EVENT_WAIT_S:g}s; received {listener.summary()}", "spec")
                run.records[-1].checks.append(result)
    finally:
        if isinstance(hub_id, str) and hub_id:
            reply = run.send("DELETE", resource_url(run.api_root, "hub", hub_id))
            run.record("/hub/{id}", reply, [checks.status_is(reply, (204,), tier="spec")])


def _has_marker(api: tmfapis.Api, resource: tmfapis.Resource) -> bool:
    return marker_attribute(api, resource) is not None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("create", "POST answers 201 with id and href, href resolves, bodies validate against the schema",
             lambda api, resource, suite: "POST" in resource.collection_methods, create_and_read),
    Scenario("fields", "fields=a returns only id, href, @type and a, on the list and by id",
             lambda api, resource, suite: "POST" in resource.collection_methods and _has_marker(api, resource), field_selection),
    Scenario("patch", "PATCH with a merge patch answers 200 and the change is visible on the next GET",
             lambda api, resource, suite: "PATCH" in resource.item_methods and patch_attribute(api, resource) is not None, merge_patch),
    Scenario("delete", "DELETE answers 204 and the next GET answers 404",
             lambda api, resource, suite: "DELETE" in resource.item_methods, delete_then_gone),
    Scenario("paging", "offset and limit return the right slice with X-Total-Count and X-Result-Count",
             lambda api, resource, suite: "POST" in resource.collection_methods and _has_marker(api, resource), paging),
    Scenario("errors", "404 and 400 answers carry a TMF Error body",
             lambda api, resource, suite: "POST" in resource.collection_methods, error_bodies),
    Scenario("hub", "POST /hub answers 201, a create sends its CreateEvent, DELETE /hub/{id} answers 204",
             lambda api, resource, suite: "POST" in resource.collection_methods, hub_and_events),
    Scenario("held-filters", "an equality filter on each held attribute leaves out a second instance that differs on it",
             lambda api, resource, suite: suite is not None, held.held_filters),
    Scenario("counts", "X-Total-Count of a filter counts the matches, not the collection",
             lambda api, resource, suite: "POST" in resource.collection_methods and _has_marker(api, resource),
             lambda run: held.matches_counted(run, str(marker_attribute(run.api, run.resource)))),
    Scenario("profile", "the Conformance Profile's mandatory response attributes are present and not blank",
             lambda api, resource, suite: bool(suite and suite.profile_mandatory),
             held.profile_attributes),
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
