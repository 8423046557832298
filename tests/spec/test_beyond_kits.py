"""Spec tier beyond the kits: held-attribute filters, counted matches, GET by id, Conformance Profile attributes.

Each check passes against the reference server and fails behind the planted defect it exists for.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import mockserver
from tests.spec.conftest import SuiteRun
from tests.support.fault_proxy import start_fault_proxy

SUITES = ("ctk681", "ctk629", "ctk683", "ctk622", "ctk635")
API_IDS = ("tmf681", "tmf629", "tmf683", "tmf622", "tmf635")


def test_the_reference_server_conforms(
    run_suites: Callable[..., SuiteRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_suites("--base-url", reference_server.url, "-m", "spec", suites=SUITES)
    for api_id in API_IDS:
        names = {check["name"] for _, check in run.spec_checks(api_id)}
        # a payload's own deviation (TMF681's kit payload sends sender blank) is not the server's
        server = {name for name in run.deviations(api_id) if not name.startswith("Payload ")}
        assert server == set(), (api_id, sorted(server))
        assert any(name.endswith("leaves out the second, which differs on id") for name in names), api_id
        assert "X-Total-Count is 2" in names, api_id
    assert "The Conformance Profile's mandatory attributes are present" in {
        check["name"] for _, check in run.spec_checks("tmf622")
    }


@pytest.mark.parametrize(("fault", "suite", "api_id", "expected"), [
    ("filter_ignored", "ctk629", "tmf629", {
        "name=<value of the first> leaves out the second, which differs on name",
        "href=<value of the first> leaves out the second, which differs on href",
        "X-Total-Count is 2",
    }),
    ("filter_ignored", "ctk635", "tmf635", {"id=<value of the first> leaves out the second, which differs on id"}),
    ("total_uncounted", "ctk681", "tmf681", {"X-Total-Count is 2"}),
    ("array_by_id", "ctk683", "tmf683", {"GET by id returns the instance"}),
    ("missing_mandatory", "ctk622", "tmf622", {"The Conformance Profile's mandatory attributes are present"}),
])
def test_a_planted_defect_is_a_spec_deviation(
    fault: str, suite: str, api_id: str, expected: set[str],
    run_suites: Callable[..., SuiteRun], reference_server: mockserver.BackgroundServer,
) -> None:
    with start_fault_proxy(reference_server.url, fault) as proxy:
        run = run_suites("--base-url", proxy.url, "-m", "spec", suites=(suite,))
    assert expected <= run.deviations(api_id), sorted(run.deviations(api_id))
    assert "Traceback" not in run.result.stdout.str()


def test_the_kits_own_payload_is_sent_and_the_spec_tier_names_what_it_lacks(
    run_suites: Callable[..., SuiteRun], reference_server: mockserver.BackgroundServer, pytester: pytest.Pytester
) -> None:
    (pytester.path / "kit683.yaml").write_text(
        "apis:\n  tmf683:\n    payloads:\n      partyInteraction:\n"
        "        - {channel: [{id: '555'}], direction: inbounds, reason: The user wanted to buy TV and internet plan}\n"
        "        - {channel: [{id: '556'}], direction: outbounds, reason: A call back about the installation}\n",
        encoding="utf-8",
    )
    run = run_suites("--base-url", reference_server.url, "--ctk-config", "kit683.yaml", "-m", "ctk", suites=("ctk683",))
    assert run.summary["apis"]["tmf683"]["verdict"] == "passed", run.result.stdout.str()
    deviations = [check for _, check in run.spec_checks("tmf683") if check["outcome"] == "failed"]
    assert [check["name"] for check in deviations] == ["Payload is a valid PartyInteraction_Create"] * 2
    assert "a deviation of the payload, not of the server" in deviations[0]["message"]
    assert "'interactionDate' is a required property" in deviations[0]["message"]
