"""Hub listeners and event notifications."""

from __future__ import annotations

import queue
from typing import Any

import pytest
import requests
from listener import Listener
from served import Running, collection_url

import tmfapis


def register(server: Running, api_id: str, callback: str, query: str | None = None) -> dict[str, Any]:
    body = {"callback": callback} | ({"query": query} if query is not None else {})
    response = server.http.post(collection_url(server.url, api_id, "hub"), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_hub_registers_and_unregisters_listeners(server: Running) -> None:
    listener = register(server, "tmf629", "http://127.0.0.1:9/cb", "eventType=CustomerCreateEvent")
    assert listener["callback"] == "http://127.0.0.1:9/cb"
    assert listener["query"] == "eventType=CustomerCreateEvent"
    tmfapis.schema_validator("tmf629", "EventSubscription").validate(listener)
    hub_item = collection_url(server.url, "tmf629", f"hub/{listener['id']}")
    assert server.http.delete(hub_item).status_code == 204
    assert server.http.delete(hub_item).status_code == 404


def test_listener_query_that_cannot_parse_is_a_400(server: Running) -> None:
    response = server.http.post(
        collection_url(server.url, "tmf629", "hub"),
        json={"callback": "http://127.0.0.1:9/", "query": "limit=3"},
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("query:")


def test_every_change_is_notified_with_the_tmf_envelope(server: Running) -> None:
    with Listener() as listener:
        register(server, "tmf629", listener.url)
        customer = server.create("tmf629", "customer")
        created = listener.next()
        assert created["eventType"] == "CustomerCreateEvent"
        assert created["event"]["customer"] == customer
        assert {"eventId", "eventTime"} <= created.keys()
        tmfapis.schema_validator("tmf629", "CustomerCreateEvent").validate(created)

        server.http.patch(customer["href"], json={"name": "New name"})
        assert listener.next()["eventType"] == "CustomerAttributeValueChangeEvent"
        server.http.patch(customer["href"], json={"status": "Approved"})
        changed = listener.next()
        assert changed["eventType"] == "CustomerStateChangeEvent"
        assert changed["event"]["customer"]["status"] == "Approved"
        server.http.delete(customer["href"])
        assert listener.next()["eventType"] == "CustomerDeleteEvent"


def test_party_interaction_status_change_uses_its_own_event_name(server: Running) -> None:
    with Listener() as listener:
        register(server, "tmf683", listener.url, "eventType=PartyInteractionStatusChangeEvent")
        created = server.create("tmf683", "partyInteraction")
        server.http.patch(created["href"], json={"status": "completed"})
        event = listener.next()
        assert event["eventType"] == "PartyInteractionStatusChangeEvent"
        assert event["event"]["partyInteraction"]["status"] == "completed"


def test_cancellation_notifies_the_order_state_change(server: Running) -> None:
    with Listener() as listener:
        register(server, "tmf622", listener.url)
        order = server.create("tmf622", "productOrder")
        assert listener.next()["eventType"] == "ProductOrderCreateEvent"
        server.create("tmf622", "cancelProductOrder", {"productOrder": {"id": order["id"]}})
        cancel_created, order_changed = listener.events(2)
        assert cancel_created["eventType"] == "CancelProductOrderCreateEvent"
        assert order_changed["eventType"] == "ProductOrderStateChangeEvent"
        assert order_changed["event"]["productOrder"]["state"] == "cancelled"


def test_listener_query_selects_events(server: Running) -> None:
    with Listener() as deletes, Listener() as everything:
        register(server, "tmf629", deletes.url, "eventType=CustomerDeleteEvent")
        register(server, "tmf629", everything.url)
        customer = server.create("tmf629", "customer")
        assert everything.next()["eventType"] == "CustomerCreateEvent"
        server.http.delete(customer["href"])
        assert everything.next()["eventType"] == "CustomerDeleteEvent"
        assert deletes.next()["eventType"] == "CustomerDeleteEvent"
        assert deletes.received.empty()


def test_unregistered_listener_hears_nothing_more(server: Running) -> None:
    with Listener() as gone, Listener() as witness:
        hub = register(server, "tmf629", gone.url)
        register(server, "tmf629", witness.url)
        server.http.delete(collection_url(server.url, "tmf629", f"hub/{hub['id']}"))
        server.create("tmf629", "customer")
        server.create("tmf629", "customer")
        witness.events(2)
        assert gone.received.empty()


def test_failed_delivery_is_retried(server: Running) -> None:
    with Listener(failures=1) as listener:
        register(server, "tmf681", listener.url)
        server.create("tmf681", "communicationMessage")
        assert listener.next()["eventType"] == "CommunicationMessageCreateEvent"
        assert listener.attempts == 2


def test_slow_listener_does_not_delay_the_response(server: Running) -> None:
    with Listener() as listener:
        listener.gate.clear()  # the listener holds every delivery until the gate opens
        register(server, "tmf629", listener.url)
        response = requests.post(
            server.collection("tmf629", "customer"),
            json={"name": "n", "engagedParty": {"id": "1", "@referredType": "O"}},
        )
        assert response.status_code == 201
        with pytest.raises(queue.Empty):
            listener.received.get_nowait()
        listener.gate.set()
        assert listener.next()["event"]["customer"]["id"] == response.json()["id"]
