"""Secret redaction shared by the run record, failure messages and every report.

A header is secret when its name looks like a credential (Authorization, Cookie, X-API-Key,
anything with token, secret, password or key in it); its value is secret wherever it appears, and
so is each part of it (the token after ``Bearer``, a cookie's value, Basic credentials decoded), since
a server may echo the bare token. Values expanded from ``${ENV}`` in the configuration are secret
wherever they appear, and so is the user information of any URL (``http://user:password@host``).
All are replaced by ``***``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from harness.record import CheckResult, Exchange, RequestRecord
from harness.urls import query_value

__all__ = ["MASK", "RedactingFilter", "Redactor", "header_secrets", "is_secret_header", "url_secrets"]

MASK = "***"
SECRET_HEADER = re.compile(r"authorization|cookie|api[-_]?key|token|secret|passw|session|credential", re.IGNORECASE)
URL_USERINFO = re.compile(r"(?<=://)[^\s/?#@'\"<>]+@")
VALUE_PARTS = re.compile(r"[\s,;]+")
SHORTEST_PART = 4  # shorter parts of a header value ("1", "en") would mask ordinary text


def is_secret_header(name: str) -> bool:
    """True for headers whose value is a credential (``Authorization``, ``X-API-Key``, ``Cookie``...)."""
    return bool(SECRET_HEADER.search(name))


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """The secret values of ``headers``: each secret header's value and its parts, which a server may echo alone."""
    found: list[str] = []
    for name, value in headers.items():
        if not is_secret_header(name):
            continue
        found.append(value)
        parts = VALUE_PARTS.split(value.strip())
        if len(parts) > 1 and parts[0].isalpha():  # an auth scheme (Bearer, Basic...), not a secret
            scheme, *parts = parts
            if scheme.lower() == "basic":
                parts += _basic_credentials(parts[0])
        parts += [value for _, _, value in (part.partition("=") for part in parts) if value.strip("=")]  # a=b: b
        found += [part for part in parts if len(part) >= SHORTEST_PART]
    return found


def url_secrets(urls: Iterable[str | None]) -> list[str]:
    """The credentials written into URLs (``http://user:password@host``), as given and as sent in Basic auth."""
    found: list[str] = []
    for url in filter(None, urls):
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            continue
        userinfo = parts.netloc.rpartition("@")[0]
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        found += [userinfo, f"{user}:{password}", password, *header_secrets({"Authorization": f"Basic {basic}"})]
    return [value for value in found if len(value) >= SHORTEST_PART]


def _basic_credentials(encoded: str) -> list[str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return []
    return [decoded, decoded.partition(":")[2]]


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces known secret values and secret header values by ``***``."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_values(cls, values: Iterable[str]) -> Redactor:
        # Longest first, so a secret containing another is masked whole.
        unique = set()
        for value in filter(None, values):
            # The forms a value takes in a URL query or a JSON body are secret too.
            unique |= {value, quote(value, safe=""), query_value(value), quote_plus(value),
                       json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        return cls(tuple(sorted(unique, key=len, reverse=True)))

    def add(self, value: str) -> None:
        """Mask ``value`` too from now on, wherever this redactor is held (a token obtained during the run)."""
        secrets = {*self.secrets, *Redactor.from_values([value]).secrets}
        object.__setattr__(self, "secrets", tuple(sorted(secrets, key=len, reverse=True)))

    def text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return URL_USERINFO.sub(MASK + "@", text) if "@" in text else text

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        # a server may echo a secret in a header's name too
        return {self.text(name): MASK if is_secret_header(name) else self.text(value) for name, value in headers.items()}

    def value(self, value: Any) -> Any:
        """Any JSON-like value with secrets masked in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def exchange(self, exchange: Exchange) -> Exchange:
        optional = self._optional
        return replace(
            exchange,
            url=self.text(exchange.url),
            request_headers=self.headers(exchange.request_headers),
            request_body=optional(exchange.request_body),
            response_headers=self.headers(exchange.response_headers),
            response_body=optional(exchange.response_body),
            error=optional(exchange.error),
        )

    def check(self, check: CheckResult) -> CheckResult:
        return replace(check, name=self.text(check.name), message=self.text(check.message))

    def record(self, record: RequestRecord) -> RequestRecord:
        return replace(
            record,
            url=self.text(record.url),
            exchange=self.exchange(record.exchange) if record.exchange else None,
            checks=[self.check(check) for check in record.checks],
            skipped_reason=self._optional(record.skipped_reason),
        )

    def _optional(self, text: str | None) -> str | None:
        return None if text is None else self.text(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in log records (urllib3 logs request lines, query strings included)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.redactor.text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
