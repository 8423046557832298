"""The kit's checks one by one, on handmade replies: each passes on a good answer and fails on a bad one."""

from __future__ import annotations

import json
from typing import Any

from harness.ctk import checks
from harness.ctk.declaration import IncludesIf, TypedAt, load_declaration
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


def test_body_includes_reads_a_value_where_the_kit_reads_it() -> None:
    # TMF646 names its check "startDateTime" and reads instance['validFor']["startDateTime"] (held_at)
    appointment = load_declaration(SUITES / "ctk646" / "ctk646.yaml").resources[0]
    held = {"id": "01ABC", "startDateTime": "2018-02-15T14:00:00.000Z"}
    answer = {"id": "01ABC", "validFor": {"startDateTime": "2018-02-15T14:00:00.000Z"}}
    assert checks.body_includes(reply(answer), appointment, "startDateTime", [held], answer).outcome == "passed"
    moved = {"id": "01ABC", "startDateTime": "2018-02-15T14:00:00.000Z"}
    result = checks.body_includes(reply(moved), appointment, "startDateTime", [held], moved)
    assert (result.outcome, result.message) == ("failed", 'the instance (id "01ABC") has no validFor.startDateTime')
    later = {"id": "01ABC", "validFor": {"startDateTime": "2018-02-16T14:00:00.000Z"}}
    assert checks.body_includes(reply(later), appointment, "startDateTime", [held], later).outcome == "failed"


def test_body_includes_searches_the_raw_text_as_the_kit_does() -> None:
    # valid JSON that writes "/" as "\/": the kit's include on the raw text misses the href, and so does ours
    text = json.dumps(HELD).replace("/", "\\/")
    escaped = Reply(exchange=Exchange("GET", "http://vendor.example"), status=200, text=text, body=HELD, problem=None)
    result = checks.body_includes(escaped, CUSTOMER, "href", [HELD], HELD)
    assert result.outcome == "failed" and HELD["href"] in result.message
    assert checks.body_includes(escaped, CUSTOMER, "name", [HELD], HELD).outcome == "passed"


def test_the_servers_own_id_is_judged_as_the_string_tmf630_makes_it() -> None:
    # TMF642 types an alarm's id as an integer; its kit, TMF630 and every other spec want a string
    alarm = {"id": "01ABC", "href": "http://vendor.example/alarm/01ABC", "alarmType": "Communications Alarm"}
    assert checks.body_matches(reply(alarm), "tmf642", "Alarm").outcome == "passed"
    listed = checks.body_matches(reply({**alarm, "id": ["01ABC"]}), "tmf642", "Alarm")
    assert listed.outcome == "failed" and "id: ['01ABC'] is not of type 'integer'" in listed.message
    customer = {**HELD, "id": 7, "engagedParty": {"id": "42", "@referredType": "Organization"}}
    numbered = checks.body_matches(reply(customer), "tmf629", "Customer")
    assert numbered.outcome == "failed" and "id: 7 is not of type 'string'" in numbered.message


ORDER_ITEM_STATE = TypedAt(("orderItem", 0, "state"), "string")


def test_a_typed_path_passes_where_the_answer_holds_a_value_of_that_type() -> None:
    result = checks.typed_at(reply({"orderItem": [{"state": "acknowledged"}]}), "OrderItem includes state attribute",
                             ORDER_ITEM_STATE)
    assert (result.name, result.outcome) == ("OrderItem includes state attribute", "passed")


def test_a_typed_path_fails_on_another_type_or_nothing_there() -> None:
    wrong = checks.typed_at(reply({"orderItem": [{"state": 1}]}), "named", ORDER_ITEM_STATE)
    assert wrong.outcome == "failed" and wrong.message == "expected a JSON string at orderItem[0].state, got 1"
    for body in ({"orderItem": []}, {"orderItem": {"state": "x"}}, {}, [{"orderItem": [{"state": "x"}]}]):
        absent = checks.typed_at(reply(body), "named", ORDER_ITEM_STATE)
        assert absent.outcome == "failed" and "the answer has nothing there" in (absent.message or ""), body


def test_a_dotted_attribute_is_read_as_the_kits_read_it() -> None:
    instance = {"account": {"id": "15"}, "billDocument": [{"id": "b1"}, {"id": "b2"}], "a.b": 1, "empty": []}
    assert checks.value_at(instance, ["account", "id"]) == "15"
    assert checks.value_at(instance, ["billDocument", "id"]) == "b1"  # an array by its first item
    assert checks.value_at(instance, ["billDocument", "1", "id"]) == "b2"  # or by the kit's index
    for absent in ("account.name", "empty.id", "nothing", "account.id.more"):
        assert checks.value_at(instance, absent.split(".")) is checks.ABSENT, absent


PAYMENT_BY_REF = IncludesIf({"paymentMethod.@type": "paymentMethodRef"}, {"Ref id must be present": "paymentMethod.id"})


def test_checks_made_where_the_answer_holds_a_value() -> None:
    by_ref = {"paymentMethod": {"@type": "paymentMethodRef", "id": "p1"}}
    assert [(r.name, r.outcome) for r in checks.includes_if(reply(by_ref), PAYMENT_BY_REF)] == [
        ("Ref id must be present", "passed")]
    (missing,) = checks.includes_if(reply({"paymentMethod": {"@type": "paymentMethodRef"}}), PAYMENT_BY_REF)
    assert missing.outcome == "failed" and missing.message == "the answer has no paymentMethod.id"
    assert checks.includes_if(reply({"paymentMethod": {"@type": "PaymentMethodRef", "id": "p1"}}), PAYMENT_BY_REF) == []
    assert checks.includes_if(reply([by_ref]), PAYMENT_BY_REF) == []


def test_a_value_check_of_an_instance_never_created_fails_where_the_kits_read_of_the_path_fails() -> None:
    assert checks.unset_value([], "account.id").outcome == "failed"  # an empty list, judged as the instance
    assert checks.unset_value({"href": "h"}, "account.id").outcome == "failed"
    assert checks.unset_value({"account": None}, "account.id").outcome == "failed"
    assert checks.unset_value({"account": {}}, "account.id").name == "account.id is undefined"
    assert checks.unset_value({"account": {}}, "account.id").outcome == "passed"  # reads undefined, throws nothing


def test_a_value_check_on_a_dotted_attribute_fails_where_the_kits_read_of_it_fails() -> None:
    payment = load_declaration(SUITES / "ctk676" / "ctk676.yaml").resources[0]
    held = {"id": "p1", "account.id": "15"}
    (unreadable, unset) = checks.held_values(reply([{"id": "p1"}]), payment, 1, held, ["account.id", "totalAmount.value"])
    assert (unreadable.name, unreadable.outcome) == ("account.id is 15", "failed")
    assert unreadable.message == "the instance has no account, so account.id cannot be read"
    assert unset.name == "totalAmount.value is undefined"  # never held: the kit's unset variable


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
