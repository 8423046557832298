"""The shared API description: derived schemas match the official specs, records are complete."""

from __future__ import annotations

from pathlib import Path

import pytest

import tmfapis
from tests.support.shared import shared_dir
from tmfapis import derive


def specs_or_skip() -> Path:
    return shared_dir("tmf-specs")


def test_derived_schemas_match_the_official_specs() -> None:
    rendered = derive.derive_all(specs_or_skip())
    for api_id, text in rendered.items():
        on_disk = (tmfapis.SCHEMA_DIR / f"{api_id}.json").read_text(encoding="utf-8")
        assert on_disk == text, f"{api_id}.json drifted from the spec: run python -m tmfapis.derive"


def test_compact_keeps_validation_keywords_and_drops_prose() -> None:
    node = {
        "type": "object",
        "description": "prose",
        "required": ["a"],
        "properties": {"a": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/B"},
                             "example": "x"}},
    }
    assert derive.compact(node) == {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/B"}}},
    }


@pytest.mark.parametrize(
    ("api_id", "base_path", "resources"),
    [
        ("tmf629", "/tmf-api/customerManagement/v4/", {"customer"}),
        ("tmf622", "/tmf-api/productOrderingManagement/v4/", {"productOrder", "cancelProductOrder"}),
        ("tmf635", "/tmf-api/usageManagement/v4/", {"usage", "usageSpecification"}),
        ("tmf681", "/tmf-api/communicationManagement/v4/", {"communicationMessage"}),
        ("tmf683", "/tmf-api/partyInteraction/v4/", {"partyInteraction"}),
    ],
)
def test_each_api_has_its_standard_base_path_and_resources(
    api_id: str, base_path: str, resources: set[str]
) -> None:
    api = tmfapis.api(api_id)
    assert api.base_path == base_path
    assert set(api.resources) == resources
    for resource in api.resources.values():
        assert resource.entity in api.definitions
        assert resource.create_schema in api.definitions
        assert "Create" in resource.events


def test_cancel_product_order_allows_only_create_and_read() -> None:
    cancel = tmfapis.api("tmf622").resources["cancelProductOrder"]
    assert cancel.collection_methods == ("GET", "POST")
    assert cancel.item_methods == ("GET",)
    assert cancel.event_type("StateChange") == "CancelProductOrderStateChangeEvent"


def test_create_validator_checks_required_types_enums_and_dates() -> None:
    validator = tmfapis.schema_validator("tmf681", "CommunicationMessage_Create")
    # the official TMF681 kit posts an empty receiver and sender, which the spec allows
    assert not list(validator.iter_errors(
        {"content": "hi", "messageType": "SMS", "receiver": [{}], "sender": {}}))
    errors = {error.message for error in validator.iter_errors(
        {"content": 1, "receiver": [], "sender": {}, "sendTime": "yesterday", "state": "lost"})}
    assert errors == {
        "1 is not of type 'string'",
        "[] should be non-empty",
        "'yesterday' is not a 'date-time'",
        "'lost' is not one of ['initial', 'inProgress', 'completed', 'cancelled', 'failed']",
        "'messageType' is a required property",
    }


def test_unknown_api_id_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="tmf681"):
        tmfapis.api("tmf999")
