"""The run's settings from the command line, the ini file, the environment and ``--ctk-config``.

Every problem is a ``ConfigError`` with one sentence naming the option, or the file and the key path
(``apis.tmf629.payloads.customer[1]``); the plugin turns it into a ``pytest.UsageError`` before any
request is sent. The file's shape is ``config_schema()`` (a JSON Schema, like the suite declarations');
what a schema cannot say (URLs after ``${NAME}`` expansion, a CA bundle that exists, payloads that fit
the kit) is checked here after it.

``--ctk-config`` YAML (every key optional; ``${NAME}`` is replaced by the environment variable
``NAME``, and such values are treated as secrets)::

    base_url: https://vendor.example
    headers: {Authorization: "Bearer ${VENDOR_TOKEN}"}
    timeout: 10            # seconds per request, all of it (connect, headers, body); --ctk-timeout wins
    max_body_mb: 32        # answers whose body (decompressed) is larger are cut off; --ctk-max-body-mb wins
    verify: true           # false, or the path of a CA bundle
    proxies: {https: http://proxy.example:3128}
    auth:                  # OAuth2 client credentials; the token goes only to the API origins
      oauth2: {token_url: https://idp.example/token, client_id: ctk, client_secret: "${CTK_SECRET}", scope: tmf}
    apis:
      tmf629:
        url: https://vendor.example/customerManagement/v4/
        payloads: {customer: {name: ..., engagedParty: {...}}}   # a list for several instances
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import tmfapis
from harness.errors import ConfigError
from harness.http import DEFAULT_MAX_BODY_MB, DEFAULT_TIMEOUT_S
from harness.redact import url_secrets
from harness.urls import api_root, url_problem, with_slash

__all__ = [
    "ConfigError", "OAuth2Settings", "RunSettings", "config_schema", "expand_env", "parse_header", "read_config_file",
    "schema_problem", "settings_from",
]

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class OAuth2Settings:
    """OAuth2 client credentials (RFC 6749 section 4.4): where to get a token and with what."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Everything a run needs to reach the servers, validated."""

    base_url: str | None = None
    api_urls: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_body_mb: float = DEFAULT_MAX_BODY_MB
    verify: bool | str = True
    proxies: Mapping[str, str] = field(default_factory=dict)
    payloads: Mapping[str, Mapping[str, tuple[Mapping[str, Any], ...]]] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    oauth2: OAuth2Settings | None = None

    def api_root(self, api_id: str, base_url: Callable[[], str]) -> str:
        """The absolute root of one API, ending with ``/``: ``--api-url`` wins, else base URL + standard path.

        ``base_url`` is asked only when the API has no URL of its own (finding it may start a server).
        """
        if api_id in self.api_urls:
            return self.api_urls[api_id]
        return api_root(base_url(), tmfapis.api(api_id).base_path)


def check_url(url: Any, where: str) -> str:
    """An absolute http(s) URL, or a ConfigError naming ``where``."""
    if not isinstance(url, str):
        raise ConfigError(f"{where} must be a URL string, got {url!r}")
    problem = url_problem(url)
    if problem:
        raise ConfigError(f"{where} {problem}: {url!r}")
    return url


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` from ``--header``."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or any(char.isspace() for char in name.strip()):
        raise ConfigError(f"--header {text!r} is not of the form 'Name: value'")
    return name.strip(), value.strip()


def parse_api_url(text: str) -> tuple[str, str]:
    """``tmf629=URL`` from ``--api-url``."""
    api_id, equals, url = text.partition("=")
    api_id = api_id.strip().lower()
    if not equals:
        raise ConfigError(f"--api-url {text!r} is not of the form 'tmf629=URL'")
    if api_id not in tmfapis.API_IDS:
        raise ConfigError(f"--api-url names unknown API {api_id!r}; known: {', '.join(tmfapis.API_IDS)}")
    return api_id, with_slash(check_url(url.strip(), f"--api-url {api_id}"))


def expand_env(value: Any, where: str, secrets: list[str]) -> Any:
    """Replace ``${NAME}`` in every string of ``value``; expanded values are added to ``secrets``."""
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where} uses ${{{name}}}, but the environment variable {name} is not set")
            secrets.append(os.environ[name])
            return os.environ[name]

        return ENV_REFERENCE.sub(substitute, value)
    if isinstance(value, dict):
        return {key: expand_env(item, f"{where}.{key}", secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, f"{where}[{index}]", secrets) for index, item in enumerate(value)]
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    """The ``--ctk-config`` file as a mapping, or a ConfigError naming the file."""
    import yaml  # only in runs given a configuration file

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--ctk-config {path}: cannot read it ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"--ctk-config {path}: not valid YAML{line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--ctk-config {path}: the top level must be a mapping of settings")
    return data


@cache
def config_schema() -> dict[str, Any]:
    """The JSON Schema of a ``--ctk-config`` file; ``x-expected`` says in words what a key must be, ``x-unknown``
    what an unlisted key of a mapping is called (an API, a resource), so every error names its key path."""
    text = {"type": ["string", "integer"], "minLength": 1, "x-expected": "text"}
    url = {"type": "string", "x-expected": "a URL string"}
    payload = {"type": "object", "x-expected": "a payload (a mapping of attributes)"}

    def mapping(properties: dict[str, Any], expected: str, unknown: str = "key",
                nullable: bool = True) -> dict[str, Any]:
        return {"type": ["object", "null"] if nullable else "object", "properties": properties,
                "additionalProperties": False, "x-expected": expected, "x-unknown": unknown}

    def api(api_id: str) -> dict[str, Any]:
        payloads = {"type": ["object", "array"], "items": payload,
                    "x-expected": payload["x-expected"] + " or a list of them"}
        return mapping({
            "url": url,
            "payloads": mapping({name: payloads for name in tmfapis.api(api_id).resources},
                                "a mapping of resource names to a payload (or a list of payloads)", "resource"),
        }, "a mapping with url and/or payloads", nullable=False)

    oauth2 = mapping({
        "token_url": url, "client_id": text, "client_secret": text,
        "scope": {"type": ["string", "array"], "items": {"type": "string", "x-expected": "text"},
                  "x-expected": "text or a list of texts"},
    }, "a mapping with token_url, client_id, client_secret and optionally scope", nullable=False)
    oauth2["required"] = ["token_url", "client_id", "client_secret"]
    auth = mapping({"oauth2": oauth2},
                   "a mapping such as {oauth2: {token_url: ..., client_id: ..., client_secret: ...}}")
    auth["required"] = ["oauth2"]
    return mapping({
        "base_url": {**url, "type": ["string", "null"]},
        "headers": {"type": ["object", "null"],
                    "additionalProperties": {"type": ["string", "number"], "x-expected": "text"},
                    "x-expected": "a mapping of header names to text values"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "x-expected": "a positive number of seconds"},
        "max_body_mb": {"type": "number", "exclusiveMinimum": 0, "x-expected": "a positive number of MiB"},
        "verify": {"type": ["boolean", "string"], "x-expected": "true, false or the path of a CA bundle"},
        "proxies": {"type": ["object", "null"], "additionalProperties": url,
                    "x-expected": "a mapping such as {https: http://proxy:3128}"},
        "auth": auth,
        "apis": mapping({api_id: api(api_id) for api_id in tmfapis.API_IDS},
                        "a mapping of API ids (tmf629...) to settings", "API"),
    }, "a mapping of settings", nullable=False)


def key_path(location: Iterable[Any]) -> str:
    """``apis.tmf629.payloads.customer[0]``: where in a file a value is."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")


def schema_problem(data: Any) -> str | None:
    """The first way ``data`` breaks the config schema, in one sentence naming the key path; None when it fits."""
    import jsonschema  # only where a configuration file is read

    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(config_schema()).iter_errors(data))
    if error is None:
        return None
    path, schema, value = key_path(error.absolute_path), error.schema, error.instance
    if error.validator == "additionalProperties":
        unknown = next(key for key in value if key not in schema["properties"])
        known = ", ".join(schema["properties"])
        return f"{path + ': ' if path else ''}unknown {schema['x-unknown']} {unknown!r}; expected one of {known}"
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in value)
        return f"{key_path([*error.absolute_path, missing])} is required"
    return f"{path} must be {schema['x-expected']}, got {value!r}"


def settings_from(
    *,
    base_url: str | None,
    api_urls: Sequence[str],
    headers: Sequence[str],
    insecure: bool,
    config_path: Path | None,
    payload_problem: Any = None,
    timeout: float | None = None,
    max_body_mb: float | None = None,
) -> RunSettings:
    """Merge command line and config file (the command line wins) into validated ``RunSettings``.

    ``payload_problem(api_id, resource, payloads) -> str | None`` validates configured payloads.
    """
    secrets: list[str] = []
    where = f"--ctk-config {config_path}"
    data = _config_file(config_path, secrets) if config_path else {}
    if base_url:
        check_url(base_url, "--base-url")
    roots: dict[str, str] = {}
    payloads: dict[str, dict[str, tuple[Mapping[str, Any], ...]]] = {}
    for api_id, entry in (data.get("apis") or {}).items():
        if "url" in entry:
            roots[api_id] = with_slash(check_url(entry["url"], f"{where}: apis.{api_id}.url"))
        payloads[api_id] = _payloads(api_id, entry.get("payloads") or {}, f"{where}: apis.{api_id}", payload_problem)
    roots.update(parse_api_url(text) for text in api_urls)
    merged_headers = {str(name): str(value) for name, value in (data.get("headers") or {}).items()}
    merged_headers.update(parse_header(text) for text in headers)
    proxies = {str(scheme): check_url(proxy, f"{where}: proxies.{scheme}")
               for scheme, proxy in (data.get("proxies") or {}).items()}
    verify = data.get("verify", True)
    if isinstance(verify, str) and not Path(verify).is_file():
        raise ConfigError(f"{where}: verify names a CA bundle that does not exist: {verify}")
    chosen_base: str | None = base_url or data.get("base_url")
    secrets += url_secrets([chosen_base, *roots.values(), *proxies.values()])  # credentials written into a URL
    oauth2 = _oauth2(data.get("auth"), where, secrets)
    return RunSettings(
        base_url=with_slash(chosen_base) if chosen_base else None,
        api_urls=roots,
        headers=merged_headers,
        timeout_s=_positive(timeout, "--ctk-timeout", data.get("timeout", DEFAULT_TIMEOUT_S), f"{where}: timeout",
                            "seconds"),
        max_body_mb=_positive(max_body_mb, "--ctk-max-body-mb", data.get("max_body_mb", DEFAULT_MAX_BODY_MB),
                              f"{where}: max_body_mb", "MiB"),
        verify=False if insecure else verify,
        proxies=proxies,
        payloads=payloads,
        secrets=tuple(secrets),
        oauth2=oauth2,
    )


def _config_file(path: Path, secrets: list[str]) -> dict[str, Any]:
    """The ``--ctk-config`` file, checked against the schema, ``${NAME}`` expanded and its URLs checked."""
    where = f"--ctk-config {path}"
    data = read_config_file(path)
    problem = schema_problem(data)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    data = dict(expand_env(data, where, secrets))
    if data.get("base_url") is not None:
        check_url(data["base_url"], f"{where}: base_url")
    return data


def _positive(given: float | None, option: str, configured: Any, key: str, unit: str) -> float:
    """The command line's number, else the config file's: positive and finite, or a ConfigError naming its source."""
    value, where = (configured, key) if given is None else (given, option)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ConfigError(f"{where} must be a positive number of {unit}, got {value!r}")
    return float(value)


def _oauth2(auth: Mapping[str, Any] | None, where: str, secrets: list[str]) -> OAuth2Settings | None:
    """``auth: {oauth2: {token_url, client_id, client_secret, scope}}`` (checked by the schema); the client secret
    is a secret wherever it came from."""
    if auth is None:
        return None
    entry = auth["oauth2"]
    scope = entry.get("scope")
    secrets.append(str(entry["client_secret"]))
    return OAuth2Settings(check_url(entry["token_url"], f"{where}: auth.oauth2.token_url"), str(entry["client_id"]),
                          str(entry["client_secret"]), " ".join(scope) if isinstance(scope, list) else scope or None)


def _payloads(
    api_id: str, entries: Mapping[str, Any], at: str, payload_problem: Any
) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """Each resource's payloads (resource names and shapes checked by the schema), judged by ``payload_problem``."""
    result: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for resource, value in entries.items():
        payloads = tuple(value) if isinstance(value, list) else (value,)
        problem = payload_problem(api_id, resource, payloads) if payload_problem else None
        if problem:
            raise ConfigError(f"{at}.payloads.{resource}: {problem}")
        result[resource] = payloads
    return result
