"""Reference server figures: GET-by-id throughput against a bare aiohttp handler, and filter latency.

Run ``python benchmarks/bench_server.py``. Each server runs in its own process on a free loopback
port; one light keep-alive HTTP/1.1 client (raw asyncio streams, so the client costs little) drives
both the same way. The reference server holds the instances of one resource, loaded through its
store, and answers equality filters from its index. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import quote

from aiohttp import web

API_ID = "tmf629"
RESOURCE = "customer"
BASE_PATH = "/tmf-api/customerManagement/v4/customer"


def customer(number: int, origin: str) -> dict[str, Any]:
    """The benchmark's customer number ``number``: a unique name, a shared status, nested parts."""
    instance_id = f"C{number:07d}"
    return {
        "id": instance_id,
        "href": f"{origin}{BASE_PATH}/{instance_id}",
        "@type": "Customer",
        "name": f"Customer {number:07d}",
        "status": ("Approved", "Initialized", "Validated")[number % 3],
        "engagedParty": {"id": f"P{number % 1000:04d}", "@referredType": "Individual"},
        "contactMedium": [
            {"mediumType": "email", "characteristic": {"emailAddress": f"c{number}@example.com"}}
        ],
    }


# ---- servers, each in its own process ---------------------------------------------------------------


def bare_app(body: bytes) -> web.Application:
    """A bare aiohttp app answering GET by id with a fixed JSON body of the same size."""

    async def fixed(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get(BASE_PATH + "/{id}", fixed)
    return app


def reference_app(
    sock: socket.socket, count: int
) -> tuple[web.Application, Callable[[web.Application], None]]:
    """The reference server and the step that loads ``count`` customers into its store."""
    from mockserver import ServerConfig, create_app
    from mockserver.app import STORE_KEY

    port = sock.getsockname()[1]
    config = ServerConfig(host="127.0.0.1", port=port, access_log=False)
    origin = f"http://127.0.0.1:{port}"

    def load(app: web.Application) -> None:
        app[STORE_KEY].put_many(API_ID, RESOURCE, [customer(n, origin) for n in range(count)])

    return create_app(config), load


async def serve(kind: str, count: int, conn: Connection) -> None:
    """Serve until the parent says stop; report the port and the load time first."""
    sock = socket.create_server(("127.0.0.1", 0))
    started = time.perf_counter()
    if kind == "bare":
        app, load = bare_app(json.dumps(customer(0, "http://127.0.0.1:1")).encode()), None
    else:
        app, load = reference_app(sock, count)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    if load is not None:
        load(app)
    await web.SockSite(runner, sock).start()
    conn.send((sock.getsockname()[1], time.perf_counter() - started))
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await runner.cleanup()


def serve_process(kind: str, count: int, conn: Connection) -> None:
    """Process entry point."""
    asyncio.run(serve(kind, count, conn))


@dataclass(slots=True)
class Served:
    """A server process, its port and how long it took to start (and load)."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    port: int
    startup_s: float

    def stop(self) -> None:
        """Ask the server to stop and wait for its process."""
        self.conn.send("stop")
        self.process.join(30)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


def start(kind: str, count: int) -> Served:
    """Start one server process and wait (bounded) until it listens."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve_process, args=(kind, count, child), daemon=True)
    process.start()
    if not parent.poll(120):
        process.terminate()
        raise SystemExit(f"the {kind} server did not start within 120 s")
    port, startup_s = parent.recv()
    return Served(process, parent, port, startup_s)


# ---- the client -------------------------------------------------------------------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends a GET and reads the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.host = reader, writer, f"127.0.0.1:{port}"

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, port)

    async def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of ``GET target``."""
        self.writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\nAccept: application/json\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"no Content-Length in the answer to {target}")
        body = await self.reader.readexactly(int(headers["content-length"]))
        return int(status_line.split()[1]), headers, body

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True, slots=True)
class Rate:
    """Requests per second, how many did not answer 200, and the client's share of one CPU."""

    per_second: float
    failed: int
    client_cpu: float


async def throughput(port: int, targets: list[str], concurrency: int, seconds: float) -> Rate:
    """The request rate over ``seconds``, after a short warm-up."""
    connections = [await HttpConnection.open(port) for _ in range(concurrency)]
    counting = False
    done = failed = 0
    deadline = 0.0

    async def worker(connection: HttpConnection, rng: random.Random) -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            status, _, _ = await connection.get(rng.choice(targets))
            if counting:
                done += 1
                failed += status != 200

    deadline = time.perf_counter() + min(1.0, seconds / 5)
    await asyncio.gather(*(worker(c, random.Random(n)) for n, c in enumerate(connections)))
    counting = True
    began, began_cpu = time.perf_counter(), time.process_time()
    deadline = began + seconds
    await asyncio.gather(*(worker(c, random.Random(n)) for n, c in enumerate(connections)))
    elapsed = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return Rate(done / elapsed, failed, (time.process_time() - began_cpu) / elapsed)


async def latencies(port: int, queries: list[tuple[str, int]]) -> tuple[list[float], int]:
    """Milliseconds of each (target, expected total) request, one at a time, and how many answered wrong."""
    connection = await HttpConnection.open(port)
    times, wrong = [], 0
    for target, expected_total in queries:
        began = time.perf_counter()
        status, headers, _ = await connection.get(target)
        times.append((time.perf_counter() - began) * 1000)
        wrong += status not in (200, 206) or headers.get("x-total-count") != str(expected_total)
    connection.close()
    return times, wrong


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# ---- the run ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Start both servers, measure, print the figures, stop the servers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100_000, help="customers loaded (default 100000)")
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="throughput measuring time per round and server"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating throughput rounds (default 3)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections for throughput")
    parser.add_argument("--queries", type=int, default=1000, help="filter requests for the latency figures")
    options = parser.parse_args(argv)
    count = max(1, options.instances)
    rng = random.Random(7)
    by_id = [f"{BASE_PATH}/C{rng.randrange(count):07d}" for _ in range(1000)]

    print(
        f"python {sys.version.split()[0]}, {multiprocessing.cpu_count()} CPUs, loopback, client: one process,"
        f" {options.concurrency} keep-alive connections"
    )
    bare = start("bare", 0)
    try:
        reference = start("reference", count)
    except BaseException:
        bare.stop()
        raise
    try:
        print(f"reference server started with {count} customers in {reference.startup_s:.1f} s")
        print(f"(1) GET by id, {options.rounds} alternating rounds of {options.seconds:g} s each")
        ratios = []
        for round_number in range(1, options.rounds + 1):
            bare_rate = asyncio.run(throughput(bare.port, by_id, options.concurrency, options.seconds))
            rate = asyncio.run(throughput(reference.port, by_id, options.concurrency, options.seconds))
            ratios.append(rate.per_second / bare_rate.per_second)
            for name, measured in (("bare aiohttp handler", bare_rate), ("reference server", rate)):
                print(
                    f"    round {round_number} {name:<22}{measured.per_second:9.0f} req/s   ({measured.failed}"
                    f" not 200, client at {measured.client_cpu:.0%} of a CPU)"
                )
        print(f"    ratio, median of the rounds   {statistics.median(ratios):9.2f}   (aim >= 0.6)")

        numbers = [rng.randrange(count) for _ in range(options.queries)]
        unique = [(f"{BASE_PATH}?name={quote(f'Customer {n:07d}')}", 1) for n in numbers]
        first_ms, first_wrong = asyncio.run(latencies(reference.port, unique[:1]))
        times, wrong = asyncio.run(latencies(reference.port, unique))
        sharing = [(n % 1000, len(range(n % 1000, count, 1000))) for n in numbers[:200]]
        nested = [(f"{BASE_PATH}?engagedParty.id=P{party:04d}&limit=10", total) for party, total in sharing]
        nested_times, nested_wrong = asyncio.run(latencies(reference.port, nested))
        scans = [(f"{BASE_PATH}?name.gte={quote(f'Customer {count - 1:07d}')}", 1)] * 10
        scan_times, scan_wrong = asyncio.run(latencies(reference.port, scans))
        print(f"(2) equality filter over {count} customers, one request at a time")
        print(f"    first ?name= (builds the index)          {first_ms[0]:8.2f} ms")
        print(
            f"    ?name=<unique>            x{len(times):<5} p50 {percentile(times, 0.5):6.2f} ms"
            f"  p99 {percentile(times, 0.99):6.2f} ms   (aim p50 < 5 ms)"
        )
        print(
            f"    ?engagedParty.id=&limit=10 x{len(nested_times):<4} p50 {percentile(nested_times, 0.5):6.2f} ms"
            f"  p99 {percentile(nested_times, 0.99):6.2f} ms"
        )
        print(
            f"    for contrast, ?name.gte= (a full scan) x{len(scan_times):<3} p50"
            f" {percentile(scan_times, 0.5):6.2f} ms"
        )
        unexpected = first_wrong + wrong + nested_wrong + scan_wrong
        if unexpected:
            print(f"WARNING: {unexpected} filter answers did not have the expected status or X-Total-Count")
    finally:
        reference.stop()
        bare.stop()


if __name__ == "__main__":
    main()
