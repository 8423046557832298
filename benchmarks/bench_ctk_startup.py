"""A CTK-tier run of one suite against the time Newman takes to run the same official kit, same server.

``python benchmarks/bench_ctk_startup.py [--api tmf681] [--runs 5]`` starts the reference server once,
then alternates the two runs (wall time of the whole command, start-up included) and prints the
median of each and their ratio. It needs ``../shared/official-ctks`` and Newman (``npm ci``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mockserver
import tmfapis
from tests.support.official_kits import NEWMAN, prepare


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, timeout=300)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="tmf681", choices=tmfapis.API_IDS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    suite = f"harness/suites/ctk{args.api[3:]}"
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server, \
            tempfile.TemporaryDirectory() as scratch:
        root = f"{server.url.rstrip('/')}{tmfapis.api(args.api).base_path}"
        collection, environment = prepare(args.api, root, Path(scratch))
        ours_command = [sys.executable, "-m", "pytest", suite, "-m", "ctk", "-q", "-p", "no:cacheprovider",
                        "--base-url", server.url, "--ctk-report", f"{scratch}/report"]
        newman_command = [str(NEWMAN), "run", str(collection), "-e", str(environment), "--insecure", "-r", "cli",
                          "--reporter-cli-no-summary"]
        timed(ours_command), timed(newman_command)  # warm the file cache once
        ours, newman = [], []
        for _ in range(args.runs):
            ours.append(timed(ours_command))
            newman.append(timed(newman_command))
        imports = subprocess.run([sys.executable, "-X", "importtime", *ours_command[1:]], cwd=REPO,
                                 capture_output=True, text=True, check=False)
    hypothesis_loaded = any(line.rstrip().endswith("| hypothesis") for line in imports.stderr.splitlines())
    print(f"{args.api}, {args.runs} runs each, medians of the whole command:")
    print(f"  CTK tier (pytest -m ctk): {statistics.median(ours):.2f} s")
    print(f"  Newman, official kit:     {statistics.median(newman):.2f} s")
    print(f"  ratio CTK tier / Newman:  {statistics.median(ours) / statistics.median(newman):.2f}")
    print(f"  Hypothesis imported by a CTK run: {'yes' if hypothesis_loaded else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
