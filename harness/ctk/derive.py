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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.ctk.declaration import SchemaCheck, SuiteDeclaration, load_declaration
from harness.ctk.engine import KitRequest, plan
from harness.ctk.generate import write_declaration
from harness.ctk.kit import (
    DEFAULT_KITS_DIR,
    KitRequestFacts,
    ResourceFacts,
    collection_path,
    kit_facts,
    kit_items,
    kit_order,
    payload_schema,
    profile_rows,
)
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

SUITES_DIR = Path(__file__).resolve().parents[1] / "suites"


def check_names(request: KitRequest) -> tuple[str, ...]:
    """The names of the CTK checks the engine makes on ``request`` (value checks as ``<attr> is ``), each once.

    Checks recorded only when they fail ("Array not expected as response", "<ID> not expected on this
    test") are left out, as ``KitRequestFacts.checks`` leaves them out.
    """
    checked, step = request.checked, request.step
    names = ["Status code is " + " or ".join(map(str, step.statuses))] if step.statuses else []
    if request.kind == "fields" and step.selection:
        names += ["Instance must have id, href and filtered attribute", "Array expected as response"]
        names += ["Instance has only id, href and filtered attribute"] if step.selection is True else []
    if request.makes_instance_checks:
        by_type = [attribute for typed in checked.by_type.values() for attribute in typed]  # by the instance's @type
        one_of = [attribute for typed in checked.one_of.values() for attribute in typed]
        names += ["Instance has all mandatory attributes", *checked.any_of,
                  *(f"Response has {a} attribute" for a in [*checked.typed, *by_type, *one_of]),
                  *(f"Body includes value held on {a}" for a in checked.includes)]
        names += ["Array expected as response"] if step.instances == "items_else_array" else []
    if request.compared_instances():
        names += [f"{attribute} is " for attribute in request.compared]
    names += list(step.expect)
    # on a list, the names of an array answer's checks: an ajv check made only in the kit's else branch is not one
    names += [check.name for check in step.valid
              if check.each or not check.otherwise or request.kind not in ("list", "filter", "fields")]
    names += list(step.typed_at)
    names += [name for check in step.includes_if for name in check.includes]
    if step.give_up:
        names.append(step.give_up)
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

    planned = [request for request in plan(declaration) if not request.passage]  # a kit run once per payload: one pass
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
        differ(where, "held_at (where the included values are read)", dict(suite.held_at), kit.included_at)
        differ(where, "the conditional attributes (when)", dict(suite.when), created.conditional)
        differ(where, "at least one of (one_of)", dict(suite.one_of), created.alternatives)
        differ(where, "the checks of one attribute of several (any_of)", dict(suite.any_of), dict(created.any_of))
        differ(where, "typed only where truthy", suite.typed_if_truthy, created.typed_if_truthy)
        differ(where, "attributes mandatory by @type", _by_type(suite.by_type), created.by_type)
        differ(where, "each payload runs the steps once", suite.each_payload, kit.each_payload)
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


Differ = Callable[[str, str, Any, Any], None]
_VALUE_NAME = re.compile(r"^\S+ is $")


def _named(names: Iterable[str]) -> set[str]:
    """Check names without the value checks, which are compared per created instance."""
    return {name for name in names if not _VALUE_NAME.match(name)}


def _compare_request(where: str, request: KitRequest, theirs: KitRequestFacts, differ: Differ) -> None:
    """Compare one planned request with the kit's: method, statuses, check names, and on instances every check."""
    differ(where, "the method", request.method, theirs.method)
    differ(where, "the statuses checked", request.statuses, theirs.statuses)
    step, poll = request.step, theirs.poll
    differ(where, "the asynchronous route (monitor id of a 202, reached only by the route)",
           (dict(step.accepted or {}), step.routed), (dict([theirs.accepted] if theirs.accepted else []), theirs.routed))
    differ(where, "the statuses on which the kit's run ends after it", step.ends_on, theirs.ends_on)
    differ(where, "the later requests it goes on with (on a status or a value)", dict(step.goes_to), dict(theirs.goes_to))
    differ(where, "the checks made only on some statuses", dict(step.only_on), dict(theirs.only_on))
    differ(where, "the poll (until, tries, wait, give-up check, then)",
           (dict(step.until or {}), step.tries, step.wait, step.give_up, step.then) if request.kind == "poll" else None,
           ({poll.attribute: poll.value}, poll.tries, poll.wait_s, poll.give_up, poll.then) if poll else None)
    kit_names = {"list": theirs.listed_checks, "filter": theirs.listed_checks,
                 "fields": (*theirs.listed_checks, *theirs.checks)}.get(request.kind, theirs.checks)
    differ(where, "the check names", sorted(_named(check_names(request))), sorted(_named(kit_names)))
    differ(where, "the ajv checks", request.step.valid, tuple(SchemaCheck(**check) for check in theirs.valid))
    differ(where, "the checks made where the answer holds a value",
           [{"if": dict(check.when), "includes": dict(check.includes)} for check in request.step.includes_if], list(theirs.includes_if))
    differ(where, "the paths read outside the tests", request.step.reads, theirs.reads)
    differ(where, "the typed paths", {name: (check.path, check.type, check.present) for name, check in request.step.typed_at.items()},
           {name: (path, json_type, present) for name, path, json_type, present in theirs.typed_at})
    if request.kind == "filter" and theirs.query:
        mark = {"both": "'", "double": '"'}.get(request.step.quote, "")
        differ(where, "the quote around the filter value in the URL", mark, theirs.query[1][:1] if theirs.query[1][:1] in "'\"" else "")
    if not request.makes_instance_checks and request.kind not in ("list", "retrieve", "filter", "patch"):
        return
    checked, patch = request.checked, request.step.patch
    branch = theirs.listed if request.kind in ("list", "filter", "fields") and theirs.listed else theirs.single
    count = request.existing  # the kit's checks of an instance not created yet find nothing
    if request.makes_instance_checks:
        differ(where, "mandatory", checked.mandatory, branch.mandatory)
        differ(where, "typed", sorted(checked.typed.items()), sorted(dict(branch.typed).items()))
        differ(where, "body includes", checked.includes, branch.includes)
        differ(where, "the conditional attributes (when)", dict(checked.when), branch.conditional)
        differ(where, "at least one of (one_of)", dict(checked.one_of), branch.alternatives)
        differ(where, "the checks of one attribute of several (any_of)", dict(checked.any_of), dict(branch.any_of))
        differ(where, "typed only where truthy", checked.typed_if_truthy, branch.typed_if_truthy)
        differ(where, "attributes mandatory by @type", _by_type(checked.by_type), branch.by_type)
        differ(where, "the instances checked", request.step.instances, _instances(theirs))
        if request.kind in ("list", "filter", "fields") and theirs.listed and not theirs.else_array:  # the else branch
            one, single = request.checked_as_one, theirs.single
            differ(where, "mandatory of an answer judged as one instance", one.mandatory, single.mandatory)
            differ(where, "typed of an answer judged as one instance", sorted(one.typed.items()), sorted(dict(single.typed).items()))
            differ(where, "body includes of an answer judged as one instance", one.includes, single.includes)
            differ(where, "the conditional attributes of an answer judged as one instance", dict(one.when), single.conditional)
            differ(where, "at least one of, on an answer judged as one instance", dict(one.one_of), single.alternatives)
            differ(where, "any_of of an answer judged as one instance", dict(one.any_of), dict(single.any_of))
            differ(where, "typed only where truthy of an answer judged as one instance", one.typed_if_truthy,
                   single.typed_if_truthy)
            if single.mandatory_name:
                default = "Instance has all mandatory attributes"
                rename = {**request.step.rename, **request.step.single.get("rename", {})}
                differ(where, "the mandatory check's name of an answer judged as one instance", rename.get(default, default),
                       single.mandatory_name)
    compared = [(n, attrs) for n, attrs in branch.values if n <= count]
    differ(where, "instances with value checks", request.compared_instances(), [n for n, _ in compared])
    for _, attributes in compared:
        differ(where, "value checks", request.compared, attributes)
    differ(where, "the value checks of an instance never created, on a dotted attribute", request.step.unset_values,
           branch.unset_values(count))
    # a kit that names the requested instance itself "not expected" checks nothing there; ours does not make that check
    differ(where, "instances not expected", request.excluded_instances(),
           [n for n in branch.not_expected if n <= count and n != request.instance])
    if patch is not None:
        differ(where, "the PATCH body", dict(patch.body), theirs.body)
    if request.kind in ("retrieve", "fields"):
        differ(where, "what it keeps from its answer", request.step.holds, theirs.holds)


def _instances(theirs: KitRequestFacts) -> str:
    """Which instances of its answer the kit's script checks, as a step's ``instances`` says it."""
    if theirs.items_only:
        return "items"
    if theirs.listed is not None and theirs.empty_unchecked:
        return "items_or_one"
    if theirs.else_array:
        return "items_else_array"
    if theirs.first_only:
        return "first"
    return "one" if theirs.whole else "every"


def _by_type(by_type: Mapping[str, Mapping[str, str]]) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    return tuple((kind, tuple(typed.items())) for kind, typed in by_type.items())


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
