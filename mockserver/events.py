"""TMF event notifications: envelopes POSTed to hub listeners in tracked background tasks.

Delivery never delays the API response: each listener gets its own task, with a timeout per attempt
and a bounded number of retries with exponential backoff. Pending tasks are cancelled at shutdown.
Every address is checked against the callback policy before connecting (a resolver that refuses, so
DNS rebinding cannot slip through), redirects are never followed, and each listener has a token
bucket: events beyond its rate are dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from ulid import ULID

from mockserver import query
from mockserver.addresses import CallbackPolicy, ip_literal
from mockserver.resources import now_text
from mockserver.store import encode_json

__all__ = ["EventDispatcher", "envelope"]

log = logging.getLogger("mockserver.events")
FIRST_BACKOFF_S = 0.1


def envelope(event_type: str, resource: str, instance: dict[str, Any]) -> dict[str, Any]:
    """The TMF event body: ``{eventId, eventTime, eventType, event: {<resource>: instance}}``."""
    return {
        "eventId": str(ULID()),
        "eventTime": now_text(),
        "eventType": event_type,
        "event": {resource: instance},
    }


class RefusedAddress(OSError):
    """A callback address the policy refuses; raised before any connection is attempted."""


class CheckingResolver(AbstractResolver):
    """Resolves names as usual, then refuses the whole answer if any address breaks the policy."""

    def __init__(self, policy: CallbackPolicy) -> None:
        self._policy = policy
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            address = ip_literal(result["host"])
            refusal = "not an IP address" if address is None else self._policy.address_refusal(
                host, address, port
            )
            if refusal is not None:
                raise RefusedAddress(f"refused: {refusal}")
        return results

    async def close(self) -> None:
        await self._resolver.close()


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second up to ``burst``; one token per event."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self) -> bool:
        """Spend a token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class EventDispatcher:
    """Sends event envelopes to matching listeners without blocking the caller."""

    def __init__(
        self,
        timeout_s: float,
        retries: int,
        policy: CallbackPolicy | None = None,
        rate: float = float("inf"),
        burst: float = float("inf"),
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._policy = policy or CallbackPolicy(server_port=0)
        self._rate = rate
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self.dropped: Counter[str] = Counter()  # events not sent, per listener id, over its rate
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the HTTP client session, whose every connection goes through the policy's resolver."""
        connector = aiohttp.TCPConnector(resolver=CheckingResolver(self._policy))
        self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)

    async def close(self) -> None:
        """Cancel pending deliveries and close the session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def policy(self) -> CallbackPolicy:
        """Where callbacks may go."""
        return self._policy

    @property
    def pending(self) -> int:
        """Deliveries not finished yet."""
        return len(self._tasks)

    def publish(self, body: dict[str, Any], listeners: list[dict[str, Any]]) -> None:
        """Schedule delivery of ``body`` to every listener whose query matches it."""
        data: bytes | None = None  # rendered once, for the first listener that wants it
        for listener in listeners:
            filters = query.parse_filters(listener.get("query") or "")
            if query.matches(body, filters) and self._within_rate(listener):
                data = data if data is not None else encode_json(body)
                task = asyncio.get_running_loop().create_task(
                    self._deliver(listener["callback"], body["eventType"], data)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _within_rate(self, listener: dict[str, Any]) -> bool:
        key = listener["id"]
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._burst)
        if bucket.take():
            return True
        self.dropped[key] += 1
        if self.dropped[key] == 1:
            log.warning(
                "listener %s (%r) gets more than %s events a second; the excess is dropped and counted",
                key,
                listener["callback"],
                self._rate,
            )
        return False

    async def _deliver(self, callback: str, event_type: str, data: bytes) -> None:
        assert self._session is not None, "start() must be awaited before publishing"
        headers = {"Content-Type": "application/json;charset=utf-8"}
        refusal = self._policy.refusal(callback)  # an IP literal never reaches the resolver
        attempts = 0 if refusal else self._retries + 1
        problem = f"refused: {refusal}"
        for attempt in range(attempts):
            try:
                async with self._session.post(
                    callback, data=data, headers=headers, allow_redirects=False
                ) as response:
                    if response.status < 300:
                        return
                    problem = f"status {response.status}"
                    if 300 <= response.status < 400:
                        break  # a redirect is a failed delivery: the event goes nowhere else
            except aiohttp.ClientConnectorError as error:  # the resolver's refusal arrives wrapped in one
                if isinstance(error.os_error, RefusedAddress):
                    problem = str(error.os_error)
                    break
                problem = type(error).__name__
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                problem = type(error).__name__
            if attempt < self._retries:
                await asyncio.sleep(FIRST_BACKOFF_S * 2**attempt)
        log.warning("gave up delivering %s to %r after %s", event_type, callback, problem)
