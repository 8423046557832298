"""Large seeds: the quick validity check says what jsonschema says, and two processes render what one would
(each half of the file), the second only where the first confirms where it starts."""

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
from mockserver.seed import halves, quick_check
from mockserver.seed.items import rendered
from mockserver.seed.stream import Split, streamed

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


LAYOUTS = [
    {"separators": (",", ":")},  # compact, as generated
    {"indent": 2},  # as a person writes it
    {"indent": "\t", "separators": (" ,", " : ")},  # whitespace before separators too
]


def seed_file(path: Path, customers: int, layout: dict[str, Any] | None = None) -> Path:
    """A seed of ``customers`` customers between an empty and a one-instance collection."""
    document = {
        "tmf622": {"productOrder": []},
        "tmf629": {"customer": [{"id": f"c{n}", **PAYLOADS[("tmf629", "customer")], "name": f"n{n}"} for n in range(customers)]},
        "tmf635": {"usage": [{"id": "u0", **PAYLOADS[("tmf635", "usage")]}]},
    }
    path.write_text(json.dumps(document, **(layout or {})))
    return path


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_large_json_seed_rendered_by_two_processes_is_the_same_as_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: dict[str, Any]
) -> None:
    path = seed_file(tmp_path / "seed.json", 7, layout)
    alone = seed.load_seed(path, render_seed)
    monkeypatch.setattr(halves, "PARALLEL_BYTES", 0)
    split = halves.split_point(path.read_text())
    assert split is not None and (split.api_id, split.name) == ("tmf629", "customer")
    assert seed.load_seed(path, render_seed) == alone
    assert alone[("tmf629", "customer")][0] == [f"c{n}" for n in range(7)]
    assert alone[("tmf635", "usage")][0] == ["u0"]


def test_a_fault_the_second_process_meets_is_worded_with_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = seed_file(tmp_path / "seed.json", 7)
    text = path.read_text()
    split = halves.split_point(text)
    assert split is not None and split.offset < text.index('"id": "c6"')  # c6 is the second process's
    path.write_text(text.replace('"name": "n6"', '"name": 6'))
    monkeypatch.setattr(halves, "PARALLEL_BYTES", 0)
    with pytest.raises(seed.SeedError, match=r"tmf629\.customer\[6\]\.name"):
        seed.load_seed(path, render_seed)


def test_the_child_renders_the_instances_after_the_split(tmp_path: Path) -> None:
    path = seed_file(tmp_path / "seed.json", 5)
    child = subprocess.run(
        [sys.executable, "-m", "mockserver.seed", str(path), "mockserver.app:render_seed"], capture_output=True, check=True
    )
    kind, offset, rows = pickle.loads(child.stdout)
    split = halves.split_point(path.read_text())
    assert split is not None and offset == split.offset
    assert (kind, rows[("tmf629", "customer")][0], rows[("tmf635", "usage")][0]) == ("rows", ["c3", "c4"], ["u0"])


def test_a_split_guess_that_does_not_hold_is_read_on_by_the_first_process(tmp_path: Path) -> None:
    path = seed_file(tmp_path / "seed.json", 5)
    text = path.read_text()
    everything = rendered(path, streamed(path, text), render_seed)
    between = text.index('{"id": "c3"') - 1  # just after the comma between instances c2 and c3
    for wrong in (
        Split(between + 2, "tmf629", "customer"),  # inside an instance
        Split(between, "tmf635", "usage"),  # the gap, taken for one of another list
    ):
        assert rendered(path, streamed(path, text, stop=wrong), render_seed) == everything
        assert not wrong.reached
    right = Split(between, "tmf629", "customer")
    first = rendered(path, streamed(path, text, stop=right), render_seed)
    assert right.reached and right.number == 3 and first[("tmf629", "customer")][0] == ["c0", "c1", "c2"]
    rest = rendered(path, streamed(path, text, resume=right), render_seed)
    assert rest[("tmf629", "customer")][0] == ["c3", "c4"] and rest[("tmf635", "usage")][0] == ["u0"]


def test_a_file_with_no_gap_between_objects_is_read_by_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = seed_file(tmp_path / "seed.json", 1)
    assert halves.split_point(path.read_text()[:-30]) is None  # no "},{" after its middle
    monkeypatch.setattr(halves, "PARALLEL_BYTES", 0)
    assert seed.load_seed(path, render_seed)[("tmf629", "customer")][0] == ["c0"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_streamed_reader_reads_every_layout_as_the_whole_file_reader(tmp_path: Path, layout: dict[str, Any]) -> None:
    path = seed_file(tmp_path / "seed.json", 3, layout)
    one_at_a_time = rendered(path, streamed(path, path.read_text()), render_seed)
    assert one_at_a_time == rendered(path, seed.whole(path, path.read_text()), render_seed)
    assert one_at_a_time[("tmf629", "customer")][0] == ["c0", "c1", "c2"]
