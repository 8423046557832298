"""Log lines that neither leak a secret nor let client input forge a line.

A filter on every logger the server writes through: control characters in a message are escaped,
Authorization and X-API-Key values and the configured key become ``***``, and a request the HTTP
parser refused is logged as one line naming the fault, never with the raw bytes it quoted.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["LOGGERS", "SAFE_RECORDS", "forget", "install", "leaves_alone"]

LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.server",
    "aiohttp.web",
    "mockserver",
    "mockserver.access",
    "mockserver.events",
)
CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")
CREDENTIAL = re.compile(r"(?i)\b(authorization|x-api-key|api-key)(['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+(\s+[^'\"\s,}]+)?")
REDACTED = "***"
# Wider than CREDENTIAL's names: a text naming none of these, or holding no ":" or "=", is never masked.
CREDENTIAL_WORDS = ("authorization", "api-key", "api_key", "apikey", "token", "secret", "password")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


class SafeRecords(logging.Filter):
    """Rewrites each record's message to its safe form; never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: Counter[str] = Counter()  # each secret, by how many running apps use it

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            fault = str(error.message).split(":")[0].strip()  # what follows quotes the request
            message = f"{message}: {type(error).__name__} ({fault}; the request's bytes are not logged)"
            record.exc_info = None
            record.exc_text = None
        record.msg = self.masked(message)
        record.args = None
        return True

    def masked(self, message: str) -> str:
        """``message`` with credentials and secrets masked and control characters escaped."""
        message = CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", message)
        for secret in self.secrets:
            message = message.replace(secret, REDACTED)
        return CONTROL.sub(_escape, message)


SAFE_RECORDS = SafeRecords()


def install(secret: str | None = None) -> None:
    """Put the filter on every logger the server uses (once), remembering ``secret`` to redact."""
    if secret:
        SAFE_RECORDS.secrets[secret] += 1
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if SAFE_RECORDS not in logger.filters:
            logger.addFilter(SAFE_RECORDS)


def forget(secret: str | None) -> None:
    """Stop redacting ``secret`` once no running app uses it any more."""
    if secret:
        SAFE_RECORDS.secrets[secret] -= 1
        if SAFE_RECORDS.secrets[secret] <= 0:
            del SAFE_RECORDS.secrets[secret]


ASCII_CONTROL = bytes([*range(0x20), 0x7F])


def _printable(text: str) -> bool:
    """``str.isprintable``, in a third less time for ASCII text (what a log's paths almost always are)."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, ASCII_CONTROL)) == len(data)
    return text.isprintable()


def leaves_alone(text: str) -> bool:
    """Whether the filter certainly leaves ``text`` as it is: a cheap test, erring on "no".

    What it leaves alone, it leaves alone in any part: true of a concatenation, true of each piece.
    """
    if not _printable(text):
        return False
    if "=" in text or ":" in text:
        lowered = text.lower()
        for word in CREDENTIAL_WORDS:
            if word in lowered:
                return False
    for secret in SAFE_RECORDS.secrets:
        if secret in text:
            return False
    return True
