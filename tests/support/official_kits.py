"""Runs TM Forum's official v4 kits with Newman, prepared as each kit's launcher did, and reads the outcome.

The kit files are read from ``../shared/official-ctks/`` and never copied into the project: the
prepared collection and environment are written to a temporary directory. What a kit's launcher
(``launcher.js``) does is read from the launcher itself (``Launcher.of``): which collection and
environment file it loads, whether it reads ``config.json`` at all, the config headers it puts on every
request of the collection's folders, which configured payload it injects into which
``item[i].item[j]`` (under which ``resource == "..."`` condition, or unconditionally), and the
environment values it sets (the API root, 670's payload list, 704-708's ``resourceToTest``). Every
configured payload is checked against the kit's ``schemas/<Resource>.schema.json`` first, as the
launcher did. ``run_kit`` returns, per request, the status and the outcome of every assertion.

Requests of a kit to anywhere but the server (704-708 start with ``GET www.example.com``, only to route
the run) are answered by a loopback stand-in through ``HTTP_PROXY``: no traffic leaves the machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.ctk.kit import kit_items
from tests.support.loopback import serve_in_thread
from tests.support.shared import SHARED, shared_dir

__all__ = [
    "KITS_DIR",
    "NEWMAN",
    "Injection",
    "Kit",
    "KitAssertion",
    "KitConfigError",
    "KitRequest",
    "KitRun",
    "Launcher",
    "create_bodies",
    "kit",
    "prepare",
    "require_kits",
    "run_kit",
    "run_kits",
]

REPO = Path(__file__).resolve().parents[2]
KITS_DIR = SHARED / "official-ctks"
NEWMAN = REPO / "node_modules" / ".bin" / "newman"
RUN_KITS = Path(__file__).resolve().parent / "run_kits.js"  # newman.run in one Node process, as the launchers did
# a Node process's time: a start, and a share per kit it runs (a loaded machine, a defect making kits wait)
NEWMAN_START_S, NEWMAN_PER_KIT_S = 120, 30
REQUEST_TIMEOUT_MS = 10_000
ENVIRONMENT_KEY = re.compile(r"\{\{(\w+)\}\}")
# What a launcher does, as its JavaScript says it.
COMMENTS = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.DOTALL | re.MULTILINE)
COLLECTION = re.compile(r"(?:pmCollection\s*=|collection\s*:)\s*require\(\s*['\"]\./([^'\"]+)['\"]\s*\)")
ENVIRONMENT_FILE = re.compile(r"environmentFile\s*=\s*['\"]([^'\"]+)['\"]")
CONDITION = re.compile(r"resource\s*===?\s*['\"]([^'\"]+)['\"]")
INJECTION = re.compile(
    r"pmCollection\['item'\]\[(\d+)\]\['item'\]\[(\d+)\]\['request'\]\['body'\]\['raw'\]\s*=\s*"
    r"JSON\.stringify\(config\['payloads'\]\[resource\]\['(\w+)'\]\['payload'\]\)"
)
HEADERS_SET = re.compile(r"\['request'\]\['header'\]\s*=\s*headers")
ENV_VALUE = re.compile(r"element\.key\s*==\s*['\"](\w+)['\"]\s*\)\s*\{\s*element\.value\s*=\s*([^;\n]+)")
ENV_PUSHED = re.compile(r"['\"]key['\"]\s*:\s*['\"](\w+)['\"]\s*,\s*['\"]value['\"]\s*:\s*config\[['\"](\w+)['\"]\]")
CONFIG_PAYLOAD_LIST = re.compile(r"JSON\.stringify\(config\.payloads\.(\w+)\.POST\.payload\)")


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
class Injection:
    """A configured payload the launcher writes into the body of ``item[folder].item[index]``."""

    resource: str | None  # the config's resource name it is injected for; None: every configured one
    method: str  # which of the resource's configured payloads (POST, or 634's PATCH)
    folder: int
    index: int


@dataclass(frozen=True, slots=True)
class Launcher:
    """What one kit's ``launcher.js`` does before it runs Newman."""

    collection: str
    environment: str
    reads_config: bool  # the interactive launchers (646, 648, 668) ask for the URL and never read config.json
    sets_headers: bool  # the config headers replace each request's headers
    injections: tuple[Injection, ...]
    environment_values: tuple[tuple[str, str], ...]  # environment key -> what the launcher puts there

    @classmethod
    def of(cls, text: str) -> Launcher:
        """Read a launcher's JavaScript (comments dropped: 670's injections are commented out)."""
        code = COMMENTS.sub("", text)
        collection = COLLECTION.search(code)
        environment = ENVIRONMENT_FILE.search(code)
        if collection is None or environment is None:
            raise KitConfigError("the launcher names no collection or environment file")
        values = [(key, source.strip().rstrip(";").strip()) for key, source in ENV_VALUE.findall(code)]
        values += [(key, f"config['{name}']") for key, name in ENV_PUSHED.findall(code)]
        return cls(
            collection=collection.group(1),
            environment=environment.group(1),
            reads_config="config.json" in code,
            sets_headers=bool(HEADERS_SET.search(code)),
            injections=tuple(_injections(code)),
            environment_values=tuple(values),
        )


def _injections(code: str) -> Iterator[Injection]:
    """Each injection, with the ``resource == "X"`` condition whose block holds it (if any)."""
    for found in INJECTION.finditer(code):
        before = code[: found.start()]
        conditions = list(CONDITION.finditer(before))
        resource = None
        if conditions:
            between = before[conditions[-1].end():]
            if between.count("{") > between.count("}"):
                resource = conditions[-1].group(1)
        yield Injection(resource, found.group(3), int(found.group(1)), int(found.group(2)))


@dataclass(frozen=True, slots=True)
class Kit:
    """One official kit's files, as shipped, and its launcher."""

    api_id: str
    folder: Path

    @property
    def launcher(self) -> Launcher:
        return _launcher(self.folder)

    @property
    def collection(self) -> Path:
        return self.folder / self.launcher.collection

    @property
    def environment(self) -> Path:
        return self.folder / self.launcher.environment

    @property
    def config(self) -> dict[str, Any]:
        """The shipped ``config.json`` as the launcher reads it (an empty one where it reads none)."""
        path = self.folder / "config.json"
        if not self.launcher.reads_config or not path.exists():
            return {}
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    @property
    def environment_key(self) -> str:
        """The ``{{KEY}}`` the kit's request URLs start with (the launcher points it at the API root)."""
        return _environment_key(self.collection)

    def schema(self, name: str) -> dict[str, Any] | None:
        """``schemas/<name>.schema.json``, the name's case ignored as on the file systems the kits ran on."""
        wanted = f"{name}.schema.json".lower()
        folder = self.folder / "schemas"
        found = [path for path in folder.glob("*.schema.json") if path.name.lower() == wanted] if folder.is_dir() else []
        if not found:
            return None
        data: dict[str, Any] = json.loads(found[0].read_text(encoding="utf-8"))
        return data


@cache
def _launcher(folder: Path) -> Launcher:
    return Launcher.of((folder / "launcher.js").read_text(encoding="utf-8"))


@cache
def _environment_key(collection: Path) -> str:
    items = kit_items(json.loads(collection.read_text(encoding="utf-8"))["item"])
    keys = Counter(match.group(1) for item in items if (match := ENVIRONMENT_KEY.match(_raw_url(item["request"]))))
    return keys.most_common(1)[0][0]


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

    @property
    def assertions(self) -> int:
        return sum(len(request.assertions) for request in self.requests)

    @property
    def failures(self) -> int:
        """As Newman counts them: failed assertions, request errors and script errors."""
        return sum(
            len(request.errors) + sum(not a.passed for a in request.assertions) for request in self.requests
        )


def _raw_url(request: dict[str, Any]) -> str:
    url = request["url"]
    return str(url["raw"] if isinstance(url, dict) else url)


def _check_payloads(official: Kit, configured: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse, as the launcher did, a configured payload its schema (``<Resource>[Patch].schema.json``) does not fit."""
    for name, methods in configured.items():
        for method, entry in methods.items():
            schema = official.schema(name if method == "POST" else name + method.capitalize())
            bodies = entry["payload"] if isinstance(entry["payload"], list) else [entry["payload"]]
            for body in bodies if schema is not None else ():
                error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(body))
                if error is not None:
                    raise KitConfigError(f"{official.api_id} {name} payload does not fit the kit's schema: {error.message}")


def _environment_value(source: str, api_root: str, config: Mapping[str, Any]) -> Any:
    """What a launcher's ``element.value = <source>`` puts in the environment, with the server at ``api_root``."""
    url = re.match(r"(\w+)://([^/:]+):?(\d*)", api_root)
    assert url is not None, api_root
    payloads = CONFIG_PAYLOAD_LIST.fullmatch(source)
    configured = re.fullmatch(r"config\[['\"](\w+)['\"]\]", source)
    if source == "config['url']" or "APIRelativeAddress" in source:
        return api_root  # the launcher's config URL or typed-in address: this server's root
    if source in ("schema", "hostname", "port"):
        return {"schema": url.group(1), "hostname": url.group(2), "port": url.group(3)}[source]
    if payloads is not None:
        listed = config["payloads"][payloads.group(1)]["POST"]["payload"]
        return json.dumps(listed if isinstance(listed, list) else [listed])
    if configured is not None:
        return config.get(configured.group(1))
    if source.isdigit():
        return int(source)
    raise KitConfigError(f"the launcher sets an environment value this runner does not know: {source}")


def prepare(
    api_id: str,
    api_root: str,
    directory: Path,
    headers: Mapping[str, str] | None = None,
    payloads: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write the kit's collection and environment, configured as its launcher did, into ``directory``.

    ``payloads`` replace configured POST payloads by the config's resource name; ``headers`` are added to
    every request.
    """
    official = kit(api_id)
    launcher, config = official.launcher, official.config
    configured: dict[str, dict[str, Any]] = {name: dict(entry) for name, entry in config.get("payloads", {}).items()}
    for name, payload in (payloads or {}).items():
        configured[name] = {**configured.get(name, {}), "POST": {"payload": payload}}
    _check_payloads(official, configured)
    collection = json.loads(official.collection.read_text(encoding="utf-8"))
    _set_headers(collection, config.get("headers", {}) if launcher.sets_headers else None, headers or {})
    for injection in launcher.injections:
        for name in [injection.resource] if injection.resource else list(configured):
            entry = configured.get(name or "", {}).get(injection.method)
            if entry is not None:
                request = collection["item"][injection.folder]["item"][injection.index]["request"]
                body = json.dumps(entry["payload"], ensure_ascii=False, separators=(",", ":"))
                request["body"] = {**(request.get("body") or {}), "mode": "raw", "raw": body}
    environment = json.loads(official.environment.read_text(encoding="utf-8"))
    values = {official.environment_key: api_root}
    values |= {key: _environment_value(source, api_root, config) for key, source in launcher.environment_values}
    kept = [entry for entry in environment["values"] if entry["key"] not in values]
    environment["values"] = [*({"key": k, "value": v, "enabled": True} for k, v in values.items()), *kept]
    prepared, environment_path = directory / "collection.json", directory / "environment.json"
    prepared.write_text(json.dumps(collection), encoding="utf-8")
    environment_path.write_text(json.dumps(environment), encoding="utf-8")
    return prepared, environment_path


def create_bodies(api_id: str) -> dict[str, Any]:
    """Per resource, the first JSON body the kit, prepared as its launcher did, POSTs to its collection."""
    official = kit(api_id)
    with tempfile.TemporaryDirectory(prefix=f"kit-{api_id}-") as name:
        collection, _ = prepare(api_id, "http://127.0.0.1/", Path(name))
        items = list(kit_items(json.loads(collection.read_text(encoding="utf-8"))["item"]))
    bodies: dict[str, Any] = {}
    for item in items:
        request = item["request"]
        path = _raw_url(request).removeprefix("{{" + official.environment_key + "}}").split("?")[0]
        raw = (request.get("body") or {}).get("raw") or ""
        if request["method"] != "POST" or "{{" in path + raw:
            continue
        try:
            bodies.setdefault(path.rsplit("/", 1)[-1], json.loads(raw))
        except ValueError:
            continue
    for resource, methods in official.config.get("payloads", {}).items():  # 670's go through the environment
        payload = methods.get("POST", {}).get("payload")
        first = payload[0] if isinstance(payload, list) and payload else payload
        bodies.setdefault(resource[0].lower() + resource[1:], first)
    return bodies


def _set_headers(collection: dict[str, Any], replacing: Mapping[str, str] | None, added: Mapping[str, str]) -> None:
    """The launcher's config headers replace each request's own (``replacing``); ``added`` go on top."""
    if replacing is None and not added:
        return
    for item in kit_items(collection["item"]):
        request = item["request"]
        wanted = {**(replacing or {}), **added}
        own = [] if replacing is not None else request.get("header", [])
        kept = [h for h in own if h["key"].lower() not in {key.lower() for key in wanted}]
        request["header"] = kept + [{"key": key, "value": value} for key, value in wanted.items()]


class _Elsewhere(BaseHTTPRequestHandler):
    """The world beyond the server, for a kit's routing requests: 200 and an empty JSON object to anything."""

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def _elsewhere_proxy() -> Iterator[dict[str, str]]:
    """The environment that sends a kit's requests for other hosts to the loopback stand-in."""
    with serve_in_thread(_Elsewhere) as url:
        local = "127.0.0.1,localhost,::1"
        modules = str(REPO / "node_modules")
        yield {**os.environ, "HTTP_PROXY": url, "HTTPS_PROXY": url, "NO_PROXY": local, "no_proxy": local,
               "NODE_PATH": modules}


def run_kit(
    api_id: str,
    api_root: str,
    headers: Mapping[str, str] | None = None,
    payloads: Mapping[str, Any] | None = None,
) -> KitRun:
    """Run one official kit with Newman against ``api_root`` (ending in ``/``) and read its JSON report."""
    with tempfile.TemporaryDirectory(prefix=f"kit-{api_id}-") as name:
        directory = Path(name)
        prepared = prepare(api_id, api_root, directory, headers, payloads)
        return _newman({api_id: (directory, *prepared)}, 1)[api_id]


def run_kits(roots: Mapping[str, str], concurrency: int = 8, processes: int = 2) -> dict[str, KitRun]:
    """Run several kits (API id -> API root), ``concurrency`` at a time in each of ``processes`` Node
    processes (Newman started once a process; the kits wait on the server most of the time)."""
    with tempfile.TemporaryDirectory(prefix="kits-") as name:
        jobs = {}
        for api_id, api_root in roots.items():
            directory = Path(name) / api_id
            directory.mkdir()
            jobs[api_id] = (directory, *prepare(api_id, api_root, directory))
        return _newman(jobs, concurrency, processes)


def _newman(jobs: Mapping[str, tuple[Path, Path, Path]], concurrency: int, processes: int = 1) -> dict[str, KitRun]:
    """Run prepared kits (API id -> directory, collection, environment) with ``run_kits.js``; their runs."""
    listed = [
        {"collection": str(collection), "environment": str(environment), "report": str(directory / "newman.json"),
         "timeoutRequest": REQUEST_TIMEOUT_MS}
        for directory, collection, environment in jobs.values()
    ]
    with tempfile.TemporaryDirectory(prefix="newman-") as name, _elsewhere_proxy() as environ:
        commands = []
        for number in range(min(processes, len(listed))):
            job_file = Path(name) / f"jobs{number}.json"
            job_file.write_text(json.dumps(listed[number::processes]), encoding="utf-8")
            commands.append(["node", str(RUN_KITS), str(job_file), str(concurrency)])
        running = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)
            for command in commands
        ]
        deadline = NEWMAN_START_S + NEWMAN_PER_KIT_S * -(-len(listed) // len(running))
        outputs = [process.communicate(timeout=deadline) for process in running]
    runs = {}
    for api_id, (directory, _, _) in jobs.items():
        report = directory / "newman.json"
        if not report.exists():
            raise RuntimeError(f"Newman wrote no report for {api_id}: {' '.join(err for _, err in outputs)[-2000:]}")
        summary = json.loads(report.read_text(encoding="utf-8"))
        runs[api_id] = KitRun(api_id, tuple(_executed(e) for e in summary["run"]["executions"]))
    return runs


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

