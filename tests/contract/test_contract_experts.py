"""Contract: storing, reading and counting experts."""
from __future__ import annotations

from expertpool.stores.base import UpsertCounts

from tests.factories import make_expert
from tests.contract.harness import ids, query


class TestExperts:
    def test_a_new_store_is_empty_and_created(self, store, harness):
        assert store.created is True
        assert store.count_experts() == 0
        assert list(store.iter_experts()) == []
        assert harness.open().created is False

    def test_upsert_counts_by_content(self, store):
        a, b = make_expert("SC-000002", name="李娜"), make_expert("SC-000001")
        assert store.upsert_experts([a, b]) == UpsertCounts(inserted=2)
        assert store.upsert_experts([a, b]) == UpsertCounts(unchanged=2)
        changed = a.model_copy(update={"keywords": ["石墨烯"]})
        assert store.upsert_experts([changed, b, make_expert("CQ-000001")]) == UpsertCounts(1, 1, 1)
        assert store.count_experts() == 3

    def test_an_id_repeated_in_one_call_counts_as_its_changes(self, store):
        a = make_expert("SC-000001")
        counts = store.upsert_experts([a, a, a.model_copy(update={"name": "王芳"})])
        assert counts == UpsertCounts(inserted=1, updated=1, unchanged=1)
        assert store.get_expert("SC-000001").name == "王芳"

    def test_an_id_repeated_in_one_call_ends_with_its_last_source_ids(self, store):
        merged = make_expert("SC-000007", source_ids={"四川": "SC-000007", "重庆": "CQ-000321"})
        alone = merged.model_copy(update={"source_ids": {"四川": "SC-000007"}})
        assert store.upsert_experts([merged, make_expert("SC-000001"), alone]) == UpsertCounts(inserted=2, updated=1)
        assert store.get_expert("CQ-000321") is None
        assert store.get_expert("SC-000007") == alone

    def test_a_load_written_in_several_chunks(self, store, monkeypatch):
        from expertpool.stores.es import ElasticsearchStore
        from expertpool.stores.sqlite import SQLiteStore

        monkeypatch.setattr(SQLiteStore, "WRITE_CHUNK", 3)
        monkeypatch.setattr(ElasticsearchStore, "BULK_CHUNK", 3)
        experts = [make_expert(f"SC-{i:06d}", keywords=["石墨烯"], source_ids={"四川": f"SC-{i:06d}", "重庆": f"CQ-{i:06d}"})
                   for i in range(1, 11)]
        renamed = experts[0].model_copy(update={"name": "王芳"})
        assert store.upsert_experts([*experts, renamed]) == UpsertCounts(inserted=10, updated=1)
        assert [e.id for e in store.iter_experts()] == [e.id for e in experts]
        assert store.get_expert("CQ-000004") == experts[3]
        assert store.get_expert("SC-000001") == renamed
        assert sorted(ids(store.search(query("石墨烯")))) == [e.id for e in experts]

    def test_get_by_id_and_by_source_id(self, store):
        merged = make_expert("SC-000007", source_ids={"四川": "SC-000007", "重庆": "CQ-000321"})
        store.upsert_experts([merged, make_expert("SC-000001")])
        assert store.get_expert("SC-000007") == merged
        assert store.get_expert("CQ-000321") == merged
        assert store.get_expert("CQ-999999") is None

    def test_an_update_replaces_the_source_ids(self, store):
        e = make_expert("SC-000007", source_ids={"四川": "SC-000007", "重庆": "CQ-000321"})
        store.upsert_experts([e])
        store.upsert_experts([e.model_copy(update={"source_ids": {"四川": "SC-000007"}})])
        assert store.get_expert("CQ-000321") is None

    def test_round_trip_keeps_every_field(self, store):
        e = make_expert("CQ-000042", region="重庆", sub_region="北碚区", institution="西南大学",
                        honours=["巴渝学者", "国家杰出青年科学基金获得者"], fields=["现代农业", "生物医药", "资源环境"],
                        gender="女", birth_year=1968, id_hash="ab" * 20, id_last4="123X", status="暂停",
                        discipline=None, department=None, keywords=[])
        store.upsert_experts([e])
        assert store.get_expert("CQ-000042") == e

    def test_iter_in_id_order_and_count(self, store):
        wanted = ["CQ-000002", "CQ-000010", "SC-000001", "SC-000003"]
        store.upsert_experts([make_expert(i) for i in ("SC-000003", "CQ-000010", "SC-000001", "CQ-000002")])
        assert [e.id for e in store.iter_experts()] == wanted
        assert store.count_experts() == 4

    def test_iter_reads_past_one_page(self, store):
        experts = [make_expert(f"SC-{i:06d}") for i in range(1, 1102)]
        assert store.upsert_experts(experts).inserted == 1101
        assert [e.id for e in store.iter_experts()] == [e.id for e in experts]

    def test_an_update_reindexes_the_text(self, store):
        e = make_expert("SC-000001", keywords=["石墨烯"], research="研究石墨烯的制备")
        store.upsert_experts([e])
        assert ids(store.search(query("石墨烯"))) == ["SC-000001"]
        store.upsert_experts([e.model_copy(update={"keywords": ["氢能"], "research": "研究氢能储运"})])
        assert ids(store.search(query("石墨烯"))) == []
        assert ids(store.search(query("氢能"))) == ["SC-000001"]

    def test_data_outlives_the_connection(self, store, harness):
        store.upsert_experts([make_expert("SC-000001")])
        store.close()
        again = harness.open()
        assert again.count_experts() == 1
        assert again.get_expert("SC-000001").name == "张伟"

    def test_progress_is_reported(self, store):
        events = []

        class Recorder:
            def start(self, description, total):
                events.append(("start", total))

            def advance(self, n=1):
                events.append(("advance", n))

            def finish(self):
                events.append(("finish",))

        store.upsert_experts([make_expert("SC-000001"), make_expert("SC-000002")], progress=Recorder())
        assert events[0] == ("start", 2)
        assert sum(e[1] for e in events if e[0] == "advance") == 2
        assert events[-1] == ("finish",)
