"""Pre-flight: one harmless GET per API root before the first kit request, so a target that cannot be tested
(down, misaddressed, behind a login, without credentials) stops the run with one clear line per root."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import tmfapis
from harness.http import send
from harness.urls import resource_url

if TYPE_CHECKING:
    import requests

    from harness.redact import Redactor

__all__ = ["probe"]

AUTH_HINT = "add the credentials with --header 'Name: value' or auth in --ctk-config"


def probe(session: requests.Session, redactor: Redactor, api_id: str, root: str, base_url: str | None) -> str | None:
    """Why ``root`` cannot be tested, in one line, or None when it answers like an API.

    ``base_url`` is the configured base URL when the root was derived from it (no ``--api-url`` for the API).
    """
    url = resource_url(root, _listed_resource(tmfapis.api(api_id)), query="limit=1")
    reply = send(session, "GET", url, redactor)
    status = reply.status
    if status is None or 300 <= status < 400:
        return f"{api_id}: {reply.problem or f'GET {url} answers {status} without a usable Location'}"
    content_type = reply.exchange.response_headers.get("Content-Type", "")
    if status in (401, 403):
        return f"{api_id}: GET {url} answers {status}; {AUTH_HINT}"
    if "html" in content_type.lower() or reply.text.lstrip().startswith("<"):
        return f"{api_id}: GET {url} answers {status} with HTML (a login page or a web site?), not the API"
    if status == 404:
        return f"{api_id}: GET {url} answers 404; {_path_hint(api_id, base_url)}"
    if 200 <= status < 300 and not reply.json_ok:
        return f"{api_id}: GET {url} answers {status}, but {reply.problem}"
    return None  # any JSON: the kits judge a list answered as one object as that one instance, so the run goes on


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
