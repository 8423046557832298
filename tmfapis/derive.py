"""Derive the project's compact schemas from the official TMF OpenAPI v4 (Swagger 2.0) specs.

Run ``python -m tmfapis.derive [SPEC_DIR]`` to (re)write ``tmfapis/schemas/<api>.json``.
Only what validation needs is kept: types, formats, required attributes, enums, nesting.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPEC_FILES = {
    "tmf622": "TMF622-ProductOrder-v4.0.0.swagger.json",
    "tmf629": "TMF629-Customer-v4.0.0.swagger.json",
    "tmf635": "TMF635-UsageManagement-v4.0.0.swagger.json",
    "tmf681": "TMF681-Communication-v4.0.0.swagger.json",
    "tmf683": "TMF683-PartyInteraction-v4.0.0.swagger.json",
}
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "tmf-specs"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
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


def resources_of(spec: dict[str, Any]) -> dict[str, Any]:
    """Resources with their allowed methods and event types, read from the spec's paths."""
    resources: dict[str, Any] = {}
    for path, operations in spec["paths"].items():
        match = re.fullmatch(r"/([A-Za-z]+)(/\{id\})?", path)
        if not match or match.group(1) in ("hub", "listener"):
            continue
        name = match.group(1)
        entry = resources.setdefault(name, {"collection": [], "item": [], "events": []})
        methods = sorted(m.upper() for m in operations if m != "parameters")
        entry["item" if match.group(2) else "collection"] = methods
    for path in spec["paths"]:
        match = re.fullmatch(r"/listener/([A-Za-z]+)Event", path)
        if not match:
            continue
        event = match.group(1)
        # longest resource prefix wins: cancelProductOrder... is not a productOrder event
        owner = max((r for r in resources if event.startswith(r)), key=len, default=None)
        if owner:
            resources[owner]["events"].append(event[len(owner):][0].upper() + event[len(owner) + 1:])
    for name, entry in resources.items():
        entity = name[0].upper() + name[1:]
        entry["entity"] = entity
        entry["create"] = f"{entity}_Create" if f"{entity}_Create" in spec["definitions"] else entity
        entry["update"] = f"{entity}_Update" if f"{entity}_Update" in spec["definitions"] else None
    return resources


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    """The project's compact description of one API."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": spec["info"]["title"],
        "version": spec["info"]["version"],
        "basePath": spec["basePath"],
        "resources": resources_of(spec),
        "definitions": {name: compact(node) for name, node in sorted(spec["definitions"].items())},
    }


def derive_all(spec_dir: Path) -> dict[str, str]:
    """Rendered schema files by API id, as they should be on disk."""
    rendered = {}
    for api_id, filename in SPEC_FILES.items():
        spec = json.loads((spec_dir / filename).read_text(encoding="utf-8"))
        rendered[api_id] = json.dumps(derive(spec), indent=1, sort_keys=True) + "\n"
    return rendered


def main(argv: list[str]) -> int:
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
