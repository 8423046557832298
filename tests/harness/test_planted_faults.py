"""The ports catch vendor defects: each fault planted by a proxy fails the check that names it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import mockserver
from tests.harness.conftest import CtkRun
from tests.support.fault_proxy import start_fault_proxy

FAULT_CASES = [
    # fault, suite, api, (request name, check name) pairs that must fail
    ("wrong_status", "ctk629", "tmf629", [("/Customer", "Status code is 201")]),
    ("missing_href", "ctk681", "tmf681", [
        ("/communicationMessage", "Response has href attribute"),
        ("/communicationMessage", "Instance has all mandatory attributes"),
    ]),
    ("changed_value", "ctk629", "tmf629", [("/Customer/{{IDCU01}}", "name is Moon Football Club")]),
    ("changed_value", "ctk681", "tmf681", [
        ("/communicationMessage?id={{IDCM01}}", "messageType is SMS"),
    ]),
    ("filter_ignored", "ctk683", "tmf683", [
        ("/partyInteraction?direction={{DIRECTIONPI01}}", "IDPI02 not expected on this test"),
        ("/partyInteraction?reason={{REASONPI02}}", "IDPI01 not expected on this test"),
    ]),
    ("delete_noop", "ctk681", "tmf681", [("/communicationMessage/{{IDCM01}}404", "Status code is 404")]),
    ("html_body", "ctk622", "tmf622", [
        ("/ProductOrder/{{IDPO01}}", "Instance has all mandatory attributes"),
        ("/ProductOrder?id={{IDPO01}}", "Response has id attribute"),
    ]),
    ("server_error", "ctk635", "tmf635", [("/Usage/{{IDUS01}}", "Status code is 200")]),
    ("wrong_type", "ctk683", "tmf683", [("/partyInteraction", "Response has channel attribute")]),
    # Faults whose attributes come from the declaration: each acts on any declared API.
    ("strings_as_numbers", "ctk629", "tmf629", [("/Customer/{{IDCU01}}", "Response has name attribute")]),
    ("strings_as_numbers", "ctk683", "tmf683", [("/partyInteraction/{{IDPI01}}", "Response has reason attribute")]),
    ("missing_mandatory", "ctk681", "tmf681", [
        ("/communicationMessage/{{IDCM01}}", "Instance has all mandatory attributes"),
    ]),
    ("null_values", "ctk635", "tmf635", [("/UsageSpecification/{{IDUS01}}", "Response has name attribute")]),
    ("attribute_filter_ignored", "ctk683", "tmf683", [
        ("/partyInteraction?reason={{REASONPI02}}", "IDPI01 not expected on this test"),
    ]),
    # A check nested in the kit's mandatory check; a list whose else branch asks only for an array; a read by id whose
    # kit judges the whole answer as one instance.
    ("wrong_type", "ctk677", "tmf677", [("/QueryUsageConsumption", "Response has relatedParty attribute")]),
    ("list_as_object", "ctk677", "tmf677", [("/QueryUsageConsumption?fields=id", "Array expected as response")]),
    ("array_by_id", "ctk677", "tmf677", [("/QueryUsageConsumption/{{IDQUC01}}", "Instance has all mandatory attributes")]),
    # Checks the kit makes for each attribute of a map the answer has, typing what the map lists in its first item.
    ("wrong_type", "ctk680", "tmf680", [("/QueryProductRecommendation", "productOrderItem has itemId attribute"),
                                        ("/QueryProductRecommendation", "category has id attribute")]),
]


@pytest.mark.parametrize(("fault", "suite", "api_id", "expected"), FAULT_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_a_planted_fault_fails_the_check_that_names_it(
    fault: str,
    suite: str,
    api_id: str,
    expected: list[tuple[str, str]],
    run_ctk: Callable[..., CtkRun],
    reference_server: mockserver.BackgroundServer,
) -> None:
    with start_fault_proxy(reference_server.url, fault) as proxy:
        run = run_ctk("--base-url", proxy.url, suites=(suite,))
    assert run.result.ret == 1, run.result.stdout.str()
    assert "INTERNALERROR" not in run.result.stdout.str()
    failed = {(name, check["name"]) for name, check in run.checks(api_id)
              if check["outcome"] == "failed" and check["tier"] == "ctk"}
    assert set(expected) <= failed, sorted(failed)
    assert run.summary is not None and run.summary["apis"][api_id]["verdict"] == "failed"


def test_relative_hrefs_are_accepted_as_the_kit_accepted_them(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "relative_href") as proxy:
        run = run_ctk("--base-url", proxy.url, suites=("ctk681", "ctk629"))
    assert run.result.ret == 0, run.result.stdout.str()
