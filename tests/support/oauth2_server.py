"""An OAuth2 token endpoint (client credentials) and an API gateway that lets only its live tokens through.

``start_oauth2(upstream)`` serves, each on its own free 127.0.0.1 port: ``token_url``, which issues
short-lived bearer tokens to one client, and ``api_url``, a gateway in front of ``upstream`` (the
reference server) that answers 401 to a missing, unknown, expired or revoked token. Both remember
what they received, so a test can see where the token and the client secret went.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.support.loopback import forward, serve_in_thread

__all__ = ["OAuth2Servers", "start_oauth2"]

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}


@dataclass(slots=True)
class OAuth2Servers:
    """The two servers' settings and what they saw."""

    client_id: str
    client_secret: str
    lifetime_s: float
    revoke_after: int | None = None  # revoke every token issued so far after this many API requests (once)
    token_url: str = ""
    api_url: str = ""
    issued: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch seconds)
    revoked: set[str] = field(default_factory=set)
    token_requests: list[str] = field(default_factory=list)  # headers and body of every token request, as text
    api_requests: list[str] = field(default_factory=list)  # request line, headers and body of every API request
    unauthorized: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, authorization: str, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer to one request (RFC 6749 section 4.4)."""
        client = f"{self.client_id}:{self.client_secret}"
        if authorization != "Basic " + base64.b64encode(client.encode()).decode():
            return 401, {"error": "invalid_client", "error_description": "client authentication failed"}
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.issued[token] = time.time() + self.lifetime_s
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime_s}

    def admits(self, authorization: str) -> bool:
        """Whether an API request carries a live token (and counts it toward ``revoke_after``)."""
        token = authorization.removeprefix("Bearer ")
        with self.lock:
            live = authorization.startswith("Bearer ") and self.issued.get(token, 0) > time.time() and token not in self.revoked
            if not live:
                self.unauthorized += 1
            elif self.revoke_after is not None and len(self.api_requests) >= self.revoke_after:
                self.revoked |= set(self.issued)
                self.revoke_after = None
            return live


def _token_handler(servers: OAuth2Servers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            servers.token_requests.append(f"{self.requestline}\n{self.headers}\n{body}")
            status, answer = servers.issue(self.headers.get("Authorization", ""), parse_qs(body))
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _gateway_handler(servers: OAuth2Servers, upstream: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            servers.api_requests.append(f"{self.requestline}\n{self.headers}\n{body.decode(errors='replace')}")
            authorization = self.headers.get("Authorization", "")
            if not servers.admits(authorization):
                status, headers = 401, {"Content-Type": "application/json", "WWW-Authenticate": 'Bearer error="invalid_token"'}
                payload = json.dumps({"code": "401", "reason": "Unauthorized", "message": "no live bearer token",
                                      "status": "401", "@type": "Error"}).encode()
            else:
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS | {"authorization"}}
                answer = forward(self.command, upstream + self.path, data=body or None, headers=forwarded,
                                 timeout=30, allow_redirects=False)
                status, payload = answer.status_code, answer.content
                headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
                headers["X-Echo"] = authorization  # a gateway that echoes what it got: only redaction hides it
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    return Handler


@contextmanager
def start_oauth2(upstream: str, *, lifetime_s: float = 60, revoke_after: int | None = None) -> Iterator[OAuth2Servers]:
    """Serve a token endpoint and a gateway in front of ``upstream``; stop both on exit."""
    servers = OAuth2Servers("ctk-client", secrets.token_urlsafe(18), lifetime_s, revoke_after)
    with serve_in_thread(_token_handler(servers)) as token_root, serve_in_thread(_gateway_handler(servers, upstream)) as api:
        servers.token_url, servers.api_url = token_root + "/oauth2/token", api
        yield servers
