"""Reference server figures at scale, each printed beside its target and its baseline in one run.

``python benchmarks/bench_server.py [--sizes 200000,1000000] [--compare 10000,100000]`` prints, per
size: start-up time and resident memory per instance from ``--seed`` and from ``--db``; p50 of
``?status=X&limit=10`` and ``?limit=10`` with ``X-Total-Count`` checked; the worst GET-by-id latency
while a 1,000-key sort, 6,000 filter names, a full sort, a scan and a first index build are asked.
Then, once, with wrk as the load (``scripts/install-bench-tools.sh`` installs it and json-server):
GET-by-id throughput against a bare aiohttp handler serving the same customers from a dict (and, for
information, one serving a fixed body), the access log's cost, and GET by id, an equality filter,
POST and a 90/10 mix against json-server at each ``--compare`` size. Every server is a separate
process on a free loopback port, started as users start it (``python -m mockserver``); latencies
are measured by one light keep-alive client (raw asyncio streams). It prints figures and asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import random
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
JSON_SERVER = REPO / "node_modules" / ".bin" / "json-server"
API_ID = "tmf629"
RESOURCE = "customer"
BASE_PATH = "/tmf-api/customerManagement/v4/customer"
STATUSES = ("Approved", "Initialized", "Validated")
START_TIMEOUT_S = 600


def customer(number: int) -> dict[str, Any]:
    """Customer ``number`` of a seed: a unique name, one of three statuses, nested parts."""
    return {
        "id": f"C{number:07d}",
        "name": f"Customer {number:07d}",
        "status": STATUSES[number % 3],
        "engagedParty": {"id": f"P{number % 1000:04d}", "@referredType": "Individual"},
        "contactMedium": [
            {"mediumType": "email", "characteristic": {"emailAddress": f"c{number}@example.com"}}
        ],
    }


def new_customer(number: int) -> bytes:
    """The body of a POST."""
    body = {k: v for k, v in customer(number).items() if k != "id"}
    return json.dumps(body).encode()


def write_seed(path: Path, count: int, *, json_server: bool = False) -> None:
    """A seed file of ``count`` customers (or json-server's db file with the same customers)."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"customer":[' if json_server else '{"tmf629":{"customer":[')
        for start in range(0, count, 10_000):
            part = ",".join(json.dumps(customer(n)) for n in range(start, min(count, start + 10_000)))
            out.write(("," if start else "") + part)
        out.write("]}" if json_server else "]}}")


def status_count(count: int, status: str) -> int:
    """How many of the first ``count`` customers have a status."""
    return len(range(STATUSES.index(status), count, 3))


# ---- servers ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Server:
    """A server process, the port it listens on and how long it took to start."""

    process: subprocess.Popen[bytes] | multiprocessing.process.BaseProcess
    port: int
    startup_s: float

    def rss_bytes(self) -> int:
        """Resident memory of the process, from /proc."""
        pid = self.process.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_s(self) -> float:
        """CPU seconds the process has used (user and system), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the process and wait for it."""
        self.process.terminate()
        if isinstance(self.process, subprocess.Popen):
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        else:
            self.process.join(30)


ASYNCIO_LOOP = "import sys; sys.modules['uvloop'] = None; from mockserver.__main__ import main; main()"


def start_reference(*options: str, log: Path | None = None, asyncio_loop: bool = False) -> Server:
    """``python -m mockserver`` with options (``asyncio_loop``: as where uvloop is not installed); its
    start-up is measured until it prints its URL."""
    command = [sys.executable, *(["-c", ASYNCIO_LOOP] if asyncio_loop else ["-m", "mockserver"]), "--port", "0", *options]
    if log is None:
        command.append("--no-access-log")
    started = time.perf_counter()
    with open(log or os.devnull, "wb") as errors:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=errors)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
    line = process.stdout.readline().decode() if ready else ""
    if not line.startswith("listening on"):
        process.kill()
        raise SystemExit(f"the reference server did not start: {' '.join(options)}")
    return Server(process, int(line.rsplit(":", 1)[1]), time.perf_counter() - started)


def serve_bare(port_pipe: Any, count: int) -> None:
    """Process entry point: a bare aiohttp handler answering GET by id from a dict of ``count`` bodies.

    With ``count`` 0 it answers every id with one fixed body: the framework alone, holding no data. It
    runs on the reference server's event loop, so that the two differ only by what the server does.
    """
    from mockserver.serve import run as run_on_server_loop

    def body(number: int) -> bytes:
        return json.dumps({**customer(number), "href": f"http://127.0.0.1:1{BASE_PATH}/C{number:07d}"}).encode()

    bodies = {f"C{number:07d}": body(number) for number in range(count)}
    fixed_body = body(0)

    async def by_id(request: web.Request) -> web.Response:
        found = bodies.get(request.match_info["id"])
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(body=found, content_type="application/json")

    async def fixed(request: web.Request) -> web.Response:
        return web.Response(body=fixed_body, content_type="application/json")

    async def run() -> None:
        app = web.Application()
        app.router.add_get(BASE_PATH + "/{id}", by_id if count else fixed)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        port_pipe.send(sock.getsockname()[1])
        await asyncio.Event().wait()

    run_on_server_loop(run())


def start_bare(count: int) -> Server:
    """The bare handler in its own process, holding ``count`` customers (0: one fixed body)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve_bare, args=(child, count), daemon=True)
    started = time.perf_counter()
    process.start()
    if not parent.poll(START_TIMEOUT_S):
        process.terminate()
        raise SystemExit("the bare handler did not start")
    return Server(process, parent.recv(), time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_json_server(db: Path) -> Server:
    """json-server on its db file; ready when it answers."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(JSON_SERVER), "--port", str(port), "--quiet", "--no-gzip", str(db)],
        cwd=db.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Server(process, port, time.perf_counter() - started)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("json-server did not start")


@contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


# ---- the client -------------------------------------------------------------------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.host = reader, writer, f"127.0.0.1:{port}"

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        return cls(reader, writer, port)

    async def send(self, target: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of a GET, or of a POST of a JSON body."""
        head = f"{'GET' if body is None else 'POST'} {target} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        answer = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = answer.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked (json-server)
            content = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                content += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        return int(status_line.split()[1]), headers, content

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True, slots=True)
class Workload:
    """What wrk asks for: GETs of ``target`` (``%07d`` a random customer number), a share of them POSTs."""

    target: str  # after the collection's path
    post_share: float = 0.0

    def script(self, collection: str, count: int) -> str:
        """The wrk Lua script for one server's collection path."""
        post_body = new_customer_template()
        return f"""
math.randomseed(7)
local get_target, post_target = [[{collection}{self.target}]], [[{collection}]]
local post_body, headers = [[{post_body}]], {{["Content-Type"] = "application/json"}}
local posted = 10000000
request = function()
  if math.random() < {self.post_share} then
    posted = posted + 1
    return wrk.format("POST", post_target, headers, (post_body:gsub("NUMBER", posted)))
  end
  return wrk.format("GET", string.format(get_target, math.random(0, {count - 1})))
end
"""


def new_customer_template() -> str:
    """The body of a POST with ``NUMBER`` where its number goes."""
    return new_customer(123456789).decode().replace("123456789", "NUMBER")


BY_ID = Workload("/C%07d")


def run_wrk(port: int, script: str, seconds: float) -> tuple[int, int, float]:
    """Requests answered, those not 2xx or 3xx, and the seconds of one wrk run (one thread, 32 connections)."""
    command = ["wrk", "-t1", "-c32", f"-d{max(1, round(seconds))}s", "-s", script, f"http://127.0.0.1:{port}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if done is None:
        raise SystemExit(f"wrk printed no request count:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    elapsed = float(done[2]) / (1000 if done[3] == "ms" else 1)
    return int(done[1]), int(bad[1]) if bad else 0, elapsed


def throughput(port: int, workload: Workload, collection: str, count: int, seconds: float) -> float:
    """2xx answers a second with wrk on 32 keep-alive connections, after a one-second warm-up."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(workload.script(collection, count))
        script.flush()
        run_wrk(port, script.name, 1)
        answered, bad, elapsed = run_wrk(port, script.name, seconds)
    if bad:
        print(f"      ({bad} answers were not 2xx; only 2xx are counted)")
    return (answered - bad) / elapsed


async def latencies(port: int, queries: Sequence[tuple[str, int | None]]) -> tuple[list[float], int]:
    """Milliseconds of each (target, expected X-Total-Count) one at a time, and how many answered wrong."""
    connection = await HttpConnection.open(port)
    times, wrong = [], 0
    for target, expected_total in queries:
        began = time.perf_counter()
        status, headers, _ = await connection.send(target)
        times.append((time.perf_counter() - began) * 1000)
        wrong += status not in (200, 206) or (
            expected_total is not None and headers.get("x-total-count") != str(expected_total)
        )
    connection.close()
    return times, wrong


async def while_asked(port: int, heavy: str, count: int) -> tuple[float, int, list[float]]:
    """Send one heavy request while GETs by id go on: its seconds and status, and the GETs' milliseconds."""
    heavy_connection, probe = await HttpConnection.open(port), await HttpConnection.open(port)
    rng = random.Random(3)
    probes: list[float] = []
    finished = asyncio.Event()

    async def probing() -> None:
        while not finished.is_set():
            began = time.perf_counter()
            await probe.send(f"{BASE_PATH}/C{rng.randrange(count):07d}")
            probes.append((time.perf_counter() - began) * 1000)
            await asyncio.sleep(0.002)

    prober = asyncio.create_task(probing())
    await asyncio.sleep(0.05)
    began = time.perf_counter()
    status, _, _ = await heavy_connection.send(heavy)
    elapsed = time.perf_counter() - began
    finished.set()
    await prober
    heavy_connection.close()
    probe.close()
    return elapsed, status, probes


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def server_loop() -> str:
    """The event loop the reference server runs on here."""
    from mockserver.serve import new_event_loop

    loop = new_event_loop()
    loop.close()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio's own"


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# ---- the run ----------------------------------------------------------------------------------------


def scale(count: int, work: Path) -> None:
    """Start-up, memory, list latencies and blocking at one size."""
    seed = work / f"seed-{count}.json"
    write_seed(seed, count)
    print(f"\n== {count:,} customers (load average {os.getloadavg()[0]:.1f})")
    with running(start_reference()) as empty:
        baseline_rss = empty.rss_bytes()
    with running(start_reference("--seed", str(seed))) as server:
        rss = server.rss_bytes()
        print(
            f"  start-up with --seed                 {server.startup_s:7.1f} s   (target < 10 s: {mark(server.startup_s < 10)});"
            f" {server.cpu_s():.1f} s of CPU"
        )
        per = rss / count
        net = (rss - baseline_rss) / count
        print(
            f"  resident memory                     {rss / 2**20:8.0f} MiB = {per:.0f} B an instance"
            f" ({net:.0f} B beyond an empty server's {baseline_rss / 2**20:.0f} MiB)   (target < 1024 B: {mark(per < 1024)})"
        )
        lists(server.port, count)
        blocking(server.port, count)
    stretches(seed, count)
    db = work / f"store-{count}.sqlite"
    with running(start_reference("--seed", str(seed), "--db", str(db))) as server:
        print(
            f"  first start with --seed and --db     {server.startup_s:7.1f} s   (writes the journal); {server.cpu_s():.1f} s of CPU"
        )
    with running(start_reference("--db", str(db))) as server:
        rss = server.rss_bytes()
        print(
            f"  restart from --db                    {server.startup_s:7.1f} s   (target < 10 s: {mark(server.startup_s < 10)});"
            f" {server.cpu_s():.1f} s of CPU; {rss / count:.0f} B an instance resident   ({mark(rss / count < 1024)})"
        )
    seed.unlink()
    for path in work.glob(f"store-{count}.sqlite*"):
        path.unlink()


def lists(port: int, count: int) -> None:
    rng = random.Random(5)
    asyncio.run(latencies(port, [(f"{BASE_PATH}?status=Approved&limit=10", None)]))  # builds the index
    by_status = []
    for _ in range(300):
        status = rng.choice(STATUSES)
        by_status.append((f"{BASE_PATH}?status={status}&limit=10&offset={rng.randrange(1000)}", status_count(count, status)))
    everything = [(f"{BASE_PATH}?limit=10&offset={rng.randrange(count - 10)}", count) for _ in range(300)]
    for name, queries in (("?status=X&limit=10", by_status), ("?limit=10", everything)):
        times, wrong = asyncio.run(latencies(port, queries))
        p50 = percentile(times, 0.5)
        print(
            f"  {name:<22} x{len(times)}   p50 {p50:6.2f} ms  p99 {percentile(times, 0.99):6.2f} ms"
            f"   (target p50 < 2 ms: {mark(p50 < 2)});  X-Total-Count wrong: {wrong}"
        )


def blocking(port: int, count: int) -> None:
    heavy = {
        "sort on 1,000 keys": f"{BASE_PATH}?sort=" + ",".join(f"k{n}" for n in range(1000)),
        "6,000 filter names": f"{BASE_PATH}?" + "&".join(f"f{n}=x" for n in range(6000)),
        "first filter on a new attribute (index build)": f"{BASE_PATH}?engagedParty.id=P0007&limit=10",
        "full sort by name, descending": f"{BASE_PATH}?sort=-name&limit=10",
        "scan: name.gte (every instance)": f"{BASE_PATH}?name.gte={quote('Customer')}&limit=10",
        "ne on an indexed attribute": f"{BASE_PATH}?status.ne=Approved&limit=10",
    }
    print("  while one heavy request runs, GET by id (one client, every 2 ms):   (target: worst < 100 ms)")
    for name, target in heavy.items():
        seconds, status, probes = asyncio.run(while_asked(port, target, count))
        worst = max(probes) if probes else 0.0
        print(
            f"    {name:<46} answered {status} in {seconds:6.2f} s;  GET by id x{len(probes):<4}"
            f" p50 {percentile(probes, 0.5) if probes else 0:5.2f} ms  worst {worst:6.1f} ms  ({mark(worst < 100)})"
        )


async def longest_stretch(store: Any, params: dict[str, list[str]]) -> tuple[float, float, int]:
    """Seconds a selection takes in this process, the most CPU it used between two turns of another task, its count."""
    from mockserver import query

    stretches: list[float] = []
    done = asyncio.Event()

    async def other_task() -> None:
        last = time.thread_time()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.thread_time()
            stretches.append(now - last)
            last = now

    other = asyncio.create_task(other_task())
    await asyncio.sleep(0.01)
    began = time.perf_counter()
    _, total = await store.select(API_ID, RESOURCE, query.parse_list_query(params))
    elapsed = time.perf_counter() - began
    done.set()
    await other
    return elapsed, max(stretches), total


def stretches(seed: Path, count: int) -> None:
    """The heavy selections run in this process on the same data: the longest CPU stretch without a turn for others."""
    from mockserver.app import render_seed
    from mockserver.seed import load_seed
    from mockserver.store import ResourceStore

    store = ResourceStore()
    store.load(load_seed(seed, render_seed))
    gc.freeze()  # as the server does after start-up
    heavy = {
        "first filter on a new attribute (index build)": {"engagedParty.id": ["P0007"], "limit": ["10"]},
        "full sort by name, descending": {"sort": ["-name"], "limit": ["10"]},
        "scan: name.gte (every instance)": {"name.gte": ["Customer"], "limit": ["10"]},
        "ne on an indexed attribute": {"status": ["Approved,Validated"], "status.ne": ["Approved"], "limit": ["10"]},
    }
    print("  the same selections in this process, CPU used between two turns of another task (load-independent):")
    for name, params in heavy.items():
        elapsed, longest, total = asyncio.run(longest_stretch(store, params))
        print(
            f"    {name:<46} {elapsed:6.2f} s, {total} matches;  longest stretch {longest * 1000:5.1f} ms of CPU"
            f"   (target < 100 ms: {mark(longest < 0.1)})"
        )


Target = tuple[int, str]  # a server's port and its customer collection's path


def pair(first: Target, second: Target, workload: Workload, count: int, seconds: float, number: int) -> tuple[float, float]:
    """The throughput of two servers measured one after the other, in turn the first or the second."""
    def rate(target: Target) -> float:
        return throughput(target[0], workload, target[1], count, seconds)

    if number % 2:
        later = rate(second)
        return rate(first), later
    earlier = rate(first)
    return earlier, rate(second)


def by_id_rounds(
    servers: tuple[Server, Server], names: tuple[str, str], count: int, seconds: float, rounds: int
) -> list[tuple[float, float]]:
    """GET-by-id throughput of two servers holding ``count`` customers, ``rounds`` times alternating, each printed."""
    first, second = ((server.port, BASE_PATH) for server in servers)
    rates = []
    for number in range(rounds):
        rates.append(pair(first, second, BY_ID, count, seconds, number))
        print(f"    {names[0]} {rates[-1][0]:8.0f} req/s   {names[1]} {rates[-1][1]:8.0f} req/s")
    return rates


def against_bare(work: Path, seconds: float, rounds: int) -> None:
    count = 100_000
    seed = work / "seed-bare.json"
    write_seed(seed, count)
    for label, held in ((f"the same {count:,} customers in a dict (the baseline)", count), ("one fixed body, no data", 0)):
        with running(start_bare(held)) as bare, running(start_reference("--seed", str(seed))) as reference:
            rates = by_id_rounds((bare, reference), ("bare aiohttp handler", "reference server"), count, seconds, rounds)
        ratio = statistics.median(rate / bare_rate for bare_rate, rate in rates)
        target = f"(target >= 0.8: {mark(ratio >= 0.8)})" if held else "(for information)"
        print(f"  GET by id against a bare aiohttp handler serving {label}: ratio {ratio:.2f} (median)   {target}")
    with running(start_reference("--seed", str(seed), asyncio_loop=True)) as plain, running(
        start_reference("--seed", str(seed))
    ) as reference:
        names = ("on asyncio's own loop", f"on the server's loop ({server_loop()})")
        rates = by_id_rounds((plain, reference), names, count, seconds, rounds)
    speed = statistics.median(rate / plain_rate for plain_rate, rate in rates)
    print(f"  GET by id on the server's loop against asyncio's own loop: ratio {speed:.2f} (median)   (for information)")
    log = work / "access.log"
    with running(start_reference("--seed", str(seed), log=log)) as logged, running(
        start_reference("--seed", str(seed))
    ) as quiet:
        rates = by_id_rounds((logged, quiet), ("access log on", "off"), count, seconds, rounds)
    lines = sum(1 for _ in log.open("rb"))
    cost = statistics.median(1 - with_log / without for with_log, without in rates)
    print(f"  access log cost {cost:.1%} of GET-by-id throughput ({lines} lines written)   (target < 10%: {mark(cost < 0.1)})")
    seed.unlink()


def against_json_server(work: Path, count: int, seconds: float, rounds: int) -> None:
    seed, db = work / f"seed-{count}.json", work / f"db-{count}.json"
    write_seed(seed, count)
    write_seed(db, count, json_server=True)
    workloads = {
        "GET by id": BY_ID,
        "equality filter ?name=": Workload("?name=Customer%%20%07d"),
        "POST": Workload("", post_share=1.0),
        "90/10 GET by id / POST": Workload("/C%07d", post_share=0.1),
    }
    print(f"  {count:,} customers ({rounds} rounds, alternating which server goes first):")
    with running(start_reference("--seed", str(seed))) as reference, running(start_json_server(db)) as baseline:
        for name, workload in workloads.items():
            rates = [
                pair((reference.port, BASE_PATH), (baseline.port, "/customer"), workload, count, seconds, number)
                for number in range(rounds)
            ]
            rate = statistics.median(ours for ours, _ in rates)
            their_rate = statistics.median(theirs for _, theirs in rates)
            if their_rate:
                ratio = statistics.median(ours / theirs for ours, theirs in rates if theirs)
                shown = f"{ratio:7.1f}x (median)   (target >= 20x: {mark(ratio >= 20)})"
            else:  # none answered in the window: its rate is below one per window, the ratio above this
                ratio = rate * seconds
                shown = f"> {ratio:.0f}x (json-server answered none in {seconds:.0f} s)   (target >= 20x: {mark(ratio >= 20)})"
            print(f"    {name:<24} reference {rate:8.0f} req/s   json-server {their_rate:8.1f} req/s   {shown}")
    seed.unlink()
    db.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000", help="instances for the scale figures")
    parser.add_argument("--compare", default="10000,100000", help="instances for the json-server comparison")
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time of each throughput figure")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each throughput comparison")
    options = parser.parse_args(argv)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f},"
        f" loopback; the server's event loop: {server_loop()}"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    try:
        for size in (int(text) for text in options.sizes.split(",") if text):
            scale(size, work)
        if shutil.which("wrk") is None:
            print("\nwrk is not installed (scripts/install-bench-tools.sh): no throughput figures")
            return
        print("\n== throughput (wrk: one thread, 32 keep-alive connections)")
        against_bare(work, options.seconds, options.rounds)
        if JSON_SERVER.exists():
            print("  against json-server 0.17.4:")
            for size in (int(text) for text in options.compare.split(",") if text):
                against_json_server(work, size, options.seconds, options.rounds)
        else:
            print("  json-server is not installed (scripts/install-bench-tools.sh): no comparison")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
