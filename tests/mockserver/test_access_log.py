"""The command line's access log: one line a request through a buffer, the filters' guarantees kept."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from test_callbacks import wait_for
from test_cli import START_TIMEOUT_S, launched

from mockserver import accesslines

SECRET = "s3cr3t-key-42"
CUSTOMERS = "/tmf-api/customerManagement/v4/customer"
LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} mockserver\.access 127\.0\.0\.1 "(GET|POST) (\S+) HTTP/1\.1" (\d{3}) \d+ \d+\.\d{3}$')


def test_each_request_is_one_line_and_what_the_filters_change_still_goes_through_them(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    targets = [
        CUSTOMERS,
        f"{CUSTOMERS}?name=plain",
        f"{CUSTOMERS}?api-key=leaked-value",  # a credential the filter masks
        f"{CUSTOMERS}?note={SECRET}",  # the configured key
    ]
    with launched("--api-key", SECRET, log=log) as (process, url):
        for target in targets:
            requests.get(url + target, headers={"X-API-Key": SECRET}, timeout=10)
        process.send_signal(signal.SIGTERM)
        process.wait(START_TIMEOUT_S)
    lines = [line for line in log.read_text().splitlines() if "mockserver.access" in line]
    assert len(lines) == len(targets), log.read_text()
    for line in (lines[0], lines[1], lines[3]):  # the filter's masking may take the rest of line 2
        assert LINE.match(line), line
    assert [LINE.match(line).group(2) for line in lines[:2]] == targets[:2]  # type: ignore[union-attr]
    assert re.match(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} mockserver\.access 127\.0\.0\.1 "GET ', lines[2]), lines[2]
    assert "leaked-value" not in lines[2] and "api-key=***" in lines[2]
    assert SECRET not in log.read_text()


def test_each_line_names_the_client_of_its_own_connection(tmp_path: Path) -> None:
    """The client's address is read once a connection: lines of two connections taking turns keep theirs."""
    log = tmp_path / "server.log"
    with launched(log=log) as (process, url):
        port = int(url.rsplit(":", 1)[1])
        try:
            clients = [http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
                       for source in ("127.0.0.1", "127.0.0.2")]
            for client in clients:
                client.connect()
        except OSError:
            pytest.skip("127.0.0.2 is not a loopback address here")
        for client in clients * 2:  # keep-alive connections, in turn
            client.request("GET", CUSTOMERS)
            assert client.getresponse().read()
        for client in clients:
            client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(START_TIMEOUT_S)
    addresses = [line.split(" mockserver.access ")[1].split()[0] for line in log.read_text().splitlines() if " mockserver.access " in line]
    assert addresses == ["127.0.0.1", "127.0.0.2"] * 2, log.read_text()


def writer_of(server: subprocess.Popen[str]) -> int:
    """The pid of the server's access log writer process (its one child running ``mockserver/accesslines.py``)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid and b"accesslines.py" in (
                    stat.parent / "cmdline"
                ).read_bytes():
                    return int(stat.parent.name)
        time.sleep(0.05)
    raise AssertionError("the server started no access log writer")


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def paths_logged(log: Path) -> list[str]:
    return [match.group(2) for line in log.read_text().splitlines() if (match := LINE.match(line))]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the writer process through /proc")
def test_a_stopped_writer_loses_no_later_line_and_the_writer_ends_with_the_server(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    before, after = [f"{CUSTOMERS}?name=b{n}" for n in range(3)], [f"{CUSTOMERS}?name=a{n}" for n in range(3)]
    with launched(log=log) as (process, url):
        writer = writer_of(process)
        for target in before:
            requests.get(url + target, timeout=10)
        wait_for(lambda: paths_logged(log) == before, "the writer wrote no lines")
        os.kill(writer, signal.SIGKILL)
        wait_for(lambda: not running(writer), "the writer did not stop")
        for target in after:
            requests.get(url + target, timeout=10)
        process.send_signal(signal.SIGTERM)
        process.wait(START_TIMEOUT_S)
    assert paths_logged(log) == before + after, log.read_text()
    assert "access log writer stopped" in log.read_text()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the writer process through /proc")
def test_ctrl_c_in_a_terminal_loses_no_line_and_the_writer_ends_with_the_server(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with launched(log=log, terminal=True) as (process, url):
        writer = writer_of(process)
        requests.get(url + CUSTOMERS, timeout=10)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: a signal to the foreground process group
        process.wait(START_TIMEOUT_S)
        wait_for(lambda: not running(writer), "the writer outlived the server")
    assert paths_logged(log) == [CUSTOMERS], log.read_text()
    assert "Traceback" not in log.read_text()
    with launched(log=log) as (process, url):
        writer = writer_of(process)
        process.kill()
        process.wait(START_TIMEOUT_S)
        wait_for(lambda: not running(writer), "the writer outlived a killed server")


def test_the_writer_s_pipe_holds_several_batches() -> None:
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are Linux's")
    writer = accesslines.start_writer()
    assert writer is not None and writer.stdin is not None
    try:
        assert fcntl.fcntl(writer.stdin.fileno(), fcntl.F_GETPIPE_SZ) == accesslines.PIPE_BYTES
    finally:
        writer.stdin.close()
        writer.wait(START_TIMEOUT_S)


def test_a_batch_of_access_lines_formats_as_its_lines_one_by_one() -> None:
    facts = [
        ("127.0.0.1", "GET", "/a?x=1", 1, 1, 200, 310, 0.0004),
        (None, "POST", "/b", 1, 0, 201, 5, 1.25),
    ]
    batch: accesslines.Batch = [field for now, line in zip((1e9, 1e9 + 0.002), facts, strict=True) for field in (now, *line)]
    text = accesslines.lines(batch).splitlines()
    masked = accesslines.lines(batch, str.upper).splitlines()
    for written, upper, line in zip(text, masked, facts, strict=True):
        start, _, rest = written.partition(" mockserver.access ")
        assert rest == accesslines.access_line(*line)
        assert upper == f"{start} mockserver.access {accesslines.access_line(*line).upper()}"
    assert [written.split(" mockserver.access ")[0][-3:] for written in text] == ["000", "002"]
    assert accesslines.paths(batch) == "/a?x=1/b"
