"""The app factory: every route of the APIs generated from ``tmfapis``, on one aiohttp app.

Create ignores a client-sent ``id`` and ``href``: the server always assigns a ULID and the absolute
URL of the new instance. PATCH may repeat the current ``id``/``href`` but not change them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web
from ulid import ULID
from yarl import URL

import tmfapis
from mockserver import logsafe, query
from mockserver.addresses import CallbackPolicy
from mockserver.body import arrays_of_one, check, read_object, short
from mockserver.config import ServerConfig
from mockserver.direct import json_answer
from mockserver.errors import JSON_CONTENT_TYPE, ApiError, json_response
from mockserver.events import EventDispatcher, envelope
from mockserver.gate import Gate, Handler, not_allowed, not_found
from mockserver.resources import ResourceRules, completed, now_text, render, rules_for
from mockserver.store import HREF_MARK, ORIGIN, ResourceStore, public, stored_body
from tmfapis import merge_patch

if TYPE_CHECKING:
    from mockserver.seed import SeedRows

__all__ = ["CONFIG_KEY", "EVENTS_KEY", "STORE_KEY", "create_app", "reads_first"]

CONFIG_KEY = web.AppKey("config", ServerConfig)
STORE_KEY = web.AppKey("store", ResourceStore)
EVENTS_KEY = web.AppKey("events", EventDispatcher)
GATE_KEY = web.AppKey("gate", Gate)
HUB = "hub"
MAX_REQUEST_LINE = 64 * 1024  # bytes of a request line or header the parser accepts
HEALTH_PATH = "/health"
CREATE_MEDIA_TYPES = ("application/json",)
PATCH_MEDIA_TYPES = ("application/merge-patch+json", "application/json")
LIST_PART = 2048  # list items joined into one part of a long response


def origin(request: web.Request) -> str:
    """Where hrefs start: ``--public-url`` if given, else the request's scheme and host."""
    return origin_for(request, request.app[CONFIG_KEY].public_url)


def origin_for(request: web.BaseRequest, public_url: str | None) -> str:
    """``origin`` of a request given the configured public URL."""
    return public_url.rstrip("/") if public_url else f"{request.scheme}://{request.host}"


def parse_query(request: web.BaseRequest) -> query.ListQuery:
    """The request's TMF630 list query, or a 400 naming the offending parameter."""
    try:
        return query.parse_list_query({key: request.query.getall(key) for key in request.query})
    except query.QueryError as error:
        raise ApiError(400, short(str(error))) from None


def local_hrefs(list_query: query.ListQuery, base: str) -> query.ListQuery:
    """Filters on an ``href`` compare with hrefs as stored: this server's own origin becomes the href mark."""

    if not any(rule.path[-1] == "href" for rule in list_query.filters):
        return list_query

    def local(value: str) -> str:
        return HREF_MARK + value[len(base):] if value.startswith(base + "/") else value

    filters = tuple(
        query.Filter(rule.path, rule.op, tuple(map(local, rule.values))) if rule.path[-1:] == ("href",) else rule
        for rule in list_query.filters
    )
    return replace(list_query, filters=filters)


@dataclass(frozen=True, slots=True)
class ResourceView:
    """The generic handlers of one resource of one API."""

    api: tmfapis.Api
    resource: tmfapis.Resource
    rules: ResourceRules

    @property
    def state_event(self) -> str | None:
        """The event kind for a state change (``StateChange``, or ``StatusChange`` in TMF683)."""
        kinds = [k for k in self.resource.events if k.endswith("Change") and k != "AttributeValueChange"]
        return kinds[0] if kinds else None

    def href(self, base: str, instance_id: str) -> str:
        """The absolute URL of one instance."""
        return f"{base}{self.api.base_path}{self.resource.name}/{instance_id}"

    def new_instance(self, body: dict[str, Any], base: str, instance_id: str | None = None) -> dict[str, Any]:
        """A stored instance from a validated create body: id, href, @type and server-set values."""
        instance_id = instance_id or str(ULID())
        href = self.href(base, instance_id)
        instance = {"id": instance_id, "href": href, **body}  # a body's own id and href keep these places
        instance["id"], instance["href"] = instance_id, href
        instance.setdefault("@type", self.resource.entity)
        for key, value in self.rules.defaults.items():
            instance.setdefault(key, render(value))
        for key, value in self.rules.forced.items():
            instance[key] = render(value)
        return instance

    def publish(
        self,
        request: web.Request,
        kind: str | None,
        instance: dict[str, Any],
        resource: tmfapis.Resource | None = None,
    ) -> None:
        """Notify the API's listeners of one event, if the resource declares that kind."""
        resource = resource or self.resource
        if kind is None or kind not in resource.events:
            return
        listeners = request.app[STORE_KEY].all(self.api.id, HUB)
        if listeners:
            body = envelope(resource.event_type(kind), resource.name, public(instance, origin(request)))
            request.app[EVENTS_KEY].publish(body, listeners)

    def create_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A create body as the server reads it: one object where the ``_Create`` wants an array of them is an array
        of one (official kits send such payloads; a client meaning one item is understood)."""
        schema = self.api.definitions[self.resource.create_schema]
        return cast(dict[str, Any], arrays_of_one(self.api.definitions, schema, body))

    def _found(self, request: web.Request) -> dict[str, Any]:
        instance_id = request.match_info["id"]
        instance = request.app[STORE_KEY].get(self.api.id, self.resource.name, instance_id)
        if instance is None:
            raise self._missing(instance_id)
        return instance

    def _missing(self, instance_id: str) -> ApiError:
        """The 404 for an id this resource does not hold."""
        return ApiError(404, f"No {self.resource.name} with id {instance_id!r} exists.")

    async def create(self, request: web.Request) -> web.Response:
        body = completed(self.rules, self.create_body(await read_object(request, CREATE_MEDIA_TYPES)))
        check(tmfapis.schema_validator(self.api.id, self.resource.create_schema), body)
        for key in self.rules.server_only:
            if key in body:
                raise ApiError(400, f"{key}: is set by the server; a create does not send it.")
        instance = self.new_instance(body, HREF_MARK)
        store = request.app[STORE_KEY]
        changes = [(self.api.id, self.resource.name, instance)]
        effect = self._apply_effect(request, instance) if self.rules.effect is not None else None
        if effect is not None:
            changes.insert(0, (self.api.id, effect[2].resource.name, effect[0]))
        stored = store.write(changes)[-1]  # a cancel and its order's change commit together
        if effect is not None:
            self.publish(request, effect[1], effect[0], effect[2].resource)
        self.publish(request, "Create", instance)
        base = origin(request)
        location = {"Location": self.href(base, instance["id"])}
        return json_response(None, 201, location, encoded=stored.replace(ORIGIN, base.encode()))

    def _apply_effect(
        self, request: web.Request, instance: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None, ResourceView]:
        """The changed target of a side effect, its event kind and its view; ``instance`` gets the reference."""
        effect = self.rules.effect
        assert effect is not None
        store = request.app[STORE_KEY]
        reference = instance[effect.reference]
        target = store.get(self.api.id, effect.target, reference["id"])
        if target is None:
            raise ApiError(
                400, f"{effect.reference}.id: no {effect.target} with id {reference['id']!r} exists."
            )
        changed = {key: render(value) for key, value in effect.changes.items()}
        changed |= {key: instance[source] for key, source in effect.copied.items() if source in instance}
        updated = target | changed
        instance[effect.reference] = reference | {"href": target["href"]}
        target_view = ResourceView(
            self.api, self.api.resources[effect.target], rules_for(self.api.id, effect.target)
        )
        state = target_view.rules.state_attribute
        kind = (
            target_view.state_event
            if state and target.get(state) != updated.get(state)
            else "AttributeValueChange"
        )
        return updated, kind, target_view

    async def list(self, request: web.Request) -> web.StreamResponse:
        return await self.select(request, request.app[STORE_KEY], origin(request))

    async def select(self, request: web.BaseRequest, store: ResourceStore, base: str) -> web.StreamResponse:
        """The answer to a list request: a page, and how many match in all."""
        page, total = await store.select(
            self.api.id, self.resource.name, local_hrefs(parse_query(request), base), base.encode()
        )
        headers = {"X-Total-Count": str(total), "X-Result-Count": str(len(page))}
        return await send_list(request, page, 206 if len(page) < total else 200, headers)

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        return self.read(request, request.app[STORE_KEY], origin(request), request.match_info["id"])

    def read(self, request: web.BaseRequest, store: ResourceStore, base: str, instance_id: str) -> web.StreamResponse:
        """The answer to a GET by id, with ``?fields=`` applied."""
        fields = parse_query(request).fields if request.query_string else None
        encoded = store.get_body(self.api.id, self.resource.name, instance_id, base.encode())
        if encoded is None:
            raise self._missing(instance_id)
        if fields is not None:
            return json_response(query.select_fields(json.loads(encoded), fields))
        return json_answer(request, encoded)

    def readers(self, store: ResourceStore, public_url: str | None) -> tuple[Handler, Handler]:
        """``list`` and ``retrieve`` for requests the router has not seen (``reads_first``); a read's id
        is the last segment of its plain path."""

        async def select(request: web.Request) -> web.StreamResponse:
            return await self.select(request, store, origin_for(request, public_url))

        async def read(request: web.Request) -> web.StreamResponse:
            instance_id = request.rel_url.raw_path.rpartition("/")[2]
            return self.read(request, store, origin_for(request, public_url), instance_id)

        return select, read

    async def update(self, request: web.Request) -> web.Response:
        patch = await read_object(request, PATCH_MEDIA_TYPES)
        current = self._found(request)  # read after the last await, so no other write comes between
        base = origin(request)
        for key, value in (("id", current["id"]), ("href", self.href(base, current["id"]))):
            if key in patch and patch[key] != value:
                raise ApiError(400, f"{key}: cannot be changed.")
        merged = merge_patch(current, patch)
        merged.setdefault("@type", self.resource.entity)
        merged["href"] = current["href"]
        shown = public(merged, base)  # validated as it will be read
        # what the patch leaves as it was was accepted at create, where a spec's _Create may differ from the entity
        untouched = tuple(key for key in shown if key not in patch or patch[key] == current.get(key))
        if self.resource.update_schema:
            check(tmfapis.schema_validator(self.api.id, self.resource.update_schema), shown, untouched)
        # the id and href are the server's own, whatever type a spec gives them
        check(tmfapis.schema_validator(self.api.id, self.resource.entity), shown, ("id", "href", *untouched))
        state = self.rules.state_attribute
        state_changed = state is not None and merged.get(state) != current.get(state)
        stamp = now_text()
        for key in self.rules.stamped_on_change + (
            self.rules.stamped_on_state_change if state_changed else ()
        ):
            merged[key] = stamp
        stored = request.app[STORE_KEY].put(self.api.id, self.resource.name, merged)
        self.publish(request, self.state_event if state_changed else "AttributeValueChange", merged)
        return json_response(None, encoded=stored.replace(ORIGIN, base.encode()))

    async def replace(self, request: web.Request) -> web.Response:
        """PUT: the instance replaced whole by a create body, keeping its id and href."""
        body = completed(self.rules, self.create_body(await read_object(request, CREATE_MEDIA_TYPES)))
        check(tmfapis.schema_validator(self.api.id, self.resource.create_schema), body)
        current = self._found(request)  # read after the last await, so no other write comes between
        instance = self.new_instance(body, HREF_MARK, current["id"])
        stored = request.app[STORE_KEY].put(self.api.id, self.resource.name, instance)
        self.publish(request, "AttributeValueChange", instance)
        return json_response(None, encoded=stored.replace(ORIGIN, origin(request).encode()))

    async def delete(self, request: web.Request) -> web.Response:
        instance = self._found(request)
        request.app[STORE_KEY].delete(self.api.id, self.resource.name, instance["id"])
        self.publish(request, "Delete", instance)
        return web.Response(status=204)


@dataclass(frozen=True, slots=True)
class HubView:
    """``POST /hub`` and ``DELETE /hub/{id}`` of one API: event listeners, kept in the store."""

    api: tmfapis.Api

    async def register(self, request: web.Request) -> web.Response:
        body = await read_object(request, CREATE_MEDIA_TYPES)
        check(tmfapis.schema_validator(self.api.id, "EventSubscriptionInput"), body)
        if not _is_http_url(body["callback"]):
            raise ApiError(400, "callback: must be an absolute http or https URL.")
        refusal = request.app[EVENTS_KEY].policy.refusal(body["callback"])
        if refusal is not None:
            raise ApiError(400, f"callback: refused, {refusal}.")
        listener_query = body.get("query") or ""
        try:
            query.parse_filters(listener_query)
        except query.QueryError as error:
            raise ApiError(400, f"query: {short(str(error))}") from None
        listener = {"id": str(ULID()), "callback": body["callback"], "query": listener_query}
        request.app[STORE_KEY].put(self.api.id, HUB, listener)
        return json_response(listener, 201)

    async def unregister(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["id"]
        if request.app[STORE_KEY].delete(self.api.id, HUB, instance_id) is None:
            raise ApiError(404, f"No hub listener with id {instance_id!r} exists.")
        return web.Response(status=204)


def _is_http_url(text: str) -> bool:
    try:
        url = URL(text)
    except (ValueError, TypeError):
        return False
    return url.scheme in ("http", "https") and bool(url.host)


def add_routes(router: web.UrlDispatcher, path: str, handlers: dict[str, Handler], gate: Gate) -> None:
    """One path's handlers behind the gate; any other method is answered 405 naming them."""
    for method, handler in handlers.items():
        router.add_route(method, path, gate(handler))
    router.add_route("*", path, gate(not_allowed(handlers)))


def resource_paths(api: tmfapis.Api, resource: tmfapis.Resource) -> tuple[str, ...]:
    """Where a resource's collection is served: under its API's root, and, for a resource the spec nests
    under another's instance (``processFlow/{id}/taskFlow``), there too. Its hrefs use the first."""
    root = f"{api.base_path}{resource.name}"
    if resource.parent is None:
        return (root,)
    return root, f"{api.base_path}{resource.parent}/{{parent_id}}/{resource.name}"


def add_api_routes(router: web.UrlDispatcher, api: tmfapis.Api, gate: Gate) -> None:
    """The routes of one API: its resources' collection and item routes, and its hub.

    They go straight on the one app (no sub-app per API), so a request is resolved in one step. A method
    the spec declares is served; any other is answered 405 naming those allowed.
    """
    for resource in api.resources.values():
        view = view_of(api.id, resource.name)
        collection = {"GET": view.list, "POST": view.create}
        item = {"GET": view.retrieve, "PATCH": view.update, "PUT": view.replace, "DELETE": view.delete}
        extra = view.rules.extra_methods
        item_methods = (*resource.item_methods, *extra.get("item", ()))
        collection_methods = (*resource.collection_methods, *extra.get("collection", ()))
        for path in resource_paths(api, resource):
            # the item path first: both are tried for a path under the collection, and reads by id are the most
            if item_methods:  # a task resource without item operations has no item path: 404, not 405
                add_routes(router, path + "/{id}", {method: item[method] for method in item_methods}, gate)
            add_routes(router, path, {method: collection[method] for method in collection_methods}, gate)
    hub = HubView(api)
    add_routes(router, f"{api.base_path}hub", {"POST": hub.register}, gate)
    add_routes(router, f"{api.base_path}hub/{{id}}", {"DELETE": hub.unregister}, gate)


async def send_list(
    request: web.BaseRequest, page: list[bytes], status: int, headers: dict[str, str]
) -> web.StreamResponse:
    """A list response from the items' JSON bodies; a long list is sent a part at a time."""
    if len(page) <= LIST_PART:
        return json_answer(request, b"[" + b",".join(page) + b"]", status, headers)
    parts = [b",".join(page[at : at + LIST_PART]) for at in range(0, len(page), LIST_PART)]
    response = web.StreamResponse(status=status, headers={**headers, "Content-Type": JSON_CONTENT_TYPE})
    response.content_length = 2 + sum(len(part) for part in parts) + len(parts) - 1
    await response.prepare(request)
    await response.write(b"[")
    for number, part in enumerate(parts):
        await response.write(part if number == 0 else b"," + part)
    await response.write(b"]")
    await response.write_eof()
    return response


def render_seed(api_id: str, name: str, body: dict[str, Any]) -> tuple[str, bytes]:
    """A validated seed body as the instance a create would store: its id and stored body."""
    instance = view_of(api_id, name).new_instance(body, HREF_MARK, body.get("id") or None)
    return instance["id"], stored_body(instance)


@cache
def view_of(api_id: str, name: str) -> ResourceView:
    """The handlers of one resource."""
    api = tmfapis.api(api_id)
    return ResourceView(api, api.resources[name], rules_for(api_id, name))


def seed_store(store: ResourceStore, seed: SeedRows) -> None:
    """Add the seed instances of every collection that is still empty (a journal may hold some)."""
    store.load({key: rows for key, rows in seed.items() if not store.count(*key)})


async def health(request: web.Request) -> web.Response:
    """Liveness for container and CI probes: no data, no key needed."""
    return json_response({"status": "ok"})


def create_app(config: ServerConfig) -> web.Application:
    """The reference server: every API at its root, configured by ``config``.

    Raises ``SeedError`` (one sentence) when the seed file cannot be read or does not validate.
    """
    seed: SeedRows = {}
    if config.seed_path:
        # the seed readers (YAML, a second process) are imported only by a server that has a seed
        from mockserver.seed import load_seed

        seed = load_seed(config.seed_path, render_seed)
    app = web.Application(
        client_max_size=config.max_body_bytes,
        # long filter lists must reach the app (and its TMF errors), not the parser's plain-text 400
        handler_args={"max_line_size": MAX_REQUEST_LINE, "max_field_size": MAX_REQUEST_LINE},
    )
    app[CONFIG_KEY] = config

    async def open_store(app: web.Application) -> AsyncIterator[None]:
        store = ResourceStore.open(config.db_path)
        seed_store(store, seed)
        app[STORE_KEY] = store
        yield
        store.close()

    async def open_events(app: web.Application) -> AsyncIterator[None]:
        events = EventDispatcher(
            config.event_timeout_s,
            config.event_retries,
            CallbackPolicy.of(config.port, config.public_url, config.callback_allow),
            config.event_rate,
            config.event_burst,
        )
        await events.start()
        app[EVENTS_KEY] = events
        yield
        await events.close()

    async def safe_logs(app: web.Application) -> AsyncIterator[None]:
        logsafe.install(config.api_key)
        yield
        logsafe.forget(config.api_key)

    app.cleanup_ctx.extend([safe_logs, open_store, open_events])
    add_routes(app.router, HEALTH_PATH, {"GET": health, "HEAD": health}, Gate())  # no check: a probe sees no data
    gate = app[GATE_KEY] = Gate.of(config)
    for api in tmfapis.apis():
        add_api_routes(app.router, api, gate)
    app.router.add_route("*", "/{path:.*}", gate(not_found))  # after every other route
    return app


RequestHandler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def reads_first(app: web.Application, handle: RequestHandler) -> RequestHandler:
    """The started app's request handler ``handle`` with reads (GET of a collection or an instance) taken
    first: the same views behind the same gate answer them, without a route being resolved (the most
    frequent requests, a fifth more of them a second). A path the router might read otherwise (an escape,
    a brace) goes to ``handle``.
    """
    store, public_url, gate = app[STORE_KEY], app[CONFIG_KEY].public_url, app[GATE_KEY]
    lists: dict[str, Handler] = {}
    reads: dict[str, Handler] = {}
    for api in tmfapis.apis():
        for resource in api.resources.values():
            path = f"{api.base_path}{resource.name}"
            select, read = view_of(api.id, resource.name).readers(store, public_url)
            if "GET" in resource.collection_methods:
                lists[path] = gate(select)
            if "GET" in resource.item_methods:
                reads[path] = gate(read)

    async def handle_request(request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "GET":
            path = request.rel_url.raw_path
            answer = lists.get(path)
            if answer is None:
                collection, _, instance_id = path.rpartition("/")
                answer = reads.get(collection)
                if not instance_id or "%" in instance_id or "{" in instance_id or "}" in instance_id:
                    answer = None
            if answer is not None:
                return await answer(cast(web.Request, request))  # the app's request factory made it
        return await handle(request)

    return handle_request
