"""TMF event notifications: envelopes POSTed to hub listeners in tracked background tasks.

Delivery never delays the API response: each listener gets its own task, with a timeout per attempt
and a bounded number of retries with exponential backoff. Pending tasks are cancelled at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from ulid import ULID

from mockserver import query
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


class EventDispatcher:
    """Sends event envelopes to matching listeners without blocking the caller."""

    def __init__(self, timeout_s: float, retries: int) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Open the HTTP client session."""
        self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """Cancel pending deliveries and close the session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def pending(self) -> int:
        """Deliveries not finished yet."""
        return len(self._tasks)

    def publish(self, body: dict[str, Any], listeners: list[dict[str, Any]]) -> None:
        """Schedule delivery of ``body`` to every listener whose query matches it."""
        data: bytes | None = None  # rendered once, for the first listener that wants it
        for listener in listeners:
            filters = query.parse_filters(listener.get("query") or "")
            if query.matches(body, filters):
                data = data if data is not None else encode_json(body)
                task = asyncio.get_running_loop().create_task(
                    self._deliver(listener["callback"], body["eventType"], data)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, callback: str, event_type: str, data: bytes) -> None:
        assert self._session is not None, "start() must be awaited before publishing"
        headers = {"Content-Type": "application/json;charset=utf-8"}
        for attempt in range(self._retries + 1):
            try:
                async with self._session.post(callback, data=data, headers=headers) as response:
                    if response.status < 300:
                        return
                    problem = f"status {response.status}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                problem = type(error).__name__
            if attempt < self._retries:
                await asyncio.sleep(FIRST_BACKOFF_S * 2**attempt)
        log.warning("gave up delivering %s to %s after %s", event_type, callback, problem)
