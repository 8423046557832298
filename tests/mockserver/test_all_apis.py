"""The server beyond the first five APIs: server-set values derived from the specs and completed by
``behaviour.json``, PUT, nested resources, operations beyond a spec, and what only the server sets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from served import Running

import tmfapis
from mockserver import ServerConfig, start_background
from mockserver.resources import BEHAVIOUR_FILE, rules_for
from tmfapis.derive import NOW, server_set, state_attribute

DEFINITIONS: dict[str, Any] = {
    "Ticket": {"properties": {
        "id": {"type": "string"}, "href": {"type": "string"}, "@type": {"type": "string"},
        "name": {"type": "string"}, "opened": {"type": "string", "format": "date-time"},
        "due": {"type": "string", "format": "date-time"}, "status": {"$ref": "#/definitions/TicketStatus"},
        "severity": {"type": "string", "enum": ["minor", "major"]}, "note": {"type": "string"},
    }},
    "Ticket_Create": {"properties": {
        "name": {"type": "string"}, "due": {"type": "string", "format": "date-time"},
        "status": {"$ref": "#/definitions/TicketStatus"},
    }},
    "TicketStatus": {"type": "string", "enum": ["new", "closed"]},
}


def test_server_set_values_are_derived_from_what_a_create_cannot_send() -> None:
    state = state_attribute(DEFINITIONS, "Ticket", ["Create", "AttributeValueChange", "StatusChange"])
    assert state == "status"
    assert server_set(DEFINITIONS, "Ticket", "Ticket_Create", state) == {
        "opened": NOW,  # a date-time the create lacks
        "severity": "minor",  # an enum the create lacks: its first value
        "status": "new",  # the state starts at its first value, even though a client may send it
    }
    assert state_attribute(DEFINITIONS, "Ticket", ["Create", "StateChange"]) is None  # no attribute "state"


def test_behaviour_names_only_apis_resources_and_attributes_that_exist() -> None:
    behaviour = json.loads(BEHAVIOUR_FILE.read_text(encoding="utf-8"))
    for api_id, resources in behaviour.items():
        if api_id == "$comment":
            continue
        api = tmfapis.api(api_id)
        for name, given in resources.items():
            # an attribute the resource has, or (TMF696's kit wants a status its resource lacks) one of the API's
            known = {key for definition in api.definitions.values() for key in definition.get("properties", {})}
            rules = rules_for(api_id, name)
            named = {*given.get("defaults", {}), *given.get("forced", {}), *given.get("stampedOnChange", ())}
            assert named <= known, (api_id, name, named - known)
            assert rules.state_attribute is None or rules.state_attribute in known, (api_id, name)


@pytest.fixture
def memory_server(memory_config: ServerConfig) -> Iterator[Running]:
    with start_background(memory_config) as running, requests.Session() as http:
        yield Running(running.url, running.config, http)


def test_kit_defaults_complete_a_create(memory_server: Running) -> None:
    created = memory_server.create("tmf633", "serviceSpecification", {"name": "Firewall"})
    assert (created["isBundle"], created["lifecycleStatus"]) == (False, "In design")
    assert created["lastUpdate"].endswith("Z")
    kept = memory_server.create("tmf633", "serviceSpecification", {"name": "VPN", "isBundle": True})
    assert kept["isBundle"] is True


def test_a_create_may_not_send_what_only_the_server_sets(memory_server: Running) -> None:
    url = memory_server.collection("tmf679", "productOfferingQualification")
    answer = memory_server.http.post(url, json={"state": "done", "productOfferingQualificationItem": []})
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "state: is set by the server; a create does not send it."
    created = memory_server.create("tmf679", "productOfferingQualification", {"productOfferingQualificationItem": []})
    assert created["state"] == "acknowledged" and created["productOfferingQualificationDate"].endswith("Z")


def test_put_replaces_the_instance_where_the_spec_declares_it(memory_server: Running) -> None:
    created = memory_server.create("tmf667", "document", {"name": "Contract", "description": "draft"})
    replaced = memory_server.http.put(created["href"], json={"name": "Contract v2"})
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["id"], body["href"], body["name"]) == (created["id"], created["href"], "Contract v2")
    assert "description" not in body
    assert memory_server.http.get(created["href"]).json() == body
    customer = memory_server.create("tmf629", "customer")
    refused = memory_server.http.put(customer["href"], json={"name": "x"})
    assert refused.status_code == 405 and refused.json()["@type"] == "Error"
    assert set(refused.headers["Allow"].split(",")) == {"GET", "PATCH", "DELETE"}


def test_a_nested_resource_is_served_under_its_parent_and_at_the_root(memory_server: Running) -> None:
    flow = memory_server.create("tmf701", "processFlow", {"processFlowSpecification": "order-to-cash"})
    nested = f"{flow['href']}/taskFlow"
    answer = memory_server.http.post(nested, json={"taskFlowSpecification": "check-credit"})  # the kit's POST
    assert answer.status_code == 201, answer.text
    task = answer.json()
    assert task["state"] == "new"
    assert memory_server.http.get(f"{nested}/{task['id']}").json() == task
    assert memory_server.http.get(task["href"]).json() == task  # the root form is the href
    assert [item["id"] for item in memory_server.http.get(nested).json()] == [task["id"]]
    assert memory_server.http.delete(task["href"]).status_code == 405  # the spec declares no DELETE


def test_a_task_resource_without_item_operations_has_no_item_path(memory_server: Running) -> None:
    assert tmfapis.api("tmf656").resources["problemAcknowledgement"].item_methods == ()
    answer = memory_server.http.get(f"{memory_server.url}{tmfapis.api('tmf656').base_path}problemAcknowledgement/42")
    assert answer.status_code == 404 and answer.json()["@type"] == "Error"


def test_a_patch_is_judged_on_what_it_changes_where_create_and_entity_schemas_disagree(memory_server: Running) -> None:
    """TMF662's Association_Create takes one associationRole, its Association a list: a created instance is
    refused by the entity schema, yet a PATCH of its name alone is the client's to make."""
    created = memory_server.create("tmf662", "association", {"name": "a", "associationRole": {"role": "r", "entity": {"id": "e"}}})
    renamed = memory_server.http.patch(created["href"], json={"name": "b"},
                                       headers={"Content-Type": "application/merge-patch+json"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "b", renamed.text
    broken = memory_server.http.patch(created["href"], json={"name": 5},
                                      headers={"Content-Type": "application/merge-patch+json"})
    assert broken.status_code == 400 and broken.json()["message"].startswith("name:"), broken.text
