"""Log records are rewritten so that no secret and no forged line reaches a log."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from mockserver import logsafe


def safe(message: str, *args: object, error: BaseException | None = None) -> logging.LogRecord:
    record = logging.LogRecord("mockserver", logging.WARNING, __file__, 1, message, args, None)
    if error is not None:
        record.exc_info = (type(error), error, None)
    assert logsafe.SAFE_RECORDS.filter(record)
    return record


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("headers: Authorization: Bearer abc.def", "headers: Authorization: ***"),
        ("{'X-API-Key': 'k-123', 'Accept': '*/*'}", "{'X-API-Key': '***', 'Accept': '*/*'}"),
        ("authorization=Basic dXNlcjpwYXNz", "authorization=***"),
        ("GET /a\n2026-01-01 forged\r\x1b[31m", "GET /a\\n2026-01-01 forged\\r\\x1b[31m"),
        ("lone \ud800 and \u2028", "lone \\ud800 and \\u2028"),
    ],
)
def test_credentials_and_control_characters_are_never_logged(message: str, shown: str) -> None:
    record = safe("%s", message)
    assert record.getMessage() == shown


def test_the_configured_key_is_redacted_while_an_app_uses_it() -> None:
    logsafe.install("a-long-configured-key")
    try:
        assert safe("key %s seen", "a-long-configured-key").getMessage() == "key *** seen"
    finally:
        logsafe.forget("a-long-configured-key")
    assert safe("key %s seen", "a-long-configured-key").getMessage() == "key a-long-configured-key seen"


@pytest.mark.parametrize(
    "error",
    [
        BadHttpMessage("Invalid header value char:\n\n  b'X-API-Key: top-secret\\x00'\n   ^"),
        LineTooLong("b'top-secret" + "a" * 100 + "'", "65536"),
    ],
)
def test_parser_errors_are_one_line_without_the_request_bytes(error: Exception) -> None:
    record = safe("Error handling request from %s", "127.0.0.1", error=error)
    assert record.exc_info is None
    assert "top-secret" not in record.getMessage()
    assert record.getMessage().startswith(f"Error handling request from 127.0.0.1: {type(error).__name__} (")
    assert "\n" not in logging.Formatter().format(record)
