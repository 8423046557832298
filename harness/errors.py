"""Every exception the harness raises, in one tree.

HarnessError
 ├── UsageProblem           a user's input is wrong: one sentence naming the file, key or option
 │    ├── ConfigError       --ctk-config, --header, --api-url, --base-url values
 │    ├── DeclarationError  a suite declaration (collection error of that file)
 │    ├── TokenError        the OAuth2 token endpoint refused the client credentials or failed (also an OSError,
 │    │                     so a request that needed the token fails as a transport problem)
 │    └── ReportError       a run record that cannot be read or rendered
 ├── RunFailure             a test item's verdict, shown as its failure text
 │    ├── CtkFailure        a kit request with failed CTK-tier checks
 │    ├── SpecDeviation     spec-tier deviations in a strict run
 │    └── FilterMismatch    a fuzzed list answer that disagrees with the model (an AssertionError, so Hypothesis shrinks it)
 └── ScenarioSkipped        a spec scenario that cannot run on a resource
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CtkFailure",
    "DeclarationError",
    "FilterMismatch",
    "HarnessError",
    "ReportError",
    "RunFailure",
    "ScenarioSkipped",
    "SpecDeviation",
    "TokenError",
    "UsageProblem",
]


class HarnessError(Exception):
    """The base of every harness exception."""


class UsageProblem(HarnessError):
    """Wrong input from the user; the message is one sentence saying what to do."""


class ConfigError(UsageProblem):
    """A bad option or configuration value."""


class DeclarationError(UsageProblem):
    """A suite declaration that does not validate."""



class TokenError(UsageProblem, OSError):
    """No OAuth2 access token could be had: the message names the token endpoint and why."""


class ReportError(UsageProblem):
    """A run record that cannot be read or rendered."""


class RunFailure(HarnessError):
    """A test item failed; the message is its whole failure text."""


class CtkFailure(RunFailure):
    """A kit request with failed CTK-tier checks."""


class SpecDeviation(RunFailure):
    """A spec-tier scenario found deviations and the run is strict."""


class FilterMismatch(RunFailure, AssertionError):
    """A list answer disagrees with the fuzzer's model of the instances it created."""


class ScenarioSkipped(HarnessError):
    """The scenario cannot run on this resource (no payload can be built)."""
