"""What every API request passes before its handler: the Host/Origin guard and the dev-stub options
(latency, API key, 503 share), with every failure answered as a TMF error.

They are composed into each route's handler once, at start-up, rather than run as aiohttp middlewares:
a request then costs one call more than its handler, not a chain built and walked per request.
``/health`` passes none of them (``Gate()``): a probe sees no data and must not be slowed, failed or locked.
"""

from __future__ import annotations

import asyncio
import hmac
import random
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from yarl import URL

from mockserver.addresses import ip_literal, is_local, is_local_name
from mockserver.config import ServerConfig
from mockserver.errors import ApiError, error_answer

__all__ = ["Gate", "Handler", "not_allowed", "not_found"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Check = Callable[[web.Request], None]  # raises ApiError to refuse the request
ANY = "*"
MAX_HOSTS_REMEMBERED = 256


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


def _shown(text: str) -> str:
    return ascii(text[:200])


def host_and_origin_check(config: ServerConfig) -> Check:
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

    def check(request: web.Request) -> None:
        headers = request.headers
        host = headers.get("Host")
        if host is not None and not any_host and not serves(host):
            raise ApiError(
                421,
                f"Host {_shown(host)} is not served here; the server answers to its own names"
                " (--allow-host adds others).",
            )
        origin = headers.get("Origin")
        if origin is not None and ANY not in origins and origin.lower().rstrip("/") not in origins:
            url = URL(origin) if origin.startswith(("http://", "https://")) else None
            name = _host_name(url.raw_authority) if url is not None else None
            if name is None or not _is_own_host(name, own):
                raise ApiError(403, f"Origin {_shown(origin)} is not allowed to call this server (--allow-origin).")

    return check


def api_key_check(api_key: str) -> Check:
    """Refuse requests without the key in X-API-Key or Authorization: Bearer (401)."""
    expected = api_key.encode("utf-8")

    def check(request: web.Request) -> None:
        given = request.headers.get("X-API-Key", "")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        candidates = [given] + ([token.strip()] if scheme.lower() == "bearer" else [])
        if not any(hmac.compare_digest(c.encode("utf-8", "surrogateescape"), expected) for c in candidates):
            raise ApiError(
                401, "A valid API key is required in X-API-Key or Authorization: Bearer.", {"WWW-Authenticate": "Bearer"}
            )

    return check


def failure_check(fail_rate: float) -> Check:
    """Answer a share of requests 503, as a flaky vendor system would."""
    chance = random.Random()

    def check(request: web.Request) -> None:
        if chance.random() < fail_rate:
            raise ApiError(503, "The server is configured to fail this share of requests; retry later.")

    return check


class Gate:
    """Checks and a delay, composed into a handler by calling the gate with it; ``Gate()`` has none."""

    def __init__(self, checks: tuple[Check, ...] = (), delay_s: float = 0.0) -> None:
        self.checks, self.delay_s = checks, delay_s

    @classmethod
    def of(cls, config: ServerConfig) -> Gate:
        """The gate a configuration asks for: the Host/Origin guard, and the key, 503 share and latency if set."""
        checks = (
            host_and_origin_check(config),
            *([api_key_check(config.api_key)] if config.api_key else []),
            *([failure_check(config.fail_rate)] if config.fail_rate else []),
        )
        return cls(checks, config.latency_ms / 1000)

    def __call__(self, handler: Handler) -> Handler:
        """``handler`` behind the checks, with every failure answered as a TMF error."""
        checks, delay_s = self.checks, self.delay_s

        async def gated(request: web.Request) -> web.StreamResponse:
            try:
                if delay_s:
                    await asyncio.sleep(delay_s)
                for check in checks:
                    check(request)
                return await handler(request)
            except Exception as error:  # noqa: BLE001 - every failure becomes a TMF error body
                return error_answer(request, error)

        return gated


async def not_found(request: web.Request) -> web.StreamResponse:
    """The handler of a path no route serves."""
    raise ApiError(404, "No resource is served at this path.")


def not_allowed(methods: Iterable[str]) -> Handler:
    """The handler of a method a path does not serve: 405 naming the ones it does."""
    allowed = ",".join(sorted(methods))

    async def refuse(request: web.Request) -> web.StreamResponse:
        raise ApiError(405, f"{request.method} is not allowed on this path; allowed: {allowed}.", {"Allow": allowed})

    return refuse
