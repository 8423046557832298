"""An independent implementation of the APIs, as a vendor writes one: it keeps what it is sent, verbatim.

Unlike the reference server it adds nothing to what it stores (no ``href`` in a reference, no default
for a blank attribute), delivers no events, and may be stricter or looser than the reference server in
the ways ``Vendor`` lists. ``serve_vendor(vendor)`` runs it on a free 127.0.0.1 port.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema

import tmfapis
from tests.support.loopback import serve_in_thread

__all__ = ["Vendor", "serve_vendor"]

MERGE_PATCH = "application/merge-patch+json"


@dataclass(slots=True)
class Vendor:
    """How the vendor's server behaves beyond keeping what it is sent."""

    closed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # attribute: the only values a POST may hold
    enforce_update: bool = False  # a PATCH body must be valid against the spec's _Update (else 400)
    patch_json_only: bool = False  # a PATCH sent as merge-patch+json answers 200 and changes nothing
    list_envelope: bool = False  # lists come as {"status": "success", "count": n, "<resource>": [...]}
    accept_anything: bool = False  # every POST answers 201, with or without the required attributes
    optional: tuple[str, ...] = ()  # required by the spec, yet not refused when absent (the kits leave them out)
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # resource: what the server sets on create
    ignore_filters: bool = False  # a list answers the whole collection whatever the filter
    store: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # collection path: id: instance
    lock: threading.Lock = field(default_factory=threading.Lock)


def _route(path: str) -> tuple[tmfapis.Api, str, str | None] | None:
    """The API, the resource (or ``hub``) and the id a path names, or None."""
    for api in tmfapis.apis():
        if path.startswith(api.base_path):
            parts = [unquote(part) for part in path[len(api.base_path):].strip("/").split("/")]
            if parts[0] in api.resources or parts[0] == "hub":
                return api, parts[0], parts[1] if len(parts) > 1 else None
    return None


def _error(code: int, reason: str) -> tuple[int, Any]:
    return code, {"code": str(code), "reason": reason}


class _Handler(BaseHTTPRequestHandler):
    vendor: Vendor

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        route = _route(parts.path)
        headers: dict[str, str] = {}
        if route is None:
            status, body = _error(404, "no such path")
        else:
            with self.vendor.lock:
                status, body = self._answer(route, parse_qsl(parts.query), raw, headers)
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def _answer(self, route: tuple[tmfapis.Api, str, str | None], query: list[tuple[str, str]], raw: bytes,
                headers: dict[str, str]) -> tuple[int, Any]:
        api, resource, instance_id = route
        vendor = self.vendor
        collection = vendor.store.setdefault(f"{api.id}/{resource}", {})
        try:
            sent = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "malformed JSON")
        if resource == "hub":
            if self.command == "POST":
                hub_id = uuid.uuid4().hex
                return 201, {"id": hub_id, "callback": (sent or {}).get("callback")}
            return 204, None
        if instance_id is None and self.command == "POST":
            return self._create(api, api.resources[resource], collection, sent)
        if instance_id is None:
            return self._list(resource, collection, query, headers)
        instance = collection.get(instance_id)
        if instance is None:
            return _error(404, f"no {resource} {instance_id}")
        if self.command == "DELETE":
            del collection[instance_id]
            return 204, None
        if self.command == "PATCH":
            return self._patch(api, api.resources[resource], instance, sent)
        return 200, _selected(instance, query)

    def _create(self, api: tmfapis.Api, resource: tmfapis.Resource, collection: dict[str, dict[str, Any]],
                sent: Any) -> tuple[int, Any]:
        if not isinstance(sent, dict):
            return _error(400, "expected a JSON object")
        if not self.vendor.accept_anything:
            required = api.definitions[resource.create_schema].get("required", [])
            missing = [name for name in required if name not in sent and name not in self.vendor.optional]
            if missing:
                return _error(400, f"missing {', '.join(missing)}")
        for attribute, allowed in self.vendor.closed.items():
            if attribute in sent and sent[attribute] not in allowed:
                return _error(400, f"{attribute} must be one of {', '.join(allowed)}")
        instance_id = uuid.uuid4().hex[:12]
        host = self.headers.get("Host", "127.0.0.1")
        instance = {**self.vendor.defaults.get(resource.name, {}), **sent, "id": instance_id, "href": f"http://{host}{api.base_path}{resource.name}/{instance_id}"}
        collection[instance_id] = instance
        return 201, instance

    def _list(self, resource: str, collection: dict[str, dict[str, Any]], query: list[tuple[str, str]],
              headers: dict[str, str]) -> tuple[int, Any]:
        options = dict(query)
        filters = [(key, value) for key, value in query if key not in ("fields", "offset", "limit")]
        items = [item for item in collection.values()
                 if self.vendor.ignore_filters or all(_text(item.get(key)) == value for key, value in filters)]
        offset, limit = int(options.get("offset", 0)), int(options.get("limit", len(items) or 1))
        page = [_selected(item, query) for item in items[offset:offset + limit]]
        headers.update({"X-Total-Count": str(len(items)), "X-Result-Count": str(len(page))})
        if self.vendor.list_envelope:
            return 200, {"status": "success", "count": len(page), resource: page}
        return 200, page

    def _patch(self, api: tmfapis.Api, resource: tmfapis.Resource, instance: dict[str, Any],
               sent: Any) -> tuple[int, Any]:
        if self.vendor.enforce_update and resource.update_schema:
            error = jsonschema.exceptions.best_match(
                tmfapis.schema_validator(api.id, resource.update_schema).iter_errors(sent))
            if error is not None:
                return _error(400, f"not a valid {resource.update_schema}: {error.message}")
        media = self.headers.get("Content-Type", "").split(";")[0].strip()
        if not (self.vendor.patch_json_only and media == MERGE_PATCH):
            patched = tmfapis.merge_patch(instance, sent)
            instance.clear()
            instance.update(patched)
        return 200, instance


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _selected(instance: dict[str, Any], query: list[tuple[str, str]]) -> dict[str, Any]:
    fields = [name for key, value in query if key == "fields" for name in value.split(",")]
    if not fields:
        return instance
    return {key: value for key, value in instance.items() if key in {*tmfapis.ALWAYS_SELECTED, *fields}}


@contextmanager
def serve_vendor(vendor: Vendor) -> Iterator[str]:
    """Run the vendor's server on a free loopback port; yield its base URL."""
    handler = type("VendorHandler", (_Handler,), {"vendor": vendor})
    with serve_in_thread(handler) as url:
        yield url
