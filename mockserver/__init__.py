"""The reference server of the TMF Open APIs v4 listed in ``tmfapis`` (the 60 that have an official kit).

``create_app(config)`` builds the aiohttp application; ``start_background(config)`` runs it in a
daemon thread (``.url``, ``.stop()``, usable as a context manager); ``python -m mockserver`` runs it
from the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.config import KIT_SEED, ServerConfig
    from mockserver.seed import SeedError
    from mockserver.serve import BackgroundServer, start_background

__all__ = ["KIT_SEED", "BackgroundServer", "SeedError", "ServerConfig", "create_app", "start_background"]

# Imported on first use, so that loading the pytest entry point (mockserver.pytest_plugin) in every
# pytest run of an environment does not import aiohttp and the server.
_HOMES = {"KIT_SEED": "config", "BackgroundServer": "serve", "SeedError": "seed", "ServerConfig": "config",
          "create_app": "app", "start_background": "serve"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
