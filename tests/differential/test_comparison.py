"""The comparison itself: it flags every disagreement beyond the documented differences, and only those."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.differential import DIFFERENCES, disagreements, documented, judge, main
from tests.support.official_kits import KitAssertion, KitRequest, KitRun


def kit(*assertions: tuple[str, bool], errors: tuple[str, ...] = ()) -> KitRun:
    request = KitRequest("/Customer", "GET", "http://x/customer", 200,
                         tuple(KitAssertion(name, ok) for name, ok in assertions), errors)
    return KitRun("tmf629", (request,))


def ours(*checks: tuple[str, bool], skipped: str | None = None, error: str | None = None) -> dict[str, Any]:
    return {"requests": [{
        "name": "/Customer", "skipped": skipped, "error": error, "status": None if error else 200,
        "checks": [{"name": n, "tier": "ctk", "outcome": "passed" if ok else "failed", "message": ""} for n, ok in checks],
    }]}


def test_equal_outcomes_agree() -> None:
    assert disagreements(kit(("Status code is 200", True)), ours(("Status code is 200", True))) == []
    assert disagreements(kit(("Status code is 200", False)), ours(("Status code is 200", False))) == []


def test_ours_passing_what_the_kit_fails_is_flagged() -> None:
    problems = disagreements(kit(("Instance has all mandatory attributes", False)),
                             ours(("Instance has all mandatory attributes", True)))
    assert any("fails in the kit and passes in ours" in p for p in problems)
    assert any("the kit fails it" in p for p in problems)


def test_a_check_the_kit_fails_and_ours_lacks_is_flagged() -> None:
    problems = disagreements(kit(("Status code is 200", True), ("Instance has all mandatory attributes", False)),
                             ours(("Status code is 200", True), ("name is x", False)))
    assert any("is not a check of ours here" in p for p in problems)


def test_ours_failing_where_the_kit_passes_is_flagged_unless_documented() -> None:
    assert disagreements(kit(("Status code is 200", True)), ours(("Status code is 200", False)))
    for name in ("name is Geekhaven Club", "IDCU02 not expected on this test", "Body includes value held on name"):
        assert documented(name)
        assert disagreements(kit(("Status code is 200", True), (name, True)), ours(("Status code is 200", True), (name, False))) == []


def test_a_transport_failure_on_our_side_counts_as_failed() -> None:
    assert disagreements(kit(errors=("request error: ECONNREFUSED",)), ours(error="cannot connect")) == []
    assert disagreements(kit(), ours(error="cannot connect")) != []  # the same server answered the kit
    assert disagreements(kit(errors=("request error: ECONNREFUSED",)), ours()) != []  # the kit fails, ours passes


def test_skipped_only_after_a_failure() -> None:
    assert disagreements(kit(("Status code is 200", False)), ours(skipped="IDCU01 is not set")) != []


def test_every_difference_says_why() -> None:
    assert len(DIFFERENCES) == 3 and all(difference.why for difference in DIFFERENCES)


def test_a_run_the_pre_flight_stopped_agrees_only_with_a_failing_kit() -> None:
    [failing] = judge("nan_values", {"tmf629": kit(("Status code is 200", False))}, None, {"tmf629": 3}, "pre-flight: x")
    [passing] = judge("nan_values", {"tmf629": kit(("Status code is 200", True))}, None, {"tmf629": 3}, "pre-flight: x")
    assert failing.ours_failed and failing.problems() == []
    assert passing.problems() == ["tmf629: ours stopped before any kit request (pre-flight: x), the kit passes"]


def test_the_command_answers_an_unknown_defect_or_api_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--defects", "no_such_defect"], ["--apis", "tmf999"]):
        with pytest.raises(SystemExit) as stopped:
            main(args)
        assert stopped.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith("python -m tests.support.differential: error: unknown ")


def test_a_check_named_by_an_ajv_error_must_exist_on_both_sides() -> None:
    error = '{"keyword":"required","dataPath":"","schemaPath":"#/required","params":{"missingProperty":"a"},"message":"x"}'
    other = error.replace('"a"', '"b"')
    assert disagreements(kit((error, False)), ours((error, False))) == []
    assert any("is not a check of ours here" in p for p in disagreements(kit((error, False)), ours((other, False))))
    # not excused where the kit's script stopped: ours stops where it does, so the error cannot be ours alone
    assert any("is not a check of the kit" in p for p in disagreements(kit(errors=("test script error: x",)), ours((other, False))))
    assert disagreements(kit(errors=("test script error: x",)), ours(("Response has id attribute", False))) == []
