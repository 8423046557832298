"""Allure results of kit requests, from a small project that reports handmade records as the harness does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from report_samples import check_steps, generate_allure_report

from harness.pytest.allure import CATEGORIES

PROJECT = Path(__file__).with_name("allure_project.py")
TESTS = """
import pytest
from conftest import RECORDS, run_kit_request

@pytest.mark.parametrize("key", list(RECORDS))
def test_kit_request(request, key):
    run_kit_request(request, key)
"""


def run_project(directory: Path, *options: str, harness: bool = False) -> None:
    """Run the small project, where two of the four kit requests fail their CTK checks (with the harness's
    plugin loaded, inert here, only when ``harness``: it brings ``--allure-append``)."""
    directory.mkdir(exist_ok=True)
    (directory / "conftest.py").write_text(PROJECT.read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "test_kit.py").write_text(TESTS, encoding="utf-8")
    plugins = [] if harness else ["-p", "no:tmf_ctk"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins, *options]
    run = subprocess.run(command, check=False, cwd=directory, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 failed, 2 passed" in run.stdout, run.stdout


@pytest.fixture(scope="module")
def allure_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("allure") / "allure-results"
    run_project(results.parent / "project", "--alluredir", str(results))
    return results


def results_by_key(results: Path) -> dict[str, dict[str, Any]]:
    by_key = {}
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        (key,) = [parameter["value"].strip("'") for parameter in result["parameters"]]
        by_key[key] = result
    return by_key


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_one_result_per_kit_request_titled_and_labelled(allure_dir: Path) -> None:
    results = results_by_key(allure_dir)
    assert sorted(results) == ["create_fails", "create_passes", "deviation", "refused"]
    create = results["create_passes"]
    assert create["name"] == "N1 POST /communicationMessage"
    assert create["description"] == "This operation runs /communicationMessage"
    assert labels(create, "epic") == ["TMF681 Communication"]
    assert labels(create, "feature") == ["N1"]
    assert labels(create, "story") == ["communicationMessage"]
    assert {"ctk", "tmf681"} <= set(labels(create, "tag"))
    assert labels(create, "severity") == ["critical"]
    assert labels(results["refused"], "feature") == ["N2"]
    # the tree: API, then folder, then resource; not the file the test came from
    assert (labels(create, "parentSuite"), labels(create, "suite"), labels(create, "subSuite")) == (
        ["TMF681 Communication"], ["N1"], ["communicationMessage"]
    )
    assert labels(results["refused"], "suite") == ["N2"]
    assert create["titlePath"] == ["TMF681 Communication", "N1", "communicationMessage"]
    deviation = results["deviation"]
    assert {"ctk", "spec", "tmf681"} <= set(labels(deviation, "tag"))


def test_one_step_per_check_with_its_own_status(allure_dir: Path) -> None:
    results = results_by_key(allure_dir)
    steps = [(step["name"], step["status"]) for step in results["create_fails"]["steps"]]
    assert steps == [
        ("Status code is 201", "failed"),
        ("Response has id attribute", "passed"),
        ("Body includes value held on id", "failed"),
    ]
    first = results["create_fails"]["steps"][0]
    assert "expected status 201, got 200" in first["statusDetails"]["message"]
    assert [s["status"] for s in results["create_passes"]["steps"]] == ["passed", "passed"]
    assert results["create_passes"]["status"] == "passed"


def test_exchange_attached_once_per_request(allure_dir: Path) -> None:
    create = results_by_key(allure_dir)["create_passes"]
    assert [a["name"] for a in create["attachments"]] == ["Request", "Response"]
    request_text = (allure_dir / create["attachments"][0]["source"]).read_text(encoding="utf-8")
    response_text = (allure_dir / create["attachments"][1]["source"]).read_text(encoding="utf-8")
    assert request_text.startswith(
        "POST http://127.0.0.1:9/tmf-api/communicationManagement/v4/communicationMessage"
    )
    assert "Authorization: ***" in request_text
    assert '{\n  "content": "Dear $Parameter1",' in request_text  # pretty JSON
    assert response_text.startswith("Status 201 in 12 ms, 80 bytes")
    refused = results_by_key(allure_dir)["refused"]
    refused_response = (allure_dir / refused["attachments"][1]["source"]).read_text(encoding="utf-8")
    assert refused_response.startswith("No response: connection refused")
    assert all(not step.get("attachments") for step in refused["steps"])


def test_failures_carry_their_category(allure_dir: Path) -> None:
    results = results_by_key(allure_dir)
    assert results["create_fails"]["status"] == "failed"
    assert results["create_fails"]["statusDetails"]["message"].startswith("CTK failure: ")
    assert results["refused"]["statusDetails"]["message"].startswith("Transport error: ")
    assert results["deviation"]["status"] == "passed"
    assert results["deviation"]["statusDetails"]["message"] == (
        "Spec deviation: Body is a CommunicationMessage: expected no 'foo', got 'foo'"
    )
    assert "statusDetails" not in results["create_passes"] or not results["create_passes"]["statusDetails"]


def test_run_files_written_at_the_end(allure_dir: Path) -> None:
    assert json.loads((allure_dir / "categories.json").read_text(encoding="utf-8")) == CATEGORIES
    executor = json.loads((allure_dir / "executor.json").read_text(encoding="utf-8"))
    assert executor["name"] == "tmf-ctk" and "2026-11-24" in executor["buildName"]
    properties = (allure_dir / "environment.properties").read_text(encoding="utf-8")
    assert "tmf681.version=4.0.0" in properties
    assert r"tmf681.root=http\://127.0.0.1\:9/tmf-api/communicationManagement/v4" in properties
    assert r"target=http\://***@127.0.0.1\:9" in properties
    assert "s3cret" not in properties
    assert "python.version=3.11" in properties and "harness.version=" in properties


def result_files(results: Path) -> list[Path]:
    return list(results.glob("*-result.json"))


def test_a_run_starts_from_clean_results_unless_told_to_append(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    run_project(tmp_path / "project", "--alluredir", str(results))
    assert len(result_files(results)) == 4
    run_project(tmp_path / "project", "--alluredir", str(results))
    assert len(result_files(results)) == 4  # the earlier run's results are gone
    run_project(tmp_path / "project", "--alluredir", str(results), "--allure-append", harness=True)
    assert len(result_files(results)) == 8
    run_project(tmp_path / "project", "--alluredir", str(results), harness=True)
    assert len(result_files(results)) == 4


def test_nothing_written_without_alluredir(tmp_path: Path) -> None:
    run_project(tmp_path / "project")
    written = {path.name for path in tmp_path.rglob("*") if "__pycache__" not in path.parts}
    assert written == {"project", "conftest.py", "test_kit.py", "ctk-report", "summary.json"}


def test_allure3_report_has_one_test_per_request_and_one_step_per_check(
    allure_dir: Path, tmp_path: Path
) -> None:
    tests = list(generate_allure_report(allure_dir, tmp_path).values())
    by_key = {test["parameters"][0]["value"].strip("'"): test for test in tests}
    assert sorted(by_key) == ["create_fails", "create_passes", "deviation", "refused"]
    assert check_steps(by_key["create_fails"]) == [
        ("Status code is 201", "failed"),
        ("Response has id attribute", "passed"),
        ("Body includes value held on id", "failed"),
    ]
    assert check_steps(by_key["deviation"]) == [
        ("Status code is 200", "passed"),
        ("Body is a CommunicationMessage", "failed"),
    ]
    statuses = {key: test["status"] for key, test in by_key.items()}
    assert statuses == {
        "create_passes": "passed",
        "create_fails": "failed",
        "refused": "failed",
        "deviation": "passed",
    }
    categories = {key: [c["name"] for c in test.get("categories", [])] for key, test in by_key.items()}
    assert categories == {
        "create_passes": [],
        "create_fails": ["CTK failure"],
        "refused": ["Transport error"],
        "deviation": ["Spec deviation"],
    }
    assert by_key["create_passes"]["groupedLabels"]["epic"] == ["TMF681 Communication"]
