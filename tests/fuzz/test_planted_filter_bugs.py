"""The filter fuzzer finds each planted filter bug of the reference server, and passes without them."""

from __future__ import annotations

import dataclasses
import json
import re
from urllib.parse import quote

import pytest
import requests
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from planted import FAULTS, page_by_two, plant

from harness.fuzz.machine import (
    FILTER_TARGETS,
    FUZZ_PROFILES,
    FilterMismatch,
    FilterTarget,
    filter_machine,
    target,
)
from mockserver import query

CI = FUZZ_PROFILES["ci"]
# Finding a bug is the generate phase of the ci bounds; shrinking is checked once, by the reproduction test.
CI_SEARCH = settings(CI, phases=[Phase.explicit, Phase.generate])
# Every derived target once, briefly: it creates, filters, selects and deletes on the reference server.
SMOKE = settings(CI, max_examples=3, stateful_step_count=10)
# A spread of derived targets over the APIs, each with a nested path, searched for planted bugs.
SPREAD = [item for item in FILTER_TARGETS if any("." in path for path in item.paths)][8::30]


def _run(item: FilterTarget, api_roots: dict[str, str], http: requests.Session, chosen: settings) -> None:
    run_state_machine_as_test(filter_machine(item, api_roots[item.api_id], http), settings=chosen)


@pytest.mark.parametrize("fault", FAULTS)
def test_fuzzer_finds_planted_bug(fault: str, monkeypatch: pytest.MonkeyPatch, api_roots: dict[str, str],
                                  http: requests.Session) -> None:
    plant(monkeypatch, fault)
    with pytest.raises(FilterMismatch, match="expected instances|unasked attributes"):
        _run(target("customer"), api_roots, http, CI_SEARCH)


def _name(item: FilterTarget) -> str:
    return f"{item.api_id}-{item.resource}"


@pytest.mark.parametrize("item", FILTER_TARGETS, ids=_name)
def test_fuzzer_passes_against_reference_server(item: FilterTarget, api_roots: dict[str, str],
                                                http: requests.Session) -> None:
    _run(item, api_roots, http, SMOKE)


def test_fuzzer_passes_one_target_with_the_ci_bounds(api_roots: dict[str, str], http: requests.Session) -> None:
    _run(target("customer"), api_roots, http, CI)


@pytest.mark.parametrize("fault", ["case-insensitive match", "nested path ignored"])
@pytest.mark.parametrize("item", SPREAD, ids=_name)
def test_fuzzer_finds_planted_bug_on_derived_targets(item: FilterTarget, fault: str, monkeypatch: pytest.MonkeyPatch,
                                                     api_roots: dict[str, str], http: requests.Session) -> None:
    plant(monkeypatch, fault)
    with pytest.raises(FilterMismatch, match="expected instances"):
        _run(item, api_roots, http, CI_SEARCH)


def test_fuzzer_follows_pages(monkeypatch: pytest.MonkeyPatch, api_roots: dict[str, str],
                              http: requests.Session) -> None:
    page_by_two(monkeypatch)
    _run(target("customer"), api_roots, http, CI)


def _answer(http: requests.Session, url: str, numbers: dict[str, int]) -> list[int]:
    response = http.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return sorted(numbers[item["id"]] for item in response.json() if item["id"] in numbers)


def test_failure_shrinks_to_a_reproducible_request(monkeypatch: pytest.MonkeyPatch, api_roots: dict[str, str],
                                                   http: requests.Session) -> None:
    plant(monkeypatch, "case-insensitive match")
    with pytest.raises(FilterMismatch) as failure:
        _run(target("customer"), api_roots, http, CI)
    message = str(failure.value)
    url = re.search(r"^GET (\S+)", message, re.MULTILINE)
    answers = re.search(r"expected instances (\[.*?\]), got (\[.*?\])", message)
    bodies = re.findall(r"^  instance (\d+) \(was \S+\): (\{.*\})$", message, re.MULTILINE)
    tag = quote(target("customer").tag.path, safe="")
    assert url and answers and url.group(1).startswith(f"{api_roots['tmf629']}customer?{tag}=ctk-fuzz-"), message
    assert 1 <= len(bodies) <= 2, message  # shrunk: one instance and a case variant of its value suffice

    numbers = {}  # following the printed recipe reproduces the failure, and the fixed server answers as expected
    for number, body in bodies:
        created = http.post(f"{api_roots['tmf629']}customer", json=json.loads(body), timeout=10)
        numbers[created.json()["id"]] = int(number)
    assert str(_answer(http, url.group(1), numbers)) == answers.group(2)
    monkeypatch.undo()
    assert str(_answer(http, url.group(1), numbers)) == answers.group(1)
    for instance_id in numbers:
        http.delete(f"{api_roots['tmf629']}customer/{instance_id}", timeout=10)


def test_failure_no_single_instance_shows_keeps_every_instance(monkeypatch: pytest.MonkeyPatch,
                                                              api_roots: dict[str, str],
                                                              http: requests.Session) -> None:
    original = query.parse_list_query  # a server that pages by two but ignores offset repeats its first page
    monkeypatch.setattr(query, "parse_list_query",
                        lambda params: dataclasses.replace(original(params), limit=2, offset=0))
    with pytest.raises(FilterMismatch) as failure:
        _run(target("customer"), api_roots, http, CI)
    message = str(failure.value)
    bodies = re.findall(r"^  instance (\d+) \(was \S+\): (\{.*\})$", message, re.MULTILINE)
    assert len(bodies) >= 3, message  # one instance alone fits on the first page, so all are kept
