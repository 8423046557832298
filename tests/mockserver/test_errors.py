"""Every failure is a TMF Error body, and no client input reaches a 5xx."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from served import PAYLOADS, Running

import tmfapis
from mockserver import ServerConfig, start_background
from mockserver.store import ResourceStore

CUSTOMERS = "/tmf-api/customerManagement/v4/customer"
MESSAGES = "/tmf-api/communicationManagement/v4/communicationMessage"
HUB = "/tmf-api/customerManagement/v4/hub"
JSON = {"Content-Type": "application/json"}
VALID_CUSTOMER = b'{"name": "x", "engagedParty": {"id": "1", "@referredType": "Organization"}'
ERROR_VALIDATOR = tmfapis.schema_validator("tmf629", "Error")


def assert_tmf_error(response: requests.Response, status: int | None = None) -> dict[str, Any]:
    """The response is a TMF Error body (with the given status, if any)."""
    assert response.headers["Content-Type"] == "application/json;charset=utf-8", response.text
    body: dict[str, Any] = response.json()
    ERROR_VALIDATOR.validate(body)
    assert body["@type"] == "Error"
    assert body["status"] == body["code"] == str(response.status_code)
    assert body["message"]
    if status is not None:
        assert response.status_code == status, body
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "The request body is not valid JSON"),
        (b"", "The request body is not valid JSON"),
        (b"[1, 2]", "The request body must be a JSON object, not list."),
        (b'"text"', "The request body must be a JSON object, not str."),
        (b'{"name": "\xff\xfe"}', "The request body is not valid UTF-8."),
        (b'{"name": NaN}', "The request body is not valid JSON"),
        (b'{"name": 1e400}', "The request body is not valid JSON"),
        (b'{"name": "x", "engagedParty": 7}', "engagedParty: 7 is not of type 'object'"),
        (b'{"engagedParty": {"id": "1", "@referredType": "O"}}', "'name' is a required property"),
        (
            b'{"name": "x", "engagedParty": {"id": "1"}}',
            "engagedParty: '@referredType' is a required property",
        ),
        (b"[" * 100_000, "The request body is not valid JSON"),
        (b'{"a":' * 100 + b"1" + b"}" * 100, "The request body nests deeper than 64 levels."),
    ],
)
def test_bad_create_bodies_get_a_400_naming_the_problem(server: Running, body: bytes, message: str) -> None:
    response = server.http.post(server.url + CUSTOMERS, data=body, headers=JSON)
    assert assert_tmf_error(response, 400)["message"].startswith(message)


def test_spec_allows_the_official_kit_payload(server: Running) -> None:
    server.create(
        "tmf681",
        "communicationMessage",
        {"content": "c", "messageType": "SMS", "receiver": [{}], "sender": {}},
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data", "garbage"])
def test_unsupported_media_type_is_a_415(server: Running, content_type: str) -> None:
    response = server.http.post(
        server.url + CUSTOMERS, data=VALID_CUSTOMER + b"}", headers={"Content-Type": content_type}
    )
    assert_tmf_error(response, 415)


def test_patch_accepts_only_merge_patch_and_json(server: Running) -> None:
    created = server.create("tmf629", "customer")
    response = server.http.patch(
        created["href"],
        data=b'[{"op": "remove", "path": "/name"}]',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert_tmf_error(response, 415)


def test_body_over_the_limit_is_a_413(memory_config: ServerConfig) -> None:
    from dataclasses import replace

    with start_background(replace(memory_config, max_body_bytes=1000)) as running:
        body = b'{"name": "' + b"x" * 2000 + b'"}'
        too_big = assert_tmf_error(requests.post(running.url + CUSTOMERS, data=body, headers=JSON), 413)
        assert "1000 bytes at most" in too_big["message"]
        small = requests.post(running.url + CUSTOMERS, data=VALID_CUSTOMER + b"}", headers=JSON)
        assert small.status_code == 201


def test_default_limit_refuses_two_mebibytes(server: Running) -> None:
    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert_tmf_error(server.http.post(server.url + CUSTOMERS, data=body, headers=JSON), 413)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", CUSTOMERS, "GET,POST"),
        ("DELETE", CUSTOMERS, "GET,POST"),
        ("POST", CUSTOMERS + "/some-id", "DELETE,GET,PATCH"),
        ("GET", HUB, "POST"),
    ],
)
def test_wrong_method_is_a_405_with_allow(server: Running, method: str, path: str, allowed: str) -> None:
    response = server.http.request(method, server.url + path)
    assert_tmf_error(response, 405)
    assert sorted(response.headers["Allow"].split(",")) == allowed.split(",")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/tmf-api/",
        "/tmf-api/customerManagement/v4/",
        CUSTOMERS + "/a/b",
        "/tmf-api/customerManagement/v5/customer",
    ],
)
def test_unknown_route_is_a_404(server: Running, path: str) -> None:
    assert_tmf_error(server.http.get(server.url + path), 404)


def test_unknown_id_is_a_404(server: Running) -> None:
    assert (
        "no-such-id"
        in assert_tmf_error(server.http.get(server.url + CUSTOMERS + "/no-such-id"), 404)["message"]
    )


HOSTILE_STRINGS = [
    "'; DROP TABLE instances; --",
    "<script>alert(1)</script>",
    "{{IDCU01}}",
    "$where",
    "../../etc/passwd",
    "\u0000",
    "%00",
    "\ud7ff\ue000",
    "A" * 5000,
    "😀" * 100,
]
HOSTILE_REQUESTS: list[tuple[str, str, dict[str, str], bytes | None]] = [
    ("GET", CUSTOMERS + "?limit=-1", {}, None),
    ("GET", CUSTOMERS + "?offset=1e9", {}, None),
    ("GET", CUSTOMERS + "?limit=99999999999999999999999", {}, None),
    ("GET", CUSTOMERS + "?fields=", {}, None),
    ("GET", CUSTOMERS + "?sort=,,,", {}, None),
    ("GET", CUSTOMERS + "?" + ".".join(["a"] * 500) + "=x", {}, None),
    ("GET", CUSTOMERS + "?%ff=%fe", {}, None),
    ("GET", CUSTOMERS + "?name.gt=", {}, None),
    ("GET", CUSTOMERS + "?name='''", {}, None),
    ("GET", CUSTOMERS + "?name=%00", {}, None),
    ("GET", CUSTOMERS + "?=x&&&=", {}, None),
    ("GET", CUSTOMERS + "?name=" + "," * 3000, {}, None),
    ("GET", CUSTOMERS + "?name=" + "x" * 30_000, {}, None),  # past aiohttp's default 8 KiB line
    ("GET", CUSTOMERS + "?limit=" + "9" * 30_000, {}, None),
    ("GET", CUSTOMERS, {"X-Filler": "y" * 30_000}, None),
    ("GET", CUSTOMERS + "?name.zz=1", {}, None),
    ("GET", CUSTOMERS + "/%00", {}, None),
    ("GET", CUSTOMERS + "/' OR 1=1 --", {}, None),
    ("GET", CUSTOMERS + "/..%2F..%2Fetc", {}, None),
    ("DELETE", CUSTOMERS + "/%ff", {}, None),
    ("PATCH", CUSTOMERS + "/missing", JSON, b'{"name": "x"}'),
    ("POST", CUSTOMERS, {"Content-Type": "application/json; charset=latin-1"}, VALID_CUSTOMER + b"}"),
    ("POST", CUSTOMERS, {"Content-Type": ";;;="}, b"{}"),
    ("POST", CUSTOMERS, {}, b"\x00\x00\x00"),
    ("POST", CUSTOMERS, JSON, b'{"name": "a\x00b"}'),
    ("POST", CUSTOMERS, JSON, VALID_CUSTOMER + b', "__proto__": {}}'),
    ("POST", CUSTOMERS, JSON, b'{"name": ' + b"9" * 5000 + b"}"),
    ("POST", CUSTOMERS, JSON, VALID_CUSTOMER + b', "deep": ' + b"[" * 60 + b"]" * 60 + b"}"),
    ("POST", MESSAGES, JSON, b'{"content": "x", "messageType": "SMS", "receiver": {}, "sender": []}'),
    (
        "POST",
        MESSAGES,
        JSON,
        (
            b'{"content": "x", "messageType": "SMS", "receiver": [{}], "sender": {}, '
            b'"scheduledSendTime": "not a date"}'
        ),
    ),
    ("POST", HUB, JSON, b'{"callback": "not a url"}'),
    ("POST", HUB, JSON, b'{"callback": 42}'),
    ("POST", HUB, JSON, b'{"callback": "file:///etc/passwd"}'),
    ("POST", HUB, JSON, b'{"callback": "http://127.0.0.1:9/", "query": 7}'),
    ("DELETE", HUB + "/unknown", {}, None),
    ("OPTIONS", CUSTOMERS, {}, None),
    ("TRACE", CUSTOMERS, {}, None),
]


def hostile_corpus() -> Iterator[tuple[str, str, dict[str, str], bytes | None]]:
    yield from HOSTILE_REQUESTS
    for text in HOSTILE_STRINGS:
        body = {**PAYLOADS[("tmf629", "customer")], "name": text}
        yield "POST", CUSTOMERS, JSON, json.dumps(body).encode()
        yield "GET", CUSTOMERS + "?name=" + quote(text), {}, None
        yield "POST", HUB, JSON, json.dumps({"callback": "http://127.0.0.1:9/", "query": text}).encode()


def test_hostile_corpus_gets_no_5xx_and_tmf_errors(server: Running) -> None:
    server.create("tmf629", "customer")
    answered = 0
    for method, path, headers, body in hostile_corpus():
        response = server.http.request(method, server.url + path, data=body, headers=headers)
        where = f"{method} {path[:80]} {body[:60] if body else b''!r}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            assert_tmf_error(response)
        answered += 1
    assert answered > 50
    assert server.http.get(server.url + CUSTOMERS).status_code in (200, 206)


def test_requests_that_are_not_http_get_a_4xx_from_the_parser(server: Running) -> None:
    # aiohttp's HTTP parser answers these itself, in plain text, before any application code runs.
    response = server.http.request("FOO", server.url + CUSTOMERS)
    assert response.status_code == 400


def test_unexpected_failure_is_a_logged_500_tmf_error(
    memory_config: ServerConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("planted fault")

    monkeypatch.setattr(ResourceStore, "select", broken)
    with caplog.at_level(logging.ERROR, logger="mockserver"), start_background(memory_config) as running:
        body = assert_tmf_error(requests.get(running.url + CUSTOMERS), 500)
    assert "planted fault" not in body["message"]
    assert "planted fault" in caplog.text


LONE_SURROGATE = "\\ud800"  # the JSON escape: json.loads makes a str no UTF-8 response can carry
SURROGATE_BODIES: list[tuple[str, str, str, str]] = [
    # (method, path, body template with {s}, attribute the 400 names)
    ("POST", CUSTOMERS, '{"name": "{s}", "engagedParty": {"id": "1", "@referredType": "O"}}', "name"),
    ("POST", CUSTOMERS, '{"name": "x", "engagedParty": {"id": "1", "@referredType": "O"}, "{s}": 1}', "\\ud800"),
    ("POST", MESSAGES, '{"content": "c", "messageType": "SMS", "receiver": [{"name": "{s}"}], "sender": {}}',
     "receiver[0].name"),
    ("POST", HUB, '{"callback": "http://127.0.0.1:9/{s}"}', "callback"),
    ("POST", HUB, '{"callback": "http://127.0.0.1:9/", "query": "name={s}"}', "query"),
    ("POST", "/tmf-api/productOrderingManagement/v4/cancelProductOrder",
     '{"productOrder": {"id": "{s}"}, "cancellationReason": "r"}', "productOrder.id"),
    ("POST", "/tmf-api/usageManagement/v4/usage", '{"usageType": "a\\udc00b"}', "usageType"),
    ("POST", "/tmf-api/partyInteraction/v4/partyInteraction", '["{s}"]', "The body"),
]


@pytest.mark.parametrize(("method", "path", "template", "attribute"), SURROGATE_BODIES)
def test_lone_surrogate_in_any_body_is_a_400_naming_it(
    server: Running, method: str, path: str, template: str, attribute: str
) -> None:
    body = template.replace("{s}", LONE_SURROGATE).encode()
    message = assert_tmf_error(server.http.request(method, server.url + path, data=body, headers=JSON), 400)
    expected = "The request body must be a JSON object" if attribute == "The body" else attribute
    assert message["message"].startswith(expected), message


def test_lone_surrogate_in_a_patch_is_a_400_and_changes_nothing(server: Running) -> None:
    created = server.create("tmf629", "customer")
    for patch in ('{"name": "%s"}', '{"contactMedium": [{"mediumType": "%s"}]}', '{"%s": null}'):
        response = server.http.patch(
            created["href"], data=(patch % LONE_SURROGATE).encode(), headers={"Content-Type": "application/merge-patch+json"}
        )
        assert "lone surrogate" in assert_tmf_error(response, 400)["message"]
    assert server.http.get(created["href"]).json() == created


@pytest.mark.parametrize(
    "query",
    ["name=%ED%A0%80", "%ED%A0%80=x", "fields=%ED%A0%80", "sort=%ED%A0%80", "name.gt=%ED%B0%80",
     "engagedParty.%ED%A0%80=1"],
)
def test_surrogate_bytes_in_a_query_get_no_5xx(server: Running, query: str) -> None:
    server.create("tmf629", "customer")
    for path in (CUSTOMERS, CUSTOMERS + "/%ED%A0%80"):
        response = server.http.get(f"{server.url}{path}?{query}")
        assert response.status_code < 500, (path, query)
        if response.status_code >= 400:
            assert_tmf_error(response)
