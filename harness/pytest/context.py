"""What the whole run shares: settings, secrets, the HTTP session, the (possibly embedded) target, the records."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import urllib3

from harness.auth import ClientCredentials
from harness.config import RunSettings
from harness.errors import TokenError
from harness.http import BoundedSession
from harness.pytest import hookspecs
from harness.pytest.lanes import Lanes
from harness.record import RequestJson
from harness.redact import RedactingFilter, Redactor, header_secrets, url_secrets
from harness.spec.listener import CallbackListener, listener_host

__all__ = ["CONTEXT_KEY", "RunContext", "run_context"]

URL_LOGGER = "urllib3.connectionpool"  # logs every request line, query string included
NO_SERVER = "no --base-url given and no embedded server available; pass --base-url URL"
T = TypeVar("T")


@dataclass(slots=True, eq=False)
class RunContext:
    """The run's settings and shared resources, created at configure time and closed at the end."""

    config: pytest.Config
    settings: RunSettings
    redactor: Redactor = field(init=False)
    started: float = field(default_factory=time.time)
    records: dict[str, dict[int, RequestJson]] = field(default_factory=dict)
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)  # api id -> collection, root, planned
    left: dict[str, list[str]] = field(default_factory=dict)
    not_offered: dict[str, str] = field(default_factory=dict)  # api id -> what its root answered the pre-flight (404)
    preflight_failed: dict[str, str] = field(default_factory=dict)  # api id -> why the pre-flight stopped the run
    log_filter: RedactingFilter = field(init=False)
    lanes: Lanes | None = None  # the workers sending requests ahead of pytest, once started
    _session: requests.Session | None = None
    _server: hookspecs.EmbeddedServer | None = None
    _listener: CallbackListener | None = None
    _credentials: ClientCredentials | None = None
    _listener_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        urls = [self.settings.base_url, *self.settings.api_urls.values(), *self.settings.proxies.values()]
        self.redactor = Redactor.from_values(
            [*self.settings.secrets, *header_secrets(self.settings.headers), *url_secrets(urls)]
        )
        self.log_filter = RedactingFilter(self.redactor)
        logging.getLogger(URL_LOGGER).addFilter(self.log_filter)

    @property
    def keep(self) -> bool:
        return bool(self.config.getoption("keep"))

    @property
    def strict(self) -> bool:
        """Whether spec-tier deviations fail the run (``--ctk-strict``)."""
        return bool(self.config.getoption("ctk_strict"))

    @property
    def report_dir(self) -> Path:
        """Where the run record and the reports go (``--ctk-report``, relative to where pytest was started)."""
        report_dir = Path(self.config.getoption("ctk_report"))
        return report_dir if report_dir.is_absolute() else self.config.invocation_params.dir / report_dir

    @property
    def concurrency(self) -> int:
        """How many requests may be under way at once (``--ctk-concurrency``; 1: one at a time, in pytest's order)."""
        return max(1, int(self.config.getoption("ctk_concurrency")))

    def performed(self, key: Hashable, work: Callable[[], T]) -> T:
        """The result of ``work``: done ahead by the lanes when they hold it under ``key``, else done now."""
        if self.lanes is not None and key in self.lanes:
            result: T = self.lanes.result(key)
            return result
        return work()

    @property
    def embedded(self) -> bool:
        return self.settings.base_url is None

    def uses_base_url(self, api_ids: Iterable[str]) -> bool:
        """Whether any of these APIs is reached through the base URL (or the embedded server): one without ``--api-url``."""
        return any(api_id not in self.settings.api_urls for api_id in api_ids)

    def target_lines(self, api_ids: Iterable[str]) -> list[str]:
        """What the run sends the requests of these APIs to, as its output's header shows it."""
        settings = self.settings
        lines = []
        if self.uses_base_url(api_ids):
            lines.append(f"base_url: {settings.base_url or '(embedded reference server, started on first use)'}")
        lines += [f"api_url {api_id}: {url}" for api_id, url in sorted(settings.api_urls.items())]
        return [self.redactor.text(line) for line in lines]

    def base_url(self) -> str:
        """The configured base URL, or the embedded server's (started on first use)."""
        if self.settings.base_url:
            return self.settings.base_url
        if self._server is None:
            server = self.config.hook.pytest_ctk_embedded_server(config=self.config)
            if server is None:
                raise pytest.UsageError(NO_SERVER)
            self._server = server
        return self._server.url.rstrip("/") + "/"

    @property
    def embedded_url(self) -> str | None:
        """The embedded server's root URL, once it was started."""
        return self._server.url.rstrip("/") + "/" if self._server is not None else None

    def api_root(self, api_id: str) -> str:
        return self.settings.api_root(api_id, self.base_url)

    def http_session(self) -> requests.Session:
        if self._session is None:
            session = BoundedSession(self.settings.timeout_s, int(self.settings.max_body_mb * 1024 * 1024),
                                     connections=self.concurrency)
            session.headers.update(self.settings.headers)
            session.verify = self.settings.verify
            if self.settings.verify is False:
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # --insecure was asked for
            session.proxies.update(self.settings.proxies)
            session.auth = self.credentials()
            session.trust_env = not self.embedded  # a proxy from the environment must not catch loopback traffic
            session.read_environment(url for url in (self.settings.base_url, *self.settings.api_urls.values()) if url)
            self._session = session
        return self._session

    def credentials(self) -> ClientCredentials | None:
        """The OAuth2 client credentials of ``--ctk-config`` (None without ``auth.oauth2``), for the API origins."""
        oauth2 = self.settings.oauth2
        if oauth2 is not None and self._credentials is None:
            api_urls = [url for url in (self.settings.base_url, *self.settings.api_urls.values()) if url]
            self._credentials = ClientCredentials(oauth2, api_urls, self.redactor.add, timeout_s=self.settings.timeout_s,
                                                  verify=self.settings.verify, proxies=self.settings.proxies)
        return self._credentials

    def authenticate(self) -> None:
        """Fetch the first OAuth2 token (when configured) before any request: a refusal is a usage error."""
        credentials = self.credentials()
        if credentials is not None:
            try:
                credentials.fetch()
            except TokenError as exc:
                raise pytest.UsageError(str(exc)) from None

    def callback_listener(self, api_root: str) -> CallbackListener | None:
        """The run's event listener (started once), or None when the server cannot call back to this machine."""
        host = listener_host(api_root, self.config.getoption("callback_host"))
        if host is None:
            return None
        with self._listener_lock:  # scenarios ask from several threads
            if self._listener is None:
                try:
                    self._listener = CallbackListener(host)
                except (OSError, UnicodeError) as exc:
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                    raise pytest.UsageError(f"--callback-host {host}: cannot listen for event callbacks there: {reason}") from None
            return self._listener

    def close(self) -> None:
        if self.lanes is not None:
            self.lanes.stop()
        logging.getLogger(URL_LOGGER).removeFilter(self.log_filter)
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._server is not None:
            self._server.stop()
            self._server = None


CONTEXT_KEY = pytest.StashKey[RunContext]()


def run_context(config: pytest.Config) -> RunContext:
    return config.stash[CONTEXT_KEY]
