"""Opening the stores under test, and helpers the contract tests share.

`Harness` opens connections to one store of one backend (a second connection stands for a
second process) and cleans up after the test; its hooks carry the differences between backends
that the contract allows. `snapshot` reads everything a store holds through the protocol only.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from expertpool import segment
from expertpool.stores.textindex import query_for
from expertpool.stores.base import RECORD_KINDS, ExpertStore, SearchFilters, SearchHit, SearchQuery


class Harness:
    """Opens connections to one store of one backend, and cleans up after the test."""

    backend: str

    def __init__(self) -> None:
        self._opened: list[ExpertStore] = []

    def open(self) -> ExpertStore:
        store = self._connect()
        self._opened.append(store)
        return store

    def _connect(self) -> ExpertStore:
        raise NotImplementedError

    def spec(self) -> dict:
        """What another process needs to open the same store (see `open_from_spec`)."""
        raise NotImplementedError

    def another(self) -> "Harness":
        """A harness for a different store of the same backend (the caller cleans it up)."""
        raise NotImplementedError

    def cleanup(self) -> None:
        for store in self._opened:
            try:
                store.close()
            except Exception:
                pass

    # ---- hooks for differences the contract allows ----
    def edit_document(self, store: ExpertStore, kind: str, key: str, changes: dict | None) -> None:
        """Change a stored expert (`kind` "expert") or the current version of an integrity record
        ("integrity") behind the store's back, as someone with raw access to it would: `changes`
        updates the record's fields; None replaces the document with something that is no record."""
        raise NotImplementedError

    def shrink_pages(self, store: ExpertStore, size: int) -> None:
        """Make ordered listings read in pages of `size`, so a test crosses page boundaries
        cheaply (a no-op for a backend that reads without pages)."""
    def raw_bytes(self, store: ExpertStore) -> bytes:
        """Everything the backend holds for this store as someone reading its files or indices
        directly would find it (no protocol, no decoding)."""
        raise NotImplementedError

    @staticmethod
    def ranking(hits: list[SearchHit]) -> list[str]:
        """Score-insensitive view of a result list: the expert ids in order (scores are
        comparable only within one backend's list)."""
        return [h.expert.id for h in hits]


class SQLiteHarness(Harness):
    backend = "sqlite"

    def __init__(self, directory: Path, name: str = "store.sqlite3"):
        super().__init__()
        self.path = directory / name

    def _connect(self):
        from expertpool.stores.sqlite import SQLiteStore

        return SQLiteStore(self.path)

    def spec(self) -> dict:
        return {"backend": "sqlite", "db_path": str(self.path)}

    def edit_document(self, store, kind: str, key: str, changes: dict | None) -> None:
        import json
        import sqlite3

        table, where = {"expert": ("experts", "id = ?"), "integrity": ("integrity", "id = ? AND current = 1")}[kind]
        db = sqlite3.connect(self.path)
        try:
            (doc,) = db.execute(f"SELECT doc FROM {table} WHERE {where}", (key,)).fetchone()
            new = "not a record" if changes is None else json.dumps({**json.loads(doc), **changes}, ensure_ascii=False)
            db.execute(f"UPDATE {table} SET doc = ? WHERE {where}", (new, key))
            db.commit()
        finally:
            db.close()

    def another(self) -> "SQLiteHarness":
        return SQLiteHarness(self.path.parent, f"other-{uuid.uuid4().hex[:8]}.sqlite3")

    def raw_bytes(self, store) -> bytes:
        files = [self.path, self.path.with_name(self.path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())


class ElasticsearchHarness(Harness):
    backend = "elasticsearch"

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.prefix = f"ept-{uuid.uuid4().hex[:12]}"

    def _connect(self):
        return open_from_spec(self.spec())

    def spec(self) -> dict:
        return {"backend": "elasticsearch", "es_url": self.url, "es_index_prefix": self.prefix}

    def another(self) -> "ElasticsearchHarness":
        return ElasticsearchHarness(self.url)

    def shrink_pages(self, store, size: int) -> None:
        store.PAGE = size

    def raw_bytes(self, store) -> bytes:
        import json

        client = store._es
        client.indices.refresh(index=f"{self.prefix}-*")
        hits = client.search(index=f"{self.prefix}-*", query={"match_all": {}}, size=10_000)["hits"]["hits"]
        return json.dumps([h["_source"] for h in hits], ensure_ascii=False).encode()

    def edit_document(self, store, kind: str, key: str, changes: dict | None) -> None:
        index = store.experts_index() if kind == "expert" else store.ix["integrity"]
        source = store._es.get(index=index, id=key)["_source"]
        source["doc"] = {"not": "a record"} if changes is None else {**source["doc"], **changes}
        store._es.index(index=index, id=key, document=source, refresh=True)

    def cleanup(self) -> None:
        super().cleanup()
        store = self._connect()  # the test may have closed its connections
        try:
            store.delete_indices()
        finally:
            store.close()


def in_child(spec: dict, tag: str, work, args: tuple, barrier, results) -> None:
    """Child process body: open the store, wait at `barrier`, run `work(store, *args)` and put
    (tag, its result) on `results` — or (tag, repr(exception)), so the parent fails with the
    reason instead of a timeout."""
    store = None
    try:
        store = open_from_spec(spec)
        barrier.wait(timeout=120)
        results.put((tag, work(store, *args)))
    except Exception as exc:
        barrier.abort()
        results.put((tag, repr(exc)))
    finally:
        if store is not None:
            store.close()


def open_from_spec(spec: dict) -> ExpertStore:
    """Open a store from `Harness.spec()` (usable in a child process)."""
    from expertpool.config import StoreConfig
    from expertpool.stores import open_store

    spec = dict(spec)
    if "db_path" in spec:
        spec["db_path"] = Path(spec["db_path"])
    return open_store(StoreConfig(**spec))


def snapshot(store: ExpertStore, meta_keys: tuple[str, ...] = ()) -> dict:
    """Everything a store holds, through the protocol only: equal snapshots, equal stores."""
    integrity = list(store.iter_integrity())
    return {
        "experts": [e.model_dump() for e in store.iter_experts()],
        "count": store.count_experts(),
        "listing": [h.expert.id for h in store.search(_all())],
        "records": {kind: [r.model_dump() for r in store.iter_records(kind)] for kind in RECORD_KINDS},
        "integrity": [r.model_dump() for r in integrity],
        "integrity_versions": {r.id: [v.model_dump() for v in store.integrity_versions(r.id)] for r in integrity},
        "audit": [a.model_dump() for a in store.iter_audit()],
        "roles": store.get_roles(),
        "panels": list(store.iter_panels()),
        "meta": {k: store.get_meta(k) for k in meta_keys},
    }


def _all() -> SearchQuery:
    return SearchQuery(limit=100_000)


def query(text: str = "", limit: int = 20, offset: int = 0, **filters) -> SearchQuery:
    """A `SearchQuery` for `text` as the search service builds it (words with synonyms, bigrams,
    names)."""
    for name, value in filters.items():
        if name != "exclude_ids" and isinstance(value, str):
            filters[name] = (value,)
    if "exclude_ids" in filters:
        filters["exclude_ids"] = frozenset(filters["exclude_ids"])
    return query_for(text, SearchFilters(**filters), limit, offset)


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.expert.id for h in hits]


def pairs(hits: list[SearchHit]) -> list[tuple[str, float]]:
    """(id, score) of each hit: what `rank_many` returns for the query."""
    return [(h.expert.id, h.score) for h in hits]
