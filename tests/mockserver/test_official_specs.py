"""Every response body of every resource validates against the official TMF v4 specs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from listener import Listener
from served import PATCHES, PAYLOADS, Running

import mockserver
import tmfapis
from tests.support.official_kits import create_bodies, kit
from tmfapis.derive import index

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "tmf-specs"
SPEC_FILES = {entry["id"]: entry["spec"] for entry in index()}
KIT_SEED = Path(mockserver.__file__).resolve().parent / "kit-seed.json"


def official_spec(api_id: str) -> dict[str, Any]:
    """The official Swagger document of one API, or a skip (a failure in CI) when it is absent."""
    if not SPEC_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the official specs are missing at {SPEC_DIR}; CI must have them")
        pytest.skip(f"the official specs are not at {SPEC_DIR}")
    spec: dict[str, Any] = json.loads((SPEC_DIR / SPEC_FILES[api_id]).read_text(encoding="utf-8"))
    return spec


class OfficialResponses:
    """Validates one response against the schema its spec declares for that path, method and status."""

    def __init__(self, api_id: str) -> None:
        self.spec = official_spec(api_id)
        self.base = self.spec["basePath"].rstrip("/")
        self.checked = 0

    def schema(self, template: str, method: str, status: int) -> dict[str, Any] | None:
        if status >= 400:  # the spec's own error statuses are all Error; the ones it omits must be too
            return {"$ref": "#/definitions/Error"}
        responses = self.spec["paths"][template][method.lower()]["responses"]
        declared = responses.get(str(200 if status == 206 else status))
        assert declared is not None, f"{method} {template} answered {status}, which the spec does not declare"
        schema: dict[str, Any] | None = declared.get("schema")
        return schema

    def check(self, response: requests.Response, template: str) -> Any:
        """Validate the body (204 must have none) and return it decoded."""
        schema = self.schema(template, response.request.method or "", response.status_code)
        if schema is None:
            assert response.content == b"", f"{template} answered {response.status_code} with a body"
            return None
        body = response.json()
        validator = jsonschema.Draft4Validator(
            {**schema, "definitions": self.spec["definitions"]}, format_checker=tmfapis.format_checker()
        )
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{response.request.method} {template} {response.status_code}: {errors}"
        self.checked += 1
        return body


@pytest.mark.parametrize(("api_id", "resource"), sorted(PAYLOADS))
def test_responses_of_every_operation_follow_the_official_spec(
    server: Running, api_id: str, resource: str
) -> None:
    official = OfficialResponses(api_id)
    collection, item = f"/{resource}", f"/{resource}/{{id}}"
    url = server.collection(api_id, resource)
    created = official.check(server.http.post(url, json=PAYLOADS[(api_id, resource)]), collection)
    official.check(server.http.post(url, json=PAYLOADS[(api_id, resource)]), collection)
    official.check(server.http.get(url), collection)
    official.check(server.http.get(url, params={"limit": "1"}), collection)
    official.check(server.http.get(url, params={"id": created["id"]}), collection)
    official.check(server.http.get(url, params={"limit": "x"}), collection)
    official.check(server.http.post(url, json={"@type": 5}), collection)
    official.check(
        server.http.post(url, data=b"<xml/>", headers={"Content-Type": "application/xml"}), collection
    )
    official.check(server.http.get(created["href"]), item)
    official.check(server.http.patch(created["href"], json=PATCHES[(api_id, resource)]), item)
    official.check(server.http.patch(created["href"], json={"id": "other"}), item)
    official.check(server.http.get(f"{url}/unknown"), item)
    official.check(server.http.put(created["href"], json={}), item)
    official.check(server.http.delete(created["href"]), item)
    assert official.checked == 13  # every response but the 204


def test_product_order_cancellation_follows_the_official_spec(server: Running) -> None:
    official = OfficialResponses("tmf622")
    order = server.create("tmf622", "productOrder")
    url = server.collection("tmf622", "cancelProductOrder")
    cancel = official.check(
        server.http.post(url, json={"productOrder": {"id": order["id"]}, "cancellationReason": "late"}),
        "/cancelProductOrder",
    )
    official.check(server.http.get(url), "/cancelProductOrder")
    official.check(server.http.get(cancel["href"]), "/cancelProductOrder/{id}")
    official.check(server.http.get(order["href"]), "/productOrder/{id}")
    official.check(server.http.post(url, json={"productOrder": {"id": "unknown"}}), "/cancelProductOrder")


def candidates(api_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Resources of the API whose creates are announced, each with a body its create takes: what the
    official kit posts (as its launcher configured it), or else the kit seed's instance."""
    seed = json.loads(KIT_SEED.read_text(encoding="utf-8")).get(api_id, {})
    bodies = {**{name: {**rows[0], "id": None} for name, rows in seed.items()}, **create_bodies(api_id)}
    return [
        (name, {key: value for key, value in bodies[name].items() if value is not None})
        for name, resource in tmfapis.api(api_id).resources.items()
        if "Create" in resource.events and "POST" in resource.collection_methods and name in bodies
    ]


def first_created(server: Running, api_id: str) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """The first candidate the server creates (a kit's own payload may break its spec): resource, body, instance."""
    for name, body in candidates(api_id):
        answer = server.http.post(server.collection(api_id, name), json=body)
        if answer.status_code == 201:
            return name, body, answer.json()
    return None


@pytest.mark.parametrize("api_id", tmfapis.API_IDS)
def test_hub_and_events_follow_the_official_spec(server: Running, api_id: str) -> None:
    kit(api_id)  # the kits give each API a body to create
    official = OfficialResponses(api_id)
    hub_url = f"{server.url}{tmfapis.api(api_id).base_path}hub"
    with Listener() as listener:
        hub = official.check(server.http.post(hub_url, json={"callback": listener.url}), "/hub")
        found = first_created(server, api_id)
        events = []
        if found is not None:
            name, sent, created = found
            events.append(listener.next())
            resource = tmfapis.api(api_id).resources[name]
            if "Delete" in resource.events and "DELETE" in resource.item_methods:
                server.http.delete(created["href"])
                events.append(listener.next())
        official.check(server.http.delete(f"{hub_url}/{hub['id']}"), "/hub/{id}")
        official.check(server.http.delete(f"{hub_url}/{hub['id']}"), "/hub/{id}")
    assert found is not None or not candidates(api_id)
    for body in events:
        definition = body["eventType"]
        if definition in official.spec["definitions"]:  # TMF681's spec declares no event definitions
            errors = jsonschema.Draft4Validator(
                {"$ref": f"#/definitions/{definition}", "definitions": official.spec["definitions"]},
                format_checker=tmfapis.format_checker(),
            ).iter_errors(body)
            # What the client sent and its _Create took is the client's; the server's own id and href are
            # strings, as every kit checks (TMF642's spec types the id an integer).
            theirs = {*sent, "id", "href"}
            assert [e.message for e in errors if list(e.absolute_path)[2:3] not in [[key] for key in theirs]] == []
        assert body["event"][name]["id"] == created["id"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"id": "1", "href": "h", "name": "no engagedParty"}, 201),
        ({"id": 1, "engagedParty": {"id": "1", "@referredType": "O"}}, 201),
        ({"message": "no code nor reason"}, 400),
        ([{"id": "1"}], 201),
    ],
)
def test_the_official_check_rejects_a_broken_body(body: Any, status: int) -> None:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.request = requests.Request("POST", "http://127.0.0.1/customer").prepare()
    with pytest.raises(AssertionError):
        OfficialResponses("tmf629").check(response, "/customer")
