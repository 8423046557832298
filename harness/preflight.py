"""Pre-flight: one harmless GET per API root before the first kit request, so a target that cannot be tested
(down, misaddressed, behind a login, without credentials) stops the run with one clear line per root, and a
root that answers 404 (an API the system does not offer) is told apart from one that is broken.

The probe asks no more than the kit's first request does: ``GET <root><resource>``, the URL the kit first
POSTs to, without any query parameter (a server may refuse parameters it does not know; the kits send none there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import tmfapis
from harness.http import excerpt, send
from harness.urls import resource_url

if TYPE_CHECKING:
    import requests

    from harness.http import Reply
    from harness.redact import Redactor

__all__ = ["Finding", "probe"]

AUTH_HINT = "add the credentials with --header 'Name: value' or auth in --ctk-config"


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a root cannot be tested, and what to do about it; ``not_offered`` when it answered 404: the API is not there."""

    api_id: str
    what: str
    hint: str = ""
    not_offered: bool = False

    @property
    def reason(self) -> str:
        return self.what + (f"; {self.hint}" if self.hint else "")

    @property
    def line(self) -> str:
        return f"{self.api_id}: {self.reason}"


def probe(
    session: requests.Session, redactor: Redactor, api_id: str, root: str, base_url: str | None, resource: str | None = None
) -> Finding | None:
    """What is wrong with ``root``, or None when it answers like an API.

    ``base_url`` is the configured base URL when the root was derived from it (no ``--api-url`` for the API);
    ``resource`` is the one the kit first sends to (the suite declaration's first), else the API's first full one.
    """
    url = resource_url(root, resource or _listed_resource(tmfapis.api(api_id)))
    reply = send(session, "GET", url, redactor)
    status = reply.status
    if status is None or 300 <= status < 400:
        return Finding(api_id, reply.problem or f"GET {url} answers {status} without a usable Location")
    seen = f"GET {url} answers {status} ({_seen(reply)})"
    if status == 404:
        return Finding(api_id, seen, _path_hint(api_id, base_url), not_offered=True)
    if status in (401, 403):
        return Finding(api_id, seen, AUTH_HINT)
    if "html" in _content_type(reply).lower() or reply.text.lstrip().startswith("<"):
        return Finding(api_id, f"{seen}: HTML (a login page or a web site?), not the API")
    if 200 <= status < 300 and not reply.json_ok:
        return Finding(api_id, f"{seen}, but {reply.problem}")
    return None  # any JSON: the kits judge a list answered as one object as that one instance, so the run goes on


def _content_type(reply: Reply) -> str:
    return next((value for name, value in reply.exchange.response_headers.items() if name.lower() == "content-type"), "")


def _seen(reply: Reply) -> str:
    """What came back, shortly: content type and the start of the body (already redacted)."""
    body = excerpt(reply.exchange.response_body or "")
    return f"{_content_type(reply) or 'no Content-Type'}, {f'body {body!r}' if body else 'empty body'}"


def _listed_resource(api: tmfapis.Api) -> str:
    """The resource to list: the first full one (TMF622's productOrder rather than cancelProductOrder)."""
    full = [name for name, resource in api.resources.items() if "DELETE" in resource.item_methods]
    return (full or list(api.resources))[0]


def _path_hint(api_id: str, base_url: str | None) -> str:
    """What the 404 most likely means, given where the root came from."""
    if base_url is None:
        return f"check --api-url {api_id}: it is the API's root, the URL its resources are under"
    if urlsplit(base_url).path.strip("/"):
        return f"--base-url should be the server root; use --api-url {api_id}=URL for a non-standard API root"
    return f"the standard base path is not served there; use --api-url {api_id}=URL for a non-standard API root"
