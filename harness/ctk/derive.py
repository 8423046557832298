"""Read the official kits' own files and check the suite declarations against them.

``python -m harness.ctk.derive [KITS_DIR]`` reads each kit's collection (its requests in order, each
with its folder, name, method and check names; the test scripts' exact ``requiredAttributes``, typed
attributes, held attributes, value checks and PATCH bodies) and its payload schemas, and exits 1 naming
every place where a declaration and its kit disagree. ``--write`` rewrites the derived payload schemas
(``payload_schema``) into the declarations; ``--new tmfNNN`` (or ``--write-all``) writes a declaration
from the kit, its shipped config and the API's description (``harness.ctk.generate``). The kit files are
only read, never copied into the project.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ctk.declaration import SuiteDeclaration, load_declaration
from harness.ctk.engine import KitRequest, plan
from harness.errors import DeclarationError

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
_TYPED = re.compile(r"pm\.test\('Response has (\S+) attribute'[^\n]*?to\.be\.an?\('(\w+)'\)")
_HOLDS = re.compile(r"pm\.globals\.set\(['\"]([A-Z@]+?)[A-Z]{2,6}(\d\d)['\"], instance\[['\"]([^'\"]+)['\"]\]\)")
_EQUALS = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*pm\.expect\(instance\.(\w+)\)\.to\.eql\(('[^']*'|\"[^\"]*\"|[\w.]+)\)"
)
_CODE = re.compile(r"pm\.globals\.set\(['\"]ID([A-Z]{2,6})\d\d['\"], instance\[['\"]id['\"]\]\)")
_TEST = re.compile(r"pm\.test\((['\"])(.*?)\1")
_STATUS_TEST = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*(?:pm\.response\.to\.have\.status\((\d+)\)"
    r"|pm\.expect\(pm\.response\.code\)\.to\.be\.oneOf\(\[([\d,\s]+)\]\)"
    r"|pm\.expect\(\[([\d,\s]+)\]\)\.to\.include\(pm\.response\.code\))"
)
_MANDATORY_TEST = re.compile(
    r"pm\.test\((['\"])([^'\"]*)\1,\s*function\s*\(\)\s*\{\s*pm\.expect\(Object\.keys\(instance\)\)"
    r"\.to\.include\.members\(requiredAttributes\)"
)
_INCLUDES = re.compile(r"pm\.test\('Body includes value held on (\S+)'")
_STATUS = re.compile(r"to\.have\.status\((\d+)\)")
_WHEN = re.compile(r"if \(instance\.id == pm\.globals\.get\(\"ID[A-Z]{2,6}(\d\d)\"\)\) \{(.*?)\n\s*\}", re.DOTALL)
_VALUE = re.compile(r"pm\.test\('(\S+) is ' \+")
_UNGUARDED_VALUE = re.compile(r"pm\.test\('(\S+) is ' \+ pm\.globals\.get\(\"[A-Z@]+(\d\d)\"\)")
_NOT_EXPECTED = re.compile(r"pm\.test\('ID[A-Z]{2,6}(\d\d) not expected on this test'")
# Checks a kit records only when they fail: compared by what they test, not by name.
_ONLY_ON_FAILURE = re.compile(r"^(Array not expected as response|ID[A-Z]{2,6}\d\d not expected on this test)$")


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
    if not values:  # value checks made on every instance, each against one created instance's variable
        for attribute, number in _UNGUARDED_VALUE.findall(text):
            found = next((entry for entry in values if entry[0] == int(number)), None)
            if found is None:
                values.append((int(number), (attribute,)))
            elif attribute not in found[1]:
                values[values.index(found)] = (found[0], (*found[1], attribute))
    return Branch(
        mandatory=tuple(dict.fromkeys(re.findall(r"'([^']+)'", required.group(1)))) if required else (),
        typed=tuple(_TYPED.findall(text)),
        includes=tuple(_INCLUDES.findall(text)),
        values=tuple(values),
        not_expected=tuple(not_expected),
    )


@dataclass(frozen=True, slots=True)
class KitRequestFacts:
    """One kit request: folder, name, method, URL, status check and the checks of its object (and array) branch."""

    name: str
    method: str
    url: str
    status: int | None
    resource: str
    single: Branch  # a JSON object answer (create, by id, PATCH; the else branch of lists)
    listed: Branch | None  # each item of a JSON array answer, where the script has that branch
    holds: tuple[str, ...] = ()  # attributes the create stores in variables
    body: Mapping[str, Any] | None = None
    folder: str = ""
    statuses: tuple[int, ...] = ()  # what the status check accepts, in the kit's order
    status_name: str | None = None  # the status check's name
    mandatory_name: str | None = None  # the name of the check of the required attributes
    checks: tuple[str, ...] = ()  # the names of the checks on an object answer, each once, value checks as "<attr> is "
    listed_checks: tuple[str, ...] = ()  # the same on an array answer
    position: tuple[int, ...] = ()  # indexes from the collection's top, as a launcher addresses the item
    equals: tuple[tuple[str, str, Any], ...] = ()  # (check name, attribute, value) of the script's own equality checks
    code: str | None = None  # the API code of the variables the script sets (``IDCU01``: ``CU``)
    script: str = ""  # the test script

    @property
    def query(self) -> tuple[str, str] | None:
        """(attribute, raw value) of ``?attribute=value``, or None."""
        match = re.search(r"\?([^=]+)=(.*)$", self.url)
        return (match.group(1), match.group(2)) if match else None

    @property
    def creates(self) -> bool:
        """Whether the request creates an instance (a POST the kit expects to succeed)."""
        return self.method == "POST" and not (self.statuses and self.statuses[0] >= 400)

    @property
    def path(self) -> str:
        """The URL after the API root, without the query."""
        return re.sub(r"^\{\{\w+\}\}", "", self.url).split("?")[0]


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """What one kit says about one resource: its requests in order, and its create's facts."""

    resource: str
    entity: str
    requests: tuple[KitRequestFacts, ...]
    payload_schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def create(self) -> KitRequestFacts:
        """The request whose answer the kit keeps values from: its first create, else a list that holds them."""
        return next(iter(self.creates), None) or next(request for request in self.requests if request.holds)

    @property
    def instances(self) -> int:
        """The instances later requests use: the created ones, or the one a list holds."""
        return len(self.creates) or 1

    @property
    def created_checks(self) -> Branch:
        """The checks of the instance the kit keeps values from."""
        create = self.create
        return create.listed if not create.creates and create.listed else create.single

    @property
    def creates(self) -> list[KitRequestFacts]:
        """The requests that create an instance: POSTs expecting success."""
        return [request for request in self.requests if request.creates]


def collection_path(kit_dir: Path) -> Path:
    """The kit's Postman collection: the one its launcher loads, else ``*.testkit.json`` or ``*.postman_collection.json``."""
    launcher = kit_dir / "launcher.js"
    if launcher.exists():
        loaded = re.search(r"pmCollection = require\('\./([^']+\.json)'\)", launcher.read_text(encoding="utf-8"))
        if loaded and (kit_dir / loaded.group(1)).is_file():
            return kit_dir / loaded.group(1)
    return next(
        path for path in sorted(kit_dir.glob("*.json"))
        if path.name.endswith((".testkit.json", ".postman_collection.json"))
    )


def kit_items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A collection's requests in run order, folders flattened."""
    for _, _, item in placed_items(items):
        yield item


def placed_items(items: list[dict[str, Any]], at: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], str, dict[str, Any]]]:
    """A collection's requests in run order, each with its indexes from the top and its folder's name."""
    for index, item in enumerate(items):
        if "item" in item:
            for position, folder, inner in placed_items(item["item"], (*at, index)):
                yield position, folder or item["name"], inner
        else:
            yield (*at, index), "", item


def _script(item: dict[str, Any]) -> str:
    return "\n".join(
        "\n".join(event["script"]["exec"]) for event in item.get("event", []) if event.get("listen") == "test"
    )


def _request_facts(item: dict[str, Any], folder: str = "", position: tuple[int, ...] = ()) -> KitRequestFacts:
    request = item["request"]
    url = request["url"]["raw"] if isinstance(request["url"], dict) else request["url"]
    script = _script(item)
    status = _STATUS.search(script)
    array_at, else_at = script.find("jsonData.forEach"), script.find("else {")
    if array_at >= 0 and else_at > array_at:
        listed, single = _branch(script[array_at:else_at]), _branch(script[else_at:])
        on_object, on_array = script[:array_at] + script[else_at:], script[:else_at]
    else:
        listed, single = None, _branch(script)
        on_object = on_array = script
    raw = (request.get("body") or {}).get("raw")
    holds = tuple(dict.fromkeys(attribute for _, _, attribute in _HOLDS.findall(script)))
    status_test = _STATUS_TEST.search(script)
    statuses: tuple[int, ...] = ()
    if status_test:
        statuses = tuple(int(code) for code in re.findall(r"\d+", "".join(g or "" for g in status_test.groups()[2:])))
    path = re.sub(r"^\{\{\w+\}\}", "", url).split("/")[0].split("?")[0]
    return KitRequestFacts(
        name=item["name"],
        method=request["method"],
        url=url,
        status=int(status.group(1)) if status else (statuses[0] if statuses else None),
        resource=path[:1].lower() + path[1:],
        single=single,
        listed=listed,
        holds=holds,
        body=_json(raw),
        folder=folder,
        statuses=statuses,
        status_name=status_test.group(2) if status_test else None,
        mandatory_name=found.group(2) if (found := _MANDATORY_TEST.search(script)) else None,
        checks=_check_names(on_object),
        listed_checks=_check_names(on_array),
        position=position,
        code=code.group(1) if (code := _CODE.search(script)) else None,
        script=script,
        equals=tuple((name, attribute, _literal(value)) for _, name, attribute, value in _EQUALS.findall(script)),
    )


def _literal(text: str) -> Any:
    """A JavaScript literal of a test script as a value."""
    return text[1:-1] if text[:1] in "'\"" else json.loads(text)


def _check_names(script: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for _, name in _TEST.findall(script) if not _ONLY_ON_FAILURE.match(name)))


def _json(raw: str | None) -> Any:
    """A request body as JSON; the kit's text where it is not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


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
    resources: dict[str, list[KitRequestFacts]] = {}
    waiting: list[KitRequestFacts] = []  # a request outside the API (the kit's routing Start) joins the next resource
    for request in kit_order(kit_dir):
        if not request.url.startswith("{{"):
            waiting.append(request)
            continue
        resources.setdefault(request.resource, []).extend([*waiting, request])
        waiting = []
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


def check_names(request: KitRequest) -> tuple[str, ...]:
    """The names of the CTK checks the engine makes on ``request`` (value checks as ``<attr> is ``), each once.

    Checks recorded only when they fail ("Array not expected as response", "<ID> not expected on this
    test") are left out, as ``KitRequestFacts.checks`` leaves them out.
    """
    checked, step = request.checked, request.step
    names = ["Status code is " + " or ".join(map(str, step.statuses))] if step.statuses else []
    if request.kind == "fields" and step.selection:
        names += ["Instance must have id, href and filtered attribute", "Instance has only id, href and filtered attribute",
                  "Array expected as response"]
    if request.makes_instance_checks:
        names += ["Instance has all mandatory attributes", *(f"Response has {a} attribute" for a in checked.typed),
                  *(f"Body includes value held on {a}" for a in checked.includes)]
    if request.compared_instances():
        names += [f"{attribute} is " for attribute in request.compared]
    names += list(step.expect)
    return tuple(dict.fromkeys(step.rename.get(name, name) for name in names))


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

    planned = plan(declaration)
    kit_requests = kit_order(kit_dir)
    differ(declaration.path.name, "the request list (folder, method, name)",
           [(r.folder, r.method, r.name) for r in planned], [(r.folder, r.method, r.name) for r in kit_requests])
    for suite, kit in zip(declaration.resources, facts, strict=True):
        where = f"{declaration.path.name}: {suite.resource}"
        created = kit.created_checks
        differ(where, "the number of instances", suite.instances, kit.instances)
        differ(where, "mandatory", suite.mandatory, created.mandatory)
        differ(where, "typed", sorted(suite.typed.items()), sorted(dict(created.typed).items()))
        differ(where, "held", suite.held, kit.create.holds)
        differ(where, "body includes", suite.includes, created.includes)
        differ(where, "payload_schema", dict(suite.payload_schema), kit.payload_schema)
        differ(where, "profile_mandatory (top-level rows of the Conformance Profile's table)",
               suite.profile_mandatory, tuple(a for a in suite.profile_mandatory if a in profile_rows(kit_dir, kit.entity)))
        own = [request for request in planned if request.suite is suite]
        if len(own) != len(kit.requests):
            differ(where, "the number of requests", len(own), len(kit.requests))
            continue
        for request, theirs in zip(own, kit.requests, strict=True):
            _compare_request(f"{where} #{request.index + 1} {theirs.name}", request, theirs, differ)
    return problems


def kit_order(kit_dir: Path) -> list[KitRequestFacts]:
    """The kit's requests in run order, all resources together."""
    collection = json.loads(collection_path(kit_dir).read_text(encoding="utf-8"))
    return [_request_facts(item, folder, at) for at, folder, item in placed_items(collection["item"])]


Differ = Callable[[str, str, Any, Any], None]
_VALUE_NAME = re.compile(r"^\S+ is $")


def _named(names: Iterable[str]) -> set[str]:
    """Check names without the value checks, which are compared per created instance."""
    return {name for name in names if not _VALUE_NAME.match(name)}


def _compare_request(where: str, request: KitRequest, theirs: KitRequestFacts, differ: Differ) -> None:
    """Compare one planned request with the kit's: method, statuses, check names, and on instances every check."""
    differ(where, "the method", request.method, theirs.method)
    differ(where, "the statuses checked", request.statuses, theirs.statuses)
    kit_names = {"list": theirs.listed_checks, "filter": theirs.listed_checks,
                 "fields": (*theirs.listed_checks, *theirs.checks)}.get(request.kind, theirs.checks)
    differ(where, "the check names", sorted(_named(check_names(request))), sorted(_named(kit_names)))
    if request.kind == "filter" and theirs.query:
        mark = {"both": "'", "double": '"'}.get(request.step.quote, "")
        differ(where, "the quote around the filter value in the URL", mark, theirs.query[1][:1] if theirs.query[1][:1] in "'\"" else "")
    if not request.makes_instance_checks and request.kind not in ("list", "retrieve", "filter", "patch"):
        return
    suite, checked, patch = request.suite, request.checked, request.step.patch
    branch = theirs.listed if request.kind in ("list", "filter", "fields") and theirs.listed else theirs.single
    count = suite.instances
    if request.makes_instance_checks:
        differ(where, "mandatory", checked.mandatory, branch.mandatory)
        differ(where, "typed", sorted(checked.typed.items()), sorted(dict(branch.typed).items()))
        differ(where, "body includes", checked.includes, branch.includes)
    compared = [(n, attrs) for n, attrs in branch.values if n <= count]
    differ(where, "instances with value checks", request.compared_instances(), [n for n, _ in compared])
    for _, attributes in compared:
        differ(where, "value checks", request.compared, attributes)
    # a kit that names the requested instance itself "not expected" checks nothing there; ours does not make that check
    differ(where, "instances not expected", request.excluded_instances(),
           [n for n in branch.not_expected if n <= count and n != request.instance])
    if patch is not None:
        differ(where, "the PATCH body", dict(patch.body), theirs.body)


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
    """Check every suite declaration against its kit (1 when one disagrees); ``--write`` updates the payload
    schemas first; ``--new tmfNNN...`` or ``--write-all`` write declarations from the kits."""
    args = list(sys.argv[1:] if argv is None else argv)
    write = "--write" in args
    write_all = "--write-all" in args
    new = [arg for arg in args if re.fullmatch(r"tmf\d{3}", arg)]
    new_flag = "--new" in args
    args = [arg for arg in args if arg not in ("--write", "--write-all", "--new") and arg not in new]
    kits_dir = Path(args[0]) if args else DEFAULT_KITS_DIR
    if not kits_dir.is_dir():
        print(f"derive: {kits_dir} is not a directory of official kits", file=sys.stderr)
        return 2
    if new_flag and not new:
        print("derive: --new needs an API id (tmfNNN)", file=sys.stderr)
        return 2
    if write_all or new:
        return _write_new(kits_dir, new or [path.name for path in sorted(kits_dir.glob("tmf[0-9][0-9][0-9]"))])
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


def _write_new(kits_dir: Path, api_ids: list[str]) -> int:
    """Write each API's declaration from its kit and report its disagreements; 1 when one cannot be written."""
    from harness.ctk.generate import write_declaration  # generate reads this module's kit facts

    failed = 0
    for api_id in api_ids:
        if not (kits_dir / api_id).is_dir():
            print(f"derive: no kit {api_id} in {kits_dir}", file=sys.stderr)
            failed += 1
            continue
        try:
            path = write_declaration(api_id, kits_dir, SUITES_DIR)
            problems = mismatches(load_declaration(path), kits_dir / api_id)
        except (DeclarationError, KeyError, ValueError, StopIteration) as exc:
            print(f"derive: {api_id}: cannot write a declaration from its kit: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"derive: wrote {path.relative_to(SUITES_DIR.parent.parent)}, {len(problems)} disagreements with its kit")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
