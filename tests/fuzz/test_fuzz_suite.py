"""The ``-m fuzz`` suite as a user runs it: opt-in, against a base URL, failures printed as requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import settings
from planted import plant

from harness.fuzz.machine import FILTER_TARGETS, target

REPO = Path(__file__).resolve().parents[2]
SUITE = str(REPO / "harness" / "suites" / "fuzz")


@pytest.fixture(autouse=True)
def keep_hypothesis_profile() -> Iterator[None]:
    """An in-process run loads the profile it is given; put the previous one back."""
    previous = settings.get_current_profile_name()
    yield
    settings.load_profile(previous)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(SUITE, "--rootdir", str(REPO), "-p", "no:cacheprovider", *args)


def test_fuzz_suite_is_left_out_unless_asked(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(deselected=len(FILTER_TARGETS))


def test_fuzz_suite_accepts_the_thorough_profile(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "-m", "fuzz", "--collect-only", "--hypothesis-profile", "thorough")
    assert result.ret == 0, result.stdout.str()
    assert settings.get_current_profile_name() == "thorough"


def test_fuzz_suite_passes_against_a_base_url(pytester: pytest.Pytester, reference_url: str) -> None:
    result = _run(pytester, "-m", "fuzz and tmf629", "--base-url", reference_url, "--hypothesis-profile", "ci")
    result.assert_outcomes(passed=1)


def test_fuzz_suite_failure_names_the_request_and_instances(pytester: pytest.Pytester, reference_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    plant(monkeypatch, "case-insensitive match")
    result = _run(pytester, "-m", "fuzz", "-k", "customer", "--base-url", reference_url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"*GET {reference_url}/tmf-api/customerManagement/v4/customer?{quote(target('customer').tag.path, safe='')}=ctk-fuzz-*",
        "*expected instances *, got *",
        "*Reproduce: create these instances with POST*",
        "*instance 1 (was *): {*",
    ])
