"""The spec tier against an independent implementation run as a vendor would (``tests.spec.vendor``).

Such a server keeps what it is sent: nothing it only echoes of the harness's bodies is its deviation,
no body the harness sends is one the spec refuses, and each message names the fault a person reading
the exchange would name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.spec.scenarios import EVENT_WAIT_S
from tests.spec.conftest import SuiteRun
from tests.spec.vendor import Vendor, serve_vendor
from tests.support.suite_runs import copy_suites

FIVE = ("ctk681", "ctk629", "ctk683", "ctk622", "ctk635")
# The kits' own payloads, as the official kits ship them (config.json of TMF681 and TMF683).
KIT_PAYLOADS = """\
apis:
  tmf681:
    payloads:
      communicationMessage:
        {content: Dear $Parameter1. Here is the information of the promotion $Parameter2, messageType: SMS,
         receiver: [{}], sender: {}}
  tmf683:
    payloads:
      partyInteraction:
        - {channel: [{id: '555'}], direction: inbounds, reason: The user wanted to buy TV and internet plan}
        - {channel: [{id: '556'}], direction: outbounds, reason: A call back about the installation}
"""
ORDERED = {"productOrder": {"state": "acknowledged", "orderDate": "2024-05-02T08:00:00Z"}, "customer": {"@type": "Customer"}}
STRICT = Vendor(closed={"messageType": ("SMS", "Email"), "direction": ("inbounds", "outbounds")},
                enforce_update=True, optional=("interactionDate", "status"), defaults=ORDERED)


def failures(run: SuiteRun, api_id: str) -> dict[str, list[str]]:
    """Each failed spec check's name with its messages."""
    found: dict[str, list[str]] = {}
    for _, check in run.spec_checks(api_id):
        if check["outcome"] == "failed":
            found.setdefault(check["name"], []).append(check["message"])
    return found


def vendor_run(run_suites: Callable[..., SuiteRun], vendor: Vendor, *args: str,
               suites: tuple[str, ...]) -> tuple[SuiteRun, float]:
    with serve_vendor(vendor) as url:
        started = time.monotonic()
        run = run_suites("--base-url", url, *args, suites=suites)
        return run, time.monotonic() - started


def test_what_the_harness_sent_is_never_a_deviation_of_a_server_that_keeps_it(
    run_suites: Callable[..., SuiteRun], pytester: pytest.Pytester
) -> None:
    (pytester.path / "kit.yaml").write_text(KIT_PAYLOADS, encoding="utf-8")
    run, _ = vendor_run(run_suites, STRICT, "--ctk-config", "kit.yaml", suites=FIVE)
    output = run.result.stdout.str()
    assert "Traceback" not in output
    blamed = {
        (api_id, name, message[:160]) for api_id in run.summary["apis"] for name, told in failures(run, api_id).items()
        if not name.startswith("Payload ") and not name.endswith("received for the created instance") for message in told
    }
    assert blamed == set(), "\n".join(map(str, sorted(blamed)))
    # the payloads' own deviations, each named once per payload with every field it lacks
    payload = failures(run, "tmf683")["Payload is a valid PartyInteraction_Create"]
    assert len(payload) == 2, payload
    for field in ("'interactionDate' is a required property", "'status' is a required property",
                  "channel.0: 'href' is a required property"):
        assert field in payload[0], payload[0]
    blank = failures(run, "tmf681")["Payload gives the Conformance Profile's mandatory attributes"]
    assert len(blank) == 1 and "it sends sender blank" in blank[0], blank
    # instance 02 differs where a server accepts it (the other kit payload's direction), and says where none is known
    passed = {check["name"] for _, check in run.spec_checks("tmf683") if check["outcome"] == "passed"}
    assert "direction=<value of the first> leaves out the second, which differs on direction" in passed
    unverified = [request["skipped"] for request in run.summary["apis"]["tmf681"]["requests"] if request["skipped"]]
    assert len(unverified) == 1 and "not filtered on messageType: no other value is known" in str(unverified[0])
    # the PATCHes the server checks against the spec's _Update went through
    for api_id, attribute in (("tmf622", "description"), ("tmf629", "name")):
        assert f"PATCH of {attribute} is visible on the next GET" in {
            check["name"] for _, check in run.spec_checks(api_id) if check["outcome"] == "passed"}, api_id


def test_a_server_without_events_costs_one_wait_not_one_per_resource(run_suites: Callable[..., SuiteRun]) -> None:
    run, _ = vendor_run(run_suites, Vendor(defaults=ORDERED), "-m", "spec", suites=("ctk622", "ctk635"))
    waited = [message for api_id in ("tmf622", "tmf635") for name, messages in failures(run, api_id).items()
              if name.endswith("CreateEvent received for the created instance") for message in messages]
    assert len(waited) == 4, waited  # productOrder, cancelProductOrder, usage, usageSpecification
    assert sum(f"none within {EVENT_WAIT_S:g}s" in message for message in waited) == 1, waited
    assert sum("none within 0.5s" in message for message in waited) == 3, waited  # the short waits after it


def test_an_accepted_error_request_is_one_deviation_not_two(run_suites: Callable[..., SuiteRun]) -> None:
    run, _ = vendor_run(run_suites, Vendor(accept_anything=True), "-m", "spec", suites=("ctk629",))
    found = failures(run, "tmf629")
    assert "Status code is 400" in found, found
    assert "Body matches the Error schema" not in found, found["Body matches the Error schema"]
    assert "certification" in run.result.stdout.str() and "(1 statement)" in run.result.stdout.str()


def messages(run: SuiteRun, api_id: str) -> list[str]:
    return [message for found in failures(run, api_id).values() for message in found]


def test_a_list_answered_as_an_object_is_named_so(run_suites: Callable[..., SuiteRun]) -> None:
    run, _ = vendor_run(run_suites, Vendor(list_envelope=True, defaults=ORDERED), "-m", "spec", suites=("ctk622",))
    told = messages(run, "tmf622")
    assert any("the answer is an object, not an array" in message for message in told), told
    assert not [message for message in told if "among []" in message or "got 0 items" in message]
    found = failures(run, "tmf622")
    assert "The pages together hold each tagged instance once" not in found, found  # the pages' own checks tell
    assert "id=<value of the first> leaves out the second, which differs on id" not in found, found


def test_a_page_of_other_instances_says_they_are_not_the_tagged_ones(run_suites: Callable[..., SuiteRun]) -> None:
    held = {f"held-{n}": {"id": f"held-{n}", "name": "Held before the run"} for n in range(3)}
    run, _ = vendor_run(run_suites, Vendor(ignore_filters=True, store={"tmf629/customer": held}), "-m", "spec",
                        suites=("ctk629",))
    sliced = failures(run, "tmf629")["offset=0&limit=2 returns 2 of the 3 tagged instances"]
    assert "of which 0 tagged; not tagged instances" in sliced[0], sliced


def test_a_patch_ignored_as_merge_patch_names_the_media_type(run_suites: Callable[..., SuiteRun]) -> None:
    run, _ = vendor_run(run_suites, Vendor(patch_json_only=True), "-m", "spec", suites=("ctk681",))
    visible = failures(run, "tmf681")["PATCH of description is visible on the next GET"]
    assert "after a PATCH sent as application/merge-patch+json (TMF630)" in visible[0], visible
    assert "sent as application/json (answered 200) the same change applies" in visible[0], visible
    described = [request["description"] for request in run.summary["apis"]["tmf681"]["requests"]]
    assert any("PATCH /communicationMessage/{id} (application/json) -> 200" in text for text in described), described


def test_an_instance_without_id_is_named_so() -> None:
    from harness.ctk import checks
    from tests.harness.test_checks import CUSTOMER, reply

    anonymous: dict[str, Any] = {"name": "Geekhaven Club"}
    [mandatory, *_] = checks.instance_checks(reply(anonymous), CUSTOMER, anonymous, [])
    assert mandatory.message.endswith("(no id)"), mandatory.message


def test_a_create_refused_for_a_payload_the_spec_refuses_skips_the_scenario(
    run_suites: Callable[..., SuiteRun], pytester: pytest.Pytester
) -> None:
    (pytester.path / "kit.yaml").write_text(KIT_PAYLOADS, encoding="utf-8")
    run, _ = vendor_run(run_suites, Vendor(), "--ctk-config", "kit.yaml", "-m", "spec", suites=("ctk683",))
    assert failures(run, "tmf683") == {}, failures(run, "tmf683")
    skipped = [request["skipped"] for request in run.summary["apis"]["tmf683"]["requests"] if request["skipped"]]
    assert skipped and all("a body that is not a valid PartyInteraction_Create" in str(reason) for reason in skipped)
    assert "a deviation of the payload, not of the server" in str(skipped[0]), skipped


def test_a_kit_patch_the_specs_update_refuses_is_not_a_spec_deviation_of_the_server(
    run_suites: Callable[..., SuiteRun], pytester: pytest.Pytester
) -> None:
    copy_suites(pytester.path, ("ctk629",))
    suite = pytester.path / "suites" / "ctk629" / "ctk629.yaml"
    text = suite.read_text(encoding="utf-8")
    kit_patch = "body: {engagedParty: {'@referredType': Organization, id: '500'}}"
    assert kit_patch in text
    suite.write_text(text.replace(kit_patch, "body: {name: Renamed}"), encoding="utf-8")  # no engagedParty
    run, _ = vendor_run(run_suites, Vendor(enforce_update=True), "-m", "ctk", suites=())
    [patch] = [request for request in run.summary["apis"]["tmf629"]["requests"] if request["method"] == "PATCH"]
    assert patch["status"] == 400
    assert [check["name"] for check in patch["checks"] if check["tier"] == "spec" and check["outcome"] == "failed"] == []


def test_an_instance_the_kit_requests_created_is_not_blamed_for_its_payload_in_a_spec_list(
    run_suites: Callable[..., SuiteRun], pytester: pytest.Pytester
) -> None:
    (pytester.path / "kit.yaml").write_text(KIT_PAYLOADS.replace("{id: '556'}", "{id: '556', name: 7}"), encoding="utf-8")
    run, _ = vendor_run(run_suites, STRICT, "--ctk-config", "kit.yaml", suites=("ctk683",))
    schema = failures(run, "tmf683").get("Body matches the PartyInteraction schema", [])
    assert schema == [], schema
    payload = failures(run, "tmf683")["Payload is a valid PartyInteraction_Create"]
    assert "channel.0.name: 7 is not of type 'string'" in payload[1], payload
