"""The pytest plugin (entry point ``tmf_ctk``): options, the run's context, collection, fixtures and the run record.

It stays inert in pytest runs that collect no suite declaration: no server is started and nothing is
written. Without a base URL the run asks ``pytest_ctk_embedded_server`` for a server, started only when
a suite first needs it. Records travel from the items (possibly on xdist workers) to the controller in
``report.user_properties``; the controller writes ``summary.json`` and calls ``pytest_ctk_run_done``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import tmfapis
from harness.config import RunSettings, settings_from
from harness.ctk.declaration import SuiteDeclaration, load_declaration, payload_problem
from harness.errors import ConfigError, DeclarationError
from harness.pytest import hookspecs
from harness.pytest.context import CONTEXT_KEY, NO_SERVER, RunContext, run_context
from harness.pytest.fuzzing import fuzz_outcomes
from harness.pytest.items import CLEANUP_PROPERTY, RECORD_PROPERTY, CtkFile
from harness.record import SPEC_FOLDER, RunJson, request_outcome
from harness.redact import Redactor
from harness.reports.fuzz import fuzz_blocks
from harness.reports.summary import build_summary, run_target

__all__ = ["RunContext", "run_context"]

PLUGINS = ("harness.pytest.allure", "harness.pytest.reporting", "harness.pytest.preflight", "harness.pytest.fuzzing")
FOLDERS = ("N1", "N2", "E1")
HYPOTHESIS_PLUGIN = "hypothesispytest"
SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
FUZZ_DIR = SUITES_DIR / "fuzz"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ctk", "TMF conformance suites")
    try:
        group.addoption("--base-url", metavar="URL", default=None,
                        help="root URL of the system under test; each suite appends its API's standard base path")
        parser.addini("base_url", help="base url for the system under test (PYTEST_BASE_URL also works)")
    except ValueError:
        pass  # pytest-base-url is installed and already offers it
    group.addoption("--api-url", action="append", default=[], metavar="API=URL",
                    help="root of one API, e.g. tmf629=https://vendor.example/customerManagement/v4/ (repeatable)")
    group.addoption("--ctk-config", metavar="FILE", default=None,
                    help="YAML file with API roots, headers, payloads, timeout, verify, proxies (${ENV} expanded)")
    group.addoption("--ctk-timeout", metavar="SECONDS", type=float, default=None,
                    help="the whole of one request may take at most this long: connect, headers, body (default 10)")
    group.addoption("--ctk-max-body-mb", metavar="MIB", type=float, default=None,
                    help="an answer whose body is larger, once decompressed, is cut off and fails (default 32)")
    group.addoption("--header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="request header sent with every request (repeatable)")
    group.addoption("--insecure", action="store_true", default=False, help="do not verify TLS certificates")
    group.addoption("--keep", action="store_true", default=False, help="leave the resources the run created")
    group.addoption("--ctk-report", metavar="DIR", default="reports/latest",
                    help="where summary.json, report.html and the certification pack are written")
    group.addoption("--allure-append", action="store_true", default=False,
                    help="keep the results already in --alluredir (by default a run starts from an empty one)")
    group.addoption("--callback-host", metavar="HOST", default=None,
                    help="address the system under test can reach this machine on, for hub event callbacks "
                         "(automatic on 127.0.0.1 for a loopback server)")
    group.addoption("--ctk-strict", action="store_true", default=False,
                    help="spec-tier deviations fail the run (by default they are reported beside the CTK verdict)")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # Each suite must run on one worker, in order: one declaration file is one xdist scope.
    # (xdist workers do not see a loadgroup chosen here, so its group suffixes would be missing.)
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") in ("no", "load", "loadgroup"):
        config.option.dist = "loadfile"


@pytest.hookimpl(tryfirst=True)  # before Hypothesis's plugin loads a --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    if fuzz_selected(config) or config.getoption("hypothesis_profile", None) == "thorough":
        importlib.import_module("harness.fuzz.machine")  # registers the ``thorough`` profile
    config.addinivalue_line("markers", "ctk: a request of an official CTK collection (CTK tier)")
    config.addinivalue_line("markers", "fuzz: Hypothesis fuzzing of list filters (opt-in: -m fuzz)")
    config.addinivalue_line("markers", "spec: a spec-tier scenario beyond the kits (deviations fail only with --ctk-strict)")
    for api_id in tmfapis.API_IDS:
        config.addinivalue_line("markers", f"{api_id}: tests of {tmfapis.API_NAMES[api_id]}")
    for folder in FOLDERS:
        config.addinivalue_line("markers", f"folder_{folder}: requests of the kit's {folder} folder")
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, name)
    try:
        settings = _settings(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    context = RunContext(config=config, settings=settings)
    config.stash[CONTEXT_KEY] = context
    context.authenticate()
    if config.getoption("callback_host"):
        context.callback_listener("")  # a host it cannot bind is a usage error before any request
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(RecordCollector(context), "ctk-record-collector")


def _base_url_option(config: pytest.Config) -> str | None:
    """pytest-base-url's order: command line, then ini ``base_url``, then ``PYTEST_BASE_URL``."""
    return config.getoption("base_url") or config.getini("base_url") or os.environ.get("PYTEST_BASE_URL") or None


def _settings(config: pytest.Config) -> RunSettings:
    declarations = _declarations(config)

    def problem(api_id: str, resource: str, payloads: tuple[Any, ...]) -> str | None:
        for declaration in declarations.get(api_id, []):
            try:
                found = payload_problem(declaration.resource(resource), payloads)
            except StopIteration:
                found = f"the {api_id} suite does not create {resource}"
            if found:
                return f"{found} (suite {declaration.path})"
        return None

    config_path = config.getoption("ctk_config")
    return settings_from(
        base_url=_base_url_option(config),
        api_urls=config.getoption("api_url"),
        headers=config.getoption("header"),
        insecure=config.getoption("insecure"),
        config_path=Path(config_path) if config_path else None,
        payload_problem=problem,
        timeout=config.getoption("ctk_timeout"),
        max_body_mb=config.getoption("ctk_max_body_mb"),
    )


def _declarations(config: pytest.Config) -> dict[str, list[SuiteDeclaration]]:
    """API id -> the declarations its payloads must suit: those the run collects, else the packaged one."""
    found: dict[str, list[SuiteDeclaration]] = {}
    for path in [*_collected_declarations(config), *sorted(SUITES_DIR.glob("*/ctk*.yaml"))]:
        try:
            declaration = load_declaration(path)
        except DeclarationError:
            continue  # reported as a collection error of that file
        known = found.setdefault(declaration.api_id, [])
        if path.parent.parent != SUITES_DIR or not known:
            known.append(declaration)
    return found


def _collected_declarations(config: pytest.Config) -> list[Path]:
    """The suite declarations under the paths given on the command line, found as ``pytest_collect_file`` finds them."""
    found: list[Path] = []
    for arg in config.args:
        path = config.invocation_params.dir / arg.split("::")[0]
        # a suite file, a suite folder, a suites folder, or a project holding one (no deeper: no walk of a whole tree)
        patterns = ("ctk*.yaml", "*/ctk*.yaml", "suites/*/ctk*.yaml", "*/suites/*/ctk*.yaml")
        candidates = [path] if path.is_file() else sorted(c for pattern in patterns for c in path.glob(pattern)) if path.is_dir() else []
        found += [c.resolve() for c in candidates if _is_declaration(c) and c.resolve().parent.parent != SUITES_DIR]
    return found


def _is_declaration(path: Path) -> bool:
    return path.suffix == ".yaml" and path.name.startswith("ctk") and path.parent.parent.name == "suites"


@dataclass(frozen=True, slots=True, eq=False)
class RecordCollector:
    """Gathers the records in the controller (or the only process), whatever worker ran the items."""

    context: RunContext

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if not isinstance(value, dict):
                continue
            if name == RECORD_PROPERTY and report.when == "call":
                self.context.records.setdefault(value["api"], {})[value["index"]] = value["record"]
                self.context.suites[value["api"]] = value["suite"]
                if value["record"]["folder"] != SPEC_FOLDER:
                    self._progress(value["api"], value["suite"])
            elif name == CLEANUP_PROPERTY and report.when == "teardown" and value["left"]:
                self.context.left.setdefault(value["api"], []).extend(value["left"])

    def _progress(self, api_id: str, suite: dict[str, Any]) -> None:
        """Under xdist, one line per API once all its kit requests ran (alone, pytest's line per file does it)."""
        kit = [r for r in self.context.records[api_id].values() if r["folder"] != SPEC_FOLDER]
        reporter = self.context.config.pluginmanager.get_plugin("terminalreporter")
        if len(kit) != suite["planned"] or reporter is None or not self.context.config.getoption("numprocesses", None):
            return
        failed = sum(request_outcome(record) == "failed" for record in kit)
        reporter.write("\n")  # xdist's dots do not end their line
        reporter.write_line(f"{api_id} {suite['collection']}: {len(kit)}/{suite['planned']} kit requests run, {failed} failed")


LOG_HANDLERS = ("log_file_handler", "log_cli_handler", "caplog_handler", "report_handler")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Every log line pytest keeps or prints (--log-file, live logs, captured logs) through the redactor."""
    logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    context = session.config.stash.get(CONTEXT_KEY, None)
    if logging_plugin is None or context is None:
        return
    for name in LOG_HANDLERS:
        handler = getattr(logging_plugin, name, None)
        if handler is not None:
            handler.addFilter(context.log_filter)


def pytest_report_collectionfinish(config: pytest.Config, items: list[pytest.Item]) -> list[str]:
    """The target, shown once the run holds kit requests: a pytest run without the suites prints nothing."""
    return run_context(config).target_lines() if any(map(_is_kit_item, items)) else []


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CtkFile | None:
    if _is_declaration(file_path):
        return CtkFile.from_parent(parent, path=file_path)
    return None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fuzz suite (and Hypothesis with it) is imported only when ``-m`` names fuzz."""
    if collection_path == FUZZ_DIR and not fuzz_selected(config):
        return True
    return None


def fuzz_selected(config: pytest.Config) -> bool:
    return "fuzz" in (config.getoption("markexpr") or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    context = run_context(config)
    wants_server = context.embedded and any(_is_kit_item(item) for item in items)
    if wants_server and not config.pluginmanager.hook.pytest_ctk_embedded_server.get_hookimpls():
        raise pytest.UsageError(NO_SERVER)


def _is_kit_item(item: pytest.Item) -> bool:
    return isinstance(item.parent, CtkFile)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    context = run_context(config)
    if hasattr(config, "workerinput"):
        context.close()
        return
    target = run_target(context.settings.base_url, context.embedded_url, context.settings.api_urls, context.records)
    context.close()
    if not context.records:
        return
    if "hypothesis" not in sys.modules and config.pluginmanager.has_plugin(HYPOTHESIS_PLUGIN):
        # Its terminal summary imports all of Hypothesis (~0.5 s) to report fuzzing this run did not do.
        config.pluginmanager.unregister(name=HYPOTHESIS_PLUGIN)
    summary = build_summary(context.records, context.suites, context.left, target, context.started)
    for api_id, block in fuzz_blocks(fuzz_outcomes(config)).items():
        summary["apis"][api_id]["fuzz"] = block
    summary = context.redactor.value(summary)
    report_dir = context.report_dir
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    config.stash[SUMMARY_KEY] = (report_dir, summary)
    config.hook.pytest_ctk_run_done(config=config, summary=summary, report_dir=report_dir)


SUMMARY_KEY = pytest.StashKey[tuple[Path, RunJson]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    stored = config.stash.get(SUMMARY_KEY, None)
    if stored is None:
        return
    report_dir, summary = stored
    terminalreporter.section("CTK run record")
    for api_id, entry in summary["apis"].items():
        totals = entry["totals"]
        terminalreporter.write_line(
            f"{api_id} {entry['collection']}: {entry['verdict']} ({totals['requests']} requests, "
            f"{totals['failed_requests']} failed; {totals['assertions']} assertions, {totals['failed_assertions']} failed)"
        )
        spec = entry.get("spec")
        if spec and spec["checks"]:
            terminalreporter.write_line(f"  spec tier: {spec['verdict']} ({spec['checks']} checks, {spec['deviations']} deviations)")
        for line in entry.get("undeleted", []):
            terminalreporter.write_line(f"  not deleted: {line}")
    terminalreporter.write_line(f"run record: {report_dir / 'summary.json'}")


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    """The root URL of the system under test (the embedded server's when none was given)."""
    return run_context(request.config).base_url()


@pytest.fixture(scope="session")
def api_roots(request: pytest.FixtureRequest) -> dict[str, str]:
    """API id -> absolute API root URL ending with ``/``."""
    context = run_context(request.config)
    return {api_id: context.api_root(api_id) for api_id in tmfapis.API_IDS}


@pytest.fixture(scope="session")
def ctk_redactor(request: pytest.FixtureRequest) -> Redactor:
    """The run's one redactor: every secret it knows (headers and their parts, ${ENV} values, URL userinfo) masked."""
    return run_context(request.config).redactor


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Every test report (failure text, captured output and logs) through the redactor, before any reporter reads it."""
    outcome = yield
    context = item.config.stash.get(CONTEXT_KEY, None)
    if context is not None:
        redact_report(outcome.get_result(), context.redactor)


def redact_report(report: pytest.TestReport, redactor: Redactor) -> None:
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = redactor.text(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]
    report.user_properties = [(name, redactor.value(value)) for name, value in report.user_properties]  # junit writes them


@pytest.fixture(scope="session")
def http_session(request: pytest.FixtureRequest) -> requests.Session:
    """A ``requests.Session`` with the run's headers, TLS verification, proxies and timeout."""
    return run_context(request.config).http_session()


def pytest_unconfigure(config: pytest.Config) -> None:
    context = config.stash.get(CONTEXT_KEY, None)
    if context is not None:
        context.close()
