"""The pytest plugin (entry point ``tmf_ctk``): wires the harness into pytest.

Options and markers, the run's context (``settings``, ``context``), collection of suite files
(``suitefiles``, ``items``), the pre-flight (``preflight``), the run record, reports and terminal summary
(``reporting``), fuzzing outcomes (``fuzzing``), Allure (``allure``), fixtures, and the redaction of every
log and test report. It stays inert in pytest runs that collect no suite declaration: no server is started
and nothing is written. Without a base URL the run asks ``pytest_ctk_embedded_server`` for a server, started
only when a suite first needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import requests

import tmfapis
from harness.pytest import hookspecs
from harness.pytest.context import CONTEXT_KEY, NO_SERVER, RunContext, run_context
from harness.pytest.items import CtkFile, stop_lanes
from harness.pytest.settings import keep_selected_apis, run_settings, selected_apis
from harness.pytest.suitefiles import FUZZ_DIR, apis_of_items, declared_api
from harness.redact import Redactor

__all__ = ["RunContext", "run_context"]

PLUGINS = ("harness.pytest.allure", "harness.pytest.reporting", "harness.pytest.preflight", "harness.pytest.fuzzing")
FOLDERS = tuple(f"{kind}{number}" for kind in "NE" for number in range(10))  # a declaration's folder: [NE][0-9]
DEFAULT_CONCURRENCY = 8


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
    group.addoption("--api", action="append", default=[], metavar="API,API",
                    help="run only these APIs, e.g. tmf620,tmf641 (repeatable); one the system does not offer fails")
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
    group.addoption("--ctk-concurrency", metavar="N", type=int, default=DEFAULT_CONCURRENCY,
                    help="requests under way at once: APIs at different roots side by side, each in its kit's order "
                         f"(default {DEFAULT_CONCURRENCY}; 1: one at a time, in pytest's order)")
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
    selected_apis(config)  # an unknown --api is a usage error before anything else
    context = RunContext(config=config, settings=run_settings(config))
    config.stash[CONTEXT_KEY] = context
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, name)
    context.authenticate()
    if config.getoption("callback_host"):
        context.callback_listener("")  # a host it cannot bind is a usage error before any request


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
    return run_context(config).target_lines(apis_of_items(items)) if any(map(_is_kit_item, items)) else []


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """The lanes started by the first suite's setup end with the test loop, however it ends (-x, Ctrl-C)."""
    interrupted = True
    try:
        result = yield
        interrupted = False
        return result
    finally:
        stop_lanes(session, interrupted)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CtkFile | None:
    if declared_api(file_path):
        return CtkFile.from_parent(parent, path=file_path)
    return None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fuzz suite (and Hypothesis with it) is imported only when ``-m`` names fuzz."""
    if collection_path == FUZZ_DIR and not fuzz_selected(config):
        return True
    return None


def fuzz_selected(config: pytest.Config) -> bool:
    return "fuzz" in (config.getoption("markexpr") or "")


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: ``--api`` must name an API whose suite was collected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep_selected_apis(config, items)
    context = run_context(config)
    kit_apis = apis_of_items(item for item in items if _is_kit_item(item))
    if context.embedded and context.uses_base_url(kit_apis) and not config.pluginmanager.hook.pytest_ctk_embedded_server.get_hookimpls():
        raise pytest.UsageError(NO_SERVER)


def _is_kit_item(item: pytest.Item) -> bool:
    return isinstance(item.parent, CtkFile)


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
