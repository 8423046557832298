"""Instances of every resource: one in-memory store read by both backends, with an optional journal.

Each instance is kept once, as the JSON bytes a read sends, with a NUL byte (which JSON text never
holds raw) where the origin of a server-built ``href`` goes: reads splice in ``--public-url`` or the
request's own origin, so no host is ever stored. Instances are parsed only when a filter, a sort or
``fields`` needs them. Equality filters are answered from per-path posting lists (ascending slots,
that is creation order), built a bounded step at a time on first use and kept up to date after;
everything else is answered by a scan that yields to the event loop every few milliseconds.

With a database path, each write first goes to a SQLite journal (WAL, synchronous=FULL) and is
committed before the caller answers the client, so an acknowledged write survives a restart or
``kill -9``; several writes given together (a cancel and its order) commit in one transaction.
Writes are synchronous and run on the server's event loop, so they never interleave.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from mockserver import query

__all__ = ["HREF_MARK", "ORIGIN", "Journal", "ResourceStore", "encode_json", "local_href", "public"]

Instance = dict[str, Any]
Change = tuple[str, str, Instance]  # (API id, collection, instance) to create or replace

ORIGIN = b"\x00"  # in a stored body: where the origin of a server-built href goes
# In an instance given to the store: the same place. Random, so no client text can forge it.
HREF_MARK = "\ue000" + secrets.token_hex(8)
MARK_BYTES = HREF_MARK.encode("utf-8")
BLOCK = 1024  # slots per block of the live counts (finding the n-th live slot skips whole blocks)
STEP = 256  # items handled between two looks at the clock
SLICE_S = 0.005  # longest stretch a list request works before letting others run
# How long it then steps aside: a request in flight needs several turns of the loop, so a bare
# ``sleep(0)`` (one turn) would leave it a turn per slice; while this sleeps, it gets all it needs.
PAUSE_S = 0.001
NARROWING_PATHS = query.MAX_INDEXED_PATHS // 2  # equality paths one request narrows by; the rest are checked


ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
# json's own C encoder, called directly: json.dumps spends half its time setting it up on every call
_make_encoder: Callable[..., Callable[[object, int], Iterable[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
C_ENCODE = (
    None
    if _make_encoder is None
    else _make_encoder(None, ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
)


def encode_json(body: object) -> bytes:
    """JSON in UTF-8 with non-ASCII text kept as is (the kits look for raw values in the body)."""
    if C_ENCODE is None:
        return ENCODER.encode(body).encode("utf-8")
    return "".join(C_ENCODE(body, 0)).encode("utf-8")


def local_href(path: str) -> str:
    """A server-built href as the store keeps it: the origin is added when it is read."""
    return HREF_MARK + path


def stored_body(instance: Instance) -> bytes:
    """An instance as stored: its JSON with a NUL where each server-built href's origin goes."""
    return encode_json(instance).replace(MARK_BYTES, ORIGIN)


def public(instance: Instance, origin: str) -> Instance:
    """An instance as a client sees it: server-built hrefs start with ``origin``."""
    shown: Instance = json.loads(encode_json(instance).replace(MARK_BYTES, origin.encode()))
    return shown


def parse(body: bytes) -> Instance:
    """A stored body as an instance whose server-built hrefs start with ``HREF_MARK``."""
    instance: Instance = json.loads(body.replace(ORIGIN, MARK_BYTES))
    return instance


class Journal:
    """A write-through SQLite copy of every instance, keyed by API, collection and id."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS instances (api TEXT NOT NULL, collection TEXT NOT NULL,"
            " id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (api, collection, id))"
        )

    def load(self) -> Iterator[tuple[str, str, str, bytes]]:
        """Every stored instance as (API id, collection, id, stored body), in the order first written."""
        rows = self._db.execute("SELECT api, collection, id, body FROM instances ORDER BY rowid")
        for api_id, collection, instance_id, body in rows:
            yield api_id, collection, instance_id, body if isinstance(body, bytes) else body.encode("utf-8")

    def save(self, rows: Iterable[tuple[str, str, str, bytes]]) -> None:
        """Insert or replace (API id, collection, id, stored body) rows in one committed transaction."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO instances (api, collection, id, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (api, collection, id) DO UPDATE SET body = excluded.body",
                rows,
            )

    def delete(self, api_id: str, collection: str, instance_id: str) -> None:
        """Remove one instance, committed."""
        self._db.execute(
            "DELETE FROM instances WHERE api = ? AND collection = ? AND id = ?",
            (api_id, collection, instance_id),
        )

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class LiveCounts:
    """How many live slots each block of ``BLOCK`` slots holds, as a Fenwick tree (a binary indexed tree):
    the block holding the n-th live slot is found in O(log n) whatever was deleted before it."""

    __slots__ = ("_tree",)

    def __init__(self) -> None:
        self._tree = [0]  # 1-based: _tree[i] is the sum of the blocks numbered i - (i & -i) + 1 to i

    def add(self, block: int, change: int) -> None:
        """Change a block's count; the block after the last one may be given, and is added."""
        node = block + 1
        if node == len(self._tree):  # a new block, empty so far
            self._tree.append(self._before(node - 1) - self._before(node - (node & -node)))
        while node < len(self._tree):
            self._tree[node] += change
            node += node & -node

    def _before(self, node: int) -> int:
        """The live slots in the blocks numbered 1 to ``node``."""
        total = 0
        while node:
            total += self._tree[node]
            node -= node & -node
        return total

    def find(self, rank: int) -> tuple[int, int] | None:
        """The block (from 0) holding the live slot of that rank (from 0), and the rank of it within the
        block; None when there are no more live slots than ``rank``."""
        node, step = 0, 1 << len(self._tree).bit_length()
        while step:
            if node + step < len(self._tree) and self._tree[node + step] <= rank:
                node += step
                rank -= self._tree[node]
            step >>= 1
        return (node, rank) if node < len(self._tree) - 1 else None


@dataclass(slots=True)
class Collection:
    """The instances of one resource of one API: stored bodies by slot (creation order), and indexes."""

    bodies: list[bytes | None] = field(default_factory=list)  # None where an instance was deleted
    slot_of: dict[str, int] = field(default_factory=dict)
    live: LiveCounts = field(default_factory=LiveCounts)
    index: query.EqualityIndex = field(init=False)

    def __post_init__(self) -> None:
        self.index = query.EqualityIndex(self.read, self.bodies.__len__)

    def read(self, slot: int) -> Instance | None:
        """The instance at a slot, parsed, or None when it was deleted."""
        body = self.bodies[slot]
        return None if body is None else parse(body)

    def keep(self, instance_id: str, body: bytes, instance: Instance | None) -> None:
        """Store a new body for an id (``instance`` is its parsed form, when at hand)."""
        slot = self.slot_of.get(instance_id)
        if slot is None:
            slot = self.slot_of[instance_id] = len(self.bodies)
            self.bodies.append(body)
            self.live.add(slot // BLOCK, 1)
        else:
            if self.index.active:
                old = self.read(slot)
                if old is not None:
                    self.index.remove(slot, old)
            self.bodies[slot] = body
        if self.index.active:
            self.index.add(slot, instance if instance is not None else parse(body))

    def extend(self, ids: list[str], bodies: list[bytes]) -> None:
        """Store many new instances at once (loading); ids already held are replaced one by one."""
        fresh = not self.index.active and len(set(ids)) == len(ids) and self.slot_of.keys().isdisjoint(ids)
        if not fresh:
            for instance_id, body in zip(ids, bodies, strict=True):
                self.keep(instance_id, body, None)
            return
        first = len(self.bodies)
        self.slot_of.update(zip(ids, range(first, first + len(ids)), strict=True))
        self.bodies.extend(bodies)
        slot, end = first, len(self.bodies)
        while slot < end:  # the live count of each block touched
            stop = min(end, (slot // BLOCK + 1) * BLOCK)
            self.live.add(slot // BLOCK, stop - slot)
            slot = stop

    def drop(self, instance_id: str) -> Instance | None:
        """Forget one instance and return it, or None when it is not held."""
        slot = self.slot_of.pop(instance_id, None)
        if slot is None:
            return None
        instance = self.read(slot)
        assert instance is not None
        self.index.remove(slot, instance)
        self.bodies[slot] = None
        self.live.add(slot // BLOCK, -1)
        return instance

    def live_slots(self, offset: int, limit: int | None) -> list[int]:
        """The slots of the live instances from the ``offset``-th on, at most ``limit`` of them."""
        if len(self.slot_of) == len(self.bodies):  # nothing deleted: slots are positions
            end = len(self.bodies) if limit is None else min(len(self.bodies), offset + limit)
            return list(range(offset, end))
        page: list[int] = []
        while limit is None or len(page) < limit:  # a block at a time, each found in O(log n)
            found = self.live.find(offset + len(page))
            if found is None:
                break
            block, skipped = found
            end = min(len(self.bodies), (block + 1) * BLOCK)
            alive = (slot for slot in range(block * BLOCK, end) if self.bodies[slot] is not None)
            before = len(page)
            page.extend(islice(alive, skipped, None if limit is None else skipped + limit - len(page)))
            if len(page) == before:  # never so while the counts are true; a loop without end otherwise
                raise AssertionError(f"block {block} holds fewer live slots than its count says")
        return page

    def all_slots(self) -> Iterator[int]:
        """Every slot held now, in order (read each body when it comes: it may have changed)."""
        return iter(range(len(self.bodies)))


class Pacer:
    """Counts work and lets the event loop run other requests every ``SLICE_S`` of it."""

    def __init__(self) -> None:
        self._since = time.perf_counter()

    async def pause(self) -> None:
        """Yield to the loop when this request has worked for a slice."""
        if time.perf_counter() - self._since > SLICE_S:
            await asyncio.sleep(PAUSE_S)
            self._since = time.perf_counter()


class ResourceStore:
    """All instances of all APIs; collections are named by resource (and ``hub`` for listeners)."""

    def __init__(self, journal: Journal | None = None) -> None:
        self._journal = journal
        self._collections: dict[tuple[str, str], Collection] = {}
        if journal is not None:
            loaded: dict[tuple[str, str], tuple[list[str], list[bytes]]] = {}
            for api_id, collection, instance_id, body in journal.load():
                ids, bodies = loaded.setdefault((api_id, collection), ([], []))
                ids.append(instance_id)
                bodies.append(body)
            for (api_id, collection), (ids, bodies) in loaded.items():
                self._collection(api_id, collection).extend(ids, bodies)

    @classmethod
    def open(cls, db_path: Path | None) -> ResourceStore:
        """A memory-only store, or one journaled to ``db_path`` and loaded from it."""
        return cls(Journal(db_path) if db_path is not None else None)

    def close(self) -> None:
        """Close the journal, if any."""
        if self._journal is not None:
            self._journal.close()

    def _collection(self, api_id: str, collection: str) -> Collection:
        key = (api_id, collection)
        found = self._collections.get(key)
        if found is None:
            found = self._collections[key] = Collection()
        return found

    def count(self, api_id: str, collection: str) -> int:
        """How many instances a collection holds."""
        return len(self._collection(api_id, collection).slot_of)

    def get(self, api_id: str, collection: str, instance_id: str) -> Instance | None:
        """One instance by id, or None; its server-built hrefs start with ``HREF_MARK``."""
        coll = self._collection(api_id, collection)
        slot = coll.slot_of.get(instance_id)
        return None if slot is None else coll.read(slot)

    def get_body(self, api_id: str, collection: str, instance_id: str, origin: bytes) -> bytes | None:
        """One instance as the JSON a read sends, its hrefs starting with ``origin``, or None."""
        coll = self._collection(api_id, collection)
        slot = coll.slot_of.get(instance_id)
        body = None if slot is None else coll.bodies[slot]
        return None if body is None else body.replace(ORIGIN, origin)

    def all(self, api_id: str, collection: str) -> list[Instance]:
        """Every instance of a collection, in creation order."""
        coll = self._collection(api_id, collection)
        return [parse(body) for body in coll.bodies if body is not None]

    def put(self, api_id: str, collection: str, instance: Instance) -> bytes:
        """Create or replace one instance (journaled first); returns its stored body."""
        return self.write([(api_id, collection, instance)])[0]

    def write(self, changes: list[Change]) -> list[bytes]:
        """Create or replace instances, all or none (one journal transaction); their stored bodies."""
        bodies = [stored_body(instance) for _, _, instance in changes]  # rendered once for journal and reads
        if self._journal is not None:
            self._journal.save(
                (api_id, name, instance["id"], body)
                for (api_id, name, instance), body in zip(changes, bodies, strict=True)
            )
        for (api_id, name, instance), body in zip(changes, bodies, strict=True):
            self._collection(api_id, name).keep(instance["id"], body, instance)
        return bodies

    def put_many(self, api_id: str, collection: str, instances: Iterable[Instance]) -> None:
        """Create or replace many instances of one collection in one journal transaction (seeding)."""
        self.write([(api_id, collection, instance) for instance in instances])

    def load(self, rows: dict[tuple[str, str], tuple[list[str], list[bytes]]]) -> None:
        """Add instances already rendered as stored (seeding), per collection: ids and bodies."""
        if self._journal is not None:
            self._journal.save(
                (api_id, name, instance_id, body)
                for (api_id, name), (ids, bodies) in rows.items()
                for instance_id, body in zip(ids, bodies, strict=True)
            )
        for (api_id, name), (ids, bodies) in rows.items():
            self._collection(api_id, name).extend(ids, bodies)

    def delete(self, api_id: str, collection: str, instance_id: str) -> Instance | None:
        """Remove one instance (journaled first) and return it, or None when it did not exist."""
        coll = self._collection(api_id, collection)
        if instance_id not in coll.slot_of:
            return None
        if self._journal is not None:
            self._journal.delete(api_id, collection, instance_id)
        return coll.drop(instance_id)

    async def select(
        self, api_id: str, collection: str, list_query: query.ListQuery, origin: bytes = b""
    ) -> tuple[list[bytes], int]:
        """The page a list query asks for, as JSON bodies (fields selected), and the number of all matches.

        Without sort and with equality filters only, the work is the page's (the postings give the
        count); otherwise the matches are found by a scan that lets other requests run between slices.
        """
        coll = self._collection(api_id, collection)
        pacer = Pacer()
        paths = list(dict.fromkeys(rule.path for rule in list_query.filters if rule.op == "eq"))
        paths = paths[:NARROWING_PATHS]  # more would push each other out of the index
        indexed: list[query.Filter] = []
        rest: list[query.Filter] = []
        for rule in list_query.filters:
            (indexed if rule.op == "eq" and rule.path in paths else rest).append(rule)
        for path in paths:
            while not coll.index.is_built(path):
                coll.index.build_step(path, STEP)
                await pacer.pause()
        narrowed = coll.index.candidates(tuple(indexed))
        offset, limit = list_query.offset, list_query.limit
        end = None if limit is None else offset + limit
        if rest or list_query.sort:
            source = coll.all_slots() if narrowed is None else narrowed.slots()
            slots, total = await self._scan(coll, source, tuple(rest), list_query, pacer)
        elif narrowed is None:
            total, slots = len(coll.slot_of), coll.live_slots(offset, limit)
        elif (single := narrowed.single) is not None:
            total, slots = len(single), list(single[offset:end])
        else:
            matched = []
            for batch in _batches(narrowed.slots()):
                matched.extend(batch)
                await pacer.pause()
            total, slots = len(matched), matched[offset:end]
        return await self._render(coll, slots, list_query.fields, origin, pacer), total

    async def _scan(
        self,
        coll: Collection,
        source: Iterator[int],
        filters: tuple[query.Filter, ...],
        list_query: query.ListQuery,
        pacer: Pacer,
    ) -> tuple[list[int], int]:
        """The page's slots among those of ``source`` that match ``filters``, sorted if asked, and the count."""
        sort = query.sort_paths(list_query.sort)
        end = None if list_query.limit is None else list_query.offset + list_query.limit
        matched: list[int] = []
        runs: list[list[tuple[tuple[Any, ...], int]]] = []  # sorted runs of (sort key, slot)
        total = 0
        for batch in _batches(source):
            run = []
            for slot in batch:
                body = coll.bodies[slot]
                if body is None:
                    continue
                instance = parse(body)
                if filters and not query.matches(instance, filters):
                    continue
                total += 1
                if sort:
                    run.append((query.sort_key(instance, sort), slot))
                else:
                    matched.append(slot)
            if run:
                run.sort()
                runs.append(run[:end])
            await pacer.pause()
        if not sort:
            return matched[list_query.offset : end], total
        merged = (slot for _, slot in heapq.merge(*runs))
        page: list[int] = []
        for batch in _batches(islice(merged, list_query.offset, end)):
            page.extend(batch)
            await pacer.pause()
        return page, total

    async def _render(
        self, coll: Collection, slots: list[int], fields: tuple[str, ...] | None, origin: bytes, pacer: Pacer
    ) -> list[bytes]:
        def rendered(batch: list[int]) -> list[bytes]:
            page = [body.replace(ORIGIN, origin) for slot in batch if (body := coll.bodies[slot]) is not None]
            if fields is None:
                return page
            return [encode_json(query.select_fields(json.loads(body), fields)) for body in page]

        if len(slots) <= STEP:  # a page of the usual size, at once
            return rendered(slots)
        page: list[bytes] = []
        for batch in _batches(iter(slots)):
            page.extend(rendered(batch))  # a body deleted while this request let others run is left out
            await pacer.pause()
        return page


def _batches(slots: Iterator[int]) -> Iterator[list[int]]:
    while batch := list(islice(slots, STEP)):
        yield batch
