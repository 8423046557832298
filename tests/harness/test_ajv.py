"""The kits' ajv checks: ajv 6's errors (what a kit names its check after), their order, and the declaration's form."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from harness.ctk.ajv import ajv_errors, errors_text
from harness.ctk.checks import schema_valid
from harness.ctk.declaration import DeclarationError, SchemaCheck, load_declaration
from harness.http import Reply
from harness.record import Exchange
from tests.support.suite_runs import REPO, SUITES

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"a": {"type": "string"}, "b-c": {"type": "array", "items": {
        "type": "object", "properties": {"@x": {"type": "integer"}}, "required": ["id", "z"]}}},
    "required": ["a", "q", "r"],
    "anyOf": [{"required": ["k"]}, {"properties": {"a": {"type": "number"}}}],
}
# (data, allErrors, jsonPointers, ajv 6.12's errorsText)
CASES = [
    ({"a": 1, "b-c": [{"@x": 1.5}]}, True, True,
     ("data should have required property 'q', data should have required property 'r', data/a should be string, "
      "data/b-c/0 should have required property 'id', data/b-c/0 should have required property 'z', data/b-c/0/@x should be integer")),
    ({"b-c": [{"@x": 1.0, "id": 1, "z": 2}, {}]}, True, True,
     ("data should have required property 'q', data should have required property 'r', data should have required property 'a', "
      "data/b-c/1 should have required property 'id', data/b-c/1 should have required property 'z'")),
    ([], True, True, "data should be object"),
    ({"a": "x", "q": 1, "r": 1}, True, True,
     "data should have required property 'k', data/a should be number, data should match some schema in anyOf"),
    ({"a": 1, "b-c": [{"@x": 1.5}]}, False, False, "data should have required property '.q'"),
    ({"a": "x", "q": 1, "r": 1}, False, False,
     "data should have required property '.k', data.a should be number, data should match some schema in anyOf"),
    ({"a": "x", "q": 1, "r": 1, "k": 0}, True, True, "No errors"),
]


@pytest.mark.parametrize(("data", "all_errors", "json_pointers", "text"), CASES)
def test_the_errors_are_ajv_6s_in_its_order(data: Any, all_errors: bool, json_pointers: bool, text: str) -> None:
    assert errors_text(ajv_errors(SCHEMA, data, all_errors, json_pointers)) == text


def test_an_error_has_ajvs_fields() -> None:
    (error, *_) = ajv_errors(SCHEMA, {"a": "x", "q": 1, "r": 1, "b-c": [{"@x": 1, "id": 1}]})
    assert asdict(error) == {"keyword": "required", "dataPath": "['b-c'][0]",
                             "schemaPath": "#/properties/b-c/items/required", "params": {"missingProperty": ".z"},
                             "message": "should have required property '.z'"}


@pytest.mark.skipif(shutil.which("node") is None or not (REPO / "node_modules" / "ajv").is_dir(), reason="no node with ajv")
def test_the_errors_equal_ajvs_own() -> None:
    cases = [[SCHEMA, data, all_errors, json_pointers] for data, all_errors, json_pointers, _ in CASES]
    script = ("var Ajv=require('ajv');var out=JSON.parse(require('fs').readFileSync(0)).map(function(c){"
              "var a=new Ajv({allErrors:c[2],jsonPointers:c[3]});a.validate(c[0],c[1]);return a.errors||[];});"
              "console.log(JSON.stringify(out));")
    done = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, cwd=REPO,
                          check=True, timeout=60)
    assert [[asdict(error) for error in ajv_errors(*case)] for case in cases] == json.loads(done.stdout)


def reply(body: Any) -> Reply:
    return Reply(exchange=Exchange("GET", "http://vendor.example"), status=200, text=json.dumps(body), body=body, problem=None)


def test_a_check_named_with_ajvs_errors_fails_on_each_refused_instance() -> None:
    check = SchemaCheck(name="Schema is valid?: ", schema=SCHEMA, errors_in_name=True, each=True, all_errors=True,
                        json_pointers=True)
    results = schema_valid(reply([{"a": "x", "q": 1, "r": 1, "k": 0}, []]), check)
    assert [(result.name, result.outcome) for result in results] == [
        ("Schema is valid?: No errors", "passed"), ("Schema is valid?: data should be object", "failed")]
    assert schema_valid(reply({"a": 1}), check) == []  # the kit validates only the items of a non-empty array


def test_a_check_of_the_whole_body_keeps_its_name() -> None:
    (result,) = schema_valid(reply({"a": 1}), SchemaCheck(name="Schema is valid", schema=SCHEMA))
    assert (result.name, result.outcome) == ("Schema is valid", "failed")
    assert "data should have required property '.q'" in (result.message or "")


def test_a_schema_with_a_keyword_the_checks_do_not_know_is_refused(tmp_path: Path) -> None:
    source = (SUITES / "ctk641" / "ctk641.yaml").read_text(encoding="utf-8")
    path = tmp_path / "ctk641.yaml"
    path.write_text(source.replace("json_pointers: true, schema: {", "json_pointers: true, schema: {enum: [1], ", 1),
                    encoding="utf-8")
    with pytest.raises(DeclarationError, match=r"valid: keywords enum are not known"):
        load_declaration(path)


def test_a_check_of_each_error_fails_beside_the_named_check_in_the_kits_two_branches() -> None:
    check = SchemaCheck(name="Response valid against schema", schema=SCHEMA, each=True, otherwise=True, error_checks=True)
    refused = '{"keyword":"type","dataPath":"","schemaPath":"#/type","params":{"type":"object"},"message":"should be object"}'
    results = schema_valid(reply([{"a": "x", "q": 1, "r": 1, "k": 0}, []]), check)
    assert [(result.name, result.outcome) for result in results] == [
        ("Response valid against schema", "passed"), (refused, "failed"), ("Response valid against schema", "failed")]
    results = schema_valid(reply([]), check)  # the kit's else branch validates the whole answer
    assert [(result.name, result.outcome) for result in results] == [(refused, "failed"), ("Response valid against schema", "failed")]
    only_otherwise = SchemaCheck(name="Schema is valid", schema=SCHEMA, otherwise=True)
    assert schema_valid(reply([{"a": 1}]), only_otherwise) == []
    assert [result.outcome for result in schema_valid(reply({"a": 1}), only_otherwise)] == ["failed"]


@pytest.mark.skipif(shutil.which("node") is None or not (REPO / "node_modules" / "ajv").is_dir(), reason="no node with ajv")
def test_each_error_check_is_named_as_json_stringify_names_the_error_in_ajv() -> None:
    schemas = [check.schema for suite in load_declaration(SUITES / "ctk678" / "ctk678.yaml").resources
               for step in suite.steps for check in step.valid]
    bodies = [{"id": "x"}, {"billingAccount": {"id": 1}}, {"relatedParty": {"id": "é"}}, [], {"billDocument": [{}], "ä": 1},
              {"billDocument": {"id": "x"}, "financialAccount": {"id": None}}]
    cases = [[schema, body] for schema in schemas for body in bodies]
    script = ("var Ajv=require('ajv');var out=JSON.parse(require('fs').readFileSync(0)).map(function(c){"
              "var v=new Ajv().compile(c[0]);v(c[1]);return (v.errors||[]).map(function(e){return JSON.stringify(e);});});"
              "console.log(JSON.stringify(out));")
    done = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, cwd=REPO,
                          check=True, timeout=60)
    assert [[error.as_json for error in ajv_errors(*case)] for case in cases] == json.loads(done.stdout)
