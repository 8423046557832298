"""The reference server of five TMF Open APIs v4 (TMF681, TMF629, TMF683, TMF622, TMF635).

``create_app(config)`` builds the aiohttp application; ``start_background(config)`` runs it in a
daemon thread (``.url``, ``.stop()``, usable as a context manager); ``python -m mockserver`` runs it
from the command line.
"""

from __future__ import annotations

from mockserver.app import create_app
from mockserver.config import ServerConfig
from mockserver.seed import SeedError
from mockserver.serve import BackgroundServer, start_background

__all__ = ["BackgroundServer", "SeedError", "ServerConfig", "create_app", "start_background"]
