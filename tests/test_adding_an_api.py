"""Adding an API is one suite declaration plus its derived schema: every other place derives from them,
or one of these tests names what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mockserver
import tmfapis
from harness.ctk.declaration import load_declaration
from harness.fuzz.derived import create_example, patch_example
from harness.fuzz.machine import FILTER_TARGETS
from tests.support.shared import shared_dir
from tmfapis import derive

SUITES = Path(__file__).resolve().parents[1] / "harness" / "suites"
CREATABLE = [(api.id, name) for api in tmfapis.apis() for name, resource in api.resources.items()
             if "POST" in resource.collection_methods]
# The fuzzer deletes what it created, so it needs DELETE; cancelProductOrder has none.
FUZZABLE = [(api.id, name) for api in tmfapis.apis() for name, resource in api.resources.items()
            if "POST" in resource.collection_methods and "DELETE" in resource.item_methods]


def test_every_listed_api_has_its_schema_file_and_no_other_file_exists() -> None:
    files = {path.stem for path in tmfapis.SCHEMA_DIR.glob("tmf*.json")}
    assert files == set(tmfapis.API_IDS)


def test_every_api_has_a_suite_declaration_and_every_declaration_a_listed_api() -> None:
    declared = {load_declaration(path).api_id: path for path in sorted(SUITES.glob("ctk*/ctk*.yaml"))}
    assert set(declared) <= set(tmfapis.API_IDS), "every declaration's API must be listed in tmfapis"
    assert set(tmfapis.API_IDS) == set(declared), (
        "write harness/suites/ctkNNN/ctkNNN.yaml with python -m harness.ctk.derive --new tmfNNN")


@pytest.mark.parametrize(("api_id", "resource"), FUZZABLE)
def test_every_fuzzable_resource_has_a_fuzz_target(api_id: str, resource: str) -> None:
    assert (api_id, resource) in {(target.api_id, target.resource) for target in FILTER_TARGETS}, (
        "the Create schema needs plain string attributes to tag and filter on (harness/fuzz/derived.py)")


def _problems(api_id: str, definition: str, body: dict[str, object]) -> list[str]:
    return [error.message for error in tmfapis.schema_validator(api_id, definition).iter_errors(body)]


@pytest.mark.parametrize(("api_id", "resource"), CREATABLE)
def test_every_creatable_resource_has_test_payloads(api_id: str, resource: str) -> None:
    """The examples derived from the spec and the declaration: a valid create body and a PATCH that keeps it valid."""
    described = tmfapis.api(api_id).resources[resource]
    body = create_example(api_id, resource)
    assert _problems(api_id, described.create_schema, body) == []
    if "PATCH" in described.item_methods:
        patched = tmfapis.merge_patch(body, patch_example(api_id, resource))
        assert patched != body
        assert _problems(api_id, described.create_schema, patched) == []


def test_the_server_serves_every_resource_of_every_api() -> None:
    app = mockserver.create_app(mockserver.ServerConfig(port=0, access_log=False))
    paths = {resource.canonical for resource in app.router.resources()}
    for api in tmfapis.apis():
        for name in api.resources:
            assert f"{api.base_path}{name}" in paths, f"{api.id} {name} is not served"


def test_derive_add_lists_a_new_api_and_writes_its_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = shared_dir("tmf-specs") / "TMF629-Customer-v4.0.0.swagger.json"
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "apis.json").write_text(tmfapis.INDEX_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(derive, "SCHEMA_DIR", schemas)
    monkeypatch.setattr(derive, "INDEX_FILE", schemas / "apis.json")
    assert derive.main(["--add", "tmf999", "TMF999 Example", str(spec)]) == 0
    listed = json.loads((schemas / "apis.json").read_text(encoding="utf-8"))
    assert [entry["id"] for entry in listed] == [*tmfapis.API_IDS, "tmf999"]
    assert listed[-1] == {"id": "tmf999", "name": "TMF999 Example", "spec": spec.name}
    assert json.loads((schemas / "tmf999.json").read_text(encoding="utf-8"))["basePath"] == "/tmf-api/customerManagement/v4/"
    assert derive.main(["--add", "629", "bad id", str(spec)]) == 2
