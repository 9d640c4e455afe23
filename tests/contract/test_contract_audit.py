"""Contract: the append-only, hash-chained audit trail, including concurrent writers."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import threading

from expertpool.stores.base import GENESIS_HASH, AuditDraft

from tests.contract.harness import open_from_spec


def draft(n: int, user: str = "lin") -> AuditDraft:
    return AuditDraft(at=dt.datetime(2024, 5, 1, 8, 0) + dt.timedelta(minutes=n), user=user, role="integrity",
                      action="integrity.add", target=f"IR-{n}", reason="依据川科诚〔2024〕3号",
                      before=None, after={"id": f"IR-{n}", "严重程度": "较重"})


def assert_chain(entries) -> None:
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    prev = GENESIS_HASH
    for e in entries:
        assert e.prev_hash == prev
        assert e.hash == e.compute_hash()
        prev = e.hash


def _append_from_process(spec: dict, user: str, n: int) -> None:
    store = open_from_spec(spec)
    try:
        for i in range(n):
            store.append_audit(draft(i, user))
    finally:
        store.close()


class TestAudit:
    def test_entries_are_numbered_and_chained(self, store):
        first = store.append_audit(draft(1))
        assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
        second = store.append_audit(draft(2))
        assert (second.seq, second.prev_hash) == (2, first.hash)
        entries = list(store.iter_audit())
        assert entries == [first, second]
        assert entries[0].after == {"id": "IR-1", "严重程度": "较重"}
        assert_chain(entries)

    def test_order_holds_past_one_page(self, store, harness):
        harness.shrink_pages(store, 10)
        for i in range(25):
            store.append_audit(AuditDraft(at=dt.datetime(2024, 1, 1), user="u", role="admin", action=f"a{i}"))
        assert_chain(list(store.iter_audit()))

    def test_concurrent_connections_never_collide(self, harness, store):
        stores = [harness.open() for _ in range(3)]
        barrier = threading.Barrier(len(stores))

        def work(s, user):
            barrier.wait()
            for i in range(15):
                s.append_audit(draft(i, user))

        threads = [threading.Thread(target=work, args=(s, f"user{k}")) for k, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        entries = list(store.iter_audit())
        assert len(entries) == 45
        assert_chain(entries)

    def test_threads_sharing_one_connection_never_collide(self, store):
        barrier = threading.Barrier(3)
        errors = []

        def work(user):
            barrier.wait()
            try:
                for i in range(15):
                    store.append_audit(draft(i, user))
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"user{k}",)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert_chain(list(store.iter_audit()))
        assert len(list(store.iter_audit())) == 45

    def test_concurrent_processes_never_collide(self, harness, store):
        store.append_audit(draft(0, "setup"))
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_append_from_process, args=(harness.spec(), f"proc{k}", 10)) for k in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0, 0]
        entries = list(store.iter_audit())
        assert len(entries) == 21
        assert_chain(entries)
