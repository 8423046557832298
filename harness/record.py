"""Records of what a run sent, received and checked, the run record's shape, and the one outcome rule.

The engine builds a ``RequestRecord`` per kit request; the run record (``summary.json``, shaped as
``RunJson``), Allure results, junit, the terminal and the HTML report are all written from these
records, and all judge them with ``request_outcome`` and ``api_verdict``.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import (
    Any,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from harness.errors import ReportError

__all__ = [
    "BODY_LIMIT", "PAYLOAD_FAULT", "SPEC_FOLDER", "ApiJson", "CheckJson", "CheckResult", "Exchange", "FuzzBlock",
    "MessageJson", "Outcome", "RequestJson", "RequestOutcome", "RequestRecord", "RunJson", "SpecBlock", "Standing",
    "Tier", "Totals", "Verdict", "api_verdict", "check_run_record", "message_json", "payload_fault", "record_verdict",
    "request_outcome", "run_verdict", "standings", "transport_failed",
]

SPEC_FOLDER = "SPEC"  # the folder of spec-tier scenario records: outside the CTK totals and verdict
# the words that mark a failed spec check as caused by the payload sent, not by the server
PAYLOAD_FAULT = "a deviation of the payload, not of the server"
BODY_LIMIT = 64 * 1024  # bytes of a request or response body kept in the run record; the rest is cut with a note

Tier = Literal["ctk", "spec"]
Outcome = Literal["passed", "failed"]
RequestOutcome = Literal["passed", "failed", "skipped", "deviation"]
Verdict = Literal["passed", "failed", "incomplete"]


# ---- the run record's shape (summary.json): written by build_summary, read by every report ---------


class CheckJson(TypedDict):
    name: str
    tier: Tier
    outcome: Outcome
    message: str


class MessageJson(TypedDict):
    headers: dict[str, str]
    body: str | None
    body_bytes: int
    truncated: bool


class RequestJson(TypedDict):
    folder: str
    name: str
    description: str
    method: str
    url: str
    status: int | None
    duration_ms: float
    size_bytes: int
    error: str | None  # no answer (status None), or an unusable body beside a status
    skipped: str | None
    checks: list[CheckJson]
    request: NotRequired[MessageJson | None]
    response: NotRequired[MessageJson | None]


class Totals(TypedDict):
    requests: int
    failed_requests: int
    assertions: int
    failed_assertions: int


class SpecBlock(TypedDict):
    checks: int
    deviations: int  # the server's: the verdict counts these
    payload: NotRequired[int]  # failed checks the payload caused (PAYLOAD_FAULT), said apart from the server's
    verdict: Literal["conforms", "deviates"]


class FuzzFailure(TypedDict):
    target: str
    reproduction: str


class FuzzBlock(TypedDict):
    targets: list[str]
    examples: int
    failures: list[FuzzFailure]


class ApiJson(TypedDict):
    collection: str
    target: str
    verdict: Verdict
    totals: Totals
    spec: SpecBlock
    requests: list[RequestJson]
    undeleted: NotRequired[list[str]]
    fuzz: NotRequired[FuzzBlock]


class RunJson(TypedDict):
    target: str
    started: str
    duration_s: float
    apis: dict[str, ApiJson]  # the APIs whose tests ran
    not_offered: NotRequired[dict[str, str]]  # API id -> what its root answered the pre-flight (404): neither run nor failed
    preflight_failed: NotRequired[dict[str, str]]  # API id -> why its root cannot be tested: the run stopped there


Standing = Literal["certified", "failed", "incomplete", "not offered"]


# ---- the one outcome rule -------------------------------------------------------------------------


def payload_fault(check: CheckJson) -> bool:
    """Whether a failed check is the payload's fault, not the server's (its message says so)."""
    return PAYLOAD_FAULT in check["message"]


def transport_failed(request: RequestJson) -> bool:
    """No answer: the exchange broke (refused, timeout, TLS, not HTTP, body over the cap) or ended on a redirect not followed."""
    status = request["status"]
    return bool(request["error"]) and (status is None or 300 <= status < 400)


def request_outcome(request: RequestJson) -> RequestOutcome:
    """skipped; failed (a CTK-tier check failed, or a kit request got no answer); deviation (spec checks only); passed."""
    if request["skipped"]:
        return "skipped"
    failed = [check for check in request["checks"] if check["outcome"] == "failed"]
    if any(check["tier"] == "ctk" for check in failed):
        return "failed"
    if request["folder"] != SPEC_FOLDER and transport_failed(request):
        return "failed"
    return "deviation" if failed else "passed"


def api_verdict(kit_requests: Iterable[RequestJson], planned: int) -> Verdict:
    """failed when a kit request failed; incomplete when one was skipped or fewer than ``planned`` ran; else passed."""
    outcomes = [request_outcome(request) for request in kit_requests]
    if "failed" in outcomes:
        return "failed"
    return "incomplete" if len(outcomes) < planned or "skipped" in outcomes else "passed"


def run_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The whole run: failed when an API failed, incomplete when one is incomplete (or none ran), else passed."""
    seen = set(verdicts)
    if "failed" in seen:
        return "failed"
    return "incomplete" if "incomplete" in seen or not seen else "passed"


def record_verdict(run: RunJson) -> Verdict:
    """A run record's verdict: failed when the pre-flight stopped it, else ``run_verdict`` of its APIs."""
    return "failed" if run.get("preflight_failed") else run_verdict(entry["verdict"] for entry in run["apis"].values())


def standings(run: RunJson) -> dict[Standing, list[str]]:
    """Which APIs the run certified (passed), failed (at the pre-flight too), left incomplete, and found not offered."""
    found: dict[Standing, list[str]] = {"certified": [], "failed": [], "incomplete": [], "not offered": []}
    for api_id, entry in run["apis"].items():
        found["certified" if entry["verdict"] == "passed" else entry["verdict"]].append(api_id)
    found["failed"] += [api_id for api_id in run.get("preflight_failed", {}) if api_id not in run["apis"]]
    found["not offered"] += list(run.get("not_offered", {}))
    return found


# ---- reading a run record back --------------------------------------------------------------------


def check_run_record(value: object, source: str = "summary.json") -> RunJson:
    """``value`` as a ``RunJson``, or a one-line ``ReportError`` naming the first part shaped otherwise."""
    _check(value, RunJson, source, "")
    return value  # type: ignore[return-value]


def _check(value: object, kind: Any, source: str, where: str) -> None:
    at = where or "the top level"
    origin, args = get_origin(kind), get_args(kind)
    if not _fits(value, kind):
        expected = " or ".join(_noun(arg) for arg in args) if origin in (Union, types.UnionType) else _noun(kind)
        raise ReportError(f"{source}: {at} should be {expected}, not {_shown(value)}; was it written by another version?")
    if is_typeddict(kind):
        assert isinstance(value, dict)
        hints = get_type_hints(kind, include_extras=True)
        optional = {key for key, hint in hints.items() if get_origin(hint) is NotRequired}
        hints = {key: get_args(hint)[0] if key in optional else hint for key, hint in hints.items()}
        for key in sorted(value.keys() - hints.keys()):
            raise ReportError(f"{source}: {at} has the unknown key {key!r}; was it written by another version?")
        for key in sorted(hints.keys() - optional - value.keys()):
            raise ReportError(f"{source}: {at} lacks {key!r}; was it written by another version?")
        for key in value:
            _check(value[key], hints[key], source, f"{where}.{key}" if where else key)
    elif origin in (Union, types.UnionType):
        _check(value, next(arg for arg in args if _fits(value, arg)), source, where)
    elif origin is list:
        assert isinstance(value, list)
        for index, item in enumerate(value):
            _check(item, args[0], source, f"{at}[{index}]")
    elif origin is dict:
        assert isinstance(value, dict)
        for key, item in value.items():
            _check(item, args[1], source, f"{at}.{key}")


def _fits(value: object, kind: Any) -> bool:
    """Whether ``value`` has the outer type of ``kind`` (an integer is a number, a boolean is not)."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return any(_fits(value, arg) for arg in get_args(kind))
    if origin is Literal:
        return value in get_args(kind)
    if is_typeddict(kind) or origin is dict:
        return isinstance(value, dict)
    if origin is list:
        return isinstance(value, list)
    if kind is type(None):
        return value is None
    if kind in (int, float):
        return isinstance(value, int if kind is int else int | float) and not isinstance(value, bool)
    return isinstance(value, kind)


def _noun(kind: Any) -> str:
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(map(repr, get_args(kind)))
    nouns = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", type(None): "null"}
    return nouns.get(kind, "a list" if get_origin(kind) is list else "an object")


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str | int | float | bool) or value is None else type(value).__name__


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


def message_json(headers: dict[str, str], body: str | None, limit: int = BODY_LIMIT) -> MessageJson:
    """Headers and body of one HTTP message for the run record, the body cut at ``limit`` UTF-8 bytes."""
    data = (body or "").encode("utf-8", "surrogatepass")
    kept = body if len(data) <= limit else data[:limit].decode("utf-8", "ignore")
    return {"headers": dict(headers), "body": kept, "body_bytes": len(data), "truncated": len(data) > limit}
