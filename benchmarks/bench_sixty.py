"""What the number of APIs costs: collection, the embedded server, and runs beside Newman, each against its target.

``python benchmarks/bench_sixty.py [--only collect,server,per-api,all,latency] [--runs 3] [--apis tmf620,...]``
prints one line per figure with its target and ``ok`` or ``MISSED``:

- ``collect``: ``pytest --collect-only`` of the packaged suites (the whole command), target < 2 s;
- ``server``: the embedded reference server up and answering, and its resident memory before any
  instance, in a fresh process, targets < 1 s and < 150 MiB;
- ``per-api``: each API's CTK tier (``pytest -m ctk`` of its suite, the whole command) against Newman
  running its official kit, same server, target ratio <= 1 for every API;
- ``all``: every suite (CTK and spec tiers, default options) against the embedded server, target < 60 s;
- ``latency``: against a server that answers every request after 100 ms, N APIs (CTK and spec, default
  options) against Newman running the N kits one after another, at N = 5 and N = all, target ratio <= 1.

Medians of ``--runs`` alternating rounds. It needs ``../shared/official-ctks`` and Newman (``npm ci``).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mockserver
import tmfapis
from tests.support.official_kits import NEWMAN, prepare

SUITES = REPO / "harness" / "suites"
FIGURES = ("collect", "server", "per-api", "all", "latency")
SERVER_PROBE = """
import sys, time
started = time.perf_counter()
import mockserver, requests
server = mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False))
requests.get(server.url.rstrip("/") + "/health", timeout=10).raise_for_status()
up = time.perf_counter() - started
rss_kib = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
print(up, rss_kib / 1024, time.process_time())
server.stop()
"""


BARE_AIOHTTP_PROBE = """
import threading, time
started = time.perf_counter()
import asyncio, requests
from aiohttp import web
async def health(request):
    return web.json_response({"status": "ok"})
app = web.Application()
app.router.add_get("/health", health)
loop = asyncio.new_event_loop()
runner = web.AppRunner(app, access_log=None)
loop.run_until_complete(runner.setup())
site = web.TCPSite(runner, "127.0.0.1", 0)
loop.run_until_complete(site.start())
port = site._server.sockets[0].getsockname()[1]
threading.Thread(target=loop.run_forever, daemon=True).start()
requests.get(f"http://127.0.0.1:{port}/health", timeout=10).raise_for_status()
up = time.perf_counter() - started
rss_kib = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
print(up, rss_kib / 1024, time.process_time())
"""


def suite_apis() -> list[str]:
    """The APIs whose suite ships in the package, in the project's order."""
    declared = {path.parent.name.replace("ctk", "tmf") for path in SUITES.glob("ctk*/ctk*.yaml")}
    return [api_id for api_id in tmfapis.API_IDS if api_id in declared]


# A kit request to another host (704-708 start with www.example.com) goes to a closed loopback port, never out.
CONTAINED = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
             "NO_PROXY": "127.0.0.1,localhost"}


def timed(command: Sequence[str], expected: tuple[int, ...] = (0, 1)) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=1800,
                            env=CONTAINED)
    elapsed = time.perf_counter() - started
    if result.returncode not in expected:  # 1: some check failed; the time still counts
        raise SystemExit(f"{' '.join(command[:4])} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def median_of(runs: int, *commands: Callable[[], float]) -> list[float]:
    """Alternating rounds of each measurement; the median of each."""
    rounds: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for times, command in zip(rounds, commands, strict=True):
            times.append(command())
    return [statistics.median(times) for times in rounds]


def line(name: str, figure: str, target: str, met: bool) -> None:
    print(f"{name:<58} {figure:>14}   target {target:<10} {'ok' if met else 'MISSED'}")


def pytest_command(suites: Sequence[str], base_url: str, report: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *suites, "-q", "-p", "no:cacheprovider", "--base-url", base_url,
            "--ctk-report", report, *options]


def newman_commands(api_ids: Sequence[str], base_url: str, scratch: Path) -> list[list[str]]:
    commands = []
    for api_id in api_ids:
        folder = scratch / f"kit-{api_id}"
        folder.mkdir(exist_ok=True)
        collection, environment = prepare(api_id, f"{base_url.rstrip('/')}{tmfapis.api(api_id).base_path}", folder)
        commands.append([str(NEWMAN), "run", str(collection), "-e", str(environment), "--insecure", "-r", "cli",
                         "--reporter-cli-no-summary"])
    return commands


def newman_in_turn(commands: list[list[str]]) -> float:
    return sum(timed(command) for command in commands)


def children_cpu() -> float:
    """Processor seconds (user and system) of the commands run so far: a figure a busy machine does not stretch."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def collect(runs: int, scratch: Path) -> None:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--pyargs",
               "harness.suites"]
    empty = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(scratch)]
    timed(command)  # the first collection keeps the declarations it validated
    cpu_before = children_cpu()
    (seconds,) = median_of(runs, partial(timed, command))
    cpu = (children_cpu() - cpu_before) / runs
    (floor,) = median_of(runs, partial(timed, empty, expected=(0, 5)))  # 5: no tests collected
    line(f"pytest --collect-only, {len(suite_apis())} packaged suites (CPU {cpu:.2f} s)", f"{seconds:.2f} s", "< 2 s",
         seconds < 2)
    print(f"  baseline: pytest --collect-only of an empty folder, same plugins: {floor:.2f} s")


def server(runs: int) -> None:
    probes, bare = [], []
    for _ in range(runs):
        for probe, kept in ((SERVER_PROBE, probes), (BARE_AIOHTTP_PROBE, bare)):
            result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                                    check=True, timeout=60)
            kept.append(tuple(map(float, result.stdout.split())))
    up = statistics.median(probe[0] for probe in probes)
    mib = statistics.median(probe[1] for probe in probes)
    cpu = statistics.median(probe[2] for probe in probes)
    line(f"embedded server of {len(tmfapis.API_IDS)} APIs up, import to first answer (CPU {cpu:.2f} s)", f"{up:.2f} s",
         "< 1 s", up < 1)
    line("its resident memory before any instance", f"{mib:.0f} MiB", "< 150 MiB", mib < 150)
    print(f"  baseline: a bare aiohttp server of one route up the same way: {statistics.median(b[0] for b in bare):.2f} s "
          f"(CPU {statistics.median(b[2] for b in bare):.2f} s), {statistics.median(b[1] for b in bare):.0f} MiB")


def per_api(runs: int, api_ids: Sequence[str], base_url: str, scratch: Path) -> None:
    worst = 0.0
    for api_id in api_ids:
        ours = pytest_command([str(SUITES / f"ctk{api_id[3:]}")], base_url, f"{scratch}/report", "-m", "ctk")
        (newman,) = newman_commands([api_id], base_url, scratch)
        ctk, kit = median_of(runs, partial(timed, ours), partial(timed, newman))
        worst = max(worst, ctk / kit)
        line(f"{api_id} CTK tier / Newman ({ctk:.2f} s / {kit:.2f} s)", f"{ctk / kit:.2f}", "<= 1", ctk <= kit)
    line(f"worst of {len(api_ids)} APIs, CTK tier / Newman", f"{worst:.2f}", "<= 1", worst <= 1)


def all_apis(runs: int, api_ids: Sequence[str], scratch: Path) -> None:
    command = [sys.executable, "-m", "pytest", *(str(SUITES / f"ctk{a[3:]}") for a in api_ids), "-q", "-p",
               "no:cacheprovider", "--ctk-report", f"{scratch}/report"]
    cpu_before = children_cpu()
    (seconds,) = median_of(runs, partial(timed, command))
    cpu = (children_cpu() - cpu_before) / runs
    line(f"{len(api_ids)} APIs, CTK + spec, embedded server (CPU {cpu:.0f} s)", f"{seconds:.1f} s", "< 60 s", seconds < 60)


def latency(runs: int, api_ids: Sequence[str], scratch: Path) -> None:
    config = mockserver.ServerConfig(port=0, access_log=False, latency_ms=100)
    with mockserver.start_background(config) as slow:
        for count in sorted({min(5, len(api_ids)), len(api_ids)}):
            chosen = api_ids[:count]
            ours = pytest_command([str(SUITES / f"ctk{a[3:]}") for a in chosen], slow.url, f"{scratch}/report")
            kits = newman_commands(chosen, slow.url, scratch)
            harness, newman = median_of(runs, partial(timed, ours), partial(newman_in_turn, kits))
            line(f"{count} APIs at 100 ms, CTK + spec / Newman in turn ({harness:.0f} s / {newman:.0f} s)",
                 f"{harness / newman:.2f}", "<= 1", harness <= newman)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated, of {', '.join(FIGURES)}")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--apis", default="", help="comma-separated API ids (default: every packaged suite)")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    unknown = wanted - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}")
    api_ids = args.apis.split(",") if args.apis else suite_apis()
    # compiled as an installed wheel is: where PYTHONDONTWRITEBYTECODE is set, each process would compile them anew
    compileall.compile_dir(REPO, quiet=1, rx=re.compile(r"/(\.venv|node_modules|\.git)/"))
    with tempfile.TemporaryDirectory() as name, \
            mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as reference:
        scratch = Path(name)
        if "collect" in wanted:
            collect(args.runs, scratch)
        if "server" in wanted:
            server(args.runs)
        if "per-api" in wanted:
            per_api(args.runs, api_ids, reference.url, scratch)
        if "all" in wanted:
            all_apis(args.runs, api_ids, scratch)
        if "latency" in wanted:
            latency(args.runs, api_ids, scratch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
