"""What every HTML document of the reports shares: escaping, anchors, the tool's version."""

from __future__ import annotations

import html
from importlib import metadata
from typing import Any

__all__ = ["escape", "slug", "tool_version"]


def escape(value: Any) -> str:
    """Any value as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def slug(text: str) -> str:
    return "-".join(text.lower().split())


def tool_version() -> str:
    try:
        return metadata.version("tmf-ctk")
    except metadata.PackageNotFoundError:
        return "(development)"
