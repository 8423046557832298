"""What the bounds of ``harness.http.send`` cost: latency of a GET against the reference server through ``send``
(deadline watchdog, streamed body, same-origin redirects) beside a plain ``requests`` session, and the peak
memory of answers that would otherwise be unbounded (a gzip bomb, a 200 MB body) beside the process at rest.

    python benchmarks/bench_send.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mockserver
from harness.http import BoundedSession, send
from harness.redact import Redactor
from tests.support import hostile

ROUNDS = 500


def per_request_ms(call: object, url: str) -> float:
    started = time.perf_counter()
    for _ in range(ROUNDS):
        call(url)  # type: ignore[operator]
    return (time.perf_counter() - started) / ROUNDS * 1000


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    redactor = Redactor()
    bounded = BoundedSession()
    plain = requests.Session()
    with mockserver.start_background(mockserver.ServerConfig(port=0, access_log=False)) as server:
        url = server.url + "/tmf-api/customerManagement/v4/customer?limit=1"
        for _ in range(50):  # warm both connection pools
            plain.get(url, timeout=10)
            send(bounded, "GET", url, redactor)
        baseline = per_request_ms(lambda u: plain.get(u, timeout=10).content, url)
        bounded_ms = per_request_ms(lambda u: send(bounded, "GET", u, redactor), url)
    print(f"GET {ROUNDS}x: requests {baseline:.2f} ms/request, send {bounded_ms:.2f} ms/request "
          f"(ratio {bounded_ms / baseline:.2f})")
    hostile.bomb()
    at_rest = peak_mib()
    for name, behaviour in (("gzip bomb (1 MB -> 1 GiB)", hostile.gzip_bomb), ("200 MB body", hostile.huge_body)):
        with hostile.serve(behaviour) as server:
            started = time.perf_counter()
            reply = send(bounded, "GET", server.url + "/x", redactor)
            seconds = time.perf_counter() - started
        print(f"{name}: {seconds:.2f} s, peak {peak_mib():.0f} MiB (at rest {at_rest:.0f} MiB): {reply.problem}")


if __name__ == "__main__":
    main()
