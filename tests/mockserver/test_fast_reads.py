"""Reads taken before the router and answered as written bytes: the same answers as the router's path,
the same gate, and aiohttp's own Response wherever the written answer would not fit."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import pytest
import requests
from aiohttp import web
from aiohttp.http import HttpVersion10
from aiohttp.test_utils import make_mocked_request
from served import PAYLOADS
from test_errors import assert_tmf_error

from mockserver import ServerConfig, direct, start_background
from mockserver.app import ResourceView
from mockserver.direct import DirectAnswer, json_answer
from mockserver.errors import json_response

CUSTOMER = PAYLOADS[("tmf629", "customer")]
COLLECTION = "/tmf-api/customerManagement/v4/customer"
ESCAPED_COLLECTION = "/tmf-api/customerManagement/v4/%63ustomer"  # the same path, as the router decodes it
Head = tuple[str, list[tuple[str, str]]]


def exchange(url: str, request: bytes) -> tuple[Head, bytes]:
    """Send one raw request; the status line, the headers but Date, and the body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:

        def more() -> bytes:
            chunk = connection.recv(65536)
            assert chunk, "the server closed the connection before the answer ended"
            return chunk

        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += more()
        head, _, body = data.partition(b"\r\n\r\n")
        status, *lines = head.decode().split("\r\n")
        headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
        length = int(dict(headers)["Content-Length"])
        while len(body) < length:
            body += more()
    return (status, [(name, value) for name, value in headers if name != "Date"]), body


def get(path: str, version: str = "1.1", extra: str = "") -> bytes:
    return f"GET {path} HTTP/{version}\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


@pytest.fixture
def served(memory_config: ServerConfig) -> Iterator[tuple[str, str]]:
    """A server holding two customers: its URL and the first one's id."""
    with start_background(memory_config) as running:
        created = [requests.post(running.url + COLLECTION, json=CUSTOMER).json() for _ in range(2)]
        yield running.url, created[0]["id"]


READS = [  # a read the fast path takes, and the same read as only the router takes it (escaped)
    ("{collection}/{id}", "{collection}/%{hex}{rest}"),
    ("{collection}/{id}?fields=name", "{collection}/%{hex}{rest}?fields=name"),
    ("{collection}", "{escaped}"),
    ("{collection}?limit=1", "{escaped}?limit=1"),
    ("{collection}?name=nobody", "{escaped}?name=nobody"),
    ("{collection}/NOSUCHID", "{collection}/%4EOSUCHID"),
]


@pytest.mark.parametrize(("fast", "routed"), READS)
def test_a_read_answers_byte_for_byte_as_the_router_s_path_does(served: tuple[str, str], fast: str, routed: str) -> None:
    url, instance_id = served
    parts = {
        "collection": COLLECTION, "escaped": ESCAPED_COLLECTION, "id": instance_id,
        "hex": f"{ord(instance_id[0]):02X}", "rest": instance_id[1:],
    }
    answer = exchange(url, get(fast.format(**parts)))
    assert answer == exchange(url, get(routed.format(**parts)))
    assert answer[0][0].split()[1] in ("200", "206", "404")


@pytest.fixture
def routed_answers_299(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads that reach the router's handlers answer 299."""

    async def routed(self: ResourceView, request: web.Request) -> web.StreamResponse:
        return web.Response(status=299)

    monkeypatch.setattr(ResourceView, "retrieve", routed)
    monkeypatch.setattr(ResourceView, "list", routed)


@pytest.mark.usefixtures("routed_answers_299")
def test_plain_reads_never_reach_the_router_and_escaped_ones_do(memory_config: ServerConfig) -> None:
    with start_background(memory_config) as running:
        instance_id = requests.post(running.url + COLLECTION, json=CUSTOMER).json()["id"]
        assert requests.get(f"{running.url}{COLLECTION}/{instance_id}").json()["id"] == instance_id
        assert requests.get(f"{running.url}{COLLECTION}").status_code == 200
        # sent raw: an HTTP client library may undo the escape
        escaped_id = f"%{ord(instance_id[0]):02X}{instance_id[1:]}"
        for target in (f"{COLLECTION}/{escaped_id}", ESCAPED_COLLECTION):
            (status, _), _ = exchange(running.url, get(target))
            assert status.split()[1] == "299"


@pytest.mark.parametrize(
    ("version", "extra", "connection"),
    [("1.0", "", None), ("1.0", "Connection: keep-alive\r\n", "keep-alive"), ("1.1", "Connection: close\r\n", "close")],
)
def test_http_1_0_and_closing_requests_get_the_framework_s_answer(
    served: tuple[str, str], version: str, extra: str, connection: str | None
) -> None:
    url, instance_id = served
    for target in (f"{COLLECTION}/{instance_id}", COLLECTION):
        (status, headers), body = exchange(url, get(target, version, extra))
        assert status == f"HTTP/{version} 200 OK"
        assert dict(headers).get("Connection") == connection
        assert instance_id.encode() in body


@pytest.mark.parametrize("target", [f"{COLLECTION}/ANYID", COLLECTION])
@pytest.mark.parametrize(
    ("options", "headers", "status"),
    [
        ({}, {"Host": "evil.example"}, 421),
        ({}, {"Origin": "https://attacker.example"}, 403),
        ({"api_key": "k3y"}, {}, 401),
        ({"fail_rate": 1.0}, {}, 503),
    ],
)
def test_fast_reads_pass_the_same_gate(
    memory_config: ServerConfig, target: str, options: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    with start_background(replace(memory_config, **options)) as running:
        assert_tmf_error(requests.get(running.url + target, headers=headers), status)


@pytest.mark.parametrize(("status", "headers"), [(200, None), (206, {"X-Total-Count": "9", "X-Result-Count": "1"})])
def test_a_written_answer_is_byte_for_byte_aiohttp_s_own(status: int, headers: dict[str, str] | None) -> None:
    body = '[{"name":"ünïcode ✓"}]'.encode()
    kinds: list[type] = []

    async def written(request: web.Request) -> web.StreamResponse:
        answer = json_answer(request, body, status, headers)
        kinds.append(type(answer))
        return answer

    async def framework(request: web.Request) -> web.StreamResponse:
        return json_response(None, status, headers, encoded=body)

    async def answers() -> list[tuple[Head, bytes]]:
        app = web.Application()
        app.router.add_get("/written", written)
        app.router.add_get("/framework", framework)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            return [await asyncio.to_thread(exchange, url, get(path)) for path in ("/written", "/framework")]
        finally:
            await runner.cleanup()

    written_answer, framework_answer = asyncio.run(answers())
    assert kinds == [DirectAnswer]
    assert written_answer == framework_answer


def mocked(*, pending: int = 0, version: Any = None, closing: bool = False) -> web.Request:
    transport = mock.Mock()
    transport.get_write_buffer_size.return_value = pending
    transport.is_closing.return_value = False
    extra = {"version": version} if version else {}
    return make_mocked_request("GET", COLLECTION, transport=transport, closing=closing, **extra)


@pytest.mark.parametrize(
    "request_kind",
    [{"pending": 1}, {"version": HttpVersion10}, {"closing": True}],
    ids=["output waiting (a slow reader: backpressure)", "HTTP/1.0", "Connection: close"],
)
def test_a_request_the_written_answer_does_not_fit_gets_aiohttp_s_response(request_kind: dict[str, Any]) -> None:
    assert isinstance(json_answer(mocked(), b"[]"), web.Response) is False  # the written answer, where it fits
    answer = json_answer(mocked(**request_kind), b"[]", 206, {"X-Total-Count": "3"})
    assert isinstance(answer, web.Response)
    assert (answer.status, answer.body, answer.headers["X-Total-Count"]) == (206, b"[]", "3")


def test_a_written_answer_to_a_client_that_has_gone_is_a_connection_error() -> None:
    request = mocked()
    answer = json_answer(request, b"{}")
    request.transport.is_closing.return_value = True  # type: ignore[union-attr]
    with pytest.raises(ConnectionResetError):
        asyncio.run(answer.prepare(request))
    request.transport.write.assert_not_called()  # type: ignore[union-attr]



def test_the_installed_aiohttp_is_a_tested_release_and_pyproject_pins_the_tested_range() -> None:
    (low, high) = direct.TESTED_AIOHTTP
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [pin for pin in project["project"]["dependencies"] if pin.startswith("aiohttp")]
    assert pins == [direct.pin()] == [f"aiohttp>={low[0]}.{low[1]},<{high[0]}.{high[1]}"]
    assert direct.tested(aiohttp.__version__), (
        f"aiohttp {aiohttp.__version__} is not a release the fast reads were tested with ({pins[0]}): run these tests "
        "with it and widen TESTED_AIOHTTP and the pin, or install a tested release")
    assert direct.WRITES_DIRECTLY


@pytest.mark.parametrize(
    ("version", "fits"),
    [("3.12.0", True), ("3.14.5", True), ("3.13.4.post1", True), ("3.11.18", False), ("3.15.0", False), ("4.0.0", False),
     ("3.14.0rc1", False), ("3.15.0.dev0", False), ("", False), ("unknown", False)],
)
def test_only_final_releases_in_the_tested_range_count_as_tested(version: str, fits: bool) -> None:
    assert direct.tested(version) is fits


@pytest.fixture
def untested_aiohttp(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The server as it runs with an aiohttp outside the tested range; the written answers it builds (none)."""
    monkeypatch.setattr(direct, "WRITES_DIRECTLY", direct.tested("3.99.0"))
    written: list[Any] = []
    monkeypatch.setattr(direct, "DirectAnswer", lambda *args: written.append(args))
    return written


@pytest.mark.parametrize(("fast", "routed"), READS)
def test_with_an_untested_aiohttp_a_read_answers_as_the_router_s_path_does(
    untested_aiohttp: list[Any], served: tuple[str, str], fast: str, routed: str
) -> None:
    test_a_read_answers_byte_for_byte_as_the_router_s_path_does(served, fast, routed)
    assert untested_aiohttp == []


@pytest.mark.usefixtures("untested_aiohttp", "routed_answers_299")
def test_with_an_untested_aiohttp_plain_reads_reach_the_router(memory_config: ServerConfig) -> None:
    with start_background(memory_config) as running:
        instance_id = requests.post(running.url + COLLECTION, json=CUSTOMER).json()["id"]
        for target in (f"{COLLECTION}/{instance_id}", COLLECTION):
            assert requests.get(running.url + target).status_code == 299


UNTESTED_COMMAND_LINE = (
    "import sys, aiohttp; aiohttp.__version__ = '3.99.0'; from mockserver.__main__ import main; main(sys.argv[1:])"
)


def test_the_command_line_with_an_untested_aiohttp_says_so_and_serves(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-c", UNTESTED_COMMAND_LINE, "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert process.stdout is not None
        assert select.select([process.stdout], [], [], 20)[0], log.read_text()
        url = process.stdout.readline().split()[-1].rstrip("/")
        created = requests.post(url + COLLECTION, json=CUSTOMER, timeout=10).json()
        (status, _), body = exchange(url, get(f"{COLLECTION}/{created['id']}"))
        assert status == "HTTP/1.1 200 OK" and json.loads(body)["id"] == created["id"]
        assert requests.get(f"{url}{COLLECTION}/{created['id']}", timeout=10).json() == created
        assert [item["id"] for item in requests.get(url + COLLECTION, timeout=10).json()] == [created["id"]]
    finally:
        process.terminate()
        process.wait(20)
        process.stdout.close()  # type: ignore[union-attr]
    said = log.read_text()
    assert "aiohttp 3.99.0 is not a release this server was tested with (aiohttp>=" in said and "Traceback" not in said
