"""The store and merge patch as units: index-narrowed selection, paging, journal reload."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import query
from mockserver import store as store_module
from mockserver.store import ResourceStore
from tmfapis import merge_patch


def select(store: ResourceStore, params: dict[str, list[str]]) -> tuple[list[dict[str, Any]], int]:
    """The page (parsed) and total count of a list query on the customers."""
    page, total = asyncio.run(store.select("tmf629", "customer", query.parse_list_query(params)))
    return [json.loads(body) for body in page], total


def people(count: int) -> list[dict[str, Any]]:
    return [{"id": f"p{n:04}", "name": f"person {n}", "team": f"t{n % 3}"} for n in range(count)]


def test_equality_filter_checks_only_the_indexed_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResourceStore()
    store.put_many("tmf629", "customer", people(2000))
    checked: list[str] = []
    real_matches = query.matches

    def counting(instance: dict[str, Any], filters: tuple[query.Filter, ...]) -> bool:
        checked.append(instance["id"])
        return real_matches(instance, filters)

    monkeypatch.setattr(query, "matches", counting)
    page, total = select(store, {"name": ["person 1234"], "id.ne": ["x"]})
    assert [item["id"] for item in page] == ["p1234"]
    assert total == 1
    assert checked == ["p1234"]


def test_selection_keeps_creation_order_then_sorts_pages_and_selects_fields() -> None:
    store = ResourceStore()
    store.put_many("tmf629", "customer", people(10))
    assert [i["id"] for i in select(store, {"team": ["t1"]})[0]] == ["p0001", "p0004", "p0007"]
    asked = {"team": ["t1,t2"], "sort": ["-name"], "offset": ["1"], "limit": ["2"], "fields": ["team"]}
    page, total = select(store, asked)
    assert total == 6
    assert page == [{"id": "p0007", "team": "t1"}, {"id": "p0005", "team": "t2"}]


def test_replacing_and_deleting_keep_the_index_true() -> None:
    store = ResourceStore()
    store.put_many("tmf629", "customer", people(3))
    assert select(store, {"name": ["person 1"]})[1] == 1
    store.put("tmf629", "customer", {"id": "p0001", "name": "renamed"})
    assert select(store, {"name": ["person 1"]})[1] == 0
    assert select(store, {"name": ["renamed"]})[1] == 1
    assert store.delete("tmf629", "customer", "p0001") == {"id": "p0001", "name": "renamed"}
    assert store.delete("tmf629", "customer", "p0001") is None
    assert select(store, {"name": ["renamed"]})[1] == 0
    assert [i["id"] for i in store.all("tmf629", "customer")] == ["p0000", "p0002"]


def test_journal_reloads_the_same_instances_in_the_same_order(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    first = ResourceStore.open(db)
    first.put_many("tmf629", "customer", people(5))
    first.put("tmf629", "customer", {"id": "p0002", "name": "ünïcode"})
    first.delete("tmf629", "customer", "p0003")
    first.put("tmf681", "hub", {"id": "h1", "callback": "http://127.0.0.1:9/"})
    first.close()
    second = ResourceStore.open(db)
    assert second.all("tmf629", "customer") == [
        people(5)[0],
        people(5)[1],
        {"id": "p0002", "name": "ünïcode"},
        people(5)[4],
    ]
    assert second.get("tmf681", "hub", "h1") == {"id": "h1", "callback": "http://127.0.0.1:9/"}
    second.close()


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # the examples of RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    original = repr(target)
    assert merge_patch(target, patch) == result
    assert repr(target) == original


@pytest.mark.parametrize(
    "params",
    [{"name.gte": ["person"], "sort": ["-name"]}, {"team": ["t1"]}, {"team": ["t1,t2"], "name": ["person 1"]}],
    ids=["scan and sort", "index build", "union and intersection"],
)
def test_long_selections_let_other_requests_run(monkeypatch: pytest.MonkeyPatch, params: dict[str, list[str]]) -> None:
    monkeypatch.setattr(store_module, "SLICE_S", 0.0)  # yield at every look at the clock
    monkeypatch.setattr(store_module, "STEP", 100)
    store = ResourceStore()
    store.put_many("tmf629", "customer", people(1000))
    ticks = 0

    async def other_request() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async def measured() -> tuple[int, int]:
        other = asyncio.create_task(other_request())
        await asyncio.sleep(0)
        before = ticks
        _, total = await store.select("tmf629", "customer", query.parse_list_query(params))
        other.cancel()
        return ticks - before, total

    ran, total = asyncio.run(measured())
    assert total == len([p for p in people(1000) if query.matches(p, query.parse_list_query(params).filters)])
    assert ran >= 5, "the other request ran while the selection went on"


def test_pages_of_everything_skip_deleted_instances_across_blocks() -> None:
    store = ResourceStore()
    store.load({("tmf629", "customer"): ([p["id"] for p in people(2500)], [json.dumps(p).encode() for p in people(2500)])})
    store.put_many("tmf629", "customer", people(3000)[2500:])
    gone = {f"p{n:04}" for n in (*range(1100), 1500, 2047, 2048, 2999)}
    for instance_id in sorted(gone):
        store.delete("tmf629", "customer", instance_id)
    kept = [p["id"] for p in people(3000) if p["id"] not in gone]
    for offset in (0, 1, 399, 400, 947, 1880, len(kept) - 3, len(kept), len(kept) + 5):
        page, total = select(store, {"offset": [str(offset)], "limit": ["10"]})
        assert total == len(kept)
        assert [item["id"] for item in page] == kept[offset : offset + 10], offset


def test_equality_filters_on_more_paths_than_are_narrowed_by_are_still_applied() -> None:
    store = ResourceStore()
    bits = [{"id": f"i{n}", **{f"a{k}": str((n >> k) & 1) for k in range(12)}} for n in range(64)]
    store.put_many("tmf629", "customer", bits)  # a6 to a11 are "0" everywhere
    ones = {f"a{k}": ["1"] for k in range(6)}
    page, total = select(store, {**ones, "a6": ["0"], "a7": ["0"], "a11": ["1"]})
    assert (total, page) == (0, []), "the ninth path is applied too"
    page, total = select(store, {**ones, **{f"a{k}": ["0"] for k in range(6, 12)}})
    assert (total, [item["id"] for item in page]) == (1, ["i63"])


@given(
    count=st.integers(0, 300),
    deleted=st.sets(st.integers(0, 299)),
    offset=st.integers(0, 320),
    limit=st.none() | st.integers(0, 40),
)
@settings(max_examples=300, deadline=None)
def test_pages_of_everything_are_the_live_instances_in_order_whatever_was_deleted(
    count: int, deleted: set[int], offset: int, limit: int | None
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "BLOCK", 8)  # many blocks, whole ones emptied
        coll = store_module.Collection()
        coll.extend([f"i{n}" for n in range(count // 2)], [b"{}"] * (count // 2))
        for n in range(count // 2, count):
            coll.keep(f"i{n}", b"{}", {})
        for n in deleted & set(range(count)):
            coll.drop(f"i{n}")
        live = [n for n in range(count) if n not in deleted]
        end = None if limit is None else offset + limit
        assert coll.live_slots(offset, limit) == live[offset:end]
