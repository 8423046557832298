"""The command line as a user runs it: usage errors, clean shutdown, durability under kill -9."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from listener import Listener
from served import PAYLOADS, collection_url

from mockserver import ServerConfig
from mockserver.__main__ import main, parse_args
from mockserver.addresses import is_local_name
from mockserver.serve import new_event_loop

START_TIMEOUT_S = 20
TMF_MOCK = Path(sys.executable).with_name("tmf-mock")


@contextmanager
def launched(*args: str, log: Path, terminal: bool = False) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``python -m mockserver --port 0 ARGS`` and yield it with the URL from its first line
    (``terminal``: in a process group of its own, as a shell starts a command, for ``os.killpg``)."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            process_group=0 if terminal else None,
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        assert ready, f"the server printed nothing within {START_TIMEOUT_S}s: {log.read_text()}"
        first = process.stdout.readline()
        assert first.startswith("listening on http://127.0.0.1:"), first + log.read_text()
        yield process, first.split()[-1]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(START_TIMEOUT_S)
        process.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "x"], "--port: 'x' is not an integer"),
        (["--port", "70000"], "--port: 70000 is out of range"),
        (["--fail-rate", "2"], "--fail-rate: 2 is out of range"),
        (["--fail-rate", "nan"], "--fail-rate: nan is out of range"),
        (["--latency", "-1"], "--latency: -1 is out of range"),
        (["--max-body", "0"], "--max-body: 0 is out of range"),
        (["--public-url", "ftp://x"], "--public-url: 'ftp://x' is not an http or https URL"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--callback-allow", "http://x/"], "'http://x/' is neither an address, a network (CIDR) nor a host name"),
        (["--port", "0", "--seed", "missing.json"], "seed file missing.json cannot be read"),
        (["--port", "0", "--seed", "bad.yaml"], "seed file bad.yaml is not valid JSON or YAML"),
        (["--port", "0", "--db", "."], "cannot use the database ."),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    (tmp_path / "bad.yaml").write_text("a: [", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("tmf-mock: error: ")
    assert message in stderr


@pytest.mark.parametrize("args", [["--port", "x"], ["--port", "0", "--seed", "missing.json"]])
def test_usage_errors_reach_the_user_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", *args],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("tmf-mock: error: ")
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("args", "environment", "source"),
    [
        (["--api-key", ""], None, "--api-key"),
        (["--api-key", " "], "k", "--api-key"),
        ([], "", "TMF_MOCK_API_KEY"),
        ([], "  ", "TMF_MOCK_API_KEY"),
    ],
)
def test_empty_api_key_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    environment: str | None,
    source: str,
) -> None:
    if environment is None:
        monkeypatch.delenv("TMF_MOCK_API_KEY", raising=False)
    else:
        monkeypatch.setenv("TMF_MOCK_API_KEY", environment)
    with pytest.raises(SystemExit) as exited:
        parse_args(["--port", "0", *args])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"tmf-mock: error: {source} is empty, which would turn authentication off;"
        " give a key or leave it out (see tmf-mock --help)\n"
    )


def test_safety_options_reach_the_configuration() -> None:
    config = parse_args(
        [
            "--allow-host", "proxy.example", "--allow-host", "*",
            "--allow-origin", "https://app.example",
            "--callback-allow", "10.0.0.0/8", "--callback-allow", "hooks.example",
            "--event-rate", "2.5",
        ]
    )  # fmt: skip
    assert config.allowed_hosts == ("proxy.example", "*")
    assert config.allowed_origins == ("https://app.example",)
    assert config.callback_allow == ("10.0.0.0/8", "hooks.example")
    assert config.event_rate == 2.5
    defaults = parse_args([])
    assert (defaults.allowed_hosts, defaults.allowed_origins, defaults.callback_allow) == ((), (), ())
    assert defaults.event_rate == ServerConfig().event_rate


def test_api_key_comes_from_the_option_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMF_MOCK_API_KEY", raising=False)
    assert parse_args([]).api_key is None
    monkeypatch.setenv("TMF_MOCK_API_KEY", "from-env")
    assert parse_args([]).api_key == "from-env"
    assert parse_args(["--api-key", "given"]).api_key == "given"


SECRET = "env-key-4f1c9d"
BAD_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET.encode() + b"\r\nBad Header: \x01\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-API-Key: " + SECRET.encode() + b"\x00\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-API-Key: " + SECRET.encode() + b"a" * 70_000 + b"\r\n\r\n",
    b"GET /x%0A2026-01-01%20forged HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-API-Key: "
    + SECRET.encode()
    + b"\r\n\r\n",
]


def send_raw(url: str, raw: bytes) -> bytes:
    """Send bytes that are not (all) HTTP and return what comes back before the server closes."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=START_TIMEOUT_S) as connection:
        connection.sendall(raw)
        return b"".join(iter(lambda: connection.recv(65536), b""))


def test_key_from_the_environment_never_reaches_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMF_MOCK_API_KEY", SECRET)
    log = tmp_path / "server.log"
    with launched(log=log) as (process, url):
        assert SECRET not in " ".join(process.args)  # type: ignore[arg-type]
        customers = collection_url(url, "tmf629", "customer")
        assert requests.get(customers).status_code == 401
        assert requests.get(customers, headers={"X-API-Key": SECRET}).status_code == 200
        assert requests.get(f"{url}/health").json() == {"status": "ok"}
        for raw in BAD_REQUESTS:
            assert send_raw(url, raw).startswith(b"HTTP/1."), raw[:40]
        process.send_signal(signal.SIGTERM)
        assert process.wait(START_TIMEOUT_S) == 0
    text = log.read_text()
    assert "the request's bytes are not logged" in text  # the parser errors were logged, as one line each
    assert "InvalidHeader" in text or "BadHttpMessage" in text
    assert SECRET not in text
    assert "Traceback" not in text
    assert not [line for line in text.splitlines() if "forged" in line and not line.startswith("20")]


def test_console_script_is_installed(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(TMF_MOCK), "--help"], capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False
    )
    assert result.returncode == 0
    assert "--fail-rate" in result.stdout
    assert "port, 0 for a free one (default: 8080)" in " ".join(result.stdout.split())
    assert "(default: 127.0.0.1)" in result.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    log = tmp_path / "server.log"
    with launched(log=log) as (process, url):
        assert requests.get(collection_url(url, "tmf629", "customer")).status_code == 200
        process.send_signal(signum)
        assert process.wait(START_TIMEOUT_S) == 0
    assert "Traceback" not in log.read_text()
    assert "GET /tmf-api/customerManagement/v4/customer" in log.read_text()


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    acknowledged: list[str] = []
    stop = threading.Event()

    def write(url: str) -> None:
        with requests.Session() as http:
            while not stop.is_set():
                try:
                    response = http.post(
                        collection_url(url, "tmf629", "customer"),
                        json=PAYLOADS[("tmf629", "customer")],
                        timeout=5,
                    )
                except requests.RequestException:
                    return  # the server died mid-request: that write was never acknowledged
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])

    with launched("--db", str(db), "--no-access-log", log=tmp_path / "first.log") as (process, url):
        writers = [threading.Thread(target=write, args=(url,)) for _ in range(8)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(START_TIMEOUT_S)
        stop.set()
        for writer in writers:
            writer.join(START_TIMEOUT_S)
    assert len(acknowledged) >= 200

    with launched("--db", str(db), "--no-access-log", log=tmp_path / "second.log") as (process, url):
        stored = [c["id"] for c in requests.get(collection_url(url, "tmf629", "customer")).json()]
    assert set(acknowledged) <= set(stored)
    assert len(stored) == len(set(stored))


def test_the_command_line_runs_on_uvloop_where_it_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = new_event_loop()
    assert type(loop).__module__.startswith("uvloop")
    loop.close()
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as where it is not installed
    loop = new_event_loop()
    assert type(loop) is type(asyncio.new_event_loop())
    loop.close()


def loopback_alias() -> str | None:
    """A name of /etc/hosts that resolves to loopback only and that the server cannot judge by the name alone."""
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return None
    for name in (name for line in lines for name in line.split("#")[0].split()[1:]):
        try:
            resolved = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
        except OSError:
            continue
        if not is_local_name(name) and all(ipaddress.ip_address(address).is_loopback for address in resolved):
            return name
    return None


def test_on_its_own_loop_events_are_delivered_and_a_name_of_this_server_is_refused(tmp_path: Path) -> None:
    """Delivery and the resolver's check of every address, as the command line's loop runs them."""
    name = loopback_alias()
    if name is None:
        pytest.skip("/etc/hosts names no loopback alias to resolve")
    log = tmp_path / "server.log"
    with launched(log=log) as (_, url), Listener() as listener:
        port = url.rsplit(":", 1)[1]
        usages = collection_url(url, "tmf635", "usage")
        for callback in (listener.url, f"http://{name}:{port}/tmf-api/usageManagement/v4/usage"):
            assert requests.post(collection_url(url, "tmf635", "hub"), json={"callback": callback}).status_code == 201
        assert requests.post(usages, json={"usageType": "Voice"}).status_code == 201
        assert listener.next()["eventType"] == "UsageCreateEvent"
        deadline = time.monotonic() + START_TIMEOUT_S
        while "gave up delivering" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(requests.get(usages).json()) == 1  # the event did not come back as a create
    assert "this server itself" in log.read_text()


def test_the_command_line_freezes_what_start_up_loaded(tmp_path: Path) -> None:
    """Collections then never walk the seed again (the embedded server must not do this: test_options)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import gc, sys\n"
        "gc.freeze = lambda real=gc.freeze: (real(), print('frozen', gc.get_freeze_count() > 0, flush=True))\n"
        "from mockserver.__main__ import main\n"
        "main(sys.argv[1:])\n"
    )
    with tmp_path.joinpath("server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(probe), "--port", "0", "--no-access-log"], stdout=subprocess.PIPE, stderr=log, text=True
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        lines = [process.stdout.readline(), process.stdout.readline()] if ready else []
        assert "frozen True\n" in lines, lines
    finally:
        process.kill()
        process.wait(START_TIMEOUT_S)
        process.stdout.close()  # type: ignore[union-attr]
