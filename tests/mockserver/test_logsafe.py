"""Log records are rewritten so that no secret and no forged line reaches a log."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from hypothesis import given
from hypothesis import strategies as st

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


WORDS = st.sampled_from(["/a", "?q", "=", ":", "tok", "en", "Api-Key", "\n", "s3c", "r3t", "s3cr3t", "x"])
PIECES = st.lists(st.lists(WORDS, max_size=6).map("".join))


@given(PIECES)
def test_what_the_filter_leaves_alone_it_leaves_alone_in_every_piece(pieces: list[str]) -> None:
    """The access log tests the paths of many lines at once, and masks no line if all together pass."""
    logsafe.install("s3cr3t")
    try:
        if logsafe.leaves_alone("".join(pieces)):
            assert all(logsafe.leaves_alone(piece) for piece in pieces)
            assert all(logsafe.SAFE_RECORDS.masked(f"GET {piece}") == f"GET {piece}" for piece in pieces)
    finally:
        logsafe.forget("s3cr3t")


def test_an_ascii_path_is_left_alone_exactly_when_it_is_printable() -> None:
    for code in range(128):
        path = f"/a{chr(code)}b"
        assert logsafe.leaves_alone(path) == path.isprintable(), repr(path)


@given(st.text())
def test_a_text_with_a_character_that_is_not_printable_is_never_left_alone(text: str) -> None:
    if not text.isprintable():
        assert not logsafe.leaves_alone(text)
