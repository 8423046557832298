"""The command line's access log: one line a request through a buffer, the filters' guarantees kept."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import requests
from test_cli import START_TIMEOUT_S, launched

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
