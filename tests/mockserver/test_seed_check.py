"""Large seeds: the quick validity check says what jsonschema says, and two processes render what one would."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from served import PAYLOADS

import tmfapis
from mockserver import seed
from mockserver.app import render_seed
from mockserver.seed import quick_check

ODD_VALUES: list[Any] = [None, True, 1, 1.0, 2.5, "", "x", "2021-06-03T16:23:29.481Z", "2021-13-45", [], [{}], {}, {"id": 1}]


def variants(body: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """The body, then copies with one attribute (declared or present, nested one level) given odd values."""
    found: list[Any] = [body, [], "x", {}]
    names = set(body) | set(schema.get("properties", {}))
    for name in sorted(names):
        for value in ODD_VALUES:
            found.append({**body, name: value})
            inner = body.get(name)
            if isinstance(inner, dict):
                found += [{**body, name: {**inner, key: value}} for key in inner]
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                found += [{**body, name: [{**inner[0], key: value}]} for key in inner[0]]
    found += [{key: item for key, item in body.items() if key != name} for name in body]
    return found


@pytest.mark.parametrize(("api_id", "resource"), sorted(PAYLOADS))
def test_quick_check_agrees_with_jsonschema(api_id: str, resource: str) -> None:
    definition = tmfapis.api(api_id).resources[resource].create_schema
    validator = tmfapis.schema_validator(api_id, definition)
    check = quick_check(api_id, definition)
    schema = tmfapis.api(api_id).definitions[definition]
    bodies = variants(PAYLOADS[(api_id, resource)], schema)
    disagreements = [body for body in bodies if check(body) != validator.is_valid(body)]
    assert not disagreements, disagreements[:3]
    assert any(not validator.is_valid(body) for body in bodies), "some variants are invalid"


def test_a_large_json_seed_rendered_by_two_processes_is_the_same_as_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [{"id": f"c{n}", **PAYLOADS[("tmf629", "customer")], "name": f"n{n}"} for n in range(7)]
    usages = [{"id": "u0", **PAYLOADS[("tmf635", "usage")]}]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"tmf629": {"customer": customers}, "tmf635": {"usage": usages}}))
    alone = seed.load_seed(path, render_seed)
    monkeypatch.setattr(seed, "PARALLEL_BYTES", 0)
    assert seed.load_seed(path, render_seed) == alone
    assert alone[("tmf629", "customer")][0] == [f"c{n}" for n in range(7)]
    customers[5]["name"] = 5
    path.write_text(json.dumps({"tmf629": {"customer": customers}}))
    with pytest.raises(seed.SeedError, match=r"tmf629\.customer\[5\]\.name"):
        seed.load_seed(path, render_seed)  # an odd one: found by the second process


def test_the_child_renders_the_odd_instances(tmp_path: Path) -> None:
    customers = [{"id": f"c{n}", **PAYLOADS[("tmf629", "customer")]} for n in range(5)]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"tmf629": {"customer": customers}}))
    child = subprocess.run(
        [sys.executable, "-c", seed.CHILD, str(path), "mockserver.app:render_seed"], capture_output=True, check=True
    )
    kind, rows = pickle.loads(child.stdout)
    assert (kind, rows[("tmf629", "customer")][0]) == ("rows", ["c1", "c3"])


@pytest.mark.parametrize(
    "layout",
    [
        {"separators": (",", ":")},  # compact, as generated
        {"indent": 2},  # as a person writes it
        {"indent": "\t", "separators": (" ,", " : ")},  # whitespace before separators too
    ],
)
def test_the_streamed_reader_reads_every_layout_as_the_whole_file_reader(tmp_path: Path, layout: dict[str, Any]) -> None:
    customers = [{"id": f"c{n}", **PAYLOADS[("tmf629", "customer")], "name": f"n{n}"} for n in range(3)]
    document = {"tmf622": {"productOrder": []}, "tmf629": {"customer": customers}, "tmf635": {"usage": []}}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(document, **layout))
    streamed = seed._rendered(path, seed._streamed(path, path.read_text()), render_seed)
    assert streamed == seed._rendered(path, seed._whole(path, path.read_text()), render_seed)
    assert streamed[("tmf629", "customer")][0] == ["c0", "c1", "c2"]
