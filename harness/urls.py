"""URLs for every tier: how an API root, a resource and a query are joined and quoted, and what an origin is.

The HTTP layer, the redactor, OAuth2, the kit engine and the spec scenarios all build and compare URLs
through these functions, so a query value is quoted one way everywhere (as the kits sent it) and the
origin that credentials are bound to is computed one way (a malformed port never raises: it is an
origin of its own, equal to no well-formed one).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_PORTS", "PATH_SAFE", "QUERY_SAFE", "Origin", "api_root", "origin", "query", "query_value", "resource_url",
    "same_origin", "url_problem", "with_slash",
]

# Characters the kit sent unencoded in query values; spaces, '+', '&', '#' and '%' are encoded.
QUERY_SAFE = "/:$'@!*,;=()~"
PATH_SAFE = "-._~:@!$'()*+,;="
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | str | None]  # scheme, host, port (the port as written when it is not a number)


def with_slash(url: str) -> str:
    """``url`` ending with ``/``, as every API root does."""
    return url if url.endswith("/") else url + "/"


def api_root(base_url: str, base_path: str) -> str:
    """An API's standard root under a server's base URL: ``https://host/`` + ``/tmf-api/.../v4/``."""
    return base_url.rstrip("/") + base_path


def query_value(text: str) -> str:
    """A name or value as the kits wrote it in a query: reserved characters kept, the rest percent-encoded."""
    return quote(text, safe=QUERY_SAFE)


def query(*pairs: tuple[str, str]) -> str:
    """``name=value&...`` with each name and value quoted by ``query_value``."""
    return "&".join(f"{query_value(name)}={query_value(value)}" for name, value in pairs)


def resource_url(api_root: str, resource: str, instance_id: str | None = None, query: str = "") -> str:
    """The URL of a resource's collection (or one instance) under an API root; a query in the root stays a query."""
    scheme, netloc, path, root_query, _ = urlsplit(api_root)
    path = with_slash(path) + resource + ("" if instance_id is None else "/" + quote(instance_id, safe=PATH_SAFE))
    return urlunsplit((scheme, netloc, path, "&".join(part for part in (root_query, query) if part), ""))


def origin(url: str) -> Origin:
    """Scheme, host and port of a URL (the default port filled in), as browsers compare origins.

    A port that is not a number in range is kept as written, so such a URL shares its origin with no
    well-formed URL: a credential bound to an origin never goes there.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port: int | str | None = parts.port
    except ValueError:
        port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def same_origin(url: str, other: str) -> bool:
    return origin(url) == origin(other)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's address (not absolute http(s), a malformed port), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s) URL"
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    return None
