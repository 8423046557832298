"""Settings merging and secret redaction, without a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import ConfigError, settings_from
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
