"""The run record ``summary.json``: the same facts as the kit's Newman report, per API, in kit order."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import tmfapis
from harness.record import SPEC_FOLDER

__all__ = ["SPEC_FOLDER", "build_summary", "ctk_failed", "spec_block", "verdict"]



def verdict(requests: list[dict[str, Any]], planned: int) -> str:
    """failed when a CTK-tier check failed; incomplete when requests were skipped or not run; else passed."""
    if any(ctk_failed(request) for request in requests):
        return "failed"
    if len(requests) < planned or any(request.get("skipped") for request in requests):
        return "incomplete"
    return "passed"


def spec_block(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """The spec-tier result beside the CTK verdict: its checks, failed ones, and conforms or deviates."""
    spec = [check for request in requests for check in request["checks"] if check["tier"] == "spec"]
    deviations = sum(check["outcome"] == "failed" for check in spec)
    return {"checks": len(spec), "deviations": deviations, "verdict": "deviates" if deviations else "conforms"}


def _ctk_checks(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [check for check in request["checks"] if check["tier"] == "ctk"]


def ctk_failed(request: dict[str, Any]) -> bool:
    """Whether a recorded request failed a CTK-tier check."""
    return any(check["outcome"] == "failed" for check in _ctk_checks(request))


def build_summary(
    records: dict[str, dict[int, dict[str, Any]]],
    suites: dict[str, dict[str, Any]],
    left: dict[str, list[str]],
    base_url: str | None,
    started: float,
) -> dict[str, Any]:
    """``{target, started, duration_s, apis: {api id: {collection, verdict, totals, spec, requests}}}``."""
    apis: dict[str, Any] = {}
    for api_id in sorted(records, key=_api_order):
        requests = [records[api_id][index] for index in sorted(records[api_id])]
        kit_requests = [request for request in requests if request.get("folder") != SPEC_FOLDER]
        checks = [check for request in kit_requests for check in _ctk_checks(request)]
        suite = suites.get(api_id, {})
        entry: dict[str, Any] = {
            "collection": suite.get("collection", ""),
            "target": suite.get("root", ""),
            "verdict": verdict(kit_requests, suite.get("planned", len(kit_requests))),
            "totals": {
                "requests": len(kit_requests),
                "failed_requests": sum(map(ctk_failed, kit_requests)),
                "assertions": len(checks),
                "failed_assertions": sum(check["outcome"] == "failed" for check in checks),
            },
            "spec": spec_block(requests),
            "requests": requests,
        }
        if left.get(api_id):
            entry["undeleted"] = left[api_id]
        apis[api_id] = entry
    return {
        "target": base_url or "embedded reference server",
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "duration_s": round(time.time() - started, 3),
        "apis": apis,
    }


def _api_order(api_id: str) -> int:
    return tmfapis.API_IDS.index(api_id) if api_id in tmfapis.API_IDS else len(tmfapis.API_IDS)
