"""Read the official kits' own files and check the suite declarations against them.

``python -m harness.ctk.derive [KITS_DIR]`` reads each kit's collection (the test scripts' exact
``requiredAttributes``, typed attributes, held attributes, value checks and PATCH body) and its payload
schemas, prints what each declaration must say and exits 1 naming every place where a declaration
and its kit disagree. ``--write`` rewrites the derived payload schemas (``payload_schema``) into the
declarations. The kit files are only read, never copied into the project.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ctk.declaration import ResourceSuite, SuiteDeclaration, load_declaration
from harness.ctk.engine import KitRequest, plan

__all__ = [
    "DEFAULT_KITS_DIR",
    "KitRequestFacts",
    "ResourceFacts",
    "collection_path",
    "kit_facts",
    "kit_items",
    "main",
    "mismatches",
    "payload_schema",
]

DEFAULT_KITS_DIR = Path(__file__).resolve().parents[3] / "shared" / "official-ctks"
SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"
SCHEMA_KEYWORDS = ("type", "required", "properties", "items")

_REQUIRED = re.compile(r"var requiredAttributes = \[([^\]]*)\]")
_TYPED = re.compile(r"pm\.test\('Response has (\S+) attribute'.*?to\.be\.a\('(\w+)'\)")
_HOLDS = re.compile(r"pm\.globals\.set\('([A-Z@]+?)[A-Z]{2}(\d\d)', instance\['([^']+)'\]\)")
_INCLUDES = re.compile(r"pm\.test\('Body includes value held on (\S+)'")
_STATUS = re.compile(r"to\.have\.status\((\d+)\)")
_WHEN = re.compile(r"if \(instance\.id == pm\.globals\.get\(\"ID[A-Z]{2}(\d\d)\"\)\) \{(.*?)\n\s*\}", re.DOTALL)
_VALUE = re.compile(r"pm\.test\('(\S+) is ' \+")
_NOT_EXPECTED = re.compile(r"pm\.test\('ID[A-Z]{2}(\d\d) not expected on this test'")


@dataclass(frozen=True, slots=True)
class Branch:
    """What a test script checks on one instance: mandatory set, typed attributes, body includes, value checks."""

    mandatory: tuple[str, ...] = ()
    typed: tuple[tuple[str, str], ...] = ()
    includes: tuple[str, ...] = ()
    values: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (instance number, compared attributes)
    not_expected: tuple[int, ...] = ()


def _branch(text: str) -> Branch:
    required = _REQUIRED.search(text)
    values, not_expected = [], []
    for number, block in _WHEN.findall(text):
        compared = tuple(_VALUE.findall(block))
        if compared:
            values.append((int(number), compared))
        not_expected += [int(n) for n in _NOT_EXPECTED.findall(block)]
    return Branch(
        mandatory=tuple(dict.fromkeys(re.findall(r"'([^']+)'", required.group(1)))) if required else (),
        typed=tuple(_TYPED.findall(text)),
        includes=tuple(_INCLUDES.findall(text)),
        values=tuple(values),
        not_expected=tuple(not_expected),
    )


@dataclass(frozen=True, slots=True)
class KitRequestFacts:
    """One kit request: method, URL, expected status and the checks of its object (and array) branch."""

    name: str
    method: str
    url: str
    status: int | None
    resource: str
    single: Branch  # a JSON object answer (create, by id, PATCH; the else branch of lists)
    listed: Branch | None  # each item of a JSON array answer, where the script has that branch
    holds: tuple[str, ...] = ()  # attributes the create stores in variables
    body: Mapping[str, Any] | None = None

    @property
    def query(self) -> tuple[str, str] | None:
        """(attribute, raw value) of ``?attribute=value``, or None."""
        match = re.search(r"\?([^=]+)=(.*)$", self.url)
        return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """What one kit says about one resource: its requests in order, and its create's facts."""

    resource: str
    entity: str
    requests: tuple[KitRequestFacts, ...]
    payload_schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def create(self) -> KitRequestFacts:
        return next(request for request in self.requests if request.method == "POST")


def collection_path(kit_dir: Path) -> Path:
    """The kit's Postman collection (``*.testkit.json`` or ``*.postman_collection.json``)."""
    return next(
        path for path in sorted(kit_dir.glob("*.json"))
        if path.name.endswith((".testkit.json", ".postman_collection.json"))
    )


def kit_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A collection's requests in run order, folders flattened."""
    for item in items:
        if "item" in item:
            yield from kit_items(item["item"])
        else:
            yield item


def _script(item: dict[str, Any]) -> str:
    return "\n".join(
        "\n".join(event["script"]["exec"]) for event in item.get("event", []) if event.get("listen") == "test"
    )


def _request_facts(item: dict[str, Any]) -> KitRequestFacts:
    request = item["request"]
    url = request["url"]["raw"] if isinstance(request["url"], dict) else request["url"]
    script = _script(item)
    status = _STATUS.search(script)
    array_at, else_at = script.find("jsonData.forEach"), script.find("else {")
    if array_at >= 0 and else_at > array_at:
        listed, single = _branch(script[array_at:else_at]), _branch(script[else_at:])
    else:
        listed, single = None, _branch(script)
    raw = (request.get("body") or {}).get("raw")
    holds = tuple(attribute for _, _, attribute in _HOLDS.findall(script))
    return KitRequestFacts(
        name=item["name"],
        method=request["method"],
        url=url,
        status=int(status.group(1)) if status else None,
        resource=re.sub(r"^\{\{\w+\}\}", "", url).split("/")[0].split("?")[0],
        single=single,
        listed=listed,
        holds=holds,
        body=json.loads(raw) if raw else None,
    )


def payload_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The kit's payload schema reduced to what validation of a payload needs: types, required, nesting."""
    reduced: dict[str, Any] = {}
    for key in SCHEMA_KEYWORDS:
        if key not in schema:
            continue
        value = schema[key]
        if key == "properties":
            value = {name: payload_schema(node) for name, node in value.items()}
        elif key == "items":
            value = payload_schema(value)
        reduced[key] = value
    return reduced


def kit_facts(kit_dir: Path) -> list[ResourceFacts]:
    """The kit's resources in collection order, each with its requests and its reduced payload schema."""
    collection = json.loads(collection_path(kit_dir).read_text(encoding="utf-8"))
    requests = [_request_facts(item) for item in kit_items(collection["item"])]
    resources: dict[str, list[KitRequestFacts]] = {}
    for request in requests:
        resources.setdefault(request.resource, []).append(request)
    facts = []
    for resource, own in resources.items():
        entity = resource[0].upper() + resource[1:]
        schema_path = kit_dir / "schemas" / f"{entity}.schema.json"
        schema = json.loads(schema_path.read_text(encoding="utf-8")) if schema_path.exists() else {}
        facts.append(ResourceFacts(resource, entity, tuple(own), payload_schema(schema)))
    return facts


def profile_rows(kit_dir: Path, entity: str) -> set[str]:
    """The top-level attribute rows of the Conformance Profile's "<Entity> Resource Mandatory Attributes" table."""
    path = kit_dir / "conformance-profile.txt"
    if not path.exists():
        return set()
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"{entity} RESOURCE MANDATORY\s+ATTRIBUTES", text, re.IGNORECASE)
    end = text.find("OPERATIONS CONFORMANCE", start.end()) if start else -1
    if start is None or end < 0:
        return set()
    rows = set()
    for line in text[start.end():end].splitlines():
        match = re.match(r"^ ?(?:\| )?(@?[A-Za-z][\w.]*)(?:\s{2,}|\s*$)", line)
        if match and match.group(1) not in ("Mandatory", "Rule", "M", "O"):
            rows.add(match.group(1))
    return rows


def _kit_steps(facts: ResourceFacts) -> list[dict[str, Any]]:
    """The N2 steps the kit's requests make, in order, in the declaration's form (without quotes)."""
    steps: list[dict[str, Any]] = []
    n2 = list(facts.requests)[facts.requests.index(facts.create) + 1:]
    for request in n2:
        query = request.query
        if request.method == "DELETE":
            steps.append({"kind": "delete"})
        elif request.method == "PATCH":
            steps.append({"kind": "patch"})
        elif request.status == 404 and request.name.endswith("404"):
            steps.append({"kind": "gone"})
        elif query and query[0] == "fields":
            steps.append({"kind": "fields", "attribute": query[1], "check_status": request.status is not None})
        elif query and (not steps or steps[-1] != {"kind": "filter", "attribute": query[0]}):
            steps.append({"kind": "filter", "attribute": query[0]})
    return steps


def _our_steps(suite: ResourceSuite) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for step in suite.steps:
        if step.kind == "fields":
            steps.append({"kind": "fields", "attribute": step.attribute, "check_status": step.check_status})
        elif step.kind == "filter":
            steps.append({"kind": "filter", "attribute": step.attribute})
        else:
            steps.append({"kind": step.kind})
    return steps


def mismatches(declaration: SuiteDeclaration, kit_dir: Path) -> list[str]:
    """Every place where a suite declaration and its kit disagree, one line each (empty: they agree)."""
    problems: list[str] = []
    facts = kit_facts(kit_dir)
    ours = [suite.resource for suite in declaration.resources]
    if [f.resource for f in facts] != ours:
        return [f"{declaration.path}: resources {ours}, the kit's {[f.resource for f in facts]}"]

    def differ(where: str, what: str, mine: Any, theirs: Any) -> None:
        if mine != theirs:
            problems.append(f"{where}: {what} is {mine!r}, the kit's is {theirs!r}")

    for suite, kit in zip(declaration.resources, facts, strict=True):
        where = f"{declaration.path.name}: {suite.resource}"
        create = kit.create
        differ(where, "the number of instances", suite.instances, sum(r.method == "POST" for r in kit.requests))
        differ(where, "mandatory", suite.mandatory, create.single.mandatory)
        differ(where, "typed", tuple(suite.typed.items()), create.single.typed)
        differ(where, "held", suite.held, create.holds)
        differ(where, "steps", _our_steps(suite), _kit_steps(kit))
        differ(where, "payload_schema", dict(suite.payload_schema), kit.payload_schema)
        differ(where, "profile_mandatory (top-level rows of the Conformance Profile's table)",
               suite.profile_mandatory, tuple(a for a in suite.profile_mandatory if a in profile_rows(kit_dir, kit.entity)))
        planned = [request for request in plan(declaration) if request.suite is suite]
        if len(planned) != len(kit.requests):
            differ(where, "the number of requests", len(planned), len(kit.requests))
            continue
        for request, theirs in zip(planned, kit.requests, strict=True):
            _compare_request(f"{where} #{request.index + 1} {theirs.name}", request, theirs, differ)
    return problems


Differ = Callable[[str, str, Any, Any], None]


def _compare_request(where: str, request: KitRequest, theirs: KitRequestFacts, differ: Differ) -> None:
    """Compare one planned request with the kit's: method, status, and on answers with instances every check."""
    differ(where, "the method", request.method, theirs.method)
    if theirs.status is not None or request.kind != "fields":
        differ(where, "the expected status", request.expected_status, theirs.status)
    if request.kind == "fields":
        differ(where, "the status check", bool(request.step and request.step.check_status), theirs.status is not None)
    if request.kind == "filter" and theirs.query:
        sent_quoted = bool(request.step and request.step.quote == "both")
        differ(where, "a quoted filter value in the URL", sent_quoted, theirs.query[1].startswith("'"))
    if request.kind not in ("create", "list", "retrieve", "filter", "patch"):
        return
    suite, branch = request.suite, theirs.single
    patch = request.step.patch if request.step else None
    count = suite.instances
    differ(where, "mandatory", suite.mandatory, branch.mandatory)
    differ(where, "typed", tuple(patch.typed if patch else suite.typed), tuple(a for a, _ in branch.typed))
    differ(where, "body includes", suite.held, branch.includes)
    compared = [(n, attrs) for n, attrs in branch.values if n <= count]
    differ(where, "instances with value checks", request.compared_instances(), [n for n, _ in compared])
    for _, attributes in compared:
        differ(where, "value checks", tuple(patch.compared if patch else suite.held), attributes)
    differ(where, "instances not expected", request.excluded_instances(), [n for n in branch.not_expected if n <= count])
    if patch is not None:
        differ(where, "the PATCH body", dict(patch.body), theirs.body)
    elif theirs.listed is not None:
        differ(where, "the array branch", branch, theirs.listed)


def _declarations() -> list[Path]:
    return sorted(SUITES_DIR.glob("ctk*/ctk*.yaml"))


def write_payload_schemas(path: Path, kit_dir: Path) -> bool:
    """Rewrite each resource's ``payload_schema`` line (after its ``mandatory`` line); True when the file changed."""
    text = path.read_text(encoding="utf-8")
    schemas = {f.resource: f.payload_schema for f in kit_facts(kit_dir)}
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith(("    payload_schema:", _NOTE))]
    resource = None
    out = []
    for line in lines:
        if line.lstrip().startswith("- resource:"):
            resource = line.split(":", 1)[1].strip()
        out.append(line)
        if line.startswith("    mandatory:") and resource in schemas:
            out += [_NOTE, f"    payload_schema: {json.dumps(schemas[resource], separators=(', ', ': '))}\n"]
    new = "".join(out)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


_NOTE = "    # the kit's payload schema, written by python -m harness.ctk.derive --write\n"


def main(argv: list[str] | None = None) -> int:
    """Check (or with ``--write`` update) every suite declaration against its kit; 1 when one disagrees."""
    args = list(sys.argv[1:] if argv is None else argv)
    write = "--write" in args
    args = [arg for arg in args if arg != "--write"]
    kits_dir = Path(args[0]) if args else DEFAULT_KITS_DIR
    if not kits_dir.is_dir():
        print(f"derive: {kits_dir} is not a directory of official kits", file=sys.stderr)
        return 2
    problems = []
    for path in _declarations():
        kit_dir = kits_dir / f"tmf{path.stem.removeprefix('ctk')}"
        if write and write_payload_schemas(path, kit_dir):
            print(f"derive: wrote the payload schemas of {path.name}")
        problems += mismatches(load_declaration(path), kit_dir)
    for problem in problems:
        print(problem)
    print(f"derive: {len(_declarations())} declarations, {len(problems)} disagreements with their kits")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
