"""Hub callbacks never reach the server itself, link-local or metadata addresses, or a redirect's target."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest
import requests
from listener import Listener
from served import PAYLOADS, collection_url

from mockserver import ServerConfig, start_background
from tests.support.loopback import serve_in_thread

WAIT_S = 5
RESOLVED = {"self.test": "127.0.0.1", "metadata.test": "169.254.169.254", "listener.test": "127.0.0.1"}


def hub(url: str, api_id: str = "tmf629") -> str:
    return collection_url(url, api_id, "hub")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_S}s for {what}"
        time.sleep(0.01)


def gave_up(caplog: pytest.LogCaptureFixture, count: int = 1) -> Callable[[], bool]:
    """True once ``count`` deliveries have been given up (each logs one line when it ends)."""
    return lambda: sum("gave up delivering" in r.getMessage() for r in caplog.records) >= count


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the server's event loop connects a socket to (the test's own requests use none)."""
    seen: list[tuple[str, int]] = []
    original = asyncio.selector_events.BaseSelectorEventLoop.sock_connect

    async def recording(loop: Any, sock: socket.socket, address: Any) -> None:
        seen.append((address[0], address[1]))
        await original(loop, sock, address)

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", recording)
    return seen


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names of the test's own that resolve locally, one of them to the metadata address (DNS rebinding)."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        return original(RESOLVED.get(name, name), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


class Counting(BaseHTTPRequestHandler):
    """Counts every request it gets, whatever the method; answers 201."""

    hits: ClassVar[list[str]] = []
    lock = threading.Lock()

    def _count(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with self.lock:
            self.hits.append(f"{self.command} {self.path}")
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _count

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def counting() -> Iterator[tuple[str, list[str]]]:
    class Handler(Counting):
        hits: ClassVar[list[str]] = []

    with serve_in_thread(Handler) as url:
        yield url, Handler.hits


def redirecting(status: int, target: str) -> type[BaseHTTPRequestHandler]:
    class Redirect(Counting):
        hits: ClassVar[list[str]] = []

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with self.lock:
                self.hits.append(self.path)
            self.send_response(status)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Redirect


def own_urls(url: str) -> list[str]:
    port = url.rsplit(":", 1)[1]
    usage = "/tmf-api/usageManagement/v4/usage"
    return [
        f"{url}{usage}",
        f"http://localhost:{port}{usage}",
        f"http://LOCALHOST.:{port}/",
        f"http://0.0.0.0:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://[::1]:{port}/",
        f"http://127.0.0.1:{port}/",
        f"http://2130706433:{port}/",  # legacy forms a resolver still reads as 127.0.0.1
        f"http://127.1:{port}/",
    ]


FORBIDDEN = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1:8080/",
    "http://[fe80::1]/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/",
    "http://[::ffff:169.254.169.254]/",
    "https://169.254.169.254/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://2852039166/",
]


def test_callback_to_the_server_itself_is_refused_at_registration(
    memory_config: ServerConfig, connects: list[tuple[str, int]]
) -> None:
    with start_background(memory_config) as running:
        for callback in own_urls(running.url):
            response = requests.post(hub(running.url), json={"callback": callback})
            assert response.status_code == 400, callback
            assert response.json()["message"] == "callback: refused, it is this server itself."
    assert connects == []


def test_callback_to_the_public_url_is_refused(memory_config: ServerConfig) -> None:
    config = replace(memory_config, public_url="https://api.example/", allowed_hosts=("*",))
    with start_background(config) as running:
        response = requests.post(hub(running.url), json={"callback": "https://API.example:443/x"})
        assert response.status_code == 400
        assert "public URL" in response.json()["message"]


@pytest.mark.parametrize("callback", FORBIDDEN)
def test_link_local_and_metadata_callbacks_are_refused(
    memory_config: ServerConfig, connects: list[tuple[str, int]], callback: str
) -> None:
    with start_background(memory_config) as running:
        response = requests.post(hub(running.url), json={"callback": callback})
        assert response.status_code == 400
        body = response.json()
        assert body["@type"] == "Error"
        assert "link-local or cloud metadata address" in body["message"]
    assert connects == []


def test_loopback_listener_on_another_port_still_hears_events(memory_config: ServerConfig) -> None:
    with start_background(memory_config) as running, Listener() as listener:
        assert requests.post(hub(running.url), json={"callback": listener.url}).status_code == 201
        requests.post(collection_url(running.url, "tmf629", "customer"), json=PAYLOADS[("tmf629", "customer")])
        assert listener.next()["eventType"] == "CustomerCreateEvent"


@pytest.mark.usefixtures("fake_dns")
def test_names_resolving_to_the_server_or_metadata_are_refused_before_connecting(
    memory_config: ServerConfig,
    connects: list[tuple[str, int]],
    counting: tuple[str, list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener_url, hits = counting
    listener_port = int(listener_url.rsplit(":", 1)[1])
    with caplog.at_level(logging.WARNING, "mockserver.events"), start_background(memory_config) as running:
        port = running.config.port
        usage = "/tmf-api/usageManagement/v4/usage"
        callbacks = [
            f"http://self.test:{port}{usage}",  # two listeners on the server's own /usage: the old loop
            f"http://self.test:{port}{usage}?again",
            "http://metadata.test/latest/meta-data/",
            f"http://listener.test:{listener_port}/heard",
        ]
        for callback in callbacks:  # names cannot be judged before they are resolved
            assert requests.post(hub(running.url, "tmf635"), json={"callback": callback}).status_code == 201
        created = requests.post(collection_url(running.url, "tmf635", "usage"), json={"usageType": "Voice"})
        assert created.status_code == 201
        wait_for(lambda: hits == ["POST /heard"], "the control listener's event")
        wait_for(gave_up(caplog, 3), "the three refused deliveries to end")
        usages = requests.get(collection_url(running.url, "tmf635", "usage")).json()
    assert [usage["id"] for usage in usages] == [created.json()["id"]]
    assert ("127.0.0.1", listener_port) in connects  # the recording sees real connections
    assert not [address for address in connects if address[0].startswith("169.254.")]
    assert ("127.0.0.1", port) not in connects
    refused = [r.getMessage() for r in caplog.records if "gave up delivering" in r.getMessage()]
    assert sum("this server itself" in line for line in refused) == 2
    assert sum("169.254.169.254 is a link-local or cloud metadata address" in line for line in refused) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_failed_deliveries_not_followed(
    memory_config: ServerConfig,
    counting: tuple[str, list[str]],
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    target_url, target_hits = counting
    handler = redirecting(status, f"{target_url}/elsewhere")
    with (
        caplog.at_level(logging.WARNING, "mockserver.events"),
        serve_in_thread(handler) as redirector,
        start_background(memory_config) as running,
    ):
        assert requests.post(hub(running.url), json={"callback": f"{redirector}/cb"}).status_code == 201
        requests.post(collection_url(running.url, "tmf629", "customer"), json=PAYLOADS[("tmf629", "customer")])
        wait_for(gave_up(caplog), "the delivery to end")
    assert handler.hits == ["/cb"]  # one attempt: a redirect is not retried either
    assert target_hits == []
    assert any(f"after status {status}" in r.getMessage() for r in caplog.records)


def test_allow_list_restricts_callbacks(memory_config: ServerConfig) -> None:
    config = replace(memory_config, callback_allow=("127.0.0.0/8", "hooks.example"))
    with start_background(config) as running, Listener() as listener:
        for callback, status in [
            (listener.url, 201),
            ("http://hooks.example/cb", 201),
            ("http://10.1.2.3/cb", 400),
            ("http://[::2]/cb", 400),
            ("http://other.example/cb", 201),  # may resolve into 127.0.0.0/8: judged at delivery
        ]:
            response = requests.post(hub(running.url), json={"callback": callback})
            assert response.status_code == status, callback
        requests.post(collection_url(running.url, "tmf629", "customer"), json=PAYLOADS[("tmf629", "customer")])
        assert listener.next()["eventType"] == "CustomerCreateEvent"
    with start_background(replace(memory_config, callback_allow=("hooks.example",))) as running:
        for callback, status in [("http://HOOKS.example./cb", 201), ("http://other.example/cb", 400)]:
            response = requests.post(hub(running.url), json={"callback": callback})
            assert response.status_code == status, callback


@pytest.mark.usefixtures("fake_dns")
def test_allow_list_is_checked_on_resolved_addresses(
    memory_config: ServerConfig,
    connects: list[tuple[str, int]],
    counting: tuple[str, list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener_url, hits = counting
    port = listener_url.rsplit(":", 1)[1]
    config = replace(memory_config, callback_allow=("10.0.0.0/8",))
    with caplog.at_level(logging.WARNING, "mockserver.events"), start_background(config) as running:
        callback = f"http://listener.test:{port}/cb"
        assert requests.post(hub(running.url), json={"callback": callback}).status_code == 201
        requests.post(collection_url(running.url, "tmf629", "customer"), json=PAYLOADS[("tmf629", "customer")])
        wait_for(gave_up(caplog), "the refused delivery to end")
    assert hits == []
    assert connects == []
    assert any("listener.test (127.0.0.1) is not allowed" in r.getMessage() for r in caplog.records)


def test_delivery_is_rate_limited_per_listener(
    memory_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    config = replace(memory_config, event_rate=0.001, event_burst=3)
    customers = "tmf629", "customer"
    with (
        caplog.at_level(logging.WARNING, "mockserver.events"),
        start_background(config) as running,
        Listener() as limited,
        Listener() as other,
    ):
        requests.post(hub(running.url), json={"callback": limited.url})
        for _ in range(6):
            requests.post(collection_url(running.url, *customers), json=PAYLOADS[customers])
        requests.post(hub(running.url), json={"callback": other.url})  # a fresh bucket of its own
        requests.post(collection_url(running.url, *customers), json=PAYLOADS[customers])
        assert len(limited.events(3)) == 3
        assert other.next()["eventType"] == "CustomerCreateEvent"
        drops = [r.getMessage() for r in caplog.records if "the excess is dropped" in r.getMessage()]
    assert len(drops) == 1  # logged once, however many are dropped
    assert limited.received.empty()


def test_callback_with_a_newline_cannot_forge_log_lines(
    memory_config: ServerConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "mockserver.events"), start_background(memory_config) as running:
        callback = "http://127.0.0.1:9/a\n2026-01-01 mockserver forged line"
        assert requests.post(hub(running.url), json={"callback": callback}).status_code == 201
        requests.post(collection_url(running.url, "tmf629", "customer"), json=PAYLOADS[("tmf629", "customer")])
        wait_for(gave_up(caplog), "the failed delivery")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("mockserver")]
    assert lines
    assert not [line for line in lines if "\n" in line or "\r" in line]
