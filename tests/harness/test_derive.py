"""The suite declarations agree with the official kits' own files, and a drift from the kit is named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.ctk import derive
from harness.ctk.declaration import load_declaration
from harness.ctk.generate import declaration_text
from tests.support.shared import shared_dir
from tests.support.suite_runs import SUITES

PORTED = tuple(sorted(path.parent.name for path in SUITES.glob("ctk*/ctk*.yaml")))


def kit_dir(name: str) -> Path:
    return shared_dir("official-ctks") / f"tmf{name.removeprefix('ctk')}"


@pytest.mark.parametrize("name", PORTED)
def test_each_declaration_agrees_with_its_kit(name: str) -> None:
    assert derive.mismatches(load_declaration(SUITES / name / f"{name}.yaml"), kit_dir(name)) == []


@pytest.mark.parametrize("name", PORTED)
def test_each_declaration_is_what_the_generator_writes(name: str) -> None:
    """No hand edit and no generator change goes unseen: writing a shipped declaration again changes nothing."""
    path = SUITES / name / f"{name}.yaml"
    shipped = path.read_text(encoding="utf-8")
    keep = {entry["resource"]: entry for entry in yaml.safe_load(shipped)["resources"]}
    assert declaration_text(f"tmf{name.removeprefix('ctk')}", kit_dir(name), keep) == shipped


def test_the_derive_command_checks_every_declaration(capsys: pytest.CaptureFixture[str]) -> None:
    assert derive.main([str(shared_dir("official-ctks"))]) == 0
    assert f"{len(PORTED)} declarations, 0 disagreements" in capsys.readouterr().out


DRIFTS = [
    # (name, text in the declaration, replacement, what the mismatch names)
    ("ctk622", "mandatory: [productOrderItem, href, id, orderDate, relatedParty, state]",
     "mandatory: [productOrderItem, href, id, orderDate, relatedParty]", "productOrder: mandatory is"),
    ("ctk681", "      - list\n", "      - {do: list, values: []}\n", "instances with value checks is [], the kit's is [1]"),
    ("ctk629", "typed: {'@type': string, href: string, id: string}", "typed: {'@type': string, href: string, id: string, name: string}",
     "typed is [('@type', 'string'), ('href', 'string'), ('id', 'string'), ('name', 'string')]"),
    ("ctk629", "body: {engagedParty:", "body: {status: Approved, engagedParty:", "the PATCH body"),
    ("ctk683", "      - fields reason\n", "", "the request list"),
    ("ctk635", '"required": ["name"]', '"required": []', "payload_schema is"),
    ("ctk629", "{do: fields id, status: [200]}", "fields id", "the statuses checked is (), the kit's is (200,)"),
    ("ctk641", "errors_in_name: true, each: true, all_errors: true,", "errors_in_name: true, each: true,", "the ajv checks"),
    ("ctk652", "path: [orderItem, 0, state]", "path: [orderItem, state]", "the typed paths"),
    ("ctk676", "if: {paymentMethod.@type: paymentMethodRef}", "if: {paymentMethod.@type: PaymentMethodRef}",
     "the checks made where the answer holds a value"),
    ("ctk652", "reads: [orderItem.0, href, id, orderDate]", "reads: [href, id, orderDate, orderItem.0]",
     "the paths read outside the tests"),
    ("ctk681", "quote: name", "quote: both", "the quote around the filter value in the URL is \"'\""),
    ("ctk621", "{do: list, status: [200, 206]}", "list", "the statuses checked is (200,), the kit's is (200, 206)"),
    ("ctk638", "rename: {Status code is 201 or 202: Successful POST request}", "status: [201, 202]", "the check names"),
    ("ctk680", ("{do: filter id 1, rename: {Instance has all mandatory attributes: 'Instance must have href, id, "
     "recommendationItem attributes'}, single: {rename: {Instance has all mandatory attributes: Instance has all "
     "mandatory attributes}}}"), "filter id 1", "the check names"),
    ("ctk680", ", single: {rename: {Instance has all mandatory attributes: Instance has all mandatory attributes}}", "",
     "the mandatory check's name of an answer judged as one instance"),
    ("ctk646", "      - {do: list, typed: {id: string, href: string, creationDate: string, lastUpdate: string}, ",
     "      - {do: list, ", "typed is"),
    ("ctk642", "{do: fields id, status: [200, 206], selection: true}", "{do: fields id, status: [200, 206]}", "the check names"),
    ("ctk621", "    includes: [id, href, ticketType, description, severity]\n", "", "body includes is"),
    ("ctk621", "      - fields severity\n", "      - {do: fields severity, folder: N3}\n", "the request list"),
    ("ctk620", "    when: {bundledProductSpecification: {isBundle: true}}", "    when: {}",
     "productSpecification: the conditional attributes (when) is {}, the kit's is {'bundledProductSpecification'"),
    ("ctk666", "{do: list, instances: items, hold: last", "{do: list, hold: last", "the instances checked is 'every', the kit's is 'items'"),
    ("ctk704", "      - {do: start, name: Start}\n", "", "the request list"),
    ("ctk640", "tries: 38", "tries: 3", "the poll (until, tries, wait, give-up check, then)"),
    ("ctk640", ", routed: true}\n      - {do: list", "}\n      - {do: list", "the asynchronous route"),
    ("ctk664", "{do: create 1, accepted: {body: id}}", "create 1", "the asynchronous route"),
    ("ctk702", "selection: must", "selection: true", "the check names"),
    ("ctk670", "Check: {drawer: string, ", "Check: {", "attributes mandatory by @type"),
    ("ctk670", "{do: list, includes: [name, status, statusDate], instances: items_or_one}",
     "{do: list, includes: [name, status, statusDate]}", "the instances checked is 'every', the kit's is 'items_or_one'"),
    ("ctk702", "mandatory: [id, href], single: {mandatory: [href, id, name], ", "mandatory: [id, href], single: {",
     "mandatory of an answer judged as one instance"),
    ("ctk677", ", ends_on: [200]}", "}", "the statuses on which the kit's run ends after it is (), the kit's is (200,)"),
    ("ctk677", ", set: {searchCriteria: object}}", "}", "queryUsageConsumption: at least one of (one_of)"),
    ("ctk677", ", instances: one}", "}", "the instances checked is 'every', the kit's is 'one'"),
    ("ctk645", ", goes_to: {/CheckServiceQualification/404ID: [200]}}", "}", "the later requests it goes on with (on a status or a value)"),
    ("ctk680", "only_on: {Status code is 201: [201]}, ", "", "the checks made only on some statuses"),
    ("ctk680", "type: string, present: true}, category", "type: string}, category", "the typed paths"),
    ("ctk677", ", instances: items_else_array}", "}", "the instances checked is 'every', the kit's is 'items_else_array'"),
]


@pytest.mark.parametrize(("name", "text", "replacement", "named"), DRIFTS)
def test_a_declaration_that_drifts_from_its_kit_is_named(
    tmp_path: Path, name: str, text: str, replacement: str, named: str
) -> None:
    source = (SUITES / name / f"{name}.yaml").read_text(encoding="utf-8")
    assert text in source
    path = tmp_path / f"{name}.yaml"
    path.write_text(source.replace(text, replacement, 1), encoding="utf-8")
    problems = derive.mismatches(load_declaration(path), kit_dir(name))
    assert any(named in problem for problem in problems), problems


def test_write_restores_a_drifted_payload_schema(tmp_path: Path) -> None:
    source = (SUITES / "ctk683" / "ctk683.yaml").read_text(encoding="utf-8")
    path = tmp_path / "ctk683.yaml"
    path.write_text(source.replace('"required": ["channel", "direction", "reason"]', '"required": []'), encoding="utf-8")
    assert derive.write_payload_schemas(path, kit_dir("ctk683"))
    assert path.read_text(encoding="utf-8") == source
    assert not derive.write_payload_schemas(path, kit_dir("ctk683"))


def test_the_request_list_names_folder_method_and_name(tmp_path: Path) -> None:
    source = (SUITES / "ctk621" / "ctk621.yaml").read_text(encoding="utf-8")
    path = tmp_path / "ctk621.yaml"
    path.write_text(source.replace("      - fields id\n", "      - {do: fields id, name: '/troubleTicket?fields=ID'}\n"),
                    encoding="utf-8")
    problems = derive.mismatches(load_declaration(path), kit_dir("ctk621"))
    assert any("('N2', 'GET', '/troubleTicket?fields=ID')" in problem for problem in problems), problems
