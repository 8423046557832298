"""What the journal keeps: no host in any stored instance, and a cancel that commits whole or not at all."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
from served import PAYLOADS, collection_url

from mockserver import ServerConfig, start_background

ORDERS = ("tmf622", "productOrder")
CANCELS = ("tmf622", "cancelProductOrder")
WRITERS = 64
KILLS = 5
CANCELS_PER_ROUND = 60
START_TIMEOUT_S = 30


def stored_bodies(db: Path) -> list[str]:
    """Every body the journal holds, as text."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT body FROM instances").fetchall()
    return [body.decode("utf-8") if isinstance(body, bytes) else body for (body,) in rows]


def test_hrefs_come_from_the_origin_of_each_read_and_no_host_is_stored(tmp_path: Path) -> None:
    config = ServerConfig(port=0, db_path=tmp_path / "store.sqlite", access_log=False)
    with start_background(config) as first:
        order = requests.post(collection_url(first.url, *ORDERS), json=PAYLOADS[ORDERS])
        assert order.json()["href"] == order.headers["Location"]
        assert order.headers["Location"].startswith(first.url + "/")
        cancel = requests.post(collection_url(first.url, *CANCELS), json={"productOrder": {"id": order.json()["id"]}})
        assert cancel.status_code == 201, cancel.text
    assert not [body for body in stored_bodies(config.db_path) if "127.0.0.1" in body]  # type: ignore[arg-type]
    with start_background(config) as second:
        other_host = second.url.replace("127.0.0.1", "localhost")
        again = requests.get(f"{collection_url(other_host, *ORDERS)}/{order.json()['id']}").json()
        assert again["href"] == f"{collection_url(other_host, *ORDERS)}/{order.json()['id']}"
        reference = requests.get(f"{collection_url(other_host, *CANCELS)}/{cancel.json()['id']}").json()
        assert reference["productOrder"]["href"] == again["href"]
        listed = requests.get(collection_url(other_host, *ORDERS), params={"fields": "state"}).json()
        assert [item["href"] for item in listed] == [again["href"]]
    with start_background(replace(config, public_url="https://api.example/base/")) as third:
        shown = requests.get(f"{collection_url(third.url, *ORDERS)}/{order.json()['id']}").json()
        assert shown["href"] == f"{collection_url('https://api.example/base', *ORDERS)}/{order.json()['id']}"


def start_cli(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The command-line server on a free port with a journal, and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "--port", "0", "--db", str(db), "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    if not ready:
        process.kill()
        raise AssertionError("the server did not start")
    return process, process.stdout.readline().decode().split()[-1]


def write_until_killed(db: Path, orders: list[str], cancels: list[tuple[str, str]]) -> None:
    """64 clients create orders and cancel them until the server, started on ``db``, is killed (-9)."""
    process, url = start_cli(db)
    enough = threading.Event()
    goal = len(cancels) + CANCELS_PER_ROUND

    def writer(number: int) -> None:
        with requests.Session() as http:
            try:
                while True:
                    order = http.post(collection_url(url, *ORDERS), json=PAYLOADS[ORDERS], timeout=10)
                    assert order.status_code == 201, order.text
                    orders.append(order.json()["id"])
                    body = {"productOrder": {"id": order.json()["id"]}, "cancellationReason": f"w{number}"}
                    cancel = http.post(collection_url(url, *CANCELS), json=body, timeout=10)
                    assert cancel.status_code == 201, cancel.text
                    cancels.append((cancel.json()["id"], order.json()["id"]))
                    if len(cancels) >= goal:
                        enough.set()
            except requests.RequestException:
                return  # the server was killed

    with ThreadPoolExecutor(WRITERS) as pool:
        running = [pool.submit(writer, n) for n in range(WRITERS)]
        enough.wait(60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        for future in running:
            future.result()


def test_kill_9_under_64_writers_loses_no_acknowledged_write_and_leaves_no_half_cancel(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    orders: list[str] = []
    cancels: list[tuple[str, str]] = []  # (cancel id, order id), acknowledged
    for _ in range(KILLS):  # each kill lands at a random point of some write
        write_until_killed(db, orders, cancels)
    assert len(cancels) >= KILLS * CANCELS_PER_ROUND
    with start_background(ServerConfig(port=0, db_path=db, access_log=False)) as restarted:
        kept_orders = {o["id"]: o for o in requests.get(collection_url(restarted.url, *ORDERS)).json()}
        kept_cancels = {c["id"]: c for c in requests.get(collection_url(restarted.url, *CANCELS)).json()}
    assert set(orders) <= set(kept_orders), "every acknowledged order is kept"
    assert {cancel_id for cancel_id, _ in cancels} <= set(kept_cancels), "every acknowledged cancel is kept"
    cancelled: dict[str, Any] = {i: o for i, o in kept_orders.items() if o["state"] == "cancelled"}
    referenced = {c["productOrder"]["id"] for c in kept_cancels.values()}
    assert referenced == set(cancelled), "an order is cancelled exactly when its cancel is kept"
