"""Derive the project's compact schemas from the official TMF OpenAPI v4 (Swagger 2.0) specs.

``python -m tmfapis.derive [SPEC_DIR]`` rewrites ``tmfapis/schemas/<api>.json`` for every API listed
in ``schemas/apis.json``; ``python -m tmfapis.derive --add ID "NAME" SPEC_FILE`` adds an API to that
list and derives it. Only what validation needs is kept: types, formats, required attributes, enums, nesting.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "tmf-specs"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
INDEX_FILE = SCHEMA_DIR / "apis.json"
API_ID = re.compile(r"tmf\d{3}")
USAGE = 'usage: python -m tmfapis.derive [SPEC_DIR] | python -m tmfapis.derive --add ID "NAME" SPEC_FILE'


def index() -> list[dict[str, str]]:
    """The listed APIs: ``[{id, name, spec}]`` in the project's order, with ``base_path`` where the published one
    is unsound."""
    entries: list[dict[str, str]] = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    return entries
KEPT_KEYWORDS = ("$ref", "type", "format", "enum", "required", "minItems", "items", "properties")


def compact(node: dict[str, Any]) -> dict[str, Any]:
    """Keep the validation keywords of one Swagger schema node, recursively."""
    out: dict[str, Any] = {}
    for key in KEPT_KEYWORDS:
        if key not in node:
            continue
        value = node[key]
        if key == "items":
            value = compact(value)
        elif key == "properties":
            value = {name: compact(prop) for name, prop in value.items()}
        out[key] = value
    return out


RESOURCE_PATH = re.compile(r"/(?:([A-Za-z]+)/\{[A-Za-z]+\}/)?([A-Za-z]+)(/\{id\})?")
NOW = "$now"  # a server-set value: the current date-time when the instance is made


def resources_of(spec: dict[str, Any]) -> dict[str, Any]:
    """Resources with their allowed methods, event types, parent (a path nested under another resource's
    instance) and server-set attributes, read from the spec's paths and definitions."""
    resources: dict[str, Any] = {}
    for path, operations in spec["paths"].items():
        match = RESOURCE_PATH.fullmatch(path)
        if not match or match.group(2) in ("hub", "listener") or match.group(1) == "listener":
            continue
        name = match.group(2)
        entry = resources.setdefault(name, {"collection": [], "item": [], "events": [], "parent": match.group(1)})
        methods = sorted(m.upper() for m in operations if m != "parameters")
        entry["item" if match.group(3) else "collection"] = methods
    for path in spec["paths"]:
        match = re.fullmatch(r"/listener/([A-Za-z]+)Event", path)
        if not match:
            continue
        event = match.group(1)
        # longest resource prefix wins: cancelProductOrder... is not a productOrder event
        owner = max((r for r in resources if event.startswith(r)), key=len, default=None)
        if owner:
            resources[owner]["events"].append(event[len(owner):][0].upper() + event[len(owner) + 1:])
    definitions = spec["definitions"]
    for name, entry in resources.items():
        entity = name[0].upper() + name[1:]
        entry["entity"] = entity
        entry["create"] = f"{entity}_Create" if f"{entity}_Create" in definitions else entity
        entry["update"] = f"{entity}_Update" if f"{entity}_Update" in definitions else None
        entry["state"] = state_attribute(definitions, entity, entry["events"])
        entry["serverSet"] = server_set(definitions, entity, entry["create"], entry["state"])
    return resources


def _properties(definitions: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = definitions.get(name, {}).get("properties", {})
    return properties


def _enum(definitions: dict[str, Any], node: dict[str, Any]) -> list[Any]:
    """The values an attribute allows, its own or its referenced definition's (empty: any)."""
    if "$ref" in node:
        node = definitions.get(node["$ref"].rsplit("/", 1)[-1], {})
    enum: list[Any] = node.get("enum", [])
    return enum


def state_attribute(definitions: dict[str, Any], entity: str, events: list[str]) -> str | None:
    """The attribute a resource's state-change event follows (``StateChange`` -> ``state``), if it has one."""
    properties = _properties(definitions, entity)
    for kind in events:
        if kind.endswith("Change") and kind != "AttributeValueChange":
            attribute = kind[0].lower() + kind[1 : -len("Change")]
            if attribute in properties:
                return attribute
    return None


def server_set(definitions: dict[str, Any], entity: str, create: str, state: str | None) -> dict[str, Any]:
    """What the server sets on create when the body lacks it: a date-time attribute a client cannot send
    (in the resource, not in its ``_Create``) is the moment of creation, such an attribute with an enum its
    first value, and the state its initial (first) value even where a client may send it."""
    sendable = _properties(definitions, create) if create != entity else {}
    values: dict[str, Any] = {}
    for attribute, node in _properties(definitions, entity).items():
        enum = _enum(definitions, node)
        if attribute == state and enum:
            values[attribute] = enum[0]
        elif attribute in sendable or attribute in ("id", "href") or attribute.startswith("@"):
            continue
        elif node.get("format") == "date-time":
            values[attribute] = NOW
        elif enum:
            values[attribute] = enum[0]
    return values


def base_path(published: str, root: str | None = None) -> str:
    """Where the API is served: the listed ``base_path`` where the published one is unsound (it collides with
    another API's or lacks ``/tmf-api``), else the spec's; always ending in ``/``."""
    return (root or published).rstrip("/") + "/"


def derive(spec: dict[str, Any], root: str | None = None) -> dict[str, Any]:
    """The project's compact description of one API (``root``: the listed base path overriding the spec's)."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": spec["info"]["title"],
        "version": spec["info"]["version"],
        "basePath": base_path(spec["basePath"], root),
        "publishedBasePath": spec["basePath"],
        "resources": resources_of(spec),
        "definitions": {name: compact(node) for name, node in sorted(spec["definitions"].items())},
    }


def render(spec_path: Path, root: str | None = None) -> str:
    """One API's schema file as it should be on disk."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    return json.dumps(derive(spec, root), indent=1, sort_keys=True) + "\n"


def derive_all(spec_dir: Path) -> dict[str, str]:
    """Rendered schema files by API id, as they should be on disk."""
    return {entry["id"]: render(spec_dir / entry["spec"], entry.get("base_path")) for entry in index()}


def add(api_id: str, name: str, spec_path: Path) -> str:
    """List a new API (or rename a listed one) and write its schema file; the message to print."""
    if not API_ID.fullmatch(api_id):
        raise ValueError(f"the API id {api_id!r} is not of the form tmf629")
    if not spec_path.is_file():
        raise ValueError(f"{spec_path} is not a file")
    text = render(spec_path)
    entries = [entry for entry in index() if entry["id"] != api_id]
    entries.append({"id": api_id, "name": name, "spec": spec_path.name})
    (SCHEMA_DIR / f"{api_id}.json").write_text(text, encoding="utf-8")
    INDEX_FILE.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    return f"wrote {SCHEMA_DIR / f'{api_id}.json'} and listed {api_id} in {INDEX_FILE}"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--add"]:
        if len(argv) != 4:
            print(USAGE, file=sys.stderr)
            return 2
        try:
            print(add(argv[1], argv[2], Path(argv[3])))
        except (ValueError, OSError, KeyError) as exc:
            print(f"derive: {exc}", file=sys.stderr)
            return 2
        return 0
    if len(argv) > 1 or argv[:1] in (["-h"], ["--help"]):
        print(USAGE, file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    spec_dir = Path(argv[0]) if argv else DEFAULT_SPEC_DIR
    if not spec_dir.is_dir():
        print(f"derive: spec folder {spec_dir} not found; pass it as the first argument", file=sys.stderr)
        return 2
    SCHEMA_DIR.mkdir(exist_ok=True)
    for api_id, text in derive_all(spec_dir).items():
        (SCHEMA_DIR / f"{api_id}.json").write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / f'{api_id}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
