"""Contract: versioned research-integrity records with optimistic concurrency."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from expertpool.domain.models import IntegrityRecord
from expertpool.errors import ConcurrentEdit


def record(record_id: str = "IR-2024-001", expert_id: str = "SC-000001", **kw) -> IntegrityRecord:
    data = dict(id=record_id, expert_id=expert_id, category="抄袭剽窃", severity="较重",
                decision_date=dt.date(2024, 3, 5), start=dt.date(2024, 3, 5), end=dt.date(2027, 3, 4),
                issuer="四川省科学技术厅", document_no="川科诚〔2024〕3号", entered_by="lin",
                entered_at=dt.datetime(2024, 3, 6, 9, 30))
    data.update(kw)
    return IntegrityRecord(**data)


class TestIntegrity:
    def test_versions_are_numbered_and_kept(self, store):
        first = store.put_integrity(record(), expected_version=None)
        assert first.version == 1
        assert store.get_integrity("IR-2024-001") == first
        second = store.put_integrity(record(status="revoked"), expected_version=1)
        assert second.version == 2 and second.status == "revoked"
        assert store.get_integrity("IR-2024-001") == second
        assert [(v.version, v.status) for v in store.integrity_versions("IR-2024-001")] == [(1, "active"), (2, "revoked")]

    def test_a_stale_version_is_refused_and_nothing_written(self, store):
        store.put_integrity(record(), None)
        store.put_integrity(record(severity="严重"), 1)
        with pytest.raises(ConcurrentEdit):
            store.put_integrity(record(status="revoked"), 1)
        with pytest.raises(ConcurrentEdit):
            store.put_integrity(record(status="revoked"), 7)
        assert store.get_integrity("IR-2024-001").severity == "严重"
        assert len(store.integrity_versions("IR-2024-001")) == 2

    def test_expected_none_on_an_existing_record_is_refused(self, store):
        store.put_integrity(record(), None)
        with pytest.raises(ConcurrentEdit):
            store.put_integrity(record(severity="一般"), None)
        assert store.get_integrity("IR-2024-001").severity == "较重"

    def test_a_version_for_a_missing_record_is_refused(self, store):
        with pytest.raises(ConcurrentEdit):
            store.put_integrity(record(), 1)
        assert store.get_integrity("IR-2024-001") is None
        assert store.integrity_versions("IR-2024-001") == []

    def test_iter_current_versions_by_id_and_by_expert(self, store):
        store.put_integrity(record("IR-3", "CQ-000001"), None)
        store.put_integrity(record("IR-1"), None)
        store.put_integrity(record("IR-2"), None)
        store.put_integrity(record("IR-1", status="revoked"), 1)
        current = list(store.iter_integrity())
        assert [(r.id, r.version) for r in current] == [("IR-1", 2), ("IR-2", 1), ("IR-3", 1)]
        assert [r.id for r in store.iter_integrity("SC-000001")] == ["IR-1", "IR-2"]
        assert store.get_integrity("IR-404") is None

    def test_every_version_of_every_record_in_one_pass(self, store, harness):
        store.put_integrity(record("IR-3", "CQ-000001"), None)
        store.put_integrity(record("IR-1"), None)
        store.put_integrity(record("IR-1", status="revoked"), 1)
        harness.shrink_pages(store, 1)
        listed = list(store.iter_integrity_versions())
        assert [(r.id, r.version, r.status) for r in listed] == [("IR-1", 1, "active"), ("IR-1", 2, "revoked"),
                                                                 ("IR-3", 1, "active")]
        assert listed[:2] == store.integrity_versions("IR-1")

    def test_two_editors_of_one_version_never_both_win(self, harness, store):
        store.put_integrity(record(), None)
        stores = [harness.open() for _ in range(4)]
        barrier = threading.Barrier(len(stores))
        outcomes: list[str] = []

        def edit(s, n):
            barrier.wait()
            try:
                s.put_integrity(record(document_no=f"edit-{n}"), 1)
                outcomes.append("ok")
            except ConcurrentEdit:
                outcomes.append("conflict")

        threads = [threading.Thread(target=edit, args=(s, n)) for n, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
        versions = store.integrity_versions("IR-2024-001")
        assert [v.version for v in versions] == [1, 2]
        assert store.get_integrity("IR-2024-001") == versions[-1]
