"""Runs against hostile systems end in bounded time and memory, and credentials stay on their origin.

First ``send`` itself against each hostile server, then the five suites run as a vendor runs them, with
canary credentials in ``--header`` and in a ``${ENV}`` value of ``--ctk-config``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from harness.http import NOT_JSON, BoundedSession, Reply, send
from harness.redact import Redactor
from tests.support import hostile
from tests.support.hostile import Request, serve

REPO = Path(__file__).resolve().parents[2]

CANARY_HEADER = "canary-hdr-5b1e0c"
CANARY_ENV = "canary-env-93d7aa"
MIB = 1024 * 1024


def session(timeout_s: float = 2, max_body_mb: float = 1, **headers: str) -> BoundedSession:
    bounded = BoundedSession(timeout_s, int(max_body_mb * MIB))
    bounded.headers.update(headers)
    return bounded


def timed_send(bounded: BoundedSession, method: str, url: str, body: Any = None) -> tuple[Reply, float]:
    started = time.monotonic()
    reply = send(bounded, method, url, Redactor(), body)
    return reply, time.monotonic() - started


# send, one hostile answer at a time


def test_a_refused_connection_is_a_problem() -> None:
    with hostile.refused_url() as url:
        reply, _ = timed_send(session(), "GET", url + "/x")
    assert reply.status is None and reply.problem is not None and "refused" in reply.problem


@pytest.mark.parametrize("behaviour", [hostile.silent, hostile.drip], ids=["silent", "drip"])
def test_the_deadline_covers_the_whole_answer(behaviour: hostile.Behaviour) -> None:
    """A server that never answers, or drips a byte a second from the status line on, gets 2.5 s in all."""
    with serve(behaviour) as server:
        reply, elapsed = timed_send(session(timeout_s=2.5), "GET", server.url + "/x")
    assert reply.status is None and reply.problem == f"no complete answer from {server.url}/x within 2.5s"
    assert elapsed < 4


def test_a_gzip_bomb_stops_at_the_cap() -> None:
    with serve(hostile.gzip_bomb) as server:
        reply, elapsed = timed_send(session(timeout_s=30), "GET", server.url + "/x")
    assert reply.status is None and reply.problem is not None
    assert "has a body larger than 1 MiB; reading stopped there" in reply.problem, reply.problem
    assert elapsed < 10


def test_a_long_body_without_length_stops_at_the_cap() -> None:
    with serve(hostile.huge_body) as server:
        reply, _ = timed_send(session(timeout_s=30), "GET", server.url + "/x")
    assert reply.status is None and reply.problem is not None and "larger than 1 MiB" in reply.problem


def test_a_body_within_the_cap_is_read_whole() -> None:
    with serve(hostile.echo_token) as server:
        reply, _ = timed_send(session(), "POST", server.url + "/x", {"a": "b" * 1000})
    assert reply.status == 200 and reply.problem is None and reply.body["body"] == json.dumps({"a": "b" * 1000})


def test_a_redirect_to_another_origin_is_reported_and_not_followed() -> None:
    with serve(hostile.echo_token) as other, serve(hostile.redirect_to(other.url)) as server:
        bounded = session(**{"X-API-Key": CANARY_HEADER, "Authorization": f"Bearer {CANARY_HEADER}"})
        reply, _ = timed_send(bounded, "GET", server.url + "/tmf-api/x?a=1")
    assert other.requests == []
    assert reply.status == 302 and reply.body is NOT_JSON
    assert reply.problem == f"redirected (302) to another origin {other.url}/tmf-api/x?a=1; not followed with credentials"


def same_origin_redirects(request: Request, out: BinaryIO, stop: Any) -> None:
    """/307 keeps the method and body, /302 turns into a GET, /loop never ends; the rest echoes."""
    if request.path.startswith("/loop"):
        hostile.answer(out, "302 Found", b"", extra={"Location": "/loop"})
    elif request.path.startswith(("/307", "/302")):
        hostile.answer(out, f"{request.path[1:4]} Moved", b"", extra={"Location": "/final"})
    else:
        hostile.echo_token(request, out, stop)


def test_same_origin_redirects_are_followed_as_newman_does() -> None:
    with serve(same_origin_redirects) as server:
        bounded = session(**{"X-API-Key": CANARY_HEADER})
        kept, _ = timed_send(bounded, "POST", server.url + "/307", {"a": 1})
        changed, _ = timed_send(bounded, "POST", server.url + "/302", {"a": 1})
        looped, _ = timed_send(bounded, "GET", server.url + "/loop")
    assert kept.status == 200 and kept.body["body"] == '{"a": 1}' and kept.exchange.method == "POST"
    assert kept.body["headers"]["X-API-Key"] == CANARY_HEADER  # the same origin gets the credentials
    assert changed.status == 200 and changed.body["body"] == "" and changed.exchange.method == "GET"
    assert [r.path for r in server.requests[:2]] == ["/307", "/final"]
    assert looped.status is None and looped.problem == f"more than 10 redirects from {server.url}/loop"


def test_the_session_never_follows_redirects_by_itself() -> None:
    with serve(hostile.echo_token) as other, serve(hostile.redirect_to(other.url)) as server:
        response = session(**{"X-API-Key": CANARY_HEADER}).get(server.url + "/x")
    assert response.status_code == 302 and other.requests == []
