"""Runs TM Forum's official v4 kits with Newman, prepared as the kits' launcher did, and reads the outcome.

The kit files are read from ``../shared/official-ctks/`` and never copied into the project: the
prepared collection and environment are written to a temporary directory. ``run_kit`` copies the
config headers onto every request, replaces the first POST body of each resource with the configured
payload (validated against the kit's ``schemas/<Resource>.schema.json``), points the environment key at
the API root and returns, per request, the status and the outcome of every assertion.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.ctk.derive import collection_path, kit_items
from tests.support.shared import SHARED, shared_dir

__all__ = [
    "ENVIRONMENT_KEYS",
    "KITS_DIR",
    "NEWMAN",
    "Kit",
    "KitAssertion",
    "KitConfigError",
    "KitRequest",
    "KitRun",
    "kit",
    "prepare",
    "require_kits",
    "run_kit",
]

REPO = Path(__file__).resolve().parents[2]
KITS_DIR = SHARED / "official-ctks"
NEWMAN = REPO / "node_modules" / ".bin" / "newman"
# The environment key each kit's URLs start with ({{Customer}}customer...).
ENVIRONMENT_KEYS = {
    "tmf681": "Communication",
    "tmf629": "Customer",
    "tmf683": "Party_Interaction",
    "tmf622": "Product_Ordering",
    "tmf635": "Usage",
}
NEWMAN_TIMEOUT_S = 120
REQUEST_TIMEOUT_MS = 10_000


class KitConfigError(Exception):
    """The kit cannot start: a configured payload does not fit the kit's schema (the launcher refused too)."""


def require_kits() -> None:
    """Skip the calling test when the kits or Newman are absent; fail instead under CI=true."""
    shared_dir("official-ctks")
    if not NEWMAN.exists():
        reason = f"Newman is not installed ({NEWMAN}): run scripts/install-test-tools.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass(frozen=True, slots=True)
class Kit:
    """One official kit's files, as shipped."""

    api_id: str
    folder: Path

    @property
    def collection(self) -> Path:
        return collection_path(self.folder)

    @property
    def environment(self) -> Path:
        return self.folder / "TMFENV-V4.0.0.postman_environment.json"

    @property
    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        return data

    def schema(self, entity: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.folder / "schemas" / f"{entity}.schema.json").read_text(encoding="utf-8"))
        return data


def kit(api_id: str) -> Kit:
    return Kit(api_id, KITS_DIR / api_id)



@dataclass(frozen=True, slots=True)
class KitAssertion:
    name: str
    passed: bool
    message: str = ""


@dataclass(frozen=True, slots=True)
class KitRequest:
    """One executed kit request: what Newman sent and got, its assertions, and any request or script error."""

    name: str
    method: str
    url: str
    status: int | None
    assertions: tuple[KitAssertion, ...]
    errors: tuple[str, ...] = ()  # transport error, or the test script failing (e.g. a body that is not JSON)

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(not assertion.passed for assertion in self.assertions)

    def outcomes(self) -> dict[str, bool]:
        """Per assertion name: passed unless any assertion of that name failed."""
        result: dict[str, bool] = {}
        for assertion in self.assertions:
            result[assertion.name] = result.get(assertion.name, True) and assertion.passed
        return result


@dataclass(frozen=True, slots=True)
class KitRun:
    api_id: str
    requests: tuple[KitRequest, ...]
    stdout: str = field(repr=False, default="")

    @property
    def assertions(self) -> int:
        return sum(len(request.assertions) for request in self.requests)

    @property
    def failures(self) -> int:
        """As Newman counts them: failed assertions, request errors and script errors."""
        return sum(
            len(request.errors) + sum(not a.passed for a in request.assertions) for request in self.requests
        )


def _entity(url_raw: str, key: str) -> str:
    """The kit's resource entity from a request URL (``{{Usage}}usageSpecification`` -> UsageSpecification)."""
    resource = url_raw.removeprefix("{{" + key + "}}").split("/")[0].split("?")[0]
    return resource[0].upper() + resource[1:]


def prepare(
    api_id: str,
    api_root: str,
    directory: Path,
    headers: Mapping[str, str] | None = None,
    payloads: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write the kit's collection and environment, configured as the launcher did, into ``directory``."""
    official = kit(api_id)
    config = official.config
    key = ENVIRONMENT_KEYS[api_id]
    wanted_headers = {**config.get("headers", {}), **(headers or {})}
    configured = {entity: entry["POST"]["payload"] for entity, entry in config.get("payloads", {}).items()}
    configured.update(payloads or {})
    collection = json.loads(official.collection.read_text(encoding="utf-8"))
    replaced: set[str] = set()
    for item in kit_items(collection["item"]):
        request = item["request"]
        kept = [h for h in request.get("header", []) if h["key"].lower() not in {k.lower() for k in wanted_headers}]
        request["header"] = kept + [{"key": k, "value": v} for k, v in wanted_headers.items()]
        if request["method"] != "POST":
            continue
        raw_url = request["url"]["raw"] if isinstance(request["url"], dict) else request["url"]
        entity = _entity(raw_url, key)
        if entity in replaced or entity not in configured:
            continue
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft7Validator(official.schema(entity)).iter_errors(configured[entity])
        )
        if error is not None:
            raise KitConfigError(f"{api_id} {entity} payload does not fit the kit's schema: {error.message}")
        request["body"] = {"mode": "raw", "raw": json.dumps(configured[entity], ensure_ascii=False)}
        replaced.add(entity)
    environment = json.loads(official.environment.read_text(encoding="utf-8"))
    values = [entry for entry in environment["values"] if entry["key"] != key]
    environment["values"] = [{"key": key, "value": api_root, "enabled": True}, *values]
    prepared, environment_path = directory / "collection.json", directory / "environment.json"
    prepared.write_text(json.dumps(collection), encoding="utf-8")
    environment_path.write_text(json.dumps(environment), encoding="utf-8")
    return prepared, environment_path


def run_kit(
    api_id: str,
    api_root: str,
    headers: Mapping[str, str] | None = None,
    payloads: Mapping[str, Any] | None = None,
) -> KitRun:
    """Run one official kit with Newman against ``api_root`` (ending in ``/``) and read its JSON report."""
    with tempfile.TemporaryDirectory(prefix=f"kit-{api_id}-") as name:
        directory = Path(name)
        collection, environment = prepare(api_id, api_root, directory, headers, payloads)
        report = directory / "newman.json"
        command = [
            str(NEWMAN), "run", str(collection), "-e", str(environment), "--insecure",
            "--timeout-request", str(REQUEST_TIMEOUT_MS), "-r", "json", "--reporter-json-export", str(report),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=NEWMAN_TIMEOUT_S, check=False)
        if not report.exists():
            raise RuntimeError(f"Newman wrote no report (exit {done.returncode}): {done.stderr[-2000:]}")
        summary = json.loads(report.read_text(encoding="utf-8"))
    return KitRun(api_id, tuple(_executed(e) for e in summary["run"]["executions"]), done.stdout)


def _executed(execution: dict[str, Any]) -> KitRequest:
    request = execution.get("request") or execution["item"]["request"]
    response = execution.get("response") or {}
    errors = []
    if execution.get("requestError"):
        problem = execution["requestError"]
        errors.append(f"request error: {problem.get('message') or problem.get('code') or problem}")
    errors += [f"test script error: {entry['error'].get('message')}" for entry in execution.get("testScript", [])]
    assertions = tuple(
        KitAssertion(a["assertion"], not a.get("error"), (a.get("error") or {}).get("message", ""))
        for a in execution.get("assertions", [])
        if not a.get("skipped")
    )
    return KitRequest(
        name=execution["item"]["name"],
        method=request["method"],
        url=_url_text(request["url"]),
        status=response.get("code"),
        assertions=assertions,
        errors=tuple(errors),
    )


def _url_text(url: Any) -> str:
    if isinstance(url, str):
        return url
    if "raw" in url:
        return str(url["raw"])
    host = ".".join(url.get("host", []))
    port = f":{url['port']}" if url.get("port") else ""
    query = "&".join(
        f"{q['key']}={q.get('value') or ''}" if q.get("value") is not None else str(q["key"])
        for q in url.get("query", [])
        if not q.get("disabled")
    )
    path = "/".join(url.get("path", []))
    return f"{url.get('protocol', 'http')}://{host}{port}/{path}" + (f"?{query}" if query else "")

