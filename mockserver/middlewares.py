"""Middlewares: the Host/Origin guard, and the dev-stub options (latency, API key, 503 share).

``/health`` passes every one of them: a probe sees no data and must not be slowed, failed or locked.
"""

from __future__ import annotations

import asyncio
import hmac
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from yarl import URL

from mockserver.addresses import ip_literal, is_local, is_local_name
from mockserver.config import ServerConfig
from mockserver.errors import ApiError

__all__ = ["HEALTH_PATH", "optional_middlewares", "request_guard"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HEALTH_PATH = "/health"
ANY = "*"


def _host_name(authority: str) -> str | None:
    """The lower-case host name of a Host header or an origin's authority, or None if it is not one."""
    try:
        host = URL(f"http://{authority}").host
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def _own_names(config: ServerConfig) -> frozenset[str]:
    names = {config.host.lower(), *(entry.lower() for entry in config.allowed_hosts)}
    if config.public_url:
        names.add((URL(config.public_url).host or "").lower())
    return frozenset(names)


def _is_own_host(name: str, own: frozenset[str]) -> bool:
    # A rebinding page's Host is the attacker's own name; IP literals of this machine cannot be one.
    address = ip_literal(name)
    return name in own or is_local_name(name) or (address is not None and is_local(address))


MAX_HOSTS_REMEMBERED = 256


def _shown(text: str) -> str:
    return ascii(text[:200])


def request_guard(config: ServerConfig) -> Any:
    """Refuse requests for another Host (421) or from a foreign Origin (403): DNS rebinding and CSRF."""
    own = _own_names(config)
    any_host = ANY in config.allowed_hosts
    origins = frozenset(origin.lower().rstrip("/") for origin in config.allowed_origins)

    hosts_seen: dict[str, bool] = {}  # Host header -> served here; a client sends the same few again and again

    def serves(host: str) -> bool:
        known = hosts_seen.get(host)
        if known is None:
            name = _host_name(host)
            known = name is not None and _is_own_host(name, own)
            if len(hosts_seen) < MAX_HOSTS_REMEMBERED:
                hosts_seen[host] = known
        return known

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == HEALTH_PATH:
            return await handler(request)
        host = request.headers.get("Host")
        if host is not None and not any_host and not serves(host):
            raise ApiError(
                421,
                f"Host {_shown(host)} is not served here; the server answers to its own names"
                " (--allow-host adds others).",
            )
        origin = request.headers.get("Origin")
        if origin is not None and ANY not in origins and origin.lower().rstrip("/") not in origins:
            url = URL(origin) if origin.startswith(("http://", "https://")) else None
            name = _host_name(url.raw_authority) if url is not None else None
            if name is None or not _is_own_host(name, own):
                raise ApiError(
                    403, f"Origin {_shown(origin)} is not allowed to call this server (--allow-origin)."
                )
        return await handler(request)

    return guard


def optional_middlewares(config: ServerConfig) -> list[Any]:
    """The dev-stub middlewares the configuration asks for: latency, API key, failure rate."""
    middlewares: list[Any] = []
    if config.latency_ms:
        delay = config.latency_ms / 1000

        @web.middleware
        async def add_latency(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path != HEALTH_PATH:
                await asyncio.sleep(delay)
            return await handler(request)

        middlewares.append(add_latency)
    if config.api_key:
        expected = config.api_key.encode("utf-8")

        @web.middleware
        async def require_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path == HEALTH_PATH:
                return await handler(request)
            given = request.headers.get("X-API-Key", "")
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            candidates = [given] + ([token.strip()] if scheme.lower() == "bearer" else [])
            if not any(
                hmac.compare_digest(c.encode("utf-8", "surrogateescape"), expected) for c in candidates
            ):
                raise ApiError(
                    401,
                    "A valid API key is required in X-API-Key or Authorization: Bearer.",
                    {"WWW-Authenticate": "Bearer"},
                )
            return await handler(request)

        middlewares.append(require_api_key)
    if config.fail_rate:
        chance = random.Random()

        @web.middleware
        async def fail_sometimes(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path != HEALTH_PATH and chance.random() < config.fail_rate:
                raise ApiError(503, "The server is configured to fail this share of requests; retry later.")
            return await handler(request)

        middlewares.append(fail_sometimes)
    return middlewares
