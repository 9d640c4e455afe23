"""Contract: `data_version` changes with the data derived caches depend on, and only with it."""
from __future__ import annotations

import datetime as dt

import pytest

from expertpool.domain.models import Affiliation, Evaluation, IntegrityRecord, Person, Project, Relation, ReviewEvent
from expertpool.errors import ConcurrentEdit
from expertpool.stores.base import AuditDraft, UpsertCounts

from tests.contract.harness import query
from tests.factories import make_expert


def integrity(record_id: str = "IR-1", **kw) -> IntegrityRecord:
    return IntegrityRecord(id=record_id, expert_id="SC-000001", category="伪造篡改", severity="严重",
                           start=dt.date(2023, 1, 1), document_no="渝科诚〔2023〕1号", **kw)


RECORDS = {
    "affiliation": Affiliation(expert_id="SC-000001", institution="四川大学", start_year=2015),
    "relation": Relation(expert_id="SC-000001", other=Person(name="李娜", institution="重庆大学"), kind="合著",
                         start_year=2022, end_year=2022),
    "history": ReviewEvent(expert_id="SC-000001", activity="2024 年省科技进步奖评审", date=dt.date(2024, 3, 5)),
    "project": Project(id="P-2024-001", title="钒钛磁铁矿综合利用关键技术", keywords=["钒钛"], fields=["新材料"],
                       institution="攀钢集团研究院", applicant=Person(name="张三", institution="攀钢集团研究院")),
}
#: the same record (same key) with other content; a review event is nothing but its key
CHANGED = {
    "affiliation": RECORDS["affiliation"].model_copy(update={"end_year": 2024}),
    "relation": RECORDS["relation"].model_copy(update={"note": "合作论文 3 篇"}),
    "project": RECORDS["project"].model_copy(update={"abstract": "攀西钒钛资源……"}),
}

#: another record of each kind (a new key)
NEW = {kind: r.model_copy(update={"id": "P-2024-002"} if kind == "project" else {"expert_id": "CQ-000001"})
       for kind, r in RECORDS.items()}


@pytest.fixture
def filled(store):
    """A store with an expert, one record of every kind and an integrity record."""
    store.upsert_experts([make_expert("SC-000001"), make_expert("CQ-000001")])
    for kind, record in RECORDS.items():
        store.upsert_records(kind, [record])
    store.put_integrity(integrity(), None)
    return store


#: name → a write that changes data of `filled`
CHANGES = {
    "new expert": lambda s: s.upsert_experts([make_expert("SC-000002")]),
    "changed expert": lambda s: s.upsert_experts([make_expert("SC-000001", keywords=["氢能"])]),
    "changed status": lambda s: s.upsert_experts([make_expert("CQ-000001", status="出库")]),
    **{f"new {kind}": (lambda s, kind=kind: s.upsert_records(kind, [NEW[kind]])) for kind in RECORDS},
    **{f"changed {kind}": (lambda s, kind=kind: s.upsert_records(kind, [CHANGED[kind]])) for kind in CHANGED},
}

#: integrity records and evaluations change data but not the version: callers read them fresh
#: (officers add evaluations after every review). name → (the write, what it wrote as read back)
EVALUATION = Evaluation(expert_id="SC-000001", activity="PNL-20261201-1-0a1b2c3d", date=dt.date(2026, 12, 1),
                        attendance="出席", score=4)
FRESH_WRITES = {
    "new integrity record": (lambda s: s.put_integrity(integrity("IR-2"), None),
                             lambda s: sorted(r.id for r in s.iter_integrity()), ["IR-1", "IR-2"]),
    "amended integrity record": (lambda s: s.put_integrity(integrity(status="revoked"), 1),
                                 lambda s: [v.version for v in s.integrity_versions("IR-1")], [1, 2]),
    "new evaluation": (lambda s: s.upsert_records("evaluation", [EVALUATION]),
                       lambda s: [e.score for e in s.iter_records("evaluation")], [4]),
    "changed evaluation": (lambda s: (s.upsert_records("evaluation", [EVALUATION]),
                                      s.upsert_records("evaluation", [EVALUATION.model_copy(update={"score": 2})])),
                           lambda s: [e.score for e in s.iter_records("evaluation")], [2]),
}

#: name → a write that leaves experts, records and integrity records of `filled` as they are
NO_CHANGES = {
    "same experts again": lambda s: s.upsert_experts([make_expert("CQ-000001"), make_expert("SC-000001")]),
    "no experts": lambda s: s.upsert_experts([]),
    "same records again": lambda s: [s.upsert_records(kind, [r]) for kind, r in RECORDS.items()],
    "no records": lambda s: s.upsert_records("relation", []),
    "audit entry": lambda s: s.append_audit(AuditDraft(at=dt.datetime(2024, 1, 2), user="lin", role="admin",
                                                       action="edit")),
    "roles": lambda s: (s.set_roles("lin", ["admin"]), s.set_roles("wang", ["officer"]), s.set_roles("lin", [])),
    "panel": lambda s: (s.save_panel("PN-1", {"members": ["SC-000001"]}), s.save_panel("PN-1", {"members": []})),
    "meta": lambda s: s.set_meta("salt", "abc"),
    "reads": lambda s: (list(s.iter_experts()), s.search(query("机器学习")), s.rank_many([query("机器学习")] * 2),
                        list(s.iter_records("relation")), list(s.iter_integrity()), s.integrity_versions("IR-1")),
}


class Boom(Exception):
    pass


class TestDataVersion:
    def test_a_token_names_the_store_and_its_state(self, filled, harness):
        version = filled.data_version()
        assert isinstance(version, str) and version
        assert filled.data_version() == version
        assert harness.open().data_version() == version  # another connection to the same store

    @pytest.mark.parametrize("change", CHANGES)
    def test_every_change_to_the_data_changes_it(self, filled, harness, change):
        other = harness.open()
        before = filled.data_version()
        CHANGES[change](filled)
        after = filled.data_version()
        assert after != before
        assert filled.data_version() == after  # settled again
        assert other.data_version() == after  # and seen from another connection

    @pytest.mark.parametrize("write", NO_CHANGES)
    def test_writes_that_change_no_data_leave_it(self, filled, harness, write):
        before = filled.data_version()
        NO_CHANGES[write](filled)
        assert filled.data_version() == before
        assert harness.open().data_version() == before

    @pytest.mark.parametrize("write", FRESH_WRITES)
    def test_integrity_and_evaluation_writes_leave_it(self, filled, harness, write):
        change, read_back, written = FRESH_WRITES[write]
        before = filled.data_version()
        change(filled)
        assert filled.data_version() == before
        assert harness.open().data_version() == before
        assert read_back(harness.open()) == written  # it did write

    def test_idempotent_upserts_count_and_keep_it(self, filled):
        before = filled.data_version()
        assert filled.upsert_experts([make_expert("SC-000001")]) == UpsertCounts(unchanged=1)
        assert filled.upsert_records("relation", [RECORDS["relation"]]) == UpsertCounts(unchanged=1)
        assert filled.data_version() == before

    def test_a_refused_integrity_write_keeps_it(self, filled):
        before = filled.data_version()
        with pytest.raises(ConcurrentEdit):
            filled.put_integrity(integrity(status="revoked"), 7)
        with pytest.raises(ConcurrentEdit):
            filled.put_integrity(integrity(), None)
        assert filled.data_version() == before

    def test_an_index_rebuild_changes_it(self, filled, harness):
        """Rankings of the old index (and caches of them) must not be taken for the new one."""
        before = filled.data_version()
        filled.rebuild_index()
        after = filled.data_version()
        assert after != before
        assert filled.data_version() == after == harness.open().data_version()

    def test_each_change_gives_a_new_token(self, filled):
        seen = [filled.data_version()]
        for change in CHANGES.values():
            change(filled)
            seen.append(filled.data_version())
        assert len(set(seen)) == len(seen)

    def test_a_committed_batch_changes_it(self, filled, harness):
        before = filled.data_version()
        with filled.batch():
            filled.set_meta("salt", "abc")
            CHANGES["new expert"](filled)
            FRESH_WRITES["amended integrity record"][0](filled)
            filled.save_panel("PN-1", {})
        after = filled.data_version()
        assert after != before
        assert harness.open().data_version() == after

    def test_a_batch_with_no_data_change_keeps_it(self, filled):
        before = filled.data_version()
        with filled.batch():
            NO_CHANGES["same experts again"](filled)
            NO_CHANGES["audit entry"](filled)
            NO_CHANGES["panel"](filled)
            FRESH_WRITES["new integrity record"][0](filled)
        with pytest.raises(Boom):
            with filled.batch():
                NO_CHANGES["roles"](filled)
                NO_CHANGES["meta"](filled)
                raise Boom
        assert filled.data_version() == before

    def test_a_rolled_back_change_leaves_no_token_in_use_meanwhile(self, filled, harness):
        """Readers may have seen the batch's writes before the rollback, under whatever token they
        read: after it, the token is one nobody can have used for those writes."""
        other = harness.open()
        seen = {filled.data_version()}
        with pytest.raises(Boom):
            with filled.batch():
                CHANGES["changed expert"](filled)
                seen |= {filled.data_version(), other.data_version()}
                CHANGES["new relation"](filled)
                seen |= {filled.data_version(), other.data_version()}
                raise Boom
        after = filled.data_version()
        assert after not in seen
        assert filled.data_version() == after == other.data_version()

    def test_two_stores_never_share_a_token(self, filled, harness):
        second = harness.another()
        try:
            twin = second.open()
            assert twin.data_version() != filled.data_version()
            # Even with the same content written in the same way.
            third = harness.another()
            try:
                a, b = second.open(), third.open()
                for s in (a, b):
                    s.upsert_experts([make_expert("SC-000001")])
                assert a.data_version() != b.data_version()
                assert len({a.data_version(), b.data_version(), filled.data_version()}) == 3
            finally:
                third.cleanup()
        finally:
            second.cleanup()
