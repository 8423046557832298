"""Settings merging and secret redaction, without a run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

import harness.config
from harness.config import ConfigError, config_schema, schema_problem, settings_from
from harness.record import CheckResult, Exchange, RequestRecord
from harness.redact import MASK, Redactor


def settings(**overrides: object) -> object:
    options: dict[str, object] = {"base_url": None, "api_urls": [], "headers": [], "insecure": False, "config_path": None}
    options.update(overrides)
    return settings_from(**options)  # type: ignore[arg-type]


def test_the_command_line_wins_over_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "ctk.yaml"
    path.write_text("base_url: http://file.example\nheaders: {X-A: file}\napis: {tmf629: {url: http://629.example/c}}\n")
    result = settings(base_url="http://cli.example", headers=["X-A: cli"], config_path=path,
                      api_urls=["tmf629=http://cli629.example/c/"])
    assert result.base_url == "http://cli.example/"  # type: ignore[attr-defined]
    assert result.headers == {"X-A": "cli"}  # type: ignore[attr-defined]
    assert result.api_root("tmf629", lambda: "http://cli.example/") == "http://cli629.example/c/"  # type: ignore[attr-defined]
    assert result.api_root("tmf681", lambda: "http://cli.example/") == (  # type: ignore[attr-defined]
        "http://cli.example/tmf-api/communicationManagement/v4/"
    )


def test_env_values_are_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTK_TOKEN", "abc123xyz")
    path = tmp_path / "ctk.yaml"
    path.write_text("headers: {X-Custom: 'Bearer ${CTK_TOKEN}'}\n")
    result = settings(config_path=path, insecure=True)
    assert result.secrets == ("abc123xyz",)  # type: ignore[attr-defined]
    assert result.verify is False  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["http://", "ftp://x.example", "x.example"])
def test_bad_base_urls_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="--base-url is not an absolute http"):
        settings(base_url=value)


@pytest.mark.parametrize("value", ["http://x.example:99999/", "http://x.example:port/", "https://[::1]:-1/"])
def test_urls_with_a_malformed_port_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="--base-url has a port that is not a number from 0 to 65535"):
        settings(base_url=value)
    with pytest.raises(ConfigError, match="--api-url tmf629 has a port that is not a number"):
        settings(api_urls=[f"tmf629={value}"])


def test_the_config_schema_is_a_json_schema_and_the_documented_example_fits_it() -> None:
    jsonschema.Draft7Validator.check_schema(config_schema())
    documented = (harness.config.__doc__ or "").split("::", 1)[1]
    assert schema_problem(yaml.safe_load(textwrap.dedent(documented))) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[1, 2]\n", "the top level must be a mapping of settings"),
        ("base_urll: http://x.example\n", ": unknown key 'base_urll'; expected one of base_url, headers,"),
        ("base_url: /relative\n", ": base_url is not an absolute http(s) URL: '/relative'"),
        ("headers: [a]\n", ": headers must be a mapping of header names to text values, got ['a']"),
        ("headers: {X-A: [1]}\n", ": headers.X-A must be text, got [1]"),
        ("timeout: 0\n", ": timeout must be a positive number of seconds, got 0"),
        ("timeout: .inf\n", ": timeout must be a positive number of seconds, got inf"),
        ("verify: 3\n", ": verify must be true, false or the path of a CA bundle, got 3"),
        ("verify: /no/such/bundle.pem\n", ": verify names a CA bundle that does not exist: /no/such/bundle.pem"),
        ("proxies: http://p.example\n", ": proxies must be a mapping such as {https: http://proxy:3128}"),
        ("proxies: {https: p.example}\n", ": proxies.https is not an absolute http(s) URL"),
        ("apis: [tmf629]\n", ": apis must be a mapping of API ids (tmf629...) to settings"),
        ("apis: {tmf999: {}}\n", ": apis: unknown API 'tmf999'; expected one of tmf"),
        ("apis: {tmf629: http://x.example/}\n", ": apis.tmf629 must be a mapping with url and/or payloads"),
        ("apis: {tmf629: {url: 7}}\n", ": apis.tmf629.url must be a URL string, got 7"),
        ("apis: {tmf629: {payloads: [1]}}\n", ": apis.tmf629.payloads must be a mapping of resource names to a payload"),
        ("apis: {tmf629: {payloads: {client: {}}}}\n", ": apis.tmf629.payloads: unknown resource 'client'; expected one of customer"),
        ("apis: {tmf629: {payloads: {customer: [{}, 2]}}}\n", ": apis.tmf629.payloads.customer[1] must be a payload"),
        ("auth: token\n", ": auth must be a mapping such as {oauth2: "),
        ("auth: {}\n", ": auth.oauth2 is required"),
        ("auth: {oauth2: {token_url: 'http://i.example/t', client_id: a, client_secret: ''}}\n",
         ": auth.oauth2.client_secret must be text, got ''"),
        ("auth: {oauth2: {token_url: 'http://i.example/t', client_id: a, client_secret: b, scope: [r, 2]}}\n",
         ": auth.oauth2.scope[1] must be text, got 2"),
    ],
)
def test_a_bad_config_file_is_one_sentence_naming_the_key_path(config: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "ctk.yaml"
    path.write_text(config, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        settings(config_path=path)
    assert str(raised.value).startswith(f"--ctk-config {path}") and message in str(raised.value), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_good_config_file_gives_its_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTK_TEST_SECRET", "s3cr3t-value")
    path = tmp_path / "ctk.yaml"
    path.write_text(
        "base_url: http://x.example\nheaders: {X-N: 7}\ntimeout: 3\nverify: false\nproxies: {https: 'http://p.example:3128'}\n"
        "auth: {oauth2: {token_url: 'http://i.example/t', client_id: 12, client_secret: '${CTK_TEST_SECRET}', scope: [r, w]}}\n"
        "apis: {tmf629: {url: 'http://c.example/v4', payloads: {customer: [{name: a}, {name: b}]}}}\n",
        encoding="utf-8",
    )
    result = settings_from(base_url=None, api_urls=[], headers=[], insecure=False, config_path=path)
    assert (result.base_url, result.headers, result.timeout_s, result.verify) == ("http://x.example/", {"X-N": "7"}, 3.0, False)
    assert result.api_urls == {"tmf629": "http://c.example/v4/"} and result.proxies == {"https": "http://p.example:3128"}
    assert result.payloads == {"tmf629": {"customer": ({"name": "a"}, {"name": "b"})}}
    assert result.oauth2 is not None and (result.oauth2.client_id, result.oauth2.scope) == ("12", "r w")
    assert result.secrets == ("s3cr3t-value", "s3cr3t-value")


def test_redactor_masks_secret_headers_values_and_encoded_forms() -> None:
    redactor = Redactor.from_values(["s3cr3t value"])
    record = RequestRecord(
        api_id="tmf629", collection="C", folder="N2", name="/Customer?name={{NAMECU01}}", description="",
        method="GET", url="http://x/customer?name=s3cr3t%20value",
        exchange=Exchange(method="GET", url="http://x/customer?name=s3cr3t+value",
                          request_headers={"Authorization": "Bearer t", "X-API-Key": "k", "Accept": "application/json"},
                          response_body='[{"name": "s3cr3t value"}]'),
        checks=[CheckResult("name is s3cr3t value", "ctk", "failed", 'expected "s3cr3t value"')],
    )
    masked = redactor.record(record)
    text = repr(masked)
    assert "s3cr3t" not in text and "Bearer t" not in text
    assert masked.exchange is not None and masked.exchange.request_headers == {
        "Authorization": MASK, "X-API-Key": MASK, "Accept": "application/json"}
    assert masked.checks[0].name == f"name is {MASK}"


def test_passwords_in_urls_are_secrets() -> None:
    result = settings(base_url="https://user:pa55word@vendor.example")
    assert "pa55word" in result.secrets  # type: ignore[attr-defined]
