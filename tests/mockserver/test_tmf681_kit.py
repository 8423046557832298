"""The official TMF681 kit's thirteen requests, in its order, with its checks, against the server."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from served import PAYLOADS, Running

MANDATORY = ("content", "href", "id", "messageType", "receiver", "sender")
TYPES = {"content": str, "href": str, "id": str, "messageType": str, "receiver": list}
HELD = ("content", "href", "id", "messageType")


def kit_checks(response: requests.Response, status: int, held: dict[str, Any]) -> list[Any]:
    """The kit's per-instance checks: status, mandatory attributes, types, held values in the raw body."""
    assert response.status_code == status, response.text
    body = response.json()
    instances = body if isinstance(body, list) else [body]
    for instance in instances:
        assert set(MANDATORY) <= instance.keys()
        assert all(isinstance(instance[name], kind) for name, kind in TYPES.items())
        for name in HELD:
            assert held[name] in response.text
    return instances


def test_the_official_tmf681_kit_sequence_passes(server: Running) -> None:
    url = server.collection("tmf681", "communicationMessage")
    created = server.http.post(url, json=PAYLOADS[("tmf681", "communicationMessage")])
    assert not isinstance(created.json(), list)
    held = {name: created.json()[name] for name in HELD}
    kit_checks(created, 201, held)
    kit_checks(server.http.get(url), 200, held)
    (fetched,) = kit_checks(server.http.get(f"{url}/{held['id']}"), 200, held)
    assert {name: fetched[name] for name in HELD} == held
    for name in HELD:
        assert server.http.get(f"{url}?fields={name}").status_code == 200
        raw_value = held[name].replace(" ", "%20")  # as Postman sends it: spaces encoded, "$" as is
        if name != "href":
            (found,) = kit_checks(server.http.get(f"{url}?{name}={raw_value}"), 200, held)
            assert found["id"] == held["id"]
    assert server.http.delete(f"{url}/{held['id']}").status_code == 204
    assert server.http.get(f"{url}/{held['id']}").status_code == 404
    assert server.http.get(f"{url}/{uuid.uuid4()}").status_code == 404
