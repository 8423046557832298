"""What every HTML document of the reports shares: the page and its content policy, escaping, anchors, facts
lists, verdict badges, how numbers, sizes, times and dates read, the API's names, and the tool's version."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib import metadata
from typing import Any

import tmfapis

__all__ = [
    "CONTENT_POLICY", "api_name", "escape", "facts", "format_bytes", "format_date", "format_ms", "format_seconds",
    "kit_version", "page", "slug", "spec_version", "tool_version", "verdict_badge",
]

# Nothing may load from outside the file, even if vendor text slipped past escaping.
CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page(title: str, style: str, body_attributes: str, parts: Iterable[str]) -> str:
    """One self-contained HTML document: inline CSS, the content policy, no external resource."""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{style}</style></head>",
        f"<body {body_attributes}>",
    ]
    return "\n".join(part for part in [*head, *parts, "</body></html>"] if part)


def escape(value: Any) -> str:
    """Any value as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def slug(text: str) -> str:
    return "-".join(text.lower().split())


def facts(named: Mapping[str, Any]) -> str:
    """Named facts as a term list, every text escaped."""
    items = "".join(f"<dt>{escape(key)}</dt><dd>{escape(value)}</dd>" for key, value in named.items())
    return f'<dl class="facts">{items}</dl>'


def verdict_badge(verdict: str) -> str:
    """A verdict (passed, failed, incomplete) as a coloured badge."""
    css = {"passed": "pass", "incomplete": "incomplete"}.get(verdict, "fail")
    return f'<span class="verdict {css}">{escape(verdict)}</span>'


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return format_ms(seconds * 1000)
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m {seconds % 60:.0f}s"


def format_ms(milliseconds: float) -> str:
    return f"{milliseconds:.0f}ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f}s"


def format_bytes(size: float) -> str:
    if size < 1024:
        return f"{size:.0f}B"
    return f"{size / 1024:.2f}KB" if size < 1024 * 1024 else f"{size / (1024 * 1024):.2f}MB"


def format_date(value: str) -> str:
    """An ISO 8601 time as people read it; anything else as it is."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%a %d %b %Y %H:%M:%S %Z").strip()


def api_name(api_id: str) -> str:
    """The API's name (``TMF629 Customer``), or its id when ``tmfapis`` does not list it."""
    try:
        return tmfapis.api(api_id).name
    except KeyError:
        return api_id


def spec_version(api_id: str) -> str:
    try:
        return tmfapis.api(api_id).version
    except KeyError:
        return ""


def kit_version(api_id: str, collection: str) -> str:
    """The kit's version: the end of its collection name (``CTK-Customer-4.0.0``), else the API's spec version."""
    match = re.search(r"-(\d+(?:\.\d+)+)$", collection)
    return match.group(1) if match else spec_version(api_id)


def tool_version() -> str:
    try:
        return metadata.version("tmf-ctk")
    except metadata.PackageNotFoundError:
        return "(development)"
