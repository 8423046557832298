"""The ports against the reference server: the five certified ones pass with the certified runs' requests and
check names; every port sends its kit's requests, in the kit's order, with the kit's check names."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

import mockserver
from harness.ctk import derive, generate
from harness.ctk.checks import SCRIPT_READS
from harness.ctk.declaration import load_declaration
from tests.harness.conftest import SUITE_NAMES, SUITES, CtkRun
from tests.support.shared import shared_dir

# The certified run's copy of the TMF629 kit expected 201 from PATCH; the official kit (and the spec) say 200.
RENAMED = {"Status code is 201 (PATCH)": "Status code is 200"}
# The certified run's copy of the TMF622 kit quoted the filter value in the request name; the official kit does not.
CERTIFIED_NAMES = {"/ProductOrder?orderDate='{{ORDERDATEPO01}}'": "/ProductOrder?orderDate={{ORDERDATEPO01}}"}
# Present in a kit report only when the other instance came back, which ours never does on a correct server.
# checks made only in a condition: the other instance comes back, the kit's script stops on a read (no check of the kit)
OPTIONAL = re.compile(r"^(ID[A-Z]{2,6}\d{2} not expected on this test|" + re.escape(SCRIPT_READS) + r"\S+)$")
VALUE_CHECK = re.compile(r"^(@?\w+) is .*$", re.DOTALL)


def kit_names(names: list[str]) -> set[str]:
    """Check names with vendor-specific values blanked and optional checks left out."""
    return {VALUE_CHECK.sub(r"\1 is <value>", name) for name in names if not OPTIONAL.match(name)}


def without_values(names: list[str]) -> list[str]:
    return [name for name in names if not VALUE_CHECK.match(name)]


def test_five_suites_pass_with_the_kits_requests_and_check_names(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url)
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None
    assert list(run.summary["apis"]) == [f"tmf{name.removeprefix('ctk')}" for name in SUITE_NAMES]
    for api_id, entry in run.summary["apis"].items():
        kit = json.loads((shared_dir("ctk-reports", "parsed") / f"{api_id}.json").read_text(encoding="utf-8"))
        assert entry["collection"] == kit["collection"]
        assert entry["verdict"] == "passed"
        ours = entry["requests"]
        assert [(r["folder"], r["method"], r["name"], r["description"]) for r in ours] == [
            (r["folder"], r["method"], CERTIFIED_NAMES.get(r["name"], r["name"]), r["description"]) for r in kit["requests"]
        ]
        for mine, theirs in zip(ours, kit["requests"], strict=True):
            expected = [t["name"] for t in theirs["tests"]]
            if theirs["method"] == "PATCH":
                expected = [RENAMED.get(f"{name} (PATCH)", name) for name in expected]
            names = [c["name"] for c in mine["checks"] if c["tier"] == "ctk"]
            if mine["folder"] == "N1" and mine["method"] == "GET" and "{{" not in mine["name"]:
                # The official kits compare the created instances' values in the N1 list; the certified
                # runs' copies of 681, 629 and 622 did not, so there these checks are optional.
                names, expected = without_values(names), without_values(expected)
            assert kit_names(names) == kit_names(expected), f"{api_id} {mine['name']}"
            spec_status = 200 if theirs["method"] == "PATCH" else theirs["status"]  # TMF629: the kit's and spec's 200
            assert mine["status"] == spec_status, f"{api_id} {mine['name']}"


def test_the_683_filters_tell_the_two_instances_apart(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, suites=("ctk683",))
    assert run.result.ret == 0, run.result.stdout.str()
    names = [(name, check["name"], check["outcome"]) for name, check in run.checks("tmf683")]
    assert ("/partyInteraction?direction={{DIRECTIONPI01}}", "IDPI02 not expected on this test", "passed") in names
    assert ("/partyInteraction?reason={{REASONPI02}}", "IDPI01 not expected on this test", "passed") in names


PORTED = tuple(sorted(path.parent.name for path in SUITES.glob("ctk*/ctk*.yaml")))
VALUE_NAME = re.compile(r"^(@?[\w.]+ is ).*$", re.DOTALL)


def test_every_port_sends_its_kits_requests_with_its_kits_check_names(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, suites=PORTED)
    assert run.summary is not None, run.result.stdout.str()
    assert sorted(run.summary["apis"]) == sorted(f"tmf{name.removeprefix('ctk')}" for name in PORTED)
    for api_id, entry in run.summary["apis"].items():
        declaration = load_declaration(SUITES / f"ctk{api_id.removeprefix('tmf')}" / f"ctk{api_id.removeprefix('tmf')}.yaml")
        # what the kit runs on a server that answers at once: all but what only its asynchronous route reaches, each
        # resource's requests once per payload where the kit runs them so
        kit = [request for suite, facts in zip(declaration.resources, derive.kit_facts(shared_dir("official-ctks") / api_id),
                                               strict=True)
               for _ in range(len(suite.payloads) if suite.each_payload else 1)
               for request in facts.requests if not request.routed]
        # made only on an instance of that @type, where one of several is there, or where a value is held
        by_type = {f"Response has {name} attribute" for suite in declaration.resources
                   for name in (*(n for typed in suite.by_type.values() for n in typed),
                                *(n for typed in suite.one_of.values() for n in typed), *suite.typed_if_truthy)}
        ours = entry["requests"]
        assert [(r["folder"], r["method"], r["name"]) for r in ours] == [(r.folder, r.method, r.name) for r in kit]
        for mine, theirs in zip(ours, kit, strict=True):
            names = {_kit_name(c["name"], theirs) for c in mine["checks"] if c["tier"] == "ctk"}
            names -= {name for name in names if OPTIONAL.match(name)}
            where = f"{api_id} #{ours.index(mine) + 1} {mine['name']}"
            assert names <= {*theirs.checks, *theirs.listed_checks}, where  # no check the kit does not make
            if mine["skipped"] or any(c["outcome"] != "passed" for c in mine["checks"] if c["tier"] == "ctk"):
                continue  # a failed check may stand for several (no body): the server's to fix, derive's to compare
            if theirs.items_only:
                continue  # the kit checks the items of an array alone: an empty answer gets none of its checks
            conditional = {name for check in theirs.includes_if for name in check["includes"]}  # made where a value is held
            made = {name for name in set(theirs.checks) & set(theirs.listed_checks) - conditional if not name.endswith(" is ")}
            made -= by_type  # made only on an instance of that @type
            assert names >= made, where  # none it makes on every answer (value checks: per created instance)


def _kit_name(name: str, theirs: derive.KitRequestFacts) -> str:
    """A check's name as the kit's script writes it: a value check without its value, an ajv check named with
    ajv's errors by the kit's part of the name."""
    if name in (*theirs.checks, *theirs.listed_checks):
        return name
    named_with_errors = [check["name"] for check in theirs.valid if check.get("errors_in_name")]
    return next((prefix for prefix in named_with_errors if name.startswith(prefix)), VALUE_NAME.sub(r"\1", name))


@pytest.mark.parametrize("name", PORTED)
def test_instance_01_is_the_kits_payload_and_later_ones_differ_on_every_filtered_attribute(name: str) -> None:
    declaration = load_declaration(SUITES / name / f"{name}.yaml")
    kit_dir = shared_dir("official-ctks") / declaration.api_id
    injected = generate.injected_payloads(kit_dir)
    for suite, facts in zip(declaration.resources, derive.kit_facts(kit_dir), strict=True):
        # a kit run once per payload takes them from the list its launcher passes in a variable
        kits = generate.listed_payloads(kit_dir)[facts.entity] if suite.each_payload else [
            injected.get(create.position, create.body) for create in facts.creates]
        assert [payload for payload in suite.payloads[:1]] == kits[:1], suite.resource
        for attribute in suite.filtered:
            values = [json.dumps(p.get(attribute)) for p in suite.payloads if attribute in p]
            assert len(values) == len(set(values)), attribute


def test_requests_are_sent_as_the_kit_sent_them(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, suites=("ctk622", "ctk681"))
    assert run.summary is not None
    urls = {r["name"]: r["url"] for api in run.summary["apis"].values() for r in api["requests"]}
    # as the official kit sends it: unquoted (the certified run's copy quoted it, in the name too)
    assert re.search(r"\?orderDate=\d{4}-\d\d-\d\dT[^']+$", urls["/ProductOrder?orderDate={{ORDERDATEPO01}}"])
    assert urls["/communicationMessage?content='{{CONTENTCM01}}'"].endswith(
        "?content=Dear%20$Parameter1.%20Here%20is%20the%20information%20of%20the%20promotion%20$Parameter2"
    )


