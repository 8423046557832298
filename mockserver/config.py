"""The reference server's settings, shared by the command line, the app factory and tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["KIT_SEED", "MIB", "ServerConfig"]

MIB = 1024 * 1024
# What the kits that read instances they never create read (README, "Seeding"), for ``seed_path``.
KIT_SEED = Path(__file__).resolve().parent / "kit-seed.json"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything one server instance needs; port 0 asks the system for a free port."""

    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    db_path: Path | None = None
    seed_path: Path | None = None
    latency_ms: int = 0
    fail_rate: float = 0.0
    api_key: str | None = None
    max_body_bytes: int = MIB
    access_log: bool = True
    event_timeout_s: float = 5
    event_retries: int = 3
    event_rate: float = 20  # events a second per listener, beyond a burst of event_burst
    event_burst: float = 100
    callback_allow: tuple[str, ...] = ()  # networks or host names callbacks may reach (empty: any)
    allowed_hosts: tuple[str, ...] = ()  # Host names served beside the server's own ("*": any)
    allowed_origins: tuple[str, ...] = ()  # Origins allowed beside the server's own ("*": any)

    def origin(self) -> str | None:
        """The base URL hrefs start with when no request is at hand (seeding), if known."""
        if self.public_url:
            return self.public_url.rstrip("/")
        if self.port:
            return f"http://{self.host}:{self.port}"
        return None

    def __repr__(self) -> str:
        # The API key must never reach logs or failure messages.
        shown = "'***'" if self.api_key else "None"
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__dataclass_fields__ if name != "api_key"
        )
        return f"ServerConfig({fields}, api_key={shown})"
