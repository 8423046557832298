"""One spec-tier scenario run on one resource: where it sends, what it sent and created, the checks it records.

A scenario records each exchange with its checks through ``ScenarioRun.record`` (the one way: every
check becomes tier "spec" there) and creates instances through ``ScenarioRun.create``. Every body it
sends to create or change an instance is kept in ``sent``: what an answer only echoes of them is the
payload's deviation, not the server's, and a body the spec itself refuses is never held against a server.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

import tmfapis
from harness.cleanup import delete_created
from harness.ctk import checks
from harness.ctk.declaration import ResourceSuite
from harness.errors import ScenarioSkipped
from harness.fuzz.derived import example_value
from harness.http import Reply, send
from harness.record import SPEC_FOLDER, CheckResult, RequestRecord
from harness.redact import Redactor
from harness.spec.listener import CallbackListener
from harness.urls import PATH_SAFE, resource_url

__all__ = ["RECORD_INDEX_BASE", "Scenario", "ScenarioRun", "header_is", "listed", "marker_attribute", "patch_attribute", "tag",
           "verdict"]

RECORD_INDEX_BASE = 100_000  # scenario records sort after every kit request of the API
PREFERRED_TEXT_ATTRIBUTES = ("name", "description")


def tag(what: str) -> str:
    """A fresh value that marks the instances of one scenario: ``spec-<what>-<10 hex digits>``."""
    return f"spec-{what}-{uuid.uuid4().hex[:10]}"


def verdict(name: str, ok: bool, message: str) -> CheckResult:
    """A check that passed, or failed with ``message``."""
    return checks.passed(name) if ok else checks.failed(name, message)


def listed(reply: Reply) -> list[Any] | str:
    """The items of an answer that lists instances, or why it does not (``the answer is an object, not an array``)."""
    problem = checks.not_a_list(reply)
    return problem if problem is not None else list(reply.body)


def header_is(reply: Reply, header: str, expected: int) -> CheckResult:
    """``<header> is <expected>``: the answer carries the header with that number."""
    name = f"{header} is {expected}"
    if reply.status is None:
        return checks.failed(name, f"no response: {reply.problem}")
    headers = {key.lower(): value for key, value in reply.exchange.response_headers.items()}
    actual = headers.get(header.lower())
    if actual is None:
        return checks.failed(name, f"expected header {header}: {expected}; it is absent")
    return verdict(name, actual.strip() == str(expected), f"expected header {header}: {expected}, got {actual!r}")


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
        and not name.startswith("@") and name not in checks.SERVER_ASSIGNED
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


def _is_reference(schema: Mapping[str, Any]) -> bool:
    """Whether an attribute holds references to other instances (``...Ref``, ``...RefOrValue``), or a list of them."""
    return str(schema.get("items", schema).get("$ref", "")).endswith(("Ref", "RefOrValue"))


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario: its name, what it checks and which resources it applies to."""

    name: str
    description: str
    applies: Callable[[tmfapis.Api, tmfapis.Resource, ResourceSuite | None], bool]  # the suite: the run declaration's
    run: Callable[[ScenarioRun], None]


# ---- one scenario's run ---------------------------------------------------------------------------


@dataclass(slots=True)
class ScenarioRun:
    """The state of one scenario on one resource: where it sends, what it sent and created, the records it made."""

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
    sent: list[Mapping[str, Any]] = field(default_factory=list)  # the bodies that created or changed one of resource
    unverified: str | None = None  # what the scenario could not check, shown as the item's skip reason
    parent_id: str | None = None  # the instance a resource the spec nests under another's (``a/{id}/b``) is under

    # -- HTTP --------------------------------------------------------------------------------------

    def url(self, resource: tmfapis.Resource, instance_id: str | None = None, query: str = "") -> str:
        return resource_url(self.api_root, self.collection(resource), instance_id, query)

    def collection(self, resource: tmfapis.Resource) -> str:
        """Where a resource's collection is under the API root: itself, or under the parent instance of this run."""
        if resource.parent is None:
            return resource.name
        parent_id = quote(self.parent_id, safe=PATH_SAFE) if self.parent_id else "{id}"
        return f"{resource.parent}/{parent_id}/{resource.name}"

    def create_parent(self) -> None:
        """Create the instance a nested resource is read and written under (the spec has it nowhere else)."""
        if self.resource.parent is None:
            return
        parent = self.api.resources[self.resource.parent]
        instance = self.create(parent, f"/{parent.name} (the {parent.name} the {self.resource.name} are under)")
        if instance is None:
            raise ScenarioSkipped(f"no {parent.name} to hold the {self.resource.name}: its create failed")
        self.parent_id = instance["id"]

    def send(self, method: str, url: str, body: Any = None, *, content_type: str | None = None,
             raw: str | None = None) -> Reply:
        return send(self.session, method, url, self.redactor, body, raw=raw,
                    content_type=content_type or "application/json")

    def record(self, name: str, reply: Reply, results: list[CheckResult], key: bool = False) -> None:
        """Keep one exchange of the scenario with its checks, each of tier spec."""
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

    def scenario_record(self, skipped: str | None = None) -> RequestRecord | None:
        """The whole scenario as one record: every check (failures name their exchange) and the telling exchange.
        A scenario skipped before any exchange is one record that says why; one neither run nor skipped, None."""
        if not self.records:
            if skipped is None:
                return None
            return RequestRecord(
                api_id=self.api.id, collection=f"spec: {self.scenario.name}", folder=SPEC_FOLDER,
                name=f"/{self.resource.name}", description=self.scenario.description, method="",
                url=self.url(self.resource), skipped_reason=skipped,
            )
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

    # -- what the answers are checked against ------------------------------------------------------

    def body_checks(self, reply: Reply, definition: str | None = None, listed: bool = False) -> list[CheckResult]:
        """The schema check the answer's status calls for: the TMF Error for an error, else ``definition`` (if any).

        So a wrong status and its body are one deviation, not two. What the answer only echoes of the bodies sent
        is left out; the run's payloads count as sent (the kit requests created instances of them a list may hold).
        """
        if reply.status is not None and reply.status >= 400:
            return [checks.body_matches(reply, self.api.id, "Error")]
        if definition is None:
            return []
        if definition != self.resource.entity:
            return [checks.body_matches(reply, self.api.id, definition, listed=listed)]
        sent = [*self.sent, *self.payloads.get(self.resource.name, ())]
        return [checks.body_matches(reply, self.api.id, definition, listed=listed, sent=sent,
                                    create=self.resource.create_schema)]

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
            schema = definition.get("properties", {}).get(attribute, {})
            if not _is_reference(schema):  # a plain value: the smallest the spec accepts
                body[attribute] = example_value(self.api.id, schema)
                continue
            target = _ref_target(self.api, schema.get("items", schema))
            if target is not None and "POST" not in target.collection_methods:  # a kit may post it; the spec does not
                raise ScenarioSkipped(f"no payload for {resource.name}: its required {attribute!r} refers to a "
                                      f"{target.name}, which the spec lets no client create")
            if target is None or target is resource or not self.payloads.get(target.name):
                # an id nobody created could be refused rightly: not a deviation to report against the server
                raise ScenarioSkipped(
                    f"no payload for {resource.name}: its required {attribute!r} refers to an instance the suite "
                    "declaration does not create"
                )
            instance = self.create(target, f"/{target.name} (referenced by {resource.name})")
            if instance is None:
                raise ScenarioSkipped(f"the {target.name} that {resource.name} refers to could not be created")
            reference = {"id": instance["id"], "href": instance.get("href", "")}
            body[attribute] = [reference] if schema.get("type") == "array" else reference
        return body

    def create(
        self, resource: tmfapis.Resource, name: str, marker: str | None = None, body: Mapping[str, Any] | None = None,
        also: Callable[[dict[str, Any]], list[CheckResult]] | None = None,
    ) -> dict[str, Any] | None:
        """POST an instance (``body``, else the payload) and check the answer: 201, id and href, the entity schema.

        ``also`` adds checks of the created instance (when there is one) to the same exchange. The instance, or None
        when unusable.
        A body the spec's ``_Create`` refuses, refused by the server, skips the scenario: the fault is the body's.
        """
        sent = self.payload(resource, marker) if body is None else dict(body)
        reply = self.send("POST", self.url(resource), sent)
        answer = reply.body if isinstance(reply.body, dict) else None
        instance = answer if answer is not None and isinstance(answer.get("id"), str) and answer["id"] else None
        if instance is not None:
            self.created.append((resource, self.url(resource, instance["id"])))
        refused = checks.refused_body(reply, self.api.id, resource.create_schema, sent)
        if refused:
            self.record(name, reply, [])
            raise ScenarioSkipped(f"{refused}; nothing left to check")
        if resource is self.resource:  # what this resource's answers may echo
            self.sent.append(sent)
        made = reply.status is None or reply.status < 400  # an error answer: its status and Error body tell it all
        results = [checks.status_is(reply, (201,)), *([_has_id_and_href(reply, answer)] if made else []),
                   *self.body_checks(reply, resource.entity)]
        self.record(name, reply, [*results, *(also(instance) if also and instance is not None else [])])
        return instance

    def update_body(self, resource: tmfapis.Resource, changes: Mapping[str, Any]) -> dict[str, Any]:
        """A merge patch of ``changes`` valid against the spec's ``_Update``: what it requires comes from the create.

        Skips the scenario when no such body can be made from what the scenario sent.
        """
        assert resource.update_schema is not None  # only resources with PATCH are patched
        required = self.api.definitions[resource.update_schema].get("required", [])
        created = self.sent[-1] if self.sent else {}
        body = {**{name: created[name] for name in required if name in created}, **changes}
        problems = checks.schema_problems(self.api.id, resource.update_schema, body)
        if not problems:  # the patch may still break the instance where the spec's _Update and _Create disagree
            before = set(checks.schema_problems(self.api.id, resource.create_schema, created))
            after = checks.schema_problems(self.api.id, resource.create_schema, tmfapis.merge_patch(created, body))
            problems = [problem for problem in after if problem not in before]
        if problems:
            raise ScenarioSkipped(f"no PATCH body valid against {resource.update_schema} (and, applied, against "
                                  f"{resource.create_schema}) can be made from the payload: "
                                  f"{'; '.join(problems)}")
        return body

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
        return checks.failed(name, f"no body to read: {reply.problem}")
    if not isinstance(body, dict):
        return checks.failed(name, f"expected a JSON object with id and href, got {checks.show(body)}")
    missing = [key for key in checks.SERVER_ASSIGNED if not (isinstance(body.get(key), str) and body[key])]
    return verdict(name, not missing, f"expected non-empty string id and href; missing or empty: {', '.join(missing)}")
