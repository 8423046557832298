"""Bodies derived from the Create schemas, valid and broken, never make the reference server answer 5xx."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import tmfapis
from harness.fuzz.machine import (
    FILTER_TARGETS,
    FUZZ_PROFILES,
    FilterTarget,
    create_values,
    hostile_bodies,
    instance_body,
    target,
    valid_bodies,
)
from mockserver import app
from mockserver.errors import ApiError

CI = FUZZ_PROFILES["ci"]
CI_SEARCH = settings(CI, phases=[Phase.explicit, Phase.generate])
CREATABLE = [(api.id, name) for api in tmfapis.apis() for name, resource in api.resources.items()
             if "POST" in resource.collection_methods]
MEDIA_TYPES = ("application/json", "application/merge-patch+json")


def assert_clear_answer(api_id: str, response: requests.Response) -> None:
    """No 5xx, and every 4xx carries a TMF Error body."""
    sent = f"{response.request.method} {response.url} {response.request.body!r:.200}"
    assert response.status_code < 500, f"{sent}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        error = response.json()
        assert isinstance(error, dict), f"{sent}: {response.status_code} body is not an object"
        problems = [e.message for e in tmfapis.schema_validator(api_id, "Error").iter_errors(error)]
        assert not problems and error.get("@type") == "Error", f"{sent}: {response.status_code} {error} {problems}"


def fuzz_create(api_id: str, resource: str, api_roots: dict[str, str], http: requests.Session,
                chosen: settings) -> None:
    """POST Hypothesis bodies to one collection, deleting whatever gets created."""
    url = f"{api_roots[api_id]}{resource}"

    # 25 a collection: with every resource of the 60 APIs fuzzed, thousands of bodies in all
    @settings(chosen, max_examples=25)
    @given(payload=hostile_bodies(api_id, resource))
    def post(payload: bytes) -> None:
        response = http.post(url, data=payload, headers={"Content-Type": "application/json"}, timeout=10)
        assert_clear_answer(api_id, response)
        if response.status_code == 201:
            http.delete(f"{url}/{response.json()['id']}", timeout=10)

    post()


def fuzz_patch(item: FilterTarget, api_roots: dict[str, str], http: requests.Session, chosen: settings,
               examples: int = 60) -> None:
    """PATCH Hypothesis bodies onto one fresh instance, deleted at the end."""
    url = f"{api_roots[item.api_id]}{item.resource}"
    created = http.post(url, json=instance_body(item, item.plain_values(), "robustness"), timeout=10)
    assert created.status_code == 201, created.text
    instance_url = f"{url}/{created.json()['id']}"

    @settings(chosen, max_examples=examples)
    @given(payload=hostile_bodies(item.api_id, item.resource), media_type=st.sampled_from(MEDIA_TYPES))
    def patch(payload: bytes, media_type: str) -> None:
        response = http.patch(instance_url, data=payload, headers={"Content-Type": media_type}, timeout=10)
        assert_clear_answer(item.api_id, response)

    try:
        patch()
    finally:
        http.delete(instance_url, timeout=10)


@pytest.mark.parametrize(("api_id", "resource"), CREATABLE, ids=[name for _, name in CREATABLE])
def test_create_answers_every_body_clearly(api_id: str, resource: str, api_roots: dict[str, str],
                                           http: requests.Session) -> None:
    fuzz_create(api_id, resource, api_roots, http, CI)


@pytest.mark.parametrize("item", FILTER_TARGETS, ids=lambda item: f"{item.api_id}-{item.resource}")
def test_patch_answers_every_body_clearly(item: FilterTarget, api_roots: dict[str, str],
                                          http: requests.Session) -> None:
    fuzz_patch(item, api_roots, http, CI, examples=15)


def _naive_check(validator: jsonschema.protocols.Validator, instance: dict[str, Any]) -> None:
    for error in validator.iter_errors(instance):
        raise ApiError(400, f"{error.absolute_path[-1]}: {error.message}")  # IndexError on a root-level error


def _naive_merge(target: Any, patch: Any) -> Any:
    merged = dict(target)
    for key, value in patch.items():
        merged[key] = _naive_merge(merged[key], value) if isinstance(value, dict) else value  # KeyError, TypeError
    return merged


def test_create_fuzzing_catches_a_crashing_validation(monkeypatch: pytest.MonkeyPatch, api_roots: dict[str, str],
                                                      http: requests.Session) -> None:
    monkeypatch.setattr(app, "check", _naive_check)
    with pytest.raises(AssertionError, match=": 500 "):
        fuzz_create("tmf629", "customer", api_roots, http, CI_SEARCH)


def test_patch_fuzzing_catches_a_crashing_merge(monkeypatch: pytest.MonkeyPatch, api_roots: dict[str, str],
                                                http: requests.Session) -> None:
    monkeypatch.setattr(app, "merge_patch", _naive_merge)
    with pytest.raises(AssertionError, match=": 500 "):
        fuzz_patch(target("customer"), api_roots, http, CI_SEARCH)


TARGETS = {(item.api_id, item.resource): item for item in FILTER_TARGETS}


@pytest.mark.parametrize(("api_id", "resource"), CREATABLE, ids=[f"{api_id}-{name}" for api_id, name in CREATABLE])
def test_generated_bodies_fit_the_create_schemas(api_id: str, resource: str) -> None:
    validator = tmfapis.schema_validator(api_id, tmfapis.api(api_id).resources[resource].create_schema)
    item = TARGETS.get((api_id, resource))

    @settings(CI, max_examples=10)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        body = data.draw(valid_bodies(api_id, resource))
        assert not list(validator.iter_errors(body)), body
        if item is not None:
            body = instance_body(item, data.draw(create_values(item)), "tag")
            assert not list(validator.iter_errors(body)), body

    check()
