"""The CTK template engine: turns a suite declaration into the kit's requests and runs them.

``plan`` lists the kit requests in the kit's order (each resource's declared steps); ``SuiteRun`` sends
them one at a time, holds the variables the kit passes between requests (``IDCU01``...) and
records every check. A request whose variable is missing is not sent: ``missing_prerequisite``
names the variable and the request that should have produced it. Where the kit leaves a variable unset without a
failure (a list it reads instance 01 from answers none), the request goes out with ``{{IDPR01}}`` as the kit's does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import requests

import tmfapis
from harness.cleanup import delete_created
from harness.ctk import checks
from harness.ctk.declaration import (
    DEFAULT_FOLDER,
    INSTANCE_CHECKING,
    Kind,
    ResourceSuite,
    Step,
    SuiteDeclaration,
    kit_variable,
)
from harness.http import Reply, send
from harness.record import CheckResult, RequestRecord
from harness.redact import Redactor
from harness.urls import PATH_SAFE, query, resource_url

__all__ = ["METHODS", "Created", "KitRequest", "SuiteRun", "name_suffix", "plan"]



@dataclass(frozen=True, slots=True)
class KitRequest:
    """One request of the kit collection, as titled in the certified report."""

    index: int
    folder: str
    name: str
    description: str
    method: str
    suite: ResourceSuite
    step: Step
    existing: int = 0  # the instances of the resource there are by then: created by earlier steps, or held by a list
    passage: int = 0  # which pass over the resource's steps, where the kit runs them once per payload

    @property
    def kind(self) -> Kind:
        return self.step.kind

    @property
    def instance(self) -> int:
        return self.step.instance

    @property
    def attribute(self) -> str | None:
        return self.step.attribute

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.step.statuses

    @property
    def title(self) -> str:
        return f"{self.folder} {self.method} {self.name}"

    @property
    def checked(self) -> ResourceSuite:
        """The resource as this request checks its instances: the create's checks, or the step's own."""
        step = self.step
        if all(option is None for option in (step.typed, step.includes, step.mandatory, step.when, step.one_of)):
            return self.suite
        return replace(self.suite, typed=self.suite.typed if step.typed is None else step.typed,
                       includes=self.suite.includes if step.includes is None else step.includes,
                       mandatory=self.suite.mandatory if step.mandatory is None else step.mandatory,
                       when=self.suite.when if step.when is None else step.when,
                       one_of=self.suite.one_of if step.one_of is None else step.one_of)

    @property
    def checked_as_one(self) -> ResourceSuite:
        """The resource as this request checks an answer that is no non-empty array: the kit's else branch."""
        checked, single = self.checked, self.step.single
        if not single:
            return checked
        return replace(checked, typed=single.get("typed", checked.typed), when=single.get("when", checked.when),
                       one_of=single.get("one_of", checked.one_of),
                       includes=tuple(single.get("includes", checked.includes)),
                       mandatory=tuple(single.get("mandatory", checked.mandatory)))

    @staticmethod
    def judged_as_one(reply: Reply) -> bool:
        """Whether the kit's else branch takes the answer: it is no non-empty JSON array."""
        return not (reply.json_ok and isinstance(reply.body, list) and reply.body)

    @property
    def makes_instance_checks(self) -> bool:
        """Whether the kit checks the answer's instances (mandatory, typed, included attributes)."""
        if self.step.instance_checks is not None:
            return self.step.instance_checks
        return self.kind in INSTANCE_CHECKING

    @property
    def compared(self) -> tuple[str, ...]:
        """The attributes of the kit's ``<attr> is <value>`` checks on this request."""
        if self.step.patch is not None:
            return self.step.patch.compared
        if self.step.values is not None:
            return self.step.values
        return self.suite.compared if self.kind in ("list", "retrieve", "filter") else ()

    def compared_instances(self) -> list[int]:
        """The created instances whose held values this request compares (the kit's ``<attr> is <value>``)."""
        if not self.compared:
            return []
        if self.kind == "list" or (self.kind == "fields" and not self.instance):
            return list(range(1, self.existing + 1))
        return [self.instance]

    def excluded_instances(self) -> list[int]:
        """The created instances that must not come back (the kit's ``<ID> not expected on this test``)."""
        if self.kind not in ("retrieve", "filter", "fields") or not self.instance:
            return []
        return [number for number in range(1, self.existing + 1) if number != self.instance]

    def needs(self) -> list[tuple[int, str]]:
        """The (instance, attribute) values this request cannot be sent without."""
        if self.kind in ("start", "create", "reject", "missing", "poll") or (self.kind == "fields" and not self.instance):
            return []
        if self.kind == "list":
            return [] if self.step.hold else [(number, "id") for number in range(1, self.existing + 1)]
        if self.kind == "filter" and self.attribute:
            return list(dict.fromkeys([(self.instance, "id"), (self.instance, self.attribute)]))
        return [(self.instance, "id")]


METHODS: dict[str, str] = {"create": "POST", "reject": "POST", "patch": "PATCH", "delete": "DELETE"}


def plan(declaration: SuiteDeclaration, payloads: Mapping[str, tuple[Mapping[str, Any], ...]] | None = None) -> list[KitRequest]:
    """Every kit request of a suite in the kit's order; a resource whose kit runs its requests once per payload,
    once per payload the run sends (the configured ``payloads``, else the declaration's)."""
    requests_: list[KitRequest] = []
    for suite in declaration.resources:
        existing = 0
        passes = len((payloads or {}).get(suite.resource, suite.payloads)) if suite.each_payload else 1
        for passage in range(passes):
            for step in suite.steps:
                existing = max(existing, step.instance if step.kind == "create" else int(bool(step.hold)))
                requests_.append(
                    KitRequest(
                        index=len(requests_),
                        folder=step.folder or DEFAULT_FOLDER.get(step.kind, "N2"),
                        name=step.name or f"/{suite.title}{name_suffix(suite.code, step)}",
                        description=_description(suite, step),
                        method=METHODS.get(step.kind, "GET"),
                        suite=suite,
                        step=step,
                        existing=existing,
                        passage=passage,
                    )
                )
    return requests_


def name_suffix(code: str, step: Step) -> str:
    """What the kit's template appends to ``/<title>`` in the request's name."""
    id_ref = f"{{{{{kit_variable('id', code, step.instance)}}}}}"
    if step.kind in ("retrieve", "delete"):
        return f"/{id_ref}"
    if step.kind == "gone":
        return f"/{id_ref}404"
    if step.kind == "missing":
        return "/404ID"
    if step.kind == "fields":
        return (f"/{id_ref}" if step.instance else "") + f"?fields={step.attribute}"
    if step.kind == "filter" and step.attribute:
        value = f"{{{{{kit_variable(step.attribute, code, step.instance)}}}}}"
        selected = f"&fields={step.fields}" if step.fields else ""
        return f"?{step.attribute}=" + (f"'{value}'" if step.quote in ("name", "both") else value) + selected
    return ""


_DESCRIPTIONS = {
    "create": "This operation creates {a} {entity}",
    "patch": "This operation creates {a} {entity}",
    "reject": "This operation tries to create a {entity} from an invalid payload",
    "start": "The kit's routing request to the resource its config.json names; nothing is sent",
    "list": "This operation search for the created {entity}",
    "fields": "This operation filter a {entity}",
    "filter": "This operation filter a {entity}",
    "retrieve": "This operation search for {one} of the created {entity}",
}


def _description(suite: ResourceSuite, step: Step) -> str:
    """The kit template's description of a request."""
    first = step.instance <= 1
    return _DESCRIPTIONS.get(step.kind, "This operation search for one of the created {entity}").format(
        entity=tmfapis.api(suite.api_id).resources[suite.resource].entity,
        a="a" if first else "another", one="one" if first else "the other one")


@dataclass(slots=True)
class Created:
    """A resource instance the run created, to delete at the end."""

    suite: ResourceSuite
    id: str
    url: str
    deleted: bool = False


@dataclass(slots=True)
class SuiteRun:
    """The state of one suite's run: the API root, the held values per resource and instance, the outcomes."""

    declaration: SuiteDeclaration
    api_root: str
    session: requests.Session
    redactor: Redactor
    payloads: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    held: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    created: list[Created] = field(default_factory=list)
    outcomes: dict[int, str] = field(default_factory=dict)
    requests: list[KitRequest] = field(default_factory=list)
    unread: dict[str, str] = field(default_factory=dict)  # resource -> why a list the kit reads from held nothing
    never_set: dict[str, str] = field(default_factory=dict)  # resource -> what its list answered that set nothing
    monitors: dict[str, str] = field(default_factory=dict)  # resource -> the monitor id of its last 202 answer
    route: list[KitRequest] = field(default_factory=list)  # what the asynchronous route runs next
    passed_over: dict[int, str] = field(default_factory=dict)  # request index -> why the kit's run does not reach it

    def __post_init__(self) -> None:
        self.requests = plan(self.declaration, self.payloads)

    @property
    def planned(self) -> int:
        """The kit requests this run runs: all but those only the asynchronous route reaches, unless it did, and
        those the kit's run passed over (it ended before, or went on with a later request)."""
        return sum((not request.step.routed or request.index in self.outcomes) and self.not_reached(request) is None
                   for request in self.requests)

    def not_reached(self, request: KitRequest) -> str | None:
        """Why the kit's run does not reach ``request`` (it ended before, or went past it), or None."""
        return self.passed_over.get(request.index)

    def _route_on(self, request: KitRequest, reply: Reply) -> None:
        """Where the answer ends the kit's run or sends it on to a later request, pass over what the run skips."""
        status, goes_to = reply.status, request.step.goes_to
        met = [value for on in goes_to.values() for value in on if isinstance(value, Mapping) and checks.meets(reply.body, value)]
        targets = [name for name, on in goes_to.items() if status in on or any(value in met for value in on)]
        target = targets[-1] if targets else None  # the script's last setNextRequest wins
        if target is None and status not in request.step.ends_on:
            return
        later = self.requests[request.index + 1:]
        # as Newman, a name no later request has ends the run
        end = next((r.index for r in later if r.name == target), len(self.requests)) if target else len(self.requests)
        call = f'postman.setNextRequest("{target or "null"}")'
        values = "".join(f" with {key} {_text(value)}" for condition in met[-1:] for key, value in condition.items())
        why = (f"the kit's run goes from {request.title}, which answered {status}{values}, on to {target} ({call})" if target
               else f"the kit's run ends after {request.title}, which answered {status} ({call})")
        self.passed_over.update((r.index, why) for r in later if r.index < end)

    def routed_next(self) -> Iterator[KitRequest]:
        """The requests the kit's asynchronous route runs now (the poll, then where the poll goes), one at a time."""
        while self.route:
            yield self.route.pop(0)

    def payloads_of(self, suite: ResourceSuite) -> tuple[Mapping[str, Any], ...]:
        """The payloads sent for ``suite``: the configured ones (one is enough) or the declaration's; none where it is only read."""
        return suite.completed(self.payloads.get(suite.resource, suite.payloads))

    def payload(self, suite: ResourceSuite, number: int) -> Mapping[str, Any]:
        payloads = self.payloads_of(suite)
        return payloads[number - 1] if number <= len(payloads) else {}  # an instance a list holds was sent nothing

    def payload_for(self, request: KitRequest) -> Mapping[str, Any]:
        """The payload the request's instance is created from: this pass's, where the kit runs once per payload."""
        return self.payload(request.suite, request.passage + 1 if request.suite.each_payload else request.instance)

    def values(self, suite: ResourceSuite, number: int) -> dict[str, Any]:
        return self.held.setdefault(suite.resource, {}).setdefault(number, {})

    def missing_prerequisite(self, request: KitRequest) -> str | None:
        """Why ``request`` cannot be sent (a variable nobody set), or None."""
        for suite, number, attribute in self.needed(request):
            if attribute in self.values(suite, number) or self.sent_unset(suite, number):
                continue
            variable = suite.variable(attribute, number)
            kept_by = [r for r in self.requests if r.suite is suite and r.index < request.index and attribute in r.step.holds]
            producer = kept_by[-1] if kept_by else self.producer(suite, number)  # the last read that keeps it, else its maker
            outcome = self.outcomes.get(producer.index)
            if outcome is None:
                happened = "was not run (deselected or not reached)"
            elif outcome == "skipped":
                happened = "was skipped"
            else:
                happened = "failed" if outcome == "failed" else f"did not return {attribute}"
            happened = self.unread.get(request.suite.resource, happened) if producer.step.hold else happened
            return f"{variable} is not set: it is produced by {producer.title}, which {happened}"
        return None

    def needed(self, request: KitRequest) -> list[tuple[ResourceSuite, int, str]]:
        """The (resource, instance, attribute) values ``request`` is sent with."""
        needed = [(request.suite, number, attribute) for number, attribute in request.needs()]
        if request.suite.under and not (request.kind == "missing" and request.attribute):
            needed.insert(0, (self.declaration.resource(request.suite.under), 1, "id"))
        return needed

    def producer(self, suite: ResourceSuite, number: int) -> KitRequest:
        """The request that sets instance ``number``'s variables: its create, or the list the kit reads it from."""
        return next(r for r in self.requests
                    if r.suite is suite and ((r.kind == "create" and r.instance == number) or r.step.hold))

    def sent_unset(self, suite: ResourceSuite, number: int) -> bool:
        """Whether the kit sends the requests that use instance ``number``'s variables with them never set: the list it
        reads them from passed but listed no instance, so its loop that sets them never ran. (Those of a failed
        producer ours does not send: a documented difference.)"""
        producer = self.producer(suite, number)
        return (bool(producer.step.hold) and suite.resource in self.never_set
                and self.outcomes.get(producer.index) in ("passed", "deviation"))

    def unset_note(self, request: KitRequest) -> str | None:
        """What a request sent with variables the kit never set says of them, or None."""
        unset = [(suite, number, attribute) for suite, number, attribute in self.needed(request)
                 if attribute not in self.values(suite, number) and self.sent_unset(suite, number)]
        if not unset:
            return None
        suite, number, _ = unset[0]
        names = ", ".join(f"{{{{{each.variable(attribute, n)}}}}}" for each, n, attribute in unset)
        return (f"sent with {names} as written, as the kit sends it ({self.producer(suite, number).title} "
                f"{self.never_set[suite.resource]})")

    def held_text(self, suite: ResourceSuite, number: int, attribute: str) -> str:
        """A held value as the kit writes it into a URL; a variable the kit never set stays ``{{IDPR01}}``, as Newman
        leaves it (it sends the braces unencoded in a query, where our HTTP client percent-encodes them)."""
        values = self.values(suite, number)
        return _text(values[attribute]) if attribute in values else f"{{{{{suite.variable(attribute, number)}}}}}"

    def path(self, suite: ResourceSuite) -> str:
        """Where a resource's collection is under the API root: itself, or under the held instance 01 of another."""
        if suite.under is None:
            return suite.resource
        parent = self.held_text(self.declaration.resource(suite.under), 1, "id")
        return f"{suite.under}/{quote(parent, safe=PATH_SAFE)}/{suite.resource}"

    def url(self, request: KitRequest) -> str:
        resource = self.path(request.suite)
        if request.kind in ("create", "reject", "list"):
            return resource_url(self.api_root, resource)
        if request.kind == "missing":
            return resource_url(self.api_root, request.attribute or resource, str(uuid.uuid4()))
        if request.kind == "poll":
            return resource_url(self.api_root, str(request.attribute), self.monitors.get(request.suite.resource, ""))
        instance_id = self.held_text(request.suite, request.instance, "id")
        if request.kind == "fields":
            by_id = instance_id if request.instance else None
            return resource_url(self.api_root, resource, by_id, query=query(("fields", str(request.attribute))))
        if request.kind == "filter" and request.attribute:
            value = self.held_text(request.suite, request.instance, request.attribute)
            mark = {"both": "'", "double": '"'}.get(request.step.quote, "")
            selected = (("fields", request.step.fields),) if request.step.fields else ()
            return resource_url(self.api_root, resource, query=query((request.attribute, f"{mark}{value}{mark}"), *selected))
        return resource_url(self.api_root, resource, instance_id)

    def run(self, request: KitRequest) -> RequestRecord:
        """Send one kit request, make all its checks and return the (redacted) record."""
        if request.kind == "start":  # the kit's routing request: every resource runs here, nothing to send
            record = self.redactor.record(self._record(request, self.api_root))
            self.outcomes[request.index] = record.outcome
            return record
        url = self.url(request)
        if request.kind == "poll":
            return self._poll(request, url)
        body: Any = None
        if request.kind == "create":
            body = self.payload_for(request)
        elif request.kind == "patch" and request.step.patch:
            body = request.step.patch.body
        elif request.kind == "reject":
            body = request.step.body
        reply = send(self.session, request.method, url, self.redactor, body)
        if reply.status == 202 and request.step.accepted:  # the kit checks nothing here and goes to its poll
            return self._accepted(request, url, reply)
        if request.kind == "create":
            self._hold(request, reply)
        elif request.kind == "reject":
            self._keep_created(request, reply)
        elif request.kind == "patch" and reply.status in request.statuses:
            self._hold_patched(request, reply)
        elif request.step.hold:
            self._hold_listed(request, reply)
        if request.step.holds:
            self._hold_answered(request, reply)
        results = [*self._checks(request, reply), *self._schema_checks(request, reply)]
        if request.step.hold and request.suite.resource in self.unread:  # one reason, not a missing create's
            why = f"the answer {self.unread[request.suite.resource]}"
            results = [replace(r, message=why) if r.outcome == "failed" and not r.name.startswith("Status") else r
                       for r in results]
        if (note := self.unset_note(request)) is not None:
            results = [replace(r, message=f"{r.message}; {note}") if r.outcome == "failed" else r for r in results]
        if request.kind == "delete" and reply.status in (200, 202, 204):
            for created in self.created:
                if created.suite is request.suite and created.id == _text(self.values(request.suite, 1).get("id")):
                    created.deleted = True
        self._route_on(request, reply)
        record = self.redactor.record(self._record(request, url, exchange=reply.exchange, checks=results))
        self.outcomes[request.index] = record.outcome
        return record

    def _accepted(self, request: KitRequest, url: str, reply: Reply) -> RequestRecord:
        """A 202 answer: keep the monitor id where the kit reads it, and let the route go to the resource's poll."""
        (where, name), = (request.step.accepted or {}).items()
        answer = reply.body if isinstance(reply.body, dict) else {}
        headers = {key.lower(): value for key, value in reply.exchange.response_headers.items()}
        monitor = headers.get(name.lower()) if where == "header" else answer.get(name)
        self.monitors[request.suite.resource] = "" if monitor is None else _text(monitor)
        self.route = [r for r in self.requests if r.suite is request.suite and r.kind == "poll"][:1]
        record = self.redactor.record(self._record(request, url, exchange=reply.exchange))
        self.outcomes[request.index] = record.outcome
        return record

    def _poll(self, request: KitRequest, url: str) -> RequestRecord:
        """Send the poll until the answer holds the awaited value, at most ``tries`` times; record the last answer.

        Where the value came, the route goes on to the request the kit names (``then``) if only the route reaches it."""
        step = request.step
        (attribute, value), = (step.until or {}).items()
        for attempt in range(step.tries):
            if attempt:
                time.sleep(step.wait)
            reply = send(self.session, "GET", url, self.redactor)
            body = reply.body if isinstance(reply.body, dict) else None
            if reply.status != 200 or body is None or body.get(attribute) == value:
                break
        done = reply.status == 200 and body is not None and body.get(attribute) == value
        results: list[CheckResult] = checks.not_array(reply)
        if done:
            results += checks.instance_checks(reply, request.checked, body, [{}])
            self.route = [r for r in self.requests if r.suite is request.suite and r.step.routed and r.name == step.then]
        elif reply.status == 200 and body is not None:
            results.append(checks.failed(step.give_up or f"{attribute} is {value}",
                                         f"{attribute} is still {checks.show(body.get(attribute))} after {step.tries} requests"))
        record = self.redactor.record(self._record(request, url, exchange=reply.exchange, checks=results))
        self.outcomes[request.index] = record.outcome
        return record

    def skip(self, request: KitRequest, reason: str) -> RequestRecord:
        """The record of a request not sent because ``reason`` (a missing prerequisite)."""
        self.outcomes[request.index] = "skipped"
        return self.redactor.record(self._record(request, resource_url(self.api_root, request.suite.resource),
                                                 skipped_reason=reason))

    def _record(self, request: KitRequest, url: str, **outcome: Any) -> RequestRecord:
        return RequestRecord(
            api_id=self.declaration.api_id,
            collection=self.declaration.collection,
            folder=request.folder,
            name=request.name,
            description=request.description,
            method=request.method,
            url=url,
            **outcome,
        )

    def _schema_checks(self, request: KitRequest, reply: Reply) -> list[CheckResult]:
        """The spec-tier schema check of a JSON answer: the entity (every item of a list), or the TMF Error.

        What an answer only echoes of the suite's payloads is theirs to answer for (``Payload is a valid ...``).
        """
        if not reply.json_ok or request.kind == "fields" or request.step.fields:
            return []  # a field selection is partial by design; a missing body is the CTK checks' to report
        api_id = self.declaration.api_id
        if reply.status is not None and reply.status >= 400:
            return [checks.body_matches(reply, api_id, "Error")]
        resource = tmfapis.api(api_id).resources[request.suite.resource]
        sent = list(self.payloads_of(request.suite))
        return [checks.body_matches(reply, api_id, resource.entity, listed=request.kind in ("list", "filter"),
                                    sent=sent, create=resource.create_schema)]

    def _hold(self, request: KitRequest, reply: Reply) -> None:
        """Keep the held values: what was sent where the payload has it, else what the server returned.

        ``id`` and ``href`` always come from the answer: servers assign them and may ignore a client's.
        """
        sent = self.payload_for(request)
        answer = reply.body if isinstance(reply.body, dict) else {}
        values = self.values(request.suite, request.instance)
        values.clear()
        reads = request.step.reads
        stop = next((index for index, path in enumerate(reads) if checks.unreadable(answer, path)), len(reads))
        for attribute in request.suite.kept:
            if attribute in reads[stop:]:
                continue  # the kit's script stopped reading the answer before it kept this one
            path = request.suite.path(attribute)
            value = checks.ABSENT if attribute in checks.SERVER_ASSIGNED else checks.value_at(sent, path)
            if value is checks.ABSENT:
                value = checks.value_at(answer, path)
            if value is not checks.ABSENT:
                values[attribute] = value
        self._keep_created(request, reply)

    def _hold_listed(self, request: KitRequest, reply: Reply) -> None:
        """Keep instance 01's values from a list the kit reads them from (its first or its last instance)."""
        listed = [item for item in checks.instances_of(reply) if isinstance(item, dict)]
        values = self.values(request.suite, 1)
        values.clear()
        resource = request.suite.resource
        self.unread.pop(resource, None)
        self.never_set.pop(resource, None)
        if reply.body == []:
            self.unread[resource] = (f"listed no {resource}: the kit reads {resource} instances it never creates, "
                                     "so the system under test must hold one")
        if not (isinstance(reply.body, list) and reply.body):  # the kit sets instance 01's variables in its array loop
            self.never_set[resource] = f"listed no {resource}" if reply.body == [] else "answered no array"
        if listed and isinstance(reply.body, list):
            stop = self._unread_instance(request, reply)
            last = reply.body[stop[0]] if stop is not None and isinstance(reply.body[stop[0]], dict) else listed[-1]
            chosen = listed[0] if request.step.hold == "first" else last  # where the kit's script stopped, if it did
            for attribute in request.suite.kept:
                if (value := checks.value_at(chosen, request.suite.path(attribute))) is not checks.ABSENT:
                    values[attribute] = value

    def _hold_answered(self, request: KitRequest, reply: Reply) -> None:
        """Keep what the kit keeps from this answer (a list's non-empty array: its last item, as the kit sets its variables
        for each); what it lacks is no longer set (later requests that need it skip)."""
        listed = request.kind in ("list", "filter", "fields") and isinstance(reply.body, list) and reply.body
        answer = reply.body[-1] if listed else reply.body
        answer = answer if isinstance(answer, dict) else {}
        values = self.values(request.suite, request.instance or 1)  # a list keeps instance 01's, as the kit's variables
        for attribute in request.step.holds:
            if attribute in answer:
                values[attribute] = answer[attribute]
            else:
                values.pop(attribute, None)

    def _keep_created(self, request: KitRequest, reply: Reply) -> None:
        """Note an instance the answer says was created (even by a reject the server accepted), to delete it."""
        answer = reply.body if isinstance(reply.body, dict) else {}
        if answer.get("id") not in (None, ""):
            text = _text(answer["id"])
            self.created.append(Created(request.suite, text, resource_url(self.api_root, self.path(request.suite), text)))

    def _hold_patched(self, request: KitRequest, reply: Reply) -> None:
        """After a PATCH the server holds the patched values, and may have set its own anew (``lastUpdate``): later
        requests compare with them."""
        patch = request.step.patch
        assert patch is not None
        values = self.values(request.suite, request.instance)
        for attribute, value in patch.body.items():
            if attribute in (*request.suite.kept, *request.checked.includes):  # the PATCH's answer must include it
                values[attribute] = tmfapis.merge_patch(values.get(attribute), value)
        answer = reply.body if isinstance(reply.body, dict) else {}
        sent = self.payload(request.suite, request.instance)
        for attribute in request.suite.kept:
            if attribute in answer and attribute not in (*sent, *patch.body, *checks.SERVER_ASSIGNED):
                values[attribute] = answer[attribute]

    def _status(self, request: KitRequest, reply: Reply) -> list[CheckResult]:
        return [checks.status_is(reply, request.statuses)] if request.statuses else []

    def _checks(self, request: KitRequest, reply: Reply) -> list[CheckResult]:
        step = request.step
        stop = self._unread_instance(request, reply)
        if stop is not None:  # the kit's script stopped reading there: it checks neither that instance nor the later ones
            index, path, absent, unread = stop
            stopped = checks.failed(f"{checks.SCRIPT_READS}{path}", f"it reads {path} of each instance and stops at "
                                                                   f"{checks.show(unread)}, which has no {absent}")
            if index == 0:
                return [*self._status(request, reply), stopped]
            return [*self._checks(request, replace(reply, body=reply.body[:index])), stopped]
        rename = {**step.rename, **step.single.get("rename", {})} if request.judged_as_one(reply) else step.rename
        renamed = [replace(result, name=rename.get(result.name, result.name)) for result in self._template_checks(request, reply)]
        made = [*renamed, *(result for check in step.valid for result in checks.schema_valid(reply, check)),
                *(checks.typed_at(reply, name, check) for name, check in step.typed_at.items()
                  if not check.present or (isinstance(reply.body, dict) and check.path[0] in reply.body)),
                *(result for check in step.includes_if for result in checks.includes_if(reply, check))]
        return [result for result in made if result.tier != "ctk" or reply.status in step.only_on.get(result.name, (reply.status,))]

    @staticmethod
    def _unread_instance(request: KitRequest, reply: Reply) -> tuple[int, str, str, Any] | None:
        """Where the script of a list the kit reads instance 01 from stops (``reads``): the index of the first item of a
        non-empty array whose read fails (0: the whole answer, which the kit's else branch reads), the path, the part
        found absent and the instance; None where every read goes through."""
        if not (request.step.hold and request.step.reads and reply.json_ok):
            return None
        listed = isinstance(reply.body, list) and bool(reply.body)
        for index, instance in enumerate(reply.body if listed else [reply.body]):
            for path in request.step.reads:
                if (absent := checks.unreadable(instance, path)) is not None:
                    return index, path, absent, instance
        return None

    def _template_checks(self, request: KitRequest, reply: Reply) -> list[CheckResult]:
        suite, kind, checked = request.suite, request.kind, request.checked
        numbers = range(1, request.existing + 1)
        if kind in ("delete", "gone", "missing", "reject"):
            return self._status(request, reply)
        if kind == "fields" and not request.makes_instance_checks:
            step = request.step
            selected = checks.selection(reply, request.attribute or "", only=step.selection is True) if step.selection else []
            return [*self._status(request, reply), *selected]
        if kind in ("retrieve", "list", "filter") and not request.makes_instance_checks:
            return [*self._status(request, reply), *self._expected(request, reply)]
        if kind == "create":
            own = [self.values(suite, request.instance)]
            return [
                *checks.not_array(reply),
                *self._status(request, reply),
                *checks.instance_checks(reply, checked, reply.body, own),  # an array fails them, as in the kit
                checks.payload_conforms(suite, self.payload_for(request)),
            ]
        if kind == "patch":
            return self._patch_checks(request, reply)
        targets = [request.instance] if request.instance else list(numbers)
        held = [self.values(suite, number) for number in targets]
        results = self._status(request, reply)
        unchecked = ""  # why the kit finds no instance to check, where it checks the first item alone
        if request.step.instances == "first" and reply.json_ok:
            instances = reply.body[:1] if isinstance(reply.body, list) else []
            unchecked = "" if instances else f"no first item to check: {checks.not_a_list(reply) or 'the array is empty'}"
            instances = instances or [None]  # the kit's instance is undefined: every check of it fails
        elif request.step.instances == "items" and reply.json_ok:  # the kit checks the items of an array, nothing else
            instances = reply.body if isinstance(reply.body, list) else []
        elif request.step.instances == "items_or_one" and reply.json_ok and reply.body == []:
            instances = []  # the kit's array branch takes every array: an empty one gets no instance check
        elif request.step.instances == "items_else_array" and request.judged_as_one(reply):
            instances = []  # the kit's else branch only asks for an array
            results.append(checks.array_expected(reply))
        elif request.step.instances == "one":
            instances = [reply.body if reply.json_ok else None]
        else:  # an empty array is judged as one instance, as the kit does: it has none of the mandatory attributes
            instances = checks.instances_of(reply) or [reply.body if reply.json_ok else None]
        if request.judged_as_one(reply):
            checked = request.checked_as_one
        for instance in instances:
            judged = checks.instance_checks(reply, checked, instance, held)
            results.extend(replace(r, message=unchecked) if unchecked and r.outcome == "failed" else r for r in judged)
        for number in request.compared_instances():
            results.extend(checks.held_values(reply, suite, number, self.values(suite, number), request.compared))
        for instance in instances if request.step.unset_values and reply.json_ok else ():
            if not isinstance(instance, dict) or instance.get("id") is None:  # the kit's unset ID variable matches it
                results.extend(checks.unset_value(instance, attribute) for attribute in request.step.unset_values)
        for other in request.excluded_instances():
            if not self._shares_filtered_value(request, other):
                results.append(checks.not_expected(reply, suite, other, self.values(suite, other).get("id")))
        return results

    def _shares_filtered_value(self, request: KitRequest, other: int) -> bool:
        """Whether another instance holds the filtered value too (one the server set alike): it may come back."""
        if request.kind != "filter" or not request.attribute:
            return False
        mine, theirs = self.values(request.suite, request.instance), self.values(request.suite, other)
        return request.attribute in theirs and theirs[request.attribute] == mine.get(request.attribute)

    def _expected(self, request: KitRequest, reply: Reply) -> list[CheckResult]:
        return [checks.attribute_equals(reply, name, expected) for name, expected in request.step.expect.items()]

    def _patch_checks(self, request: KitRequest, reply: Reply) -> list[CheckResult]:
        suite = request.suite
        patch = request.step.patch
        assert patch is not None
        values = self.values(suite, request.instance)
        body = reply.body if isinstance(reply.body, dict) else None
        results = [*checks.not_array(reply), *self._status(request, reply)]
        if request.makes_instance_checks:
            results += checks.instance_checks(reply, request.checked, body, [values])
        results += checks.held_values(reply, suite, request.instance, values, patch.compared)
        results += self._expected(request, reply)
        # Beyond the kit: the patched values must be in the answer (a PATCH that changes nothing is a deviation),
        # unless the server refused a body the spec's _Update refuses too: that is the kit's fault.
        update = tmfapis.api(suite.api_id).resources[suite.resource].update_schema
        if checks.refused_body(reply, suite.api_id, update, patch.body):
            return results
        sent = self.payload_for(request)
        patched = {"id": values.get("id"), **{k: tmfapis.merge_patch(sent.get(k), v) for k, v in patch.body.items()}}
        # a value the PATCH leaves as it was cannot tell an applied PATCH from an ignored one (the spec tier's own can)
        changed = [attribute for attribute in patch.body if patched[attribute] != sent.get(attribute)]
        results.extend(checks.held_values(reply, suite, request.instance, patched, changed, tier="spec") if changed else [])
        return results

    def cleanup(self, keep: bool = False) -> list[str]:
        """Delete what the run created (unless ``keep``); return a line per instance this run did not delete."""
        resources = tmfapis.api(self.declaration.api_id).resources
        remaining = [created for created in self.created if not created.deleted]
        for created in remaining:
            created.deleted = True  # tried once, whatever the answer
        return delete_created(self.session, self.redactor,
                              [(resources[created.suite.resource], created.url) for created in remaining], keep)


def _text(value: Any) -> str:
    """A held value as the kit's ``{{VARIABLE}}`` writes it into a URL: JavaScript's text of it (``false``, ``null``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
