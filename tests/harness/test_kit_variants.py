"""What some kits' scripts do beyond the template, as the ports reproduce it: attributes required only under a
condition, a list whose items alone (or first item alone) are checked, a list made before the second create, routing on
the launcher's config, values written into a URL as JavaScript writes them, a value the server sets anew on a PATCH, a
run the kit ends on a create's status or sends on to a later request, checks made only on one status, checks nested in
a check, one attribute of several required, types checked only where a value is held, a list whose script stops on a
read, variables kept from a field selection, a test without a function."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import mockserver
from harness.ctk.kit import DEFAULT_KITS_DIR, kit_order, launcher_environment, routed
from tests.harness.conftest import CtkRun
from tests.support.fault_proxy import Exchange, Fault, edit_instances, route, start_fault_proxy, start_proxy


def _bundled(exchange: Exchange) -> None:
    """Every product specification says it is a bundle, yet none lists its bundled specifications."""
    if route(exchange.client_path).resource == "productSpecification":
        edit_instances(exchange, lambda item: item.update(isBundle=True))


def _outcomes(run: CtkRun, api_id: str, request: str) -> dict[str, str]:
    return {check["name"]: check["outcome"] for name, check in run.checks(api_id) if name == request and check["tier"] == "ctk"}


def test_an_attribute_the_kit_requires_under_a_condition_is_checked_only_where_it_holds(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    clean = run_ctk("--base-url", reference_server.url, "-k", "ProductSpecification", suites=("ctk620",))
    assert clean.result.ret == 0, clean.result.stdout.str()
    assert "Response has bundledProductSpecification attribute" not in _outcomes(clean, "tmf620", "/ProductSpecification")
    with start_proxy(reference_server.url, Fault(on_answer=_bundled)) as url:
        run = run_ctk("--base-url", url, "-k", "ProductSpecification", suites=("ctk620",))
    assert run.result.ret == 1
    listed = _outcomes(run, "tmf620", "/ProductSpecification")
    assert listed["Response has bundledProductSpecification attribute"] == "failed"
    assert listed["Instance has all mandatory attributes"] == "failed"
    # the kit's GET by id requires no bundled specifications, whatever isBundle says
    assert _outcomes(run, "tmf620", "/ProductSpecification/{{IDPS01}}")["Instance has all mandatory attributes"] == "passed"


def _no_name(exchange: Exchange) -> None:
    if route(exchange.client_path).resource == "billPresentationMedia" and exchange.method == "GET":
        exchange.payload = b'[{"id": "42", "href": "http://vendor.example/billPresentationMedia/42"}]'


def test_a_list_whose_kit_checks_only_its_items_checks_nothing_on_an_empty_answer(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    clean = run_ctk("--base-url", reference_server.url, "-k", "BillPresentationMedia", suites=("ctk666",))
    assert clean.result.ret == 0, clean.result.stdout.str()
    assert _outcomes(clean, "tmf666", "/BillPresentationMedia") == {"Status code is 200": "passed"}
    with start_proxy(reference_server.url, Fault(on_answer=_no_name)) as url:
        run = run_ctk("--base-url", url, "-k", "BillPresentationMedia", suites=("ctk666",))
    assert run.result.ret == 1
    listed = _outcomes(run, "tmf666", "/BillPresentationMedia")
    assert listed["Instance has all mandatory attributes"] == listed["Response has name attribute"] == "failed"


def test_a_list_whose_kit_checks_its_first_item_alone_passes_a_leftover_after_it_and_fails_an_object(
    run_ctk: Callable[..., CtkRun]
) -> None:
    # TMF673's kit reads addresses it never creates (the kit seed holds them) and checks jsonData[0] alone
    seeded = mockserver.ServerConfig(port=0, access_log=False, seed_path=mockserver.KIT_SEED)
    with mockserver.start_background(seeded) as server:
        with start_fault_proxy(server.url, "leftovers") as proxy:
            behind_leftover = run_ctk("--base-url", proxy.url, suites=("ctk673",))
        with start_fault_proxy(server.url, "list_as_object") as proxy:
            behind_object = run_ctk("--base-url", proxy.url, suites=("ctk673",))
    assert set(_outcomes(behind_leftover, "tmf673", "/GeographicAddress").values()) == {"passed"}
    failed = [check for name, check in behind_object.checks("tmf673")
              if name == "/GeographicAddress" and check["tier"] == "ctk" and check["outcome"] == "failed"]
    assert {check["name"] for check in failed} >= {"Instance has all mandatory attributes", "Response has city attribute"}
    assert all(check["message"].startswith("no first item to check: the answer is an object") for check in failed), failed


def test_an_answer_judged_as_one_instance_gets_the_checks_of_the_kits_else_branch(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "filter_empty") as proxy:
        run = run_ctk("--base-url", proxy.url, suites=("ctk648",))
    assert run.result.ret == 1
    # the kit's script checks an empty answer for price, which it never asks of the items of a list
    assert _outcomes(run, "tmf648", "/quote?id={{IDQU01}}")["Response has price attribute"] == "failed"
    assert "Response has price attribute" not in _outcomes(run, "tmf648", "/quote")


def test_kits_with_booleans_lists_before_a_later_create_patches_and_routing_pass_on_the_reference_server(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    run = run_ctk("--base-url", reference_server.url, suites=("ctk633", "ctk634", "ctk648", "ctk704"))
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None
    apis: dict[str, Any] = run.summary["apis"]
    assert {api["verdict"] for api in apis.values()} == {"passed"}
    urls = {request["name"]: request["url"] for request in apis["tmf633"]["requests"]}
    assert urls["/ServiceSpecification?isBundle={{ISBUNDLESS01}}"].endswith("?isBundle=false")  # as JavaScript writes it
    # the list before the second create compares the one instance there is by then
    first_list = next(r for r in apis["tmf648"]["requests"] if (r["method"], r["name"]) == ("GET", "/quote"))
    assert len([check for check in first_list["checks"] if check["name"].startswith("id is ")]) == 1
    # the GET after a PATCH holds the lastUpdate the server set on the PATCH
    assert all(outcome == "passed" for outcome in _outcomes(run, "tmf634", "/ResourceSpecification/{{IDRS01}}").values())
    assert [request["name"] for request in apis["tmf704"]["requests"]] == [
        "Start", "Post NonFunctionalTestModel", "/NonFunctionalTestModel", "/NonFunctionalTestModel/{{IDNFTM01}}",
        "/NonFunctionalTestModel?fields=id", "/NonFunctionalTestModel?id={{IDNFTM01}}", "/NonFunctionalTestModel/404ID"]


def test_a_kit_routed_on_its_launchers_config_runs_what_the_config_names() -> None:
    kit = DEFAULT_KITS_DIR / "tmf704"
    assert launcher_environment(kit) == {"resourceToTest": "NonFunctionalTestModel"}
    assert [request.name for request in kit_order(kit)][:2] == ["Start", "Post NonFunctionalTestModel"]
    test_case = kit_order(kit, {"resourceToTest": "TestCase"})
    assert [request.name for request in test_case] == [
        "Start", "Post TestCase", "/TestCase", "/TestCase/{{IDTC01}}", "/TestCase?fields=id", "/TestCase?id={{IDTC01}}",
        "/TestCase/404ID"]
    assert len(routed(kit_order(DEFAULT_KITS_DIR / "tmf681"), {})) == 13  # a kit that does not route: every request


def test_an_empty_list_gets_the_instance_checks_its_kits_script_makes_of_it(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "filter_empty") as proxy:
        run = run_ctk("--base-url", proxy.url, suites=("ctk670", "ctk702"))
    assert run.result.ret == 1
    # TMF670's array branch takes every array: an empty one gets no instance check
    by_name = [check["name"] for name, check in run.checks("tmf670") if "?name=" in name and check["tier"] == "ctk"]
    assert "Status code is 200" in by_name and "Instance has all mandatory attributes" not in by_name
    # TMF702's else branch checks an empty answer for the create's mandatory attributes, under the template's name
    by_id = _outcomes(run, "tmf702", "/Resource?id={{IDRE01}}")
    assert by_id["Instance has all mandatory attributes"] == "failed"
    assert "Instance has id, href and filtered attribute" not in by_id


def _passed(run: CtkRun, api_id: str) -> dict[str, Any]:
    """The API's entry in the record of a run that passed."""
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.summary is not None and run.summary["apis"][api_id]["verdict"] == "passed"
    api: dict[str, Any] = run.summary["apis"][api_id]
    return api


def test_a_create_answered_200_ends_the_run_where_the_kit_ends_it(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "wrong_status") as proxy:
        run = run_ctk("--base-url", proxy.url, "-rs", suites=("ctk677",))
    # as in the kit's report: the create alone, which its kit accepts with 200
    assert [(request["method"], request["status"]) for request in _passed(run, "tmf677")["requests"]] == [("POST", 200)]
    run.result.assert_outcomes(passed=1, skipped=5)
    run.result.stdout.fnmatch_lines(["*not run: the kit's run ends after N1 POST /QueryUsageConsumption, which answered 200*"])


def test_a_create_answered_200_goes_on_with_the_request_the_kit_names(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "wrong_status") as proxy:
        run = run_ctk("--base-url", proxy.url, "-rs", suites=("ctk645",))
    api = _passed(run, "tmf645")
    # as in the kit's report: each create, which its kit accepts with 200, then the request it names
    assert [(request["method"], request["name"], request["status"]) for request in api["requests"]] == [
        ("POST", "/CheckServiceQualification", 200), ("GET", "/CheckServiceQualification/404ID", 404),
        ("POST", "/QueryServiceQualification", 200), ("GET", "/QueryServiceQualification/404ID", 404)]
    # and none of the instance checks the kit makes only on a 201
    assert [check["name"] for check in api["requests"][0]["checks"] if check["tier"] == "ctk"] == ["Successful POST request"]
    went_on = "*not run: the kit's run goes from N1 POST /CheckServiceQualification, which answered 200, on to /Check*"
    run.result.stdout.fnmatch_lines([went_on])


def _done(exchange: Exchange) -> None:
    """The qualification is done at once: the create answers it with state done."""
    if exchange.method == "POST" and exchange.status == 201:
        edit_instances(exchange, lambda item: item.update(state="done"))


def test_a_create_whose_answer_holds_the_kits_value_goes_on_with_the_request_the_kit_names(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_answer=_done)) as url:
        run = run_ctk("--base-url", url, "-rs", suites=("ctk679",))
    assert [(request["method"], request["name"]) for request in _passed(run, "tmf679")["requests"]] == [
        ("POST", "/productOfferingQualification"), ("GET", "/productOfferingQualification/404ID"),
        ("POST", "unexpecting parameter")]
    run.result.stdout.fnmatch_lines(["*not run: * which answered 201 with state done, on to /productOffering*"])


def test_a_failed_create_gets_only_the_checks_its_kit_makes_on_that_status(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_fault_proxy(reference_server.url, "create_error") as proxy:
        run = run_ctk("--base-url", proxy.url, "-k", "N1 and POST", suites=("ctk645", "ctk680"))
    assert run.result.ret == 1
    # TMF645 makes its instance checks only on a 201, TMF680 its status check
    assert _outcomes(run, "tmf645", "/CheckServiceQualification") == {"Successful POST request": "failed"}
    created = _outcomes(run, "tmf680", "/QueryProductRecommendation")
    assert "Status code is 201" not in created
    assert created["Instance has all mandatory attributes"] == "failed"


_ALTERNATIVES = [
    {"id": "none", "usageConsumption": []},
    {"id": "null-set", "usageConsumption": [], "relatedParty": [], "searchCriteria": None},
    {"id": "null-present", "usageConsumption": [], "partyAccount": None},
    {"id": "not-mandatory", "relatedParty": "x"},
    {"id": "empty-set", "usageConsumption": [], "searchCriteria": {}},
]


def _listed_alternatives(exchange: Exchange) -> None:
    if exchange.client_method == "GET" and exchange.client_path.endswith("/queryUsageConsumption"):
        exchange.payload = json.dumps(_ALTERNATIVES).encode()


def test_the_checks_nested_in_a_kits_at_least_one_of_check_are_made_as_the_kit_makes_them(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_answer=_listed_alternatives)) as url:
        run = run_ctk("--base-url", url, suites=("ctk677",))
    assert run.result.ret == 1
    assert run.summary is not None
    requests = run.summary["apis"]["tmf677"]["requests"]
    listed = next(r for r in requests if (r["method"], r["name"]) == ("GET", "/QueryUsageConsumption"))
    mandatory = "Instance has at least one of partyAccount, relatedParty, searchCriteria mandatory attributes"
    usage = "Response has usageConsumption attribute"
    # in Newman's order and number: a nested check before the check it is nested in, none where that one's mandatory
    # attributes are missing; a key counts even when null, a value only when JavaScript takes it as true ({} does)
    assert [(check["name"], check["outcome"]) for check in listed["checks"] if check["tier"] == "ctk"] == [
        ("Status code is 200", "passed"),
        (mandatory, "failed"), (usage, "passed"),
        ("Response has relatedParty attribute", "passed"), (mandatory, "passed"), (usage, "passed"),
        ("Response has partyAccount attribute", "failed"), (mandatory, "passed"), (usage, "passed"),
        (mandatory, "failed"), (usage, "failed"),
        ("Response has searchCriteria attribute", "passed"), (mandatory, "passed"), (usage, "passed"),
    ]


def _conditional_faults(exchange: Exchange) -> None:
    """Process flows come back with neither specification attribute; task flows with their reference as text and
    their specification 0 (false to JavaScript, so the kit checks no type there)."""
    resource = route(exchange.client_path).resource
    if resource == "processFlow":
        edit_instances(exchange, lambda item: [item.pop(name, None) for name in (
            "processFlowSpecification", "processFlowSpecificationRef")])
    elif resource == "taskFlow":
        edit_instances(exchange, lambda item: item.update(taskFlowSpecificationRef="1234", taskFlowSpecification=0))


def test_one_attribute_of_several_is_required_and_types_are_checked_only_where_a_value_is_held(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    clean = run_ctk("--base-url", reference_server.url, suites=("ctk701",))
    assert clean.result.ret == 0, clean.result.stdout.str()
    created = _outcomes(clean, "tmf701", "/ProcessFlow")
    assert created["Instance has required conditional attributes"] == created["Response has processFlowSpecification attribute"]
    assert created["Instance has required conditional attributes"] == "passed"
    assert "Response has processFlowSpecificationRef attribute" not in created  # the payload sends no reference
    # every task flow request, the kit's E1 among them, goes under process flow 01
    assert clean.summary is not None
    requests = clean.summary["apis"]["tmf701"]["requests"]
    parent = next(request["url"] for request in requests if request["name"] == "/ProcessFlow/{{IDPF01}}")
    assert all(r["url"].startswith(f"{parent}/taskFlow") for r in requests if r["name"].startswith("/TaskFlow"))
    with start_proxy(reference_server.url, Fault(on_answer=_conditional_faults)) as url:
        run = run_ctk("--base-url", url, suites=("ctk701",))
    assert run.result.ret == 1
    created = _outcomes(run, "tmf701", "/ProcessFlow")
    assert created["Instance has required conditional attributes"] == "failed"
    assert "Response has processFlowSpecification attribute" not in created
    task = _outcomes(run, "tmf701", "/TaskFlow/{{IDTF01}}")
    assert task["Instance has conditional attributes"] == "passed"
    assert task["Response has taskFlowSpecificationRef attribute"] == "failed"
    assert "Response has taskFlowSpecification attribute" not in task


def _bills(exchange: Exchange) -> None:
    """Two customer bills, the second without the billDocument the kit's script reads, and a PATCH to onHold that leaves
    the state as it was; one applied rate by fields=id."""
    where = route(exchange.client_path)
    if exchange.client_method == "PATCH" and where.resource == "customerBill":
        exchange.status, exchange.payload = 200, json.dumps(
            {"id": "b2", "href": "http://vendor.example/b2", "billDocument": [{"id": "d2"}], "state": "new"}).encode()
    if exchange.client_method != "GET" or where.instance is not None:
        return
    if where.resource == "customerBill" and not where.query:
        bill = {"id": "b1", "href": "http://vendor.example/b1", "billDocument": [{"id": "d1"}], "billingAccount": {"id": "a"}}
        exchange.payload = json.dumps([bill, {"id": "b2", "href": "http://vendor.example/b2"}]).encode()
    elif where.resource == "appliedCustomerBillingRate" and where.query == "fields=id":
        exchange.payload = b'[{"id": "r9", "href": "http://vendor.example/r9"}]'


def test_a_list_stops_where_the_kits_script_stops_a_field_selection_keeps_what_the_kit_keeps_a_patch_is_checked(
    run_ctk: Callable[..., CtkRun], reference_server: mockserver.BackgroundServer
) -> None:
    with start_proxy(reference_server.url, Fault(on_answer=_bills)) as url:
        run = run_ctk("--base-url", url, suites=("ctk678",))
    assert run.summary is not None, run.result.stdout.str()
    requests = run.summary["apis"]["tmf678"]["requests"]
    listed = {check["name"]: check["outcome"] for check in requests[0]["checks"] if check["tier"] == "ctk"}
    # the kit's script reads billDocument[0].id of each bill before its checks: it checks the first, stops at the second
    assert listed.get("The kit's script reads billDocument.0.id") == "failed"
    assert listed["Instance has all mandatory attributes"] == listed["Response valid against schema"] == "passed"
    assert requests[3]["url"].endswith("customerBill?id=b2")  # it kept the id of the bill where it stopped
    assert requests[15]["url"].endswith("appliedCustomerBillingRate?id=r9")  # kept from ?fields=id, as the kit does
    patched = {check["name"]: check["outcome"] for check in requests[4]["checks"] if check["tier"] == "ctk"}
    # the kit's test without a function passes whatever the state; ours checks it
    assert (patched["Status code is 200"], patched["state is onHold"]) == ("passed", "failed")
