"""The distribution as a vendor gets it: a wheel installed into a fresh virtualenv, run from an empty folder.

Built once per module from a copy of the sources (the checkout is not written to); installing it needs
the package index for the dependencies (pip's cache makes later runs quicker).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.differential import ported

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("tmfapis", "mockserver", "harness")
SUITES = ported()  # API id -> its suite declaration in the checkout
STARTUP_S = 30.0
RUN_TIMEOUT_S = 600


@dataclass(frozen=True, slots=True)
class Installed:
    """A virtualenv outside the repository with the wheel installed."""

    root: Path

    def command(self, name: str) -> str:
        return str(self.root / "bin" / name)


def run(args: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    # Bytecode is written, so that each command after the first starts from it.
    unset = ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_BASE_URL", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, **kwargs)


def ignored(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if name == "__pycache__" or name.endswith((".pyc", ".egg-info"))}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, source / package, ignore=ignored)
    out = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)], cwd=source)
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("tmf_ctk-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("venv")
    created = run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(root)], cwd=root)
    assert created.returncode == 0, created.stderr
    venv = Installed(root)
    # This environment's pip installs into the new one (no pip copied there; no bytecode compiled ahead).
    pip = run([sys.executable, "-m", "pip", "--python", venv.command("python"), "install", "-q", "--no-compile",
               "--disable-pip-version-check", str(wheel)], cwd=root)
    assert pip.returncode == 0, pip.stderr
    return venv


def forward(stream: IO[str] | None, into: queue.Queue[str]) -> None:
    for line in stream or ():
        into.put(line)


@pytest.fixture(scope="module")
def tmf_mock(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tmf-mock --port 0`` from the virtualenv, seeded as the README says for the kits that only read, and the URL
    it prints first."""
    process = subprocess.Popen([installed.command("tmf-mock"), "--port", "0", "--no-access-log",
                                "--seed", str(REPO / "mockserver" / "kit-seed.json")],
                               cwd=tmp_path_factory.mktemp("mock"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=forward, args=(process.stdout, lines), daemon=True).start()
    try:
        deadline = time.monotonic() + STARTUP_S
        url = None
        while url is None:
            url = re.search(r"http://127\.0\.0\.1:\d+", lines.get(timeout=max(0.0, deadline - time.monotonic())))
        yield url.group()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def summary_of(report: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    return data


def assert_passed(result: subprocess.CompletedProcess[str], report: Path, api_ids: Iterable[str] = SUITES) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    apis = summary_of(report)["apis"]
    assert {api_id: entry["verdict"] for api_id, entry in apis.items()} == dict.fromkeys(api_ids, "passed")


def test_the_wheel_holds_every_file_of_the_packages(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {path.relative_to(REPO).as_posix() for package in PACKAGES for path in (REPO / package).rglob("*")
                if path.is_file() and not ignored("", [*path.parts])}
    assert expected - names == set()
    assert {path.relative_to(REPO).as_posix() for path in SUITES.values()} <= names


def test_the_suites_run_from_an_empty_folder_with_ctk_report_new_then_existing(
    installed: Installed, tmf_mock: str, empty: Path, tmp_path: Path
) -> None:
    report, allure = tmp_path / "out", tmp_path / "allure"
    allure.mkdir()
    config = tmp_path / "vendor.yaml"
    config.write_text("timeout: 20\n", encoding="utf-8")
    first = run([installed.command("pytest"), "--pyargs", "harness.suites", "--base-url", tmf_mock,
                 "--ctk-report", str(report), "-p", "no:cacheprovider"], cwd=empty)
    assert_passed(first, report)
    (report / "summary.json").unlink()
    # Given twice, the last value wins; both name folders that exist now.
    again = run([installed.command("tmf-ctk"), "run", "--api", "tmf629,tmf681", "--base-url", tmf_mock, "--ctk-report", str(allure),
                 "--ctk-report", str(report), "--ctk-config", str(config), "--callback-host", "127.0.0.1",
                 "--alluredir", str(allure), "-p", "no:cacheprovider"], cwd=empty)
    assert_passed(again, report, ("tmf681", "tmf629"))
    assert any(allure.glob("*-result.json")) and not (allure / "summary.json").exists()
    assert list(empty.iterdir()) == []


def test_without_a_base_url_the_embedded_reference_server_is_the_target(installed: Installed, empty: Path) -> None:
    result = run([installed.command("tmf-ctk"), "run", "-m", "tmf629", "-p", "no:cacheprovider"], cwd=empty)
    assert result.returncode == 0, result.stdout[-4000:]
    summary = summary_of(empty / "reports" / "latest")
    assert summary["apis"]["tmf629"]["verdict"] == "passed"
    assert "(embedded reference server" in result.stdout


def test_the_console_command_explains_itself(installed: Installed, empty: Path) -> None:
    shown = run([installed.command("tmf-ctk"), "--help"], cwd=empty)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: tmf-ctk run")
    wrong = run([installed.command("tmf-ctk"), "walk"], cwd=empty)
    assert wrong.returncode == 2 and wrong.stderr.startswith("tmf-ctk: unknown command 'walk'\nusage: tmf-ctk run")
    options = run([installed.command("tmf-ctk"), "run", "--help"], cwd=empty)
    assert options.returncode == 0 and "--ctk-config=FILE" in options.stdout and "--base-url=URL" in options.stdout


PROBE = '''
import sys
import threading


def test_nothing_of_the_suites_is_loaded_or_running():
    assert {"mockserver.serve", "aiohttp", "authlib"} & set(sys.modules) == set()
    assert [thread.name for thread in threading.enumerate()] == ["MainThread"]
'''


def test_a_pytest_run_without_the_suites_is_untouched(installed: Installed, empty: Path) -> None:
    (empty / "test_probe.py").write_text(PROBE, encoding="utf-8")
    with_plugin = run([installed.command("pytest"), "-p", "no:cacheprovider"], cwd=empty)
    without = run([installed.command("pytest"), "-p", "no:cacheprovider", "-p", "no:tmf_ctk", "-p", "no:tmf_mock"], cwd=empty)
    assert with_plugin.returncode == 0, with_plugin.stdout

    def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
        # the time taken, and the rule's width that follows its length, differ between two runs
        return [re.sub(r"=+", "=", re.sub(r" in [0-9.]+s ", " ", line))
                for line in result.stdout.splitlines() if not line.startswith("plugins:")]

    assert lines(with_plugin) == lines(without)
    assert with_plugin.stderr == ""
    assert sorted(path.name for path in empty.iterdir() if path.name != "__pycache__") == ["test_probe.py"]
