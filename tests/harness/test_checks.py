"""The kit's checks one by one, on handmade replies: each passes on a good answer and fails on a bad one."""

from __future__ import annotations

import json
from typing import Any

from harness.ctk import checks
from harness.ctk.declaration import load_declaration
from harness.http import Reply
from harness.record import Exchange
from tests.support.suite_runs import SUITES

CUSTOMER = load_declaration(SUITES / "ctk629" / "ctk629.yaml").resources[0]
HELD = {"id": "01ABC", "href": "http://vendor.example/customer/01ABC", "name": "Geekhaven Club"}


def reply(body: Any) -> Reply:
    text = json.dumps(body)
    return Reply(
        exchange=Exchange("GET", "http://vendor.example"), status=200, text=text, body=body, problem=None
    )


def test_body_includes_passes_when_the_held_value_is_in_the_body() -> None:
    result = checks.body_includes(reply(HELD), CUSTOMER, "href", [HELD], HELD)
    assert (result.name, result.outcome) == ("Body includes value held on href", "passed")


def test_body_includes_fails_when_the_value_is_absent() -> None:
    answer = {**HELD, "href": "elsewhere"}
    result = checks.body_includes(reply(answer), CUSTOMER, "href", [HELD], answer)
    assert result.outcome == "failed"
    assert HELD["href"] in result.message


def test_body_includes_fails_when_the_instance_lacks_the_attribute_as_the_kit_does() -> None:
    # the kit searches for the instance's own value: an instance without it (a leftover) fails
    leftover = {"id": "left", "name": "x"}
    answer = [HELD, leftover]
    result = checks.body_includes(reply(answer), CUSTOMER, "href", [HELD], leftover)
    assert (result.outcome, result.message) == ("failed", 'the instance (id "left") has no href')


def test_body_includes_fails_on_an_array_where_an_instance_belongs() -> None:
    result = checks.body_includes(reply([HELD]), CUSTOMER, "href", [HELD], [HELD])
    assert result.outcome == "failed" and result.message.startswith("expected a JSON object with href")


def test_body_includes_fails_when_no_value_was_held() -> None:
    # the kit's check passed vacuously when the create's answer carried no href to hold
    result = checks.body_includes(reply({"id": "01ABC"}), CUSTOMER, "href", [{"id": "01ABC"}], {"id": "01ABC"})
    assert result.outcome == "failed"
    assert result.message == "no value is held on href: the create's answer did not carry one"


def test_body_includes_searches_the_raw_text_as_the_kit_does() -> None:
    # valid JSON that writes "/" as "\/": the kit's include on the raw text misses the href, and so does ours
    text = json.dumps(HELD).replace("/", "\\/")
    escaped = Reply(exchange=Exchange("GET", "http://vendor.example"), status=200, text=text, body=HELD, problem=None)
    result = checks.body_includes(escaped, CUSTOMER, "href", [HELD], HELD)
    assert result.outcome == "failed" and HELD["href"] in result.message
    assert checks.body_includes(escaped, CUSTOMER, "name", [HELD], HELD).outcome == "passed"


PAYMENT_METHOD = load_declaration(SUITES / "ctk670" / "ctk670.yaml").resources[0]


def test_an_instance_has_the_attributes_its_type_makes_mandatory() -> None:
    card = {"@type": "BankCard", "name": "Card", "href": "h", "id": "1", "status": "active", "statusDate": "2024-01-01",
            "cardNumber": "1234", "brand": "Visa", "expirationDate": "2030-01-01", "nameOnCard": "HSV"}
    held = {"name": "Card", "status": "active", "statusDate": "2024-01-01"}
    good = {result.name: result.outcome for result in checks.instance_checks(reply(card), PAYMENT_METHOD, card, [held])}
    assert good["Response has cardNumber attribute"] == "passed" and set(good.values()) == {"passed"}
    without = {key: value for key, value in card.items() if key != "cardNumber"}
    bad = {r.name: r for r in checks.instance_checks(reply(without), PAYMENT_METHOD, without, [held])}
    assert bad["Instance has all mandatory attributes"].message == 'missing: cardNumber (id "1")'
    assert bad["Response has cardNumber attribute"].outcome == "failed"
    wallet = {**without, "@type": "DigitalWallet"}  # another type: what a card must have is not asked
    names = {r.name for r in checks.instance_checks(reply(wallet), PAYMENT_METHOD, wallet, [held])}
    assert "Response has cardNumber attribute" not in names and "Response has walletId attribute" in names


def test_a_selection_that_only_asks_for_the_attribute_accepts_more() -> None:
    answer = [{"id": "1", "href": "h", "name": "n", "@type": "Resource"}]
    assert [(r.name, r.outcome) for r in checks.selection(reply(answer), "name", only=False)] == [
        ("Instance must have id, href and filtered attribute", "passed")]
    missing = [{"id": "1", "href": "h"}]
    assert [r.outcome for r in checks.selection(reply(missing), "name", only=False)] == ["failed"]
    assert [r.name for r in checks.selection(reply([]), "name", only=False)] == ["Array expected as response"]
