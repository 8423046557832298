"""The reference server passes every official kit, unchanged, with its shipped config, as its launcher ran it.

The first five also side by side with the CTK tier; all 60 at once, a few Newman runs at a time against one
server (seeded as the README documents for the kits that read what they never create).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import mockserver
import tmfapis
from harness.ctk.kit import kit_items
from tests.differential.conftest import SideBySide
from tests.support.differential import disagreements
from tests.support.official_kits import KITS_DIR, KitConfigError, kit, run_kit, run_kits

CERTIFIED = KITS_DIR.parent / "ctk-reports" / "parsed"
REQUEST_COUNTS = {"tmf681": 13, "tmf629": 10, "tmf683": 18, "tmf622": 9, "tmf635": 15}
JSON = {"Content-Type": "application/json"}
SEED = Path(__file__).resolve().parents[2] / "mockserver" / "kit-seed.json"
# What a kit that routes with setNextRequest really runs against the server (its leaf requests otherwise).
RUN_COUNTS = {
    "tmf640": 7, "tmf664": 12, "tmf670": 60, "tmf702": 12, "tmf704": 7, "tmf705": 11, "tmf706": 11,
    "tmf707": 7, "tmf708": 9,
}


def api_root(server: mockserver.BackgroundServer, api_id: str) -> str:
    return server.url.rstrip("/") + tmfapis.api(api_id).base_path


@pytest.mark.parametrize("api_id", list(REQUEST_COUNTS))
def test_the_official_kit_passes_with_zero_failures_and_the_ctk_tier_agrees(
    module_server: mockserver.BackgroundServer, side_by_side: SideBySide, api_id: str
) -> None:
    kits, summary = side_by_side(module_server.url, (api_id,))
    run = kits[api_id]
    failed = [(r.name, r.status, r.errors, [a for a in r.assertions if not a.passed][:3]) for r in run.requests if r.failed]
    assert run.failures == 0, failed
    certified = json.loads((CERTIFIED / f"{api_id}.json").read_text(encoding="utf-8"))
    assert len(run.requests) == REQUEST_COUNTS[api_id] == len(certified["requests"])
    # The certified run's kit quoted the TMF622 orderDate filter in its name; the shipped kit does not.
    unquoted = [(r["method"], r["name"].replace("'", "")) for r in certified["requests"]]
    assert [(r.method, r.name.replace("'", "")) for r in run.requests] == unquoted
    assert run.assertions > len(run.requests)  # the checks really ran
    assert summary is not None and summary["apis"][api_id]["verdict"] == "passed"
    assert disagreements(run, summary["apis"][api_id]) == []


def test_the_kit_refuses_a_payload_its_schema_does_not_fit(module_server: mockserver.BackgroundServer) -> None:
    without_reason = {"channel": [{"id": "555"}], "direction": "inbounds"}
    with pytest.raises(KitConfigError, match="'reason' is a required property"):
        run_kit("tmf683", api_root(module_server, "tmf683"), payloads={"PartyInteraction": without_reason})


def test_the_kit_payload_gets_the_documented_defaults(module_server: mockserver.BackgroundServer) -> None:
    """TMF683: the Conformance Profile requires channel (with id), direction and reason; the rest is defaulted."""
    payload = kit("tmf683").config["payloads"]["PartyInteraction"]["POST"]["payload"]
    answer = requests.post(api_root(module_server, "tmf683") + "partyInteraction", json=payload, timeout=10)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "opened"
    assert created["interactionDate"]["startDateTime"] == created["interactionDate"]["endDateTime"]
    assert created["channel"] == [{"id": "555", "href": "urn:tmf683:channel:555"}]
    assert not list(tmfapis.schema_validator("tmf683", "PartyInteraction").iter_errors(created))
    given = {**payload, "status": "completed", "channel": [{"id": "1", "href": "https://channels.example/1"}]}
    kept = requests.post(api_root(module_server, "tmf683") + "partyInteraction", json=given, timeout=10).json()
    assert (kept["status"], kept["channel"][0]["href"]) == ("completed", "https://channels.example/1")


def test_one_object_where_the_spec_wants_an_array_of_them_is_an_array_of_one(
    module_server: mockserver.BackgroundServer,
) -> None:
    """TMF654's shipped AdjustBalance payload sends ``product`` as one object; its _Create wants an array."""
    payload = kit("tmf654").config["payloads"]["AdjustBalance"]["POST"]["payload"]
    answer = requests.post(api_root(module_server, "tmf654") + "adjustBalance", json=payload, timeout=10)
    assert answer.status_code == 201, answer.text
    assert answer.json()["product"] == [payload["product"]]
    assert not list(tmfapis.schema_validator("tmf654", "AdjustBalance").iter_errors(answer.json()))


BAD_683: list[tuple[Any, str]] = [
    ({"channel": [{"id": "555"}], "direction": 5, "reason": "r"}, "direction: 5 is not of type 'string'"),
    ({"channel": "phone", "direction": "in", "reason": "r"}, "channel: 'phone' is not of type 'array'"),
    ({"channel": [{}], "direction": "in", "reason": "r"}, "channel.0: 'id' is a required property"),
    ({"channel": {"name": "phone"}, "direction": "in", "reason": "r"}, "channel.0: 'id' is a required property"),
    ({"channel": [{"id": 7}], "direction": "in", "reason": "r"}, "channel.0.id: 7 is not of type 'string'"),
    ({"channel": [], "direction": "in", "reason": "r"}, "channel: [] "),
    ({"channel": [{"id": "5"}], "direction": "in", "reason": "r", "status": 3}, "status: 3 is not of type 'string'"),
    ({"channel": [{"id": "5"}], "direction": "in"}, "'reason' is a required property"),
    ({"channel": [{"id": "5"}], "direction": "in", "reason": "r", "interactionDate": "today"}, "interactionDate: 'today'"),
    ({"direction": "in", "reason": "r", "relatedParty": [{"id": "9"}]}, "'channel' is a required property"),
]


@pytest.mark.parametrize(("body", "message"), BAD_683)
def test_wrong_types_and_missing_profile_attributes_are_still_refused(
    module_server: mockserver.BackgroundServer, body: Any, message: str
) -> None:
    answer = requests.post(api_root(module_server, "tmf683") + "partyInteraction", json=body, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(message)


@pytest.mark.parametrize(
    ("api_id", "resource", "raw", "message"),
    [
        ("tmf683", "partyInteraction", b'{"channel": [{"id": "5"}], ', "The request body is not valid JSON"),
        ("tmf683", "partyInteraction", b'[{"channel": [{"id": "5"}]}]', "The request body must be a JSON object"),
        ("tmf622", "productOrder", b'{"productOrderItem": [{"id": "1", "action": "sell"}]}', "productOrderItem.0.action: 'sell' is not one of"),
    ],
)
def test_malformed_bodies_and_wrong_enums_are_still_refused(
    module_server: mockserver.BackgroundServer, api_id: str, resource: str, raw: bytes, message: str
) -> None:
    answer = requests.post(api_root(module_server, api_id) + resource, data=raw, headers=JSON, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"].startswith(message)


@pytest.fixture(scope="module")
def seeded_server() -> Iterator[mockserver.BackgroundServer]:
    """A reference server seeded with the README's kit seed."""
    config = mockserver.ServerConfig(port=0, access_log=False, seed_path=SEED)
    with mockserver.start_background(config) as server:
        yield server


def leaf_requests(api_id: str) -> int:
    return sum(1 for _ in kit_items(json.loads(kit(api_id).collection.read_text(encoding="utf-8"))["item"]))


def test_every_official_kit_passes_against_the_seeded_server(seeded_server: mockserver.BackgroundServer) -> None:
    """All 60 kits: zero failures and the requests each really runs."""
    roots = {api_id: api_root(seeded_server, api_id) for api_id in tmfapis.API_IDS}
    runs = run_kits(roots)
    problems = {}
    for api_id, run in runs.items():
        expected_count = RUN_COUNTS.get(api_id, leaf_requests(api_id))
        failed = sorted(request.name for request in run.requests if request.failed)
        if failed or len(run.requests) != expected_count:
            problems[api_id] = (len(run.requests), expected_count, failed[:6])
        assert run.assertions >= len(run.requests) - 1, api_id  # the checks really ran
    assert problems == {}
