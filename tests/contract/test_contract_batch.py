"""Contract: `batch()` applies its writes all together or not at all."""
from __future__ import annotations

import datetime as dt

import pytest

from expertpool.domain.models import IntegrityRecord, Person, Relation
from expertpool.stores.base import AuditDraft

from tests.factories import make_expert
from tests.contract.harness import ids, query, snapshot

META = ("salt", "schema_version")


class Boom(Exception):
    pass


def integrity(version_note: str = "") -> IntegrityRecord:
    return IntegrityRecord(id="IR-1", expert_id="SC-000001", category="伪造篡改", severity="严重",
                           start=dt.date(2023, 1, 1), document_no=f"渝科诚〔2023〕1号{version_note}")


def relation(other: str) -> Relation:
    return Relation(expert_id="SC-000001", other=Person(name=other, institution="重庆大学"), kind="合著",
                    start_year=2022, end_year=2022)


@pytest.fixture
def filled(store):
    """A store with something of every kind in it."""
    store.upsert_experts([make_expert("SC-000001", keywords=["石墨烯"]), make_expert("CQ-000001")])
    store.upsert_records("relation", [relation("李娜")])
    store.put_integrity(integrity(), None)
    store.append_audit(AuditDraft(at=dt.datetime(2024, 1, 1), user="lin", role="admin", action="import"))
    store.set_roles("lin", ["admin"])
    store.save_panel("PN-1", {"members": ["SC-000001"]})
    store.set_meta("salt", "abc")
    return store


def write_everything(store) -> None:
    store.upsert_experts([make_expert("SC-000001", keywords=["氢能"]), make_expert("SC-000002")])
    store.upsert_records("relation", [relation("李娜").model_copy(update={"note": "改"}), relation("王芳")])
    store.put_integrity(integrity("（修订）"), 1)
    store.put_integrity(integrity().model_copy(update={"id": "IR-2"}), None)
    store.append_audit(AuditDraft(at=dt.datetime(2024, 1, 2), user="lin", role="admin", action="edit"))
    store.set_roles("lin", [])
    store.set_roles("wang", ["officer"])
    store.save_panel("PN-1", {"members": []})
    store.save_panel("PN-2", {"members": ["CQ-000001"]})
    store.set_meta("salt", "xyz")


class TestBatch:
    def test_an_exception_leaves_the_store_as_before(self, filled):
        before = snapshot(filled, META)
        with pytest.raises(Boom):
            with filled.batch():
                write_everything(filled)
                raise Boom
        assert snapshot(filled, META) == before
        # The text index is restored too.
        assert ids(filled.search(query("石墨烯"))) == ["SC-000001"]
        assert filled.search(query("氢能")) == []

    def test_without_an_exception_everything_is_written(self, filled):
        with filled.batch():
            write_everything(filled)
        assert filled.count_experts() == 3
        assert ids(filled.search(query("氢能"))) == ["SC-000001"]
        assert filled.get_integrity("IR-1").version == 2
        assert filled.get_roles() == {"wang": {"officer"}}
        assert filled.get_meta("salt") == "xyz"
        assert len(list(filled.iter_audit())) == 2

    def test_nested_batches_join_the_outer_one(self, filled):
        before = snapshot(filled, META)
        with pytest.raises(Boom):
            with filled.batch():
                with filled.batch():
                    filled.upsert_experts([make_expert("SC-000003")])
                    filled.set_meta("salt", "inner")
                filled.upsert_records("relation", [relation("赵六")])
                raise Boom
        assert snapshot(filled, META) == before

    def test_an_error_inside_a_nested_batch_undoes_the_outer_work(self, filled):
        before = snapshot(filled, META)
        with pytest.raises(Boom):
            with filled.batch():
                filled.upsert_experts([make_expert("SC-000003")])
                with filled.batch():
                    filled.save_panel("PN-9", {})
                    raise Boom
        assert snapshot(filled, META) == before

    def test_a_rollback_of_a_large_load(self, store):
        store.upsert_experts([make_expert("SC-000001")])
        before = snapshot(store)
        with pytest.raises(Boom):
            with store.batch():
                store.upsert_experts([make_expert(f"CQ-{i:06d}") for i in range(1, 1201)])
                store.upsert_experts([make_expert("SC-000001", name="王芳")])
                raise Boom
        assert snapshot(store) == before

    def test_a_batch_can_follow_a_rolled_back_one(self, filled):
        with pytest.raises(Boom):
            with filled.batch():
                filled.set_meta("salt", "lost")
                raise Boom
        with filled.batch():
            filled.set_meta("salt", "kept")
        assert filled.get_meta("salt") == "kept"
