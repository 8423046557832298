"""HTTP for every tier: the one URL builder, one configured ``requests.Session`` and a ``send`` that never raises.

Transport trouble (refused connection, timeout, TLS) and unusable bodies (HTML, non-JSON) come
back as a ``Reply`` with ``problem`` set, so the checks fail with a clear message and the run goes on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from harness.record import Exchange

if TYPE_CHECKING:
    from harness.redact import Redactor

__all__ = ["NOT_JSON", "PATH_SAFE", "QUERY_SAFE", "Reply", "TimeoutSession", "resource_url", "send"]

NOT_JSON: Any = object()
EXCERPT = 200
# Characters the kit sent unencoded in query values; spaces, '+', '&', '#' and '%' are encoded.
QUERY_SAFE = "/:$'@!*,;=()~"
PATH_SAFE = "-._~:@!$'()*+,;="


def resource_url(api_root: str, resource: str, instance_id: str | None = None, query: str = "") -> str:
    """The URL of a resource's collection (or one instance) under an API root; a query in the root stays a query."""
    scheme, netloc, path, root_query, _ = urlsplit(api_root)
    path = path if path.endswith("/") else path + "/"
    path += resource + ("" if instance_id is None else "/" + quote(instance_id, safe=PATH_SAFE))
    return urlunsplit((scheme, netloc, path, "&".join(part for part in (root_query, query) if part), ""))


class TimeoutSession(requests.Session):
    """A session whose requests default to the run's timeout."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back: the redacted exchange, the status, the body text and its JSON (or ``NOT_JSON``)."""

    exchange: Exchange
    status: int | None
    text: str
    body: Any
    problem: str | None  # why there is no usable JSON body, or None

    @property
    def json_ok(self) -> bool:
        return self.problem is None


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT] + "..."


def send(
    session: requests.Session, method: str, url: str, redactor: Redactor, body: Any = None, *,
    raw: str | None = None, content_type: str = "application/json",
) -> Reply:
    """Send one request as the kit did (JSON body when given, or ``raw`` text as is) and describe the answer."""
    data = raw if raw is not None else None if body is None else json.dumps(body, ensure_ascii=False)
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = content_type
    started = time.perf_counter()
    try:
        response = session.request(method, url, data=None if data is None else data.encode(), headers=headers)
    except requests.exceptions.SSLError as exc:
        return _failed(method, url, data, redactor, started, f"TLS error talking to {url}: {_reason(exc)}")
    except requests.exceptions.Timeout:
        timeout = getattr(session, "timeout_s", None)
        return _failed(method, url, data, redactor, started, f"no response from {url} within {timeout}s")
    except requests.exceptions.ConnectionError as exc:
        return _failed(method, url, data, redactor, started, f"cannot connect to {url}: {_reason(exc)}")
    except (requests.exceptions.RequestException, ValueError, OSError) as exc:
        return _failed(method, url, data, redactor, started, f"request to {url} failed: {_reason(exc)}")
    duration_ms = (time.perf_counter() - started) * 1000
    text = _decode(response)
    parsed, problem = _parse(response, text)
    exchange = Exchange(
        method=method,
        url=response.request.url or url,
        request_headers={name: str(value) for name, value in response.request.headers.items()},
        request_body=data,
        status=response.status_code,
        response_headers=dict(response.headers),
        response_body=text,
        duration_ms=duration_ms,
        size_bytes=len(response.content),
        error=problem if parsed is NOT_JSON and text.strip() else None,
    )
    # The checks see the raw text (held values may be secrets); records are redacted when built.
    return Reply(redactor.exchange(exchange), response.status_code, text, parsed, problem)


def _decode(response: requests.Response) -> str:
    try:
        return response.content.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return response.content.decode("utf-8", errors="replace")


def _parse(response: requests.Response, text: str) -> tuple[Any, str | None]:
    if not text.strip():
        return NOT_JSON, f"the response to {response.request.method} has an empty body (status {response.status_code})"
    try:
        return json.loads(text), None
    except ValueError:
        kind = response.headers.get("Content-Type", "no Content-Type")
        return NOT_JSON, f"the body is not JSON ({kind}): {excerpt(text)!r}"


def _failed(method: str, url: str, data: str | None, redactor: Redactor, started: float, problem: str) -> Reply:
    exchange = Exchange(
        method=method,
        url=url,
        request_body=data,
        duration_ms=(time.perf_counter() - started) * 1000,
        error=problem,
    )
    return Reply(redactor.exchange(exchange), None, "", NOT_JSON, problem)


def _reason(exc: Exception) -> str:
    # requests nests the useful cause (e.g. "Connection refused") deep inside its messages.
    cause: BaseException = exc
    while cause.__cause__ is not None or (cause.args and isinstance(cause.args[0], BaseException)):
        cause = cause.__cause__ or cause.args[0]
    text = str(cause)
    if "] " in text and text.startswith("<"):
        text = text.split("] ", 1)[1]
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text
