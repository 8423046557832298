"""The run's settings from the command line, the ini file, the environment and ``--ctk-config``.

Every problem is a ``ConfigError`` with one sentence naming the option, file or key; the plugin
turns it into a ``pytest.UsageError`` before any request is sent.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

import tmfapis
from harness.errors import ConfigError
from harness.http import DEFAULT_MAX_BODY_MB, DEFAULT_TIMEOUT_S
from harness.urls import api_root, url_problem, with_slash

__all__ = ["ConfigError", "OAuth2Settings", "RunSettings", "expand_env", "parse_header", "read_config_file", "settings_from"]

TOP_KEYS = ("base_url", "headers", "timeout", "max_body_mb", "verify", "proxies", "apis", "auth")
API_KEYS = ("url", "payloads")
OAUTH2_KEYS = ("token_url", "client_id", "client_secret", "scope")
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


def _unknown(keys: Sequence[str], known: Sequence[str], where: str) -> None:
    for key in keys:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}; expected one of {', '.join(known)}")


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
    data = read_config_file(config_path) if config_path else {}
    where = f"--ctk-config {config_path}"
    _unknown(list(data), TOP_KEYS, where)
    data = expand_env(data, where, secrets)

    file_base = data.get("base_url")
    if file_base is not None:
        check_url(file_base, f"{where}: base_url")
    if base_url:
        check_url(base_url, "--base-url")

    roots: dict[str, str] = {}
    payloads: dict[str, dict[str, tuple[Mapping[str, Any], ...]]] = {}
    apis = data.get("apis") or {}
    if not isinstance(apis, dict):
        raise ConfigError(f"{where}: apis must be a mapping of API ids (tmf629...) to settings")
    for api_id, entry in apis.items():
        at = f"{where}: apis.{api_id}"
        if api_id not in tmfapis.API_IDS:
            raise ConfigError(f"{at}: unknown API; known: {', '.join(tmfapis.API_IDS)}")
        if not isinstance(entry, dict):
            raise ConfigError(f"{at} must be a mapping with url and/or payloads")
        _unknown(list(entry), API_KEYS, at)
        if "url" in entry:
            roots[api_id] = with_slash(check_url(entry["url"], f"{at}.url"))
        payloads[api_id] = _payloads(api_id, entry.get("payloads") or {}, at, payload_problem)
    for text in api_urls:
        api_id, url = parse_api_url(text)
        roots[api_id] = url

    merged_headers: dict[str, str] = {}
    file_headers = data.get("headers") or {}
    if not isinstance(file_headers, dict) or not all(isinstance(v, str | int | float) for v in file_headers.values()):
        raise ConfigError(f"{where}: headers must be a mapping of header names to text values")
    merged_headers.update({str(name): str(value) for name, value in file_headers.items()})
    for text in headers:
        name, value = parse_header(text)
        merged_headers[name] = value

    timeout_s = _positive(timeout, "--ctk-timeout", data.get("timeout", DEFAULT_TIMEOUT_S), f"{where}: timeout", "seconds")
    body_mb = _positive(max_body_mb, "--ctk-max-body-mb", data.get("max_body_mb", DEFAULT_MAX_BODY_MB),
                        f"{where}: max_body_mb", "MiB")
    verify = data.get("verify", True)
    if isinstance(verify, str) and not Path(verify).is_file():
        raise ConfigError(f"{where}: verify names a CA bundle that does not exist: {verify}")
    if not isinstance(verify, bool | str):
        raise ConfigError(f"{where}: verify must be true, false or the path of a CA bundle")
    proxies = data.get("proxies") or {}
    if not isinstance(proxies, dict):
        raise ConfigError(f"{where}: proxies must be a mapping such as {{https: http://proxy:3128}}")
    for scheme, proxy in proxies.items():
        check_url(proxy, f"{where}: proxies.{scheme}")

    oauth2 = _oauth2(data.get("auth"), where, secrets)
    for url in [base_url or file_base, *roots.values(), *proxies.values()]:
        if isinstance(url, str) and urlsplit(url).password:
            secrets.append(urlsplit(url).password or "")  # credentials written into a URL
    return RunSettings(
        base_url=with_slash(base_url or file_base) if (base_url or file_base) else None,
        api_urls=roots,
        headers=merged_headers,
        timeout_s=timeout_s,
        max_body_mb=body_mb,
        verify=False if insecure else verify,
        proxies={str(k): str(v) for k, v in proxies.items()},
        payloads=payloads,
        secrets=tuple(secrets),
        oauth2=oauth2,
    )


def _positive(given: float | None, option: str, configured: Any, key: str, unit: str) -> float:
    """The command line's number, else the config file's: positive and finite, or a ConfigError naming its source."""
    value, where = (configured, key) if given is None else (given, option)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ConfigError(f"{where} must be a positive number of {unit}, got {value!r}")
    return float(value)


def _oauth2(auth: Any, where: str, secrets: list[str]) -> OAuth2Settings | None:
    """``auth: {oauth2: {token_url, client_id, client_secret, scope}}``; the client secret is a secret wherever it came from."""
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise ConfigError(f"{where}: auth must be a mapping such as {{oauth2: {{token_url: ..., client_id: ..., client_secret: ...}}}}")
    _unknown(list(auth), ("oauth2",), f"{where}: auth")
    entry = auth.get("oauth2")
    at = f"{where}: auth.oauth2"
    if not isinstance(entry, dict):
        raise ConfigError(f"{at} must be a mapping with token_url, client_id, client_secret and optionally scope")
    _unknown(list(entry), OAUTH2_KEYS, at)
    for key in OAUTH2_KEYS[:3]:
        if isinstance(entry.get(key), bool) or not isinstance(entry.get(key), str | int) or entry[key] == "":
            raise ConfigError(f"{at}.{key} is required and must be text")
    scope = entry.get("scope")
    if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
        scope = " ".join(scope)
    if scope is not None and not isinstance(scope, str):
        raise ConfigError(f"{at}.scope must be text or a list of texts")
    secrets.append(str(entry["client_secret"]))
    return OAuth2Settings(check_url(entry["token_url"], f"{at}.token_url"), str(entry["client_id"]),
                          str(entry["client_secret"]), scope or None)


def _payloads(
    api_id: str, entries: Any, at: str, payload_problem: Any
) -> dict[str, tuple[Mapping[str, Any], ...]]:
    if not isinstance(entries, dict):
        raise ConfigError(f"{at}.payloads must map resource names to a payload (or a list of payloads)")
    result: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for resource, value in entries.items():
        if resource not in tmfapis.api(api_id).resources:
            known = ", ".join(tmfapis.api(api_id).resources)
            raise ConfigError(f"{at}.payloads: unknown resource {resource!r}; known: {known}")
        payloads = tuple(value) if isinstance(value, list) else (value,)
        problem = payload_problem(api_id, resource, payloads) if payload_problem else None
        if problem:
            raise ConfigError(f"{at}.payloads.{resource}: {problem}")
        result[resource] = payloads
    return result
