"""Records of what a run sent, received and checked: the one source for every report.

The engine builds a ``RequestRecord`` per kit request; the run record (``summary.json``),
Allure results and the HTML report are all written from these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["BODY_LIMIT", "SPEC_FOLDER", "CheckResult", "Exchange", "Outcome", "RequestRecord", "Tier", "message_json"]

SPEC_FOLDER = "SPEC"  # the folder of spec-tier scenario records: outside the CTK totals and verdict
BODY_LIMIT = 64 * 1024  # bytes of a request or response body kept in the run record; the rest is cut with a note

Tier = Literal["ctk", "spec"]
Outcome = Literal["passed", "failed"]


@dataclass(slots=True)
class CheckResult:
    """One named check of a request, with what was expected and what came back when it failed."""

    name: str
    tier: Tier
    outcome: Outcome
    message: str = ""

    def to_json(self) -> CheckJson:
        return {"name": self.name, "tier": self.tier, "outcome": self.outcome, "message": self.message}


@dataclass(slots=True)
class Exchange:
    """One HTTP request and its response (or transport error), secrets already redacted."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    duration_ms: float = 0.0
    size_bytes: int = 0
    error: str | None = None  # refused, timeout, TLS, non-JSON: set instead of or beside status


@dataclass(slots=True)
class RequestRecord:
    """One kit request as run: where it sits in the collection, the exchange, and its checks."""

    api_id: str
    collection: str
    folder: str
    name: str
    description: str
    method: str
    url: str
    exchange: Exchange | None = None
    checks: list[CheckResult] = field(default_factory=list)
    skipped_reason: str | None = None

    @property
    def failed(self) -> bool:
        """Any check failed, of either tier."""
        return any(check.outcome == "failed" for check in self.checks)

    @property
    def outcome(self) -> RequestOutcome:
        """This request judged by ``request_outcome``, the one rule."""
        return request_outcome(self.to_json())

    def to_json(self) -> RequestJson:
        exchange = self.exchange
        return {
            "folder": self.folder,
            "name": self.name,
            "description": self.description,
            "method": self.method,
            "url": exchange.url if exchange else self.url,
            "status": exchange.status if exchange else None,
            "duration_ms": round(exchange.duration_ms, 1) if exchange else 0,
            "size_bytes": exchange.size_bytes if exchange else 0,
            "error": exchange.error if exchange else None,
            "skipped": self.skipped_reason,
            "checks": [check.to_json() for check in self.checks],
            "request": message_json(exchange.request_headers, exchange.request_body) if exchange else None,
            "response": message_json(exchange.response_headers, exchange.response_body) if exchange else None,
        }


def message_json(headers: dict[str, str], body: str | None, limit: int = BODY_LIMIT) -> dict[str, Any]:
    """Headers and body of one HTTP message for the run record, the body cut at ``limit`` UTF-8 bytes."""
    data = (body or "").encode("utf-8", "surrogatepass")
    kept = body if len(data) <= limit else data[:limit].decode("utf-8", "ignore")
    return {"headers": dict(headers), "body": kept, "body_bytes": len(data), "truncated": len(data) > limit}
