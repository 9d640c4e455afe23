"""Contract: affiliations, relations, review history and projects (`upsert_records`/`iter_records`)."""
from __future__ import annotations

import datetime as dt

import pytest

from expertpool.domain.models import Affiliation, Person, Project, Relation, ReviewEvent
from expertpool.stores.base import UpsertCounts


def relation(expert_id: str, other: str, kind: str = "合著", start: int = 2021, **kw) -> Relation:
    return Relation(expert_id=expert_id, other=Person(name=other, institution="四川大学"), kind=kind,
                    start_year=start, end_year=start, **kw)


class TestRecords:
    def test_upsert_is_idempotent_and_counts_changes(self, store):
        rels = [relation("SC-000001", "李娜"), relation("SC-000001", "王芳", "项目合作")]
        assert store.upsert_records("relation", rels) == UpsertCounts(inserted=2)
        assert store.upsert_records("relation", rels) == UpsertCounts(unchanged=2)
        changed = rels[0].model_copy(update={"note": "2021 年合作论文 3 篇"})
        assert store.upsert_records("relation", [changed, rels[1]]) == UpsertCounts(updated=1, unchanged=1)
        assert [r.note for r in store.iter_records("relation")] == ["2021 年合作论文 3 篇", None]

    def test_iter_by_key_and_by_expert(self, store):
        aff = [Affiliation(expert_id="SC-000002", institution="电子科技大学", start_year=2010),
               Affiliation(expert_id="SC-000001", institution="四川大学", start_year=2015),
               Affiliation(expert_id="SC-000001", institution="西南交通大学", start_year=2001, end_year=2014)]
        store.upsert_records("affiliation", aff)
        keys = [a.key() for a in store.iter_records("affiliation")]
        assert keys == sorted(keys) and len(keys) == 3
        mine = list(store.iter_records("affiliation", expert_id="SC-000001"))
        assert {a.institution for a in mine} == {"四川大学", "西南交通大学"}
        assert all(isinstance(a, Affiliation) for a in mine)
        assert list(store.iter_records("affiliation", expert_id="CQ-000001")) == []

    def test_kinds_are_kept_apart_and_round_trip(self, store):
        event = ReviewEvent(expert_id="SC-000001", activity="2024 年省科技进步奖评审", date=dt.date(2024, 3, 5))
        project = Project(id="P-2024-001", title="钒钛磁铁矿综合利用关键技术", abstract="攀西钒钛资源……",
                          keywords=["钒钛", "综合利用"], fields=["新材料"], institution="攀钢集团研究院",
                          region="四川", applicant=Person(name="张三", institution="攀钢集团研究院"),
                          team=[Person(name="李四", institution="四川大学", expert_id="SC-000009")],
                          avoid=["SC-000002"])
        store.upsert_records("history", [event])
        store.upsert_records("project", [project])
        assert list(store.iter_records("history")) == [event]
        assert list(store.iter_records("project")) == [project]
        assert list(store.iter_records("relation")) == []
        assert list(store.iter_records("history", expert_id="SC-000001")) == [event]

    def test_long_keys_are_stored(self, store):
        long_note_name = "某某" * 200
        rel = relation("SC-000001", long_note_name)
        assert store.upsert_records("relation", [rel]) == UpsertCounts(inserted=1)
        assert store.upsert_records("relation", [rel]) == UpsertCounts(unchanged=1)
        assert list(store.iter_records("relation")) == [rel]

    def test_many_records_read_back_in_order(self, store):
        events = [ReviewEvent(expert_id=f"SC-{i % 7:06d}", activity="项目评审", date=dt.date(2020, 1, 1) + dt.timedelta(days=i))
                  for i in range(1200)]
        assert store.upsert_records("history", events).inserted == 1200
        got = list(store.iter_records("history"))
        assert [e.key() for e in got] == sorted(e.key() for e in events)

    def test_unknown_kind_is_refused(self, store):
        with pytest.raises(ValueError):
            store.upsert_records("nonsense", [])


class TestRecordFields:
    """`iter_record_fields`: a few fields of every record, as the records themselves hold them."""

    @staticmethod
    def _at(data, path):
        for step in path.split("."):
            data = data.get(step) if isinstance(data, dict) else None
        return data

    def test_the_fields_of_every_record_in_key_order(self, store):
        rels = [relation("SC-000002", "李娜", author_count=7, note="作者数=7"),
                relation("SC-000001", "王芳", "师生", start=2001),
                Relation(expert_id="SC-000001", other=Person(name="赵六", expert_id="CQ-000003"), kind="亲属")]
        events = [ReviewEvent(expert_id="SC-000001", activity="项目评审", date=dt.date(2024, 3, 5)),
                  ReviewEvent(expert_id="CQ-000003", activity="奖励评审", date=dt.date(2025, 11, 30))]
        store.upsert_records("relation", rels)
        store.upsert_records("history", events)
        fields = ("expert_id", "other.name", "other.institution", "other.expert_id", "kind", "start_year",
                  "end_year", "note", "author_count", "no.such.field")
        expected = [tuple(self._at(r.model_dump(mode="json"), f) for f in fields) for r in store.iter_records("relation")]
        got = list(store.iter_record_fields("relation", fields))
        assert got == expected and len(got) == 3
        assert ("SC-000001", "赵六", None, "CQ-000003", "亲属", None, None, None, None, None) in got
        assert list(store.iter_record_fields("history", ("expert_id", "date"))) == [
            (e.expert_id, e.date.isoformat()) for e in store.iter_records("history")]
        assert list(store.iter_record_fields("affiliation", ("expert_id",))) == []

    def test_a_field_path_is_a_name_not_an_expression(self, store):
        with pytest.raises(ValueError):
            list(store.iter_record_fields("relation", ("kind') FROM records --",)))
