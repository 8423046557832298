"""The schema checks leave out what an answer only echoes of the bodies sent: that is the payload's deviation."""

from __future__ import annotations

from harness.ctk import checks
from harness.ctk.declaration import load_declaration
from tests.harness.test_checks import reply
from tests.support.suite_runs import SUITES

INTERACTION = load_declaration(SUITES / "ctk683" / "ctk683.yaml").resources[0]
KIT_PAYLOAD = {"channel": [{"id": "555"}], "direction": "inbounds", "reason": "The user wanted to buy TV"}
STORED = {**KIT_PAYLOAD, "id": "7", "href": "http://vendor.example/partyInteraction/7", "status": "open",
          "interactionDate": {"startDateTime": "2024-05-02T08:00:00Z"}}


def test_a_reference_sent_without_href_and_echoed_is_not_the_servers_deviation() -> None:
    result = checks.body_matches(reply(STORED), "tmf683", "PartyInteraction", sent=[KIT_PAYLOAD])
    assert result.outcome == "passed", result.message
    listed = checks.body_matches(reply([STORED]), "tmf683", "PartyInteraction", listed=True, sent=[KIT_PAYLOAD])
    assert listed.outcome == "passed", listed.message


def test_the_same_answer_to_a_body_that_had_the_href_is_the_servers_deviation() -> None:
    with_href = {**KIT_PAYLOAD, "channel": [{"id": "555", "href": "http://channels.example/555"}]}
    result = checks.body_matches(reply(STORED), "tmf683", "PartyInteraction", sent=[with_href])
    assert result.outcome == "failed"
    assert result.message == "expected a valid PartyInteraction; channel.0: 'href' is a required property"
    assert checks.body_matches(reply(STORED), "tmf683", "PartyInteraction").outcome == "failed"


def test_a_wrong_value_echoed_as_sent_is_left_out_and_one_the_server_made_is_not() -> None:
    sent = {**KIT_PAYLOAD, "description": 42}
    echoed = checks.body_matches(reply({**STORED, "description": 42}), "tmf683", "PartyInteraction", sent=[sent])
    assert echoed.outcome == "passed", echoed.message
    made = checks.body_matches(reply({**STORED, "description": 43}), "tmf683", "PartyInteraction", sent=[sent])
    assert made.outcome == "failed" and "description: 43 is not of type 'string'" in made.message


def test_the_payload_check_names_every_field_the_create_lacks() -> None:
    result = checks.payload_conforms(INTERACTION, KIT_PAYLOAD)
    assert result.outcome == "failed" and result.tier == "spec"
    assert result.message.startswith("a deviation of the payload, not of the server: ")
    for problem in ("'interactionDate' is a required property", "'status' is a required property",
                    "channel.0: 'href' is a required property"):
        assert problem in result.message, result.message


def test_at_the_top_level_only_what_a_client_may_send_is_excused() -> None:
    # the hub's answer lacks the id the server assigns: no body sent without an id excuses that
    subscription = {"callback": "http://listener.example/events"}
    result = checks.body_matches(reply(subscription), "tmf629", "EventSubscription", sent=[subscription],
                                 create="EventSubscriptionInput")
    assert result.outcome == "failed" and "(top level): 'id' is a required property" in result.message
    # a customer echoed without the engagedParty its payload left out is the payload's deviation
    customer = {"name": "Geekhaven Club"}
    echoed = checks.body_matches(reply({**customer, "id": "1"}), "tmf629", "Customer", sent=[customer],
                                 create="Customer_Create")
    assert echoed.outcome == "passed", echoed.message
