"""pytest entry point ``tmf_mock``: the reference server as the embedded target of a run with no --base-url."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookimpl(optionalhook=True)  # the hook is the harness's; this module works without it
def pytest_ctk_embedded_server(config: pytest.Config) -> Any:
    """Start the reference server on a free loopback port, holding the kit seed (what the kits that only read
    read); the harness stops it when the run ends."""
    import mockserver  # only when a run needs it

    return mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False, seed_path=mockserver.KIT_SEED))
