"""The run's settings from pytest's options, ini and environment, and the ``--api`` selection.

The base URL is read in pytest-base-url's order whether or not that plugin is installed: the command line,
then ``PYTEST_BASE_URL``, then the ini value ``base_url``. Configured payloads are checked against the
declarations the run collects (a user's copy of a suite included), else the packaged ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest

import tmfapis
from harness.config import RunSettings, settings_from
from harness.ctk.declaration import SuiteDeclaration, load_declaration, payload_problem
from harness.errors import ConfigError, DeclarationError
from harness.pytest.suitefiles import (
    SUITES_DIR,
    api_of_item,
    apis_of_items,
    collected_suite_files,
    packaged_suite,
)

__all__ = ["base_url_option", "keep_selected_apis", "run_settings", "selected_apis", "uncollected_api"]


def base_url_option(config: pytest.Config) -> str | None:
    """pytest-base-url's order: command line, then ``PYTEST_BASE_URL``, then the ini value ``base_url``.

    (With pytest-base-url installed, the option's default already is ``PYTEST_BASE_URL``.)
    """
    return config.getoption("base_url") or os.environ.get("PYTEST_BASE_URL") or config.getini("base_url") or None


def selected_apis(config: pytest.Config) -> frozenset[str]:
    """The APIs ``--api tmf620,tmf641`` (repeatable) names; empty when it is not given. An unknown id is a usage error."""
    named = {part.strip() for value in config.getoption("api") for part in value.split(",") if part.strip()}
    unknown = sorted(named - set(tmfapis.API_IDS))
    if unknown:
        raise pytest.UsageError(f"--api names unknown API {unknown[0]!r}; known: {', '.join(tmfapis.API_IDS)}")
    return frozenset(named)


def keep_selected_apis(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--api``, deselect the harness's tests of the other APIs; naming an API whose suite the run does not
    collect is a usage error."""
    wanted = selected_apis(config)
    if not wanted:
        return
    problem = uncollected_api(config, apis_of_items(items))
    if problem and not hasattr(config, "workerinput"):  # under xdist the controller says it, once
        raise pytest.UsageError(problem)
    left_out = [item for item in items if api_of_item(item) not in (None, *wanted)]
    if left_out:
        items[:] = [item for item in items if api_of_item(item) in (None, *wanted)]
        config.hook.pytest_deselected(items=left_out)


def uncollected_api(config: pytest.Config, collected: Iterable[str]) -> str | None:
    """The usage error when ``--api`` names an API of which the run collects no suite, else None."""
    missing = sorted(selected_apis(config) - set(collected))
    return f"--api {missing[0]}: the run collects no suite of it" if missing else None


def run_settings(config: pytest.Config) -> RunSettings:
    """The settings of the run, or a one-line usage error."""
    declarations = cache(partial(_declarations, config))  # read only when the configuration holds payloads

    def problem(api_id: str, resource: str, payloads: tuple[Any, ...]) -> str | None:
        for declaration in declarations().get(api_id, []):
            try:
                found = payload_problem(declaration.resource(resource), payloads)
            except StopIteration:
                found = f"the {api_id} suite does not create {resource}"
            if found:
                return f"{found} (suite {declaration.path})"
        return None

    config_path = config.getoption("ctk_config")
    try:
        return settings_from(
            base_url=base_url_option(config),
            api_urls=config.getoption("api_url"),
            headers=config.getoption("header"),
            insecure=config.getoption("insecure"),
            config_path=Path(config_path) if config_path else None,
            payload_problem=problem,
            timeout=config.getoption("ctk_timeout"),
            max_body_mb=config.getoption("ctk_max_body_mb"),
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def _declarations(config: pytest.Config) -> dict[str, list[SuiteDeclaration]]:
    """API id -> the declarations its payloads must suit: those the run collects, else the packaged one."""
    found: dict[str, list[SuiteDeclaration]] = {}
    packaged = [path for path in map(packaged_suite, tmfapis.API_IDS) if path.exists()]
    for path in [*collected_suite_files(config), *packaged]:
        try:
            declaration = load_declaration(path)
        except DeclarationError:
            continue  # reported as a collection error of that file
        known = found.setdefault(declaration.api_id, [])
        if path.parent.parent != SUITES_DIR or not known:
            known.append(declaration)
    return found
