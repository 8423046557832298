"""Dev-stub middlewares: added latency, a required API key, a configured share of 503 answers."""

from __future__ import annotations

import asyncio
import hmac
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mockserver.config import ServerConfig
from mockserver.errors import ApiError

__all__ = ["optional_middlewares"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def optional_middlewares(config: ServerConfig) -> list[Any]:
    """The dev-stub middlewares the configuration asks for: latency, API key, failure rate."""
    middlewares: list[Any] = []
    if config.latency_ms:
        delay = config.latency_ms / 1000

        @web.middleware
        async def add_latency(request: web.Request, handler: Handler) -> web.StreamResponse:
            await asyncio.sleep(delay)
            return await handler(request)

        middlewares.append(add_latency)
    if config.api_key:
        expected = config.api_key.encode("utf-8")

        @web.middleware
        async def require_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
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
            if chance.random() < config.fail_rate:
                raise ApiError(503, "The server is configured to fail this share of requests; retry later.")
            return await handler(request)

        middlewares.append(fail_sometimes)
    return middlewares
