"""Write a suite declaration from an official kit: its collection, its launcher and shipped config, the API's spec.

``declaration_text`` reads the kit as ``harness.ctk.derive`` does and says, per resource in the kit's order,
what the kit's create checks and keeps, and each kit request as a step: the template's kind, instance and
attribute, with only what departs from the template written out (folder, name, statuses, the status
check's name, quotes, value checks, field-selection checks, PATCH bodies). Instance 01's payload is
what the kit's launcher injects from ``config.json`` into that create, else the body the collection
sends; a later instance's is the collection's body, changed where needed so that it differs from
instance 01 on every filtered attribute, with another value the spec allows.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

import tmfapis
from harness.ctk.declaration import DEFAULT_FOLDER, DEFAULT_STATUS, INSTANCE_CHECKING, Step
from harness.ctk.engine import METHODS, name_suffix
from harness.ctk.kit import (
    DEFAULT_KITS_DIR,
    Branch,
    KitRequestFacts,
    ResourceFacts,
    collection_path,
    kit_facts,
    launcher_environment,
)
from harness.errors import DeclarationError

__all__ = ["declaration_text", "injected_payloads", "write_declaration"]

_INJECTS = re.compile(
    r"(?:if \(resource ===? \"([^\"]+)\"\) \{\s*)?"
    r"pmCollection\['item'\]\[(\d+)\]\['item'\]\[(\d+)\]\['request'\]\['body'\]\['raw'\] = "
    r"JSON\.stringify\(config\['payloads'\]\[resource\]\['(POST|PATCH)'\]\['payload'\]\)"
)
_LISTED = re.compile(r"JSON\.stringify\(config\.payloads\.(\w+)\.POST\.payload\)")
SPECS_DIR = DEFAULT_KITS_DIR.parent / "tmf-specs"
_HEADER = "# {name}: port of the {collection} collection, written by python -m harness.ctk.derive --new {api}.\n"


def injected_payloads(kit_dir: Path) -> dict[tuple[int, ...], Any]:
    """What the kit's launcher puts in the collection from ``config.json``: payload per item position.

    The launcher validates each configured payload against ``schemas/<Resource>.schema.json`` first and
    stops at one it cannot read; an injection without a resource test takes every payload, the last winning.
    """
    launcher, config = kit_dir / "launcher.js", kit_dir / "config.json"
    if not launcher.exists() or not config.exists():
        return {}
    script = launcher.read_text(encoding="utf-8")
    payloads = json.loads(config.read_text(encoding="utf-8")).get("payloads") or {}
    injected: dict[tuple[int, ...], Any] = {}
    for resource, methods in payloads.items():
        if "config['payloads']" not in script or not (kit_dir / "schemas" / f"{resource}.schema.json").exists():
            break
        for match in _INJECTS.finditer(script):
            named, folder, item, method = match.groups()
            if named in (None, resource) and method in methods:
                injected[(int(folder), int(item))] = methods[method]["payload"]
    return injected


def _title(facts: ResourceFacts) -> str:
    names = [match.group(1) for r in facts.requests if (match := re.match(r"^/(\w+)", r.name))]
    return max(names, key=names.count) if names else facts.entity


def _code(facts: ResourceFacts) -> str:
    codes = [request.code for request in facts.requests if request.code]
    if not codes:
        raise DeclarationError(f"{facts.resource}: the kit sets no ID variable, so its API code is unknown")
    return codes[0]


def _instance(text: str) -> int:
    found = re.findall(r"\{\{[A-Z@]+(\d\d)\}\}", text)
    return int(found[-1]) if found else 1


def _kind(request: KitRequestFacts, home: str = "") -> tuple[str, str | None, int]:
    """(kind, attribute, instance) of one kit request whose resource's paths start at ``home`` (a poll's attribute, and
    that of a read of an unknown id elsewhere, is the resource it goes to)."""
    if not request.url.startswith("{{"):
        return "start", None, 0
    if request.poll:
        return "poll", request.resource, 0
    if request.method == "POST":
        return ("create" if request.creates else "reject"), None, 0
    kinds = {method: kind for kind, method in METHODS.items()}
    if request.method in kinds:
        return kinds[request.method], None, _instance(request.url)
    query = request.query
    if query and query[0] == "fields":
        return "fields", query[1], _instance(request.own_path) if "{{" in request.own_path else 0
    if query:
        return "filter", query[0], _instance(query[1].split("&")[0])
    if "{{" in request.own_path:
        return ("gone" if request.statuses == (404,) else "retrieve"), None, _instance(request.own_path)
    if request.statuses == (404,):  # an unknown id, of the resource itself (also under its parent) or read at the root
        first = request.own_path.split("/")[0]
        elsewhere = home and request.own_path == request.path and first[:1].lower() + first[1:] != home
        return "missing", request.resource if elsewhere else None, 0
    return "list", None, 0


def _values(branch: Branch, count: int) -> tuple[str, ...]:
    found = [attributes for number, attributes in branch.values if number <= count]
    return found[0] if found else ()


def _departures(branch: Branch, items: Branch) -> dict[str, Any]:
    """Where a script's checks of an answer judged as one instance (its else branch) depart from those of the items."""
    departures: dict[str, Any] = {}
    if dict(branch.typed) != dict(items.typed):
        departures["typed"] = dict(branch.typed)
    if branch.mandatory != items.mandatory:
        departures["mandatory"] = list(branch.mandatory)
    if branch.includes != items.includes:
        departures["includes"] = list(branch.includes)
    if branch.conditional != items.conditional:
        departures["when"] = branch.conditional
    if branch.alternatives != items.alternatives:
        departures["one_of"] = branch.alternatives
    if branch.mandatory_name and branch.mandatory_name != items.mandatory_name:
        departures["rename"] = {"Instance has all mandatory attributes": branch.mandatory_name}
    return departures


def _home(facts: ResourceFacts) -> str:
    """Where the resource's paths start in the kit: itself, or the resource it is nested under (``a/{{ID}}/b``: ``a``)."""
    first = next((r.path.split("/")[0] for r in facts.requests if r.url.startswith("{{") and r.resource == facts.resource),
                 facts.resource)
    return first[:1].lower() + first[1:]


def _route(request: KitRequestFacts) -> dict[str, Any]:
    """The options of the kit's asynchronous route: where a 202 keeps the monitor id, a poll, a request only it reaches."""
    options: dict[str, Any] = {}
    if request.accepted:
        options["accepted"] = {request.accepted[0]: request.accepted[1]}
    if request.poll:
        poll = request.poll
        options.update(until={poll.attribute: poll.value}, tries=poll.tries, wait=poll.wait_s, give_up=poll.give_up)
        if poll.then:
            options["then"] = poll.then
    if request.routed:
        options["routed"] = True
    if request.ends_on:
        options["ends_on"] = list(request.ends_on)
    if request.goes_to:
        options["goes_to"] = {name: list(statuses) for name, statuses in request.goes_to}
    return options


def _step(facts: ResourceFacts, title: str, code: str, compared: tuple[str, ...], request: KitRequestFacts,
          created: int, injected: Mapping[tuple[int, ...], Any]) -> str | dict[str, Any]:
    kind, attribute, instance = _kind(request, _home(facts))
    if kind == "create":
        instance = created
    do = " ".join(part for part in (kind, attribute, str(instance) if instance else None) if part)
    options: dict[str, Any] = {}
    if request.folder != DEFAULT_FOLDER.get(kind, "N2"):
        options["folder"] = request.folder
    quote = "none"
    if kind == "filter" and request.query and "&fields=" in request.query[1]:
        options["fields"] = request.query[1].split("&fields=", 1)[1]
    if kind == "filter" and request.query:
        mark = request.query[1][:1]
        quote = {"'": "both", '"': "double"}.get(mark, "name" if "'{{" in request.name else "none")
        if quote != "none":
            options["quote"] = quote
    step = Step(kind=kind, attribute=attribute, instance=instance, quote=quote,  # type: ignore[arg-type]
                fields=options.get("fields"))
    if request.name != f"/{title}{name_suffix(code, step)}":
        options["name"] = request.name
    if request.statuses != DEFAULT_STATUS[kind]:
        options["status"] = list(request.statuses)
    rename: dict[str, str] = {}
    status_name = "Status code is " + " or ".join(map(str, request.statuses))
    if request.status_name and request.status_name != status_name:
        rename[status_name] = request.status_name
    selected = {*request.listed_checks, *request.checks} if kind == "fields" else set()
    selection: bool | str = "Instance has only id, href and filtered attribute" in selected or (
        "must" if {"Instance must have id, href and filtered attribute", "Array expected as response"} <= selected else False)
    mandatory_name = None if selection else request.mandatory_name
    checks_instances = mandatory_name is not None
    if mandatory_name and mandatory_name != "Instance has all mandatory attributes":
        rename["Instance has all mandatory attributes"] = mandatory_name
    if rename:
        options["rename"] = rename
    if selection:
        options["selection"] = selection
    count = facts.instances
    listed = kind in ("list", "filter", "fields") and request.listed is not None
    branch = request.listed if listed and request.listed else request.single
    values = _values(branch, count)
    unset = branch.unset_values(count)
    if unset:
        options["unset_values"] = list(unset)
    if checks_instances != (kind in INSTANCE_CHECKING):
        options["instance_checks"] = checks_instances
    if checks_instances:
        create = facts.created_checks
        typed, includes, mandatory = dict(branch.typed), branch.includes, branch.mandatory
        if typed != dict(create.typed):
            options["typed"] = typed
        if includes != create.includes:
            options["includes"] = list(includes)
        if mandatory != create.mandatory:
            options["mandatory"] = list(mandatory)
        if branch.conditional != create.conditional:
            options["when"] = branch.conditional
        if branch.alternatives != create.alternatives:
            options["one_of"] = branch.alternatives
        if listed and request.listed and not request.else_array and (single := _departures(request.single, branch)):
            options["single"] = single
    if request.items_only:
        options["instances"] = "items"
    elif checks_instances and request.empty_unchecked:
        options["instances"] = "items_or_one"
    elif checks_instances and request.else_array:
        options["instances"] = "items_else_array"
    elif checks_instances and request.first_only:
        options["instances"] = "first"
    elif checks_instances and request.whole:
        options["instances"] = "one"
    if kind in ("retrieve", "fields") and request.holds:
        options["holds"] = list(request.holds)
    if kind == "list" and request.holds and not request.creates:
        first = "count == 0" in request.script or re.search(r"= \w+\[0\]", request.script)
        options["hold"] = "first" if first else "last"
    if kind == "reject":
        options["body"] = injected.get(request.position, request.body)
    if kind == "patch":
        options["body"] = request.body
        if values:
            options["values"] = list(values)
    elif kind in ("list", "retrieve", "filter", "fields") and values != (compared if kind != "fields" else ()):
        options["values"] = list(values)
    if request.equals:
        options["expect"] = {name: {attr: value} for name, attr, value in request.equals}
    if request.valid:
        options["valid"] = list(request.valid)
    if request.reads:
        options["reads"] = list(request.reads)
    if request.includes_if:
        options["includes_if"] = list(request.includes_if)
    if request.typed_at:
        options["typed_at"] = {name: {"path": list(path), "type": json_type, **({"present": True} if present else {})}
                               for name, path, json_type, present in request.typed_at}
    if request.only_on:
        options["only_on"] = {name: list(statuses) for name, statuses in request.only_on}
    options.update(_route(request))
    return {"do": do, **options} if options else do


def listed_payloads(kit_dir: Path) -> dict[str, list[Any]]:
    """The payload lists a kit's launcher passes to the collection in a variable, per configured resource name."""
    launcher, config = kit_dir / "launcher.js", kit_dir / "config.json"
    if not launcher.exists() or not config.exists():
        return {}
    configured = json.loads(config.read_text(encoding="utf-8")).get("payloads") or {}
    passed = _LISTED.findall(launcher.read_text(encoding="utf-8"))
    return {name: entry if isinstance(entry := configured[name]["POST"]["payload"], list) else [entry]
            for name in passed if name in configured}


def _payloads(api_id: str, facts: ResourceFacts, injected: Mapping[tuple[int, ...], Any],
              filtered: tuple[str, ...], listed: Mapping[str, list[Any]]) -> list[Any]:
    creates = facts.creates
    if facts.each_payload:
        return copy.deepcopy(listed.get(facts.entity, [creates[0].body]))
    payloads = [copy.deepcopy(injected.get(r.position, r.body)) for r in creates]
    resource = tmfapis.api(api_id).resources.get(facts.resource)
    for payload in payloads[1:]:
        for attribute in filtered:
            first = payloads[0].get(attribute) if isinstance(payloads[0], dict) else None
            if isinstance(payload, dict) and first is not None and payload.get(attribute) == first:
                payload[attribute] = _other_value(api_id, resource, attribute, first)
    return payloads


def _other_value(api_id: str, resource: tmfapis.Resource | None, attribute: str, value: Any) -> Any:
    """Another value the spec allows for ``attribute``: another of its enum, of its examples, of the values its
    description lists, a date a day later, else the first sentence of its description."""
    definitions = _spec(api_id).get("definitions", {})
    schema = definitions.get(resource.create_schema, {}).get("properties", {}).get(attribute, {}) if resource else {}
    target = definitions.get(str(schema.get("$ref", "")).rsplit("/", 1)[-1], schema)
    description = str(schema.get("description") or target.get("description") or "")
    listed = re.findall(r"[\u201c\"']([\w-]+)[\u201d\"']", description)
    for option in [*target.get("enum", []), *target.get("examples", []), target.get("example"), *listed]:
        if option is not None and option != value:
            return option
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str) and _DATE.match(value):
        return (datetime.fromisoformat(value) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    sentence = description.split(".")[0].strip()
    return sentence if sentence and sentence != value else f"Another {attribute}"


def _spec(api_id: str) -> dict[str, Any]:
    """The API's official spec (``../tmf-specs``), or nothing where it is not there."""
    index = json.loads(tmfapis.INDEX_FILE.read_text(encoding="utf-8"))
    name = next((entry.get("spec") for entry in index if entry["id"] == api_id), None)
    path = SPECS_DIR / str(name)
    return dict(json.loads(path.read_text(encoding="utf-8"))) if name and path.is_file() else {}


_DATE = re.compile(r"^\d{4}-\d\d-\d\dT")


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False, allow_unicode=True).strip()


def _block(value: Any, indent: int) -> str:
    text = yaml.safe_dump(value, default_flow_style=False, width=110, sort_keys=False, allow_unicode=True)
    return "".join(" " * indent + line + "\n" for line in text.splitlines())


def declaration_text(api_id: str, kit_dir: Path, keep: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The suite declaration of ``api_id`` written from its kit; ``keep`` holds per resource what is not in the kit."""
    collection = json.loads(collection_path(kit_dir).read_text(encoding="utf-8"))["info"]["name"]
    injected = injected_payloads(kit_dir)
    lines = [_HEADER.format(name=tmfapis.API_NAMES[api_id], collection=collection, api=api_id)]
    routing = launcher_environment(kit_dir)
    if routing:  # the kit routes on what its launcher takes from config.json: the declaration holds what that run sends
        lines.append(f"# the requests of the kit's run routed by its config.json: {_flow(routing)}\n")
    lines += [f"api: {api_id}\n", f"collection: {collection}\n", "resources:\n"]
    for facts in kit_facts(kit_dir):
        lines += _resource_lines(api_id, kit_dir, facts, injected, (keep or {}).get(facts.resource, {}))
    return "".join(lines)


def _resource_lines(api_id: str, kit_dir: Path, facts: ResourceFacts, injected: Mapping[tuple[int, ...], Any],
                    keep: Mapping[str, Any]) -> list[str]:
    create, created_checks = facts.create, facts.created_checks
    title, code = _title(facts), _code(facts)
    retrieves = [r for r in facts.requests if _kind(r)[0] in ("retrieve", "filter", "list")]
    compared = next((values for r in retrieves if (values := _values(r.single, facts.instances))), create.holds)
    steps, created = [], 0
    for request in facts.requests:
        created += request.creates
        steps.append(_step(facts, title, code, compared, request, created, injected))
    filtered = tuple(dict.fromkeys(_kind(r)[1] or "" for r in facts.requests if _kind(r)[0] == "filter"))
    lines = [
        f"  - resource: {facts.resource}\n",
        f"    title: {title}\n",
        f"    code: {code}\n",
        *([f"    under: {_home(facts)}  # the kit reads it under that resource's instance 01\n"]
          if _home(facts) != facts.resource else []),
        *(["    each_payload: true  # the kit runs these steps once per payload, each creating instance 01\n"]
          if facts.each_payload else []),
        f"    typed: {_flow(dict(created_checks.typed))}\n",
        f"    held: {_flow(list(create.holds))}\n",
    ]
    if created_checks.includes != create.holds:
        lines.append(f"    includes: {_flow(list(created_checks.includes))}\n")
    if facts.included_at:
        lines.append(f"    held_at: {_flow(facts.included_at)}  # where the kit reads the included values\n")
    if compared != create.holds:
        lines.append(f"    compared: {_flow(list(compared))}\n")
    if created_checks.conditional:
        lines.append(f"    when: {_flow(created_checks.conditional)}  # required only under the kit's condition\n")
    if created_checks.one_of:
        lines.append(f"    one_of: {_flow(created_checks.alternatives)}  # the kit wants at least one of them\n")
    if created_checks.any_of:
        lines.append(f"    any_of: {_flow({name: list(names) for name, names in created_checks.any_of})}"
                     "  # the instance has one of these\n")
    if created_checks.typed_if_truthy:
        lines.append(f"    typed_if_truthy: {_flow(list(created_checks.typed_if_truthy))}"
                     "  # typed where the instance holds a value\n")
    if created_checks.by_type:
        lines.append(f"    by_type: {_flow({kind: dict(typed) for kind, typed in created_checks.by_type})}"
                     "  # attributes mandatory by @type\n")
    lines += [
        f"    mandatory: {_flow(list(created_checks.mandatory))}  # the kit's requiredAttributes\n",
        "    # the kit's payload schema, written by python -m harness.ctk.derive --write\n",
        f"    payload_schema: {json.dumps(facts.payload_schema, separators=(', ', ': '))}\n",
    ]
    if keep.get("profile_mandatory"):
        lines.append(f"    profile_mandatory: {_flow(list(keep['profile_mandatory']))}"
                     "  # the Conformance Profile's, in responses (spec tier)\n")
    lines.append("    payloads:\n" if facts.creates else "    payloads: []  # the kit creates none: a list holds instance 01\n")
    for payload in _payloads(api_id, facts, injected, filtered, listed_payloads(kit_dir)):
        block = _block(payload, 8)
        lines.append("      - " + block[8:])
    lines.append("    steps:\n")
    lines += [f"      - {_flow(step) if isinstance(step, dict) else step}\n" for step in steps]
    return lines


def write_declaration(api_id: str, kits_dir: Path, suites_dir: Path) -> Path:
    """Write ``suites/ctkNNN/ctkNNN.yaml`` from the kit, keeping what an existing one says beyond the kit."""
    number = api_id.removeprefix("tmf")
    path = suites_dir / f"ctk{number}" / f"ctk{number}.yaml"
    keep: dict[str, Any] = {}
    if path.exists():  # what the kit does not say (the Conformance Profile's attributes) is kept
        try:
            old = yaml.safe_load(path.read_text(encoding="utf-8"))
            keep = {entry["resource"]: entry for entry in old["resources"]}
        except (yaml.YAMLError, KeyError, TypeError):
            keep = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(declaration_text(api_id, kits_dir / api_id, keep), encoding="utf-8")
    return path
