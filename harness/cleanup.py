"""Deleting what a run created, for both tiers: whatever was not deleted by this run is listed.

A 404 on the cleanup DELETE is listed too ("already gone"): it is no proof that the run deleted it.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests

import tmfapis
from harness.http import send
from harness.redact import Redactor

__all__ = ["KEPT", "delete_created"]

KEPT = "kept (--keep)"
DELETED = (200, 202, 204)


def delete_created(
    session: requests.Session, redactor: Redactor, created: Iterable[tuple[tmfapis.Resource, str]], keep: bool
) -> list[str]:
    """DELETE each (resource, instance URL) in order, unless ``keep``; a line per instance left behind."""
    left: list[str] = []
    for resource, url in created:
        if keep:
            why = KEPT
        elif "DELETE" not in resource.item_methods:
            why = f"the API offers no DELETE for {resource.name}"
        else:
            reply = send(session, "DELETE", url, redactor)
            if reply.status in DELETED:
                continue
            if reply.status == 404:
                why = "already gone (DELETE answered 404): not deleted by this run"
            else:
                why = reply.problem or "no answer" if reply.status is None else f"DELETE answered {reply.status}"
        left.append(redactor.text(f"{url}: {why}"))
    return left
