"""Instances of every resource: one in-memory store read by both backends, with an optional journal.

``ResourceStore`` answers every read from memory. With a database path, each write first goes to a
SQLite journal (WAL, synchronous=FULL) and is committed before the caller answers the client, so an
acknowledged write survives a restart or ``kill -9``; the journal is read back when the store opens.
All methods are synchronous and run on the server's event loop, so writes never interleave.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

from mockserver import query

__all__ = ["Journal", "ResourceStore", "encode_json"]

Instance = dict[str, Any]


def encode_json(body: object) -> bytes:
    """JSON in UTF-8 with non-ASCII text kept as is (the kits look for raw values in the body)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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

    def load(self) -> Iterable[tuple[str, str, bytes]]:
        """Every stored instance as its JSON body, in the order it was first written."""
        rows = self._db.execute("SELECT api, collection, body FROM instances ORDER BY rowid")
        for api_id, collection, body in rows:
            yield api_id, collection, body.encode("utf-8")

    def save(self, api_id: str, collection: str, bodies: Iterable[tuple[str, bytes]]) -> None:
        """Insert or replace instances, given as (id, JSON body), in one committed transaction."""
        rows = [(api_id, collection, instance_id, body.decode("utf-8")) for instance_id, body in bodies]
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


@dataclass(slots=True)
class Collection:
    """The instances of one resource of one API, in creation order, with their equality index."""

    instances: dict[str, Instance] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    index: query.EqualityIndex = field(default_factory=query.EqualityIndex)
    encoded: dict[str, bytes] = field(default_factory=dict)  # each instance as its response body


class ResourceStore:
    """All instances of all APIs; collections are named by resource (and ``hub`` for listeners)."""

    def __init__(self, journal: Journal | None = None) -> None:
        self._journal = journal
        self._collections: dict[tuple[str, str], Collection] = {}
        self._counter = count()
        if journal is not None:
            for api_id, collection, body in journal.load():
                self._remember(api_id, collection, json.loads(body), body)

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
        if key not in self._collections:
            self._collections[key] = Collection()
        return self._collections[key]

    def _remember(self, api_id: str, collection: str, instance: Instance, body: bytes) -> None:
        coll = self._collection(api_id, collection)
        instance_id = instance["id"]
        old = coll.instances.get(instance_id)
        if old is not None:
            coll.index.remove(instance_id, old)
        else:
            coll.position[instance_id] = next(self._counter)
        coll.instances[instance_id] = instance
        # rendered once per write so that GET by id, the hot path, only sends bytes
        coll.encoded[instance_id] = body
        coll.index.add(instance_id, instance)

    def count(self, api_id: str, collection: str) -> int:
        """How many instances a collection holds."""
        return len(self._collection(api_id, collection).instances)

    def get(self, api_id: str, collection: str, instance_id: str) -> Instance | None:
        """One instance by id, or None; callers must not modify it."""
        return self._collection(api_id, collection).instances.get(instance_id)

    def get_encoded(self, api_id: str, collection: str, instance_id: str) -> bytes | None:
        """One instance as its JSON response body (``encode_json``), or None."""
        return self._collection(api_id, collection).encoded.get(instance_id)

    def all(self, api_id: str, collection: str) -> list[Instance]:
        """Every instance of a collection, in creation order."""
        return list(self._collection(api_id, collection).instances.values())

    def put(self, api_id: str, collection: str, instance: Instance) -> None:
        """Create or replace one instance (journaled first); the store keeps the dict given."""
        self.put_many(api_id, collection, [instance])

    def put_many(self, api_id: str, collection: str, instances: list[Instance]) -> None:
        """Create or replace many instances in one journal transaction (seeding, bulk loads)."""
        bodies = [encode_json(instance) for instance in instances]  # one rendering for journal and reads
        if self._journal is not None:
            self._journal.save(
                api_id, collection, [(i["id"], b) for i, b in zip(instances, bodies, strict=True)]
            )
        for instance, body in zip(instances, bodies, strict=True):
            self._remember(api_id, collection, instance, body)

    def delete(self, api_id: str, collection: str, instance_id: str) -> Instance | None:
        """Remove one instance (journaled first) and return it, or None when it did not exist."""
        coll = self._collection(api_id, collection)
        instance = coll.instances.get(instance_id)
        if instance is None:
            return None
        if self._journal is not None:
            self._journal.delete(api_id, collection, instance_id)
        del coll.instances[instance_id]
        del coll.position[instance_id]
        coll.encoded.pop(instance_id, None)
        coll.index.remove(instance_id, instance)
        return instance

    def select(self, api_id: str, collection: str, list_query: query.ListQuery) -> tuple[list[Instance], int]:
        """The page a list query asks for, with fields selected, and the number of all matches."""
        coll = self._collection(api_id, collection)
        filters = list_query.filters
        candidate_ids = coll.index.candidates(filters) if filters else None
        if candidate_ids is None:
            pool: Iterable[Instance] = coll.instances.values()
        else:
            known = [i for i in candidate_ids if i in coll.instances]
            known.sort(key=coll.position.__getitem__)
            pool = (coll.instances[i] for i in known)
        hits = [item for item in pool if query.matches(item, filters)] if filters else list(pool)
        if list_query.sort:
            hits = query.sort_instances(hits, list_query.sort)
        end = None if list_query.limit is None else list_query.offset + list_query.limit
        page = hits[list_query.offset : end]
        if list_query.fields is not None:
            page = [query.select_fields(item, list_query.fields) for item in page]
        return page, len(hits)
