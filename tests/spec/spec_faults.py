"""Spec-level defects for the fault proxy in front of the reference server.

Each fault (``SPEC_FAULTS``) breaks the TMF specs where the official kits do not look, as the
third-party and certified vendor servers did. ``start_spec_fault_proxy(upstream, fault)`` runs one in a
thread on a free port and yields its URL.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.fault_proxy import (
    Exchange,
    Fault,
    Hook,
    edit_instances,
    keep_query,
    patch_201,
    patch_ignored,
    start_proxy,
)

__all__ = ["SPEC_FAULTS", "start_spec_fault_proxy"]


def _drop_fields(exchange: Exchange) -> None:
    keep_query(exchange, lambda key: key != "fields")


def _no_id_when_fields(exchange: Exchange) -> None:
    if any(
        key == "fields" for key, _ in parse_qsl(urlsplit(exchange.client_path).query, keep_blank_values=True)
    ):
        edit_instances(exchange, lambda item: item.pop("id", None))


def _no_paging_headers(exchange: Exchange) -> None:
    exchange.headers = {
        k: v for k, v in exchange.headers.items() if k.lower() not in ("x-total-count", "x-result-count")
    }
    if exchange.status == 206:
        exchange.status = 200


def _no_paging(exchange: Exchange) -> None:
    keep_query(exchange, lambda key: key not in ("offset", "limit"))


def _text_errors(exchange: Exchange) -> None:
    if exchange.status >= 400:
        exchange.payload = b"Not Found" if exchange.status == 404 else b"Bad Request"
        exchange.headers = {"Content-Type": "text/plain"}


def _delete_as_read(exchange: Exchange) -> None:
    if exchange.method == "DELETE" and "/hub/" not in exchange.path:
        exchange.method, exchange.body = "GET", b""  # forwarded as a read: nothing is deleted


def _delete_says_204(exchange: Exchange) -> None:
    if exchange.client_method == "DELETE" and exchange.method == "GET" and exchange.status == 200:
        exchange.status, exchange.payload = 204, b""


def _wrong_href(exchange: Exchange) -> None:
    def edit(item: dict[str, Any]) -> None:
        if isinstance(item.get("href"), str):
            item["href"] = item["href"].replace("/v4/", "/v4/unknown/")

    edit_instances(exchange, edit)


def _lost_callbacks(exchange: Exchange) -> None:
    if exchange.method == "POST" and urlsplit(exchange.path).path.endswith("/hub"):
        exchange.body = json.dumps({"callback": "http://127.0.0.1:9/nobody-listens"}).encode()


def _hub_refused(exchange: Exchange) -> None:
    if urlsplit(exchange.path).path.endswith("/hub") and exchange.method == "POST":
        exchange.status, exchange.payload = 200, json.dumps({"callback": "accepted"}).encode()


def _both(first: Hook, second: Hook) -> Hook:
    def apply(exchange: Exchange) -> None:
        first(exchange)
        second(exchange)

    return apply


SPEC_FAULTS: dict[str, Fault] = {
    # The third-party TMF681 server: passes the official kit, yet fields=, PATCH and paging are all wrong.
    "third_party_681": Fault(
        on_request=_both(_drop_fields, patch_ignored), on_answer=_both(_no_id_when_fields, _no_paging_headers)
    ),
    # fields=: the whole instance comes back (extra attributes) and without its id.
    "fields_extra_no_id": Fault(on_request=_drop_fields, on_answer=_no_id_when_fields),
    # PATCH answers 200 with the instance unchanged.
    "patch_ignored": Fault(on_request=patch_ignored),
    # Lists carry no X-Total-Count / X-Result-Count (and answer 200 for a partial page).
    "no_paging_headers": Fault(on_answer=_no_paging_headers),
    # offset and limit are ignored: every page is the whole list.
    "paging_ignored": Fault(on_request=_no_paging),
    # PATCH answers 201, as the certified TMF629 vendor did.
    "patch_201": Fault(on_answer=patch_201),
    # 4xx answers carry plain text instead of a TMF Error.
    "text_errors": Fault(on_answer=_text_errors),
    # DELETE answers 204 and deletes nothing (yet 404 for an unknown id, unlike the kit-level delete_noop).
    "delete_noop": Fault(on_request=_delete_as_read, on_answer=_delete_says_204),
    # hrefs point to a path that serves nothing.
    "wrong_href": Fault(on_answer=_wrong_href),
    # Hub registrations are accepted but events go elsewhere.
    "lost_callbacks": Fault(on_request=_lost_callbacks),
    # POST /hub answers 200 with no id.
    "hub_refused": Fault(on_answer=_hub_refused),
}


def start_spec_fault_proxy(upstream: str, fault: str) -> AbstractContextManager[str]:
    """Run a proxy planting the spec-level ``fault`` in front of ``upstream`` on a free loopback port."""
    return start_proxy(upstream, SPEC_FAULTS[fault])
