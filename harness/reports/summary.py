"""The run record ``summary.json``: the same facts as the kit's Newman report, per API, in kit order."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import tmfapis
from harness.record import (
    SPEC_FOLDER,
    ApiJson,
    RequestJson,
    RunJson,
    SpecBlock,
    api_verdict,
    payload_fault,
    request_outcome,
)

__all__ = ["SPEC_FOLDER", "SUMMARY_FILE", "build_summary", "of_payload", "run_target", "spec_block"]

SUMMARY_FILE = "summary.json"
EMBEDDED = "embedded reference server"


def spec_block(requests: list[RequestJson]) -> SpecBlock:
    """The spec-tier result beside the CTK verdict: its checks, the server's deviations and the payload's, and
    conforms or deviates (the server's alone decide)."""
    spec = [check for request in requests for check in request["checks"] if check["tier"] == "spec"]
    failed = [check for check in spec if check["outcome"] == "failed"]
    payload = sum(map(payload_fault, failed))
    deviations = len(failed) - payload
    return {"checks": len(spec), "deviations": deviations, "payload": payload,
            "verdict": "deviates" if deviations else "conforms"}


def of_payload(spec: SpecBlock) -> str:
    """``; N of the payload`` beside a deviation count, where the payload caused failed checks; else empty."""
    payload = spec.get("payload", 0)
    return f"; {payload} of the payload" if payload else ""


def run_target(base_url: str | None, embedded_url: str | None, api_urls: Mapping[str, str], tested: Iterable[str]) -> str:
    """What the run tested: the base URL, or the ``--api-url`` roots alone, or the embedded server (named as such)."""
    tested = sorted(tested, key=_api_order)
    overrides = [f"{api_id}={api_urls[api_id]}" for api_id in tested if api_id in api_urls]
    if overrides and len(overrides) == len(tested):
        return ", ".join(overrides)  # the base URL (or embedded server) served none of the tested APIs
    base = base_url or (f"{EMBEDDED} at {embedded_url}" if embedded_url else EMBEDDED)
    return ", ".join([base, *overrides])


def build_summary(
    records: dict[str, dict[int, RequestJson]],
    suites: dict[str, dict[str, Any]],
    left: dict[str, list[str]],
    target: str,
    started: float,
    not_offered: Mapping[str, str] | None = None,
    preflight_failed: Mapping[str, str] | None = None,
) -> RunJson:
    """``{target, started, duration_s, apis: {api id: {collection, verdict, totals, spec, requests}}, not_offered?,
    preflight_failed?}``."""
    apis: dict[str, ApiJson] = {}
    for api_id in sorted(records, key=_api_order):
        requests = [records[api_id][index] for index in sorted(records[api_id])]
        kit_requests = [request for request in requests if request["folder"] != SPEC_FOLDER]
        checks = [check for request in kit_requests for check in request["checks"] if check["tier"] == "ctk"]
        suite = suites.get(api_id, {})
        entry: ApiJson = {
            "collection": suite.get("collection", ""),
            "target": suite.get("root", ""),
            "verdict": api_verdict(kit_requests, suite.get("planned", len(kit_requests))),
            "totals": {
                "requests": len(kit_requests),
                "failed_requests": sum(request_outcome(request) == "failed" for request in kit_requests),
                "assertions": len(checks),
                "failed_assertions": sum(check["outcome"] == "failed" for check in checks),
            },
            "spec": spec_block(requests),
            "requests": requests,
        }
        if left.get(api_id):
            entry["undeleted"] = left[api_id]
        apis[api_id] = entry
    run: RunJson = {
        "target": target,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_s": round(time.time() - started, 3),
        "apis": apis,
    }
    if not_offered:
        run["not_offered"] = {api_id: not_offered[api_id] for api_id in sorted(not_offered, key=_api_order)}
    if preflight_failed:
        run["preflight_failed"] = {api_id: preflight_failed[api_id] for api_id in sorted(preflight_failed, key=_api_order)}
    return run


def _api_order(api_id: str) -> int:
    return tmfapis.API_IDS.index(api_id) if api_id in tmfapis.API_IDS else len(tmfapis.API_IDS)
