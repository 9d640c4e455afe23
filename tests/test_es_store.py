"""What only the Elasticsearch store has: bulk errors, load settings, the versioned index
behind an alias, connection errors. The shared behaviour is in tests/contract/."""
from __future__ import annotations

import datetime as dt
import uuid

import elastic_transport
import pytest
from elasticsearch import ApiError

from expertpool.config import StoreConfig
from expertpool.domain.models import Evaluation, ReviewEvent
from expertpool.errors import InputError, StoreUnavailable
from expertpool.stores import es as es_module
from expertpool.stores import open_store
from expertpool.stores.base import DATA_GENERATION_KEY, AuditDraft, record_key
from expertpool.stores.es import BulkIndexingFailed, ElasticsearchStore

from tests.contract.harness import ids, query, snapshot
from tests.factories import generate_experts, make_expert


@pytest.fixture
def es_store(es_url):
    stores = []

    def make(prefix: str | None = None) -> ElasticsearchStore:
        s = ElasticsearchStore.from_config(StoreConfig(backend="elasticsearch", es_url=es_url,
                                                       es_index_prefix=prefix or f"ept-{uuid.uuid4().hex[:12]}"))
        stores.append(s)
        return s

    yield make
    for s in stores:
        s.delete_indices()
        s.close()


pytestmark = pytest.mark.elasticsearch


class TestBulk:
    def test_rejected_documents_are_listed_and_nothing_is_kept(self, es_store, monkeypatch):
        store = es_store()
        store.upsert_experts([make_expert("SC-000001")])
        before = snapshot(store)
        real = es_module.expert_source

        def broken(expert):
            source = real(expert)
            if expert.id in ("SC-000003", "SC-000005"):
                source["birth_year"] = "一九七五"  # not a number: the mapping rejects it
            return source

        monkeypatch.setattr(es_module, "expert_source", broken)
        batch = [make_expert(f"SC-{i:06d}") for i in range(1, 7)] + [make_expert("SC-000001", name="王芳")]
        with pytest.raises(BulkIndexingFailed) as caught:
            store.upsert_experts(batch)
        assert [doc_id for doc_id, _ in caught.value.failures] == ["SC-000003", "SC-000005"]
        assert "SC-000003" in str(caught.value) and "birth_year" in str(caught.value)
        assert snapshot(store) == before

    def test_a_large_load_turns_refresh_and_replicas_off_and_back(self, es_store, monkeypatch):
        store = es_store()
        monkeypatch.setattr(ElasticsearchStore, "BULK_SETTINGS_MIN", 10)
        monkeypatch.setattr(ElasticsearchStore, "BULK_CHUNK", 20)
        names = ("index.refresh_interval", "index.number_of_replicas", "index.auto_expand_replicas")

        def current():
            index = store.experts_index()
            got = store._es.indices.get_settings(index=index, name=list(names), flat_settings=True)
            return {k: got[index]["settings"].get(k) for k in names}

        seen = []

        class Watch:
            def start(self, description, total):
                pass

            def advance(self, n=1):
                if not seen:
                    seen.append(current())

            def finish(self):
                pass

        original = current()
        counts = store.upsert_experts(generate_experts(60, seed=1), progress=Watch())
        assert counts.inserted == 60
        assert seen == [{"index.refresh_interval": "-1", "index.number_of_replicas": "0",
                         "index.auto_expand_replicas": "false"}]
        assert current() == original
        assert store.count_experts() == 60  # refreshed at the end: reads see the load


class TestRebuild:
    def test_the_alias_moves_and_searches_keep_working(self, es_store):
        store = es_store()
        store.upsert_experts(generate_experts(300, seed=3))
        first = store.experts_index()
        expected = ids(store.search(query("石墨烯 纳米材料")))
        assert expected
        during = []

        class SearchWhileRebuilding:
            def start(self, description, total):
                during.append(("total", total))

            def advance(self, n=1):
                if len(during) < 4:
                    during.append(ids(store.search(query("石墨烯 纳米材料"))))

            def finish(self):
                pass

        result = store.rebuild_index(progress=SearchWhileRebuilding())
        assert (result.previous, result.experts) == (first, 300)
        assert result.index == store.experts_index() != first
        assert during[0] == ("total", 300)
        assert all(hits == expected for hits in during[1:])
        assert ids(store.search(query("石墨烯 纳米材料"))) == expected
        assert first not in store.index_names()
        assert store.count_experts() == 300
        store.upsert_experts([make_expert("SC-999999")])  # writes go to the new index
        assert store.get_expert("SC-999999") is not None
        assert store.rebuild_index().index.endswith("-v3")


class TestIndices:
    def test_created_once_and_schema_checked(self, es_store):
        store = es_store()
        assert store.created
        again = es_store(store.prefix)
        assert not again.created
        store.set_meta("schema_version", "999")
        with pytest.raises(InputError, match="999"):
            es_store(store.prefix)
        store.set_meta("schema_version", es_module.SCHEMA_VERSION)

    def test_deleting_a_store_leaves_a_longer_prefix_alone(self, es_store):
        short = es_store(f"ept-{uuid.uuid4().hex[:8]}")
        longer = es_store(short.prefix + "-b")
        longer.set_meta("salt", "x")
        assert short.delete_indices()
        assert longer.get_meta("salt") == "x"
        assert all(name.startswith(longer.prefix) for name in longer.index_names())

    def test_a_bad_prefix_is_an_input_error(self, es_url):
        with pytest.raises(InputError):
            open_store(StoreConfig(backend="elasticsearch", es_url=es_url, es_index_prefix="Bad Prefix"))

    def test_integrity_history_survives_a_missing_version_document(self, es_store):
        from tests.contract.test_contract_integrity import record

        store = es_store()
        store.put_integrity(record(), None)
        store.put_integrity(record(status="revoked"), 1)
        # As if a writer had stopped between moving the head and writing the history:
        store._es.delete(index=store.ix["integrity-versions"], id="IR-2024-001#2", refresh=True)
        assert [v.version for v in store.integrity_versions("IR-2024-001")] == [1, 2]
        store.put_integrity(record(status="active"), 2)  # and the next write puts it back
        store._es.indices.refresh(index=store.ix["integrity-versions"])
        assert store._es.count(index=store.ix["integrity-versions"])["count"] == 3


def test_an_unreachable_cluster_is_store_unavailable_without_secrets():
    config = StoreConfig(backend="elasticsearch", es_url="http://elastic:pw-9f8e7d@127.0.0.1:1",
                         es_password="hunter2-secret", es_username="elastic", es_api_key=None)
    with pytest.raises(StoreUnavailable) as caught:
        open_store(config)
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "hunter2-secret" not in message and "pw-9f8e7d" not in message
    assert "hunter2-secret" not in repr(config)


def test_no_url_is_an_input_error():
    with pytest.raises(InputError, match="EXPERTPOOL_ES_URL"):
        open_store(StoreConfig(backend="elasticsearch", es_url=None))


class TestRollbackKeepsTheAuditChain:
    def test_an_entry_someone_chained_onto_is_kept(self, es_store):
        import datetime as dt

        from expertpool.stores.base import AuditDraft
        from tests.contract.test_contract_audit import assert_chain

        store = es_store()
        other = es_store(store.prefix)
        entry = AuditDraft(at=dt.datetime(2024, 1, 1), user="lin", role="admin", action="x")
        with pytest.raises(RuntimeError) as caught:
            with store.batch():
                store.append_audit(entry)
                store.set_meta("salt", "lost")
                other.append_audit(entry)  # another process chains onto the batch's entry
                raise RuntimeError("boom")
        assert store.get_meta("salt") is None
        assert_chain(list(store.iter_audit()))
        assert len(list(store.iter_audit())) == 2
        assert any("审计日志第 1 条" in note for note in caught.value.__notes__)

    def test_the_batchs_own_entries_are_removed_newest_first(self, es_store):
        import datetime as dt

        from expertpool.stores.base import AuditDraft

        store = es_store()
        entry = AuditDraft(at=dt.datetime(2024, 1, 1), user="lin", role="admin", action="x")
        store.append_audit(entry)
        with pytest.raises(RuntimeError):
            with store.batch():
                store.append_audit(entry)
                store.append_audit(entry)
                raise RuntimeError("boom")
        assert [e.seq for e in store.iter_audit()] == [1]
        assert store.append_audit(entry).seq == 2



def _evaluation(expert_id: str, score: int, activity: str = "PNL-20261201-1-0a1b2c3d") -> Evaluation:
    return Evaluation(expert_id=expert_id, activity=activity, date=dt.date(2026, 12, 1), attendance="出席", score=score)


def _old_layout_evaluation(store: ElasticsearchStore, evaluation: Evaluation) -> None:
    """Write an evaluation where a store made before ``-evaluations`` kept it: in ``-records``."""
    key = record_key("evaluation", evaluation)
    store._es.index(index=store.ix["records"], id=es_module.record_doc_id("evaluation", key), refresh=True, document={
        "kind": "evaluation", "key": key, "expert_id": evaluation.expert_id,
        "content_hash": evaluation.content_hash(), "doc": evaluation.model_dump(mode="json")})


class TestEvaluationsIndex:
    """Evaluations live in ``<prefix>-evaluations``; stores made before it are upgraded on open."""

    def test_evaluations_are_written_to_their_own_index_without_marking_the_data_as_changing(
            self, es_store, monkeypatch):
        store = es_store()
        generations = []
        monkeypatch.setattr(store, "_set_generation", generations.append)
        store.upsert_records("evaluation", [_evaluation("SC-000001", 4)])
        assert generations == []  # not even the "changing" mark: readers' caches stay valid
        assert store._es.count(index=store.ix["evaluations"])["count"] == 1
        assert store._es.count(index=store.ix["records"])["count"] == 0

    def test_a_store_made_before_the_index_gets_it_and_its_evaluations_moved_on_open(self, es_store):
        old = es_store()
        old.upsert_records("history", [ReviewEvent(expert_id="SC-000001", activity="评审", date=dt.date(2024, 1, 1))])
        old._es.indices.delete(index=old.ix["evaluations"])
        for n in range(1, 4):
            _old_layout_evaluation(old, _evaluation(f"SC-00000{n}", n))
        before = old.data_version()

        upgraded = es_store(old.prefix)
        assert not upgraded.created
        assert [(e.expert_id, e.score) for e in upgraded.iter_records("evaluation")] == [
            ("SC-000001", 1), ("SC-000002", 2), ("SC-000003", 3)]
        assert upgraded._es.count(index=old.ix["records"], query={"term": {"kind": "evaluation"}})["count"] == 0
        assert [e.activity for e in upgraded.iter_records("history")] == ["评审"]  # the rest stays
        assert upgraded.data_version() == before  # evaluations were never what the token speaks for
        # and writing one again finds the moved copy: unchanged, not a second document
        assert upgraded.upsert_records("evaluation", [_evaluation("SC-000002", 2)]).unchanged == 1

    def test_an_upgrade_interrupted_after_copying_keeps_the_newer_evaluation(self, es_store):
        store = es_store()
        store.upsert_records("evaluation", [_evaluation("SC-000001", 5)])  # written after the copy
        _old_layout_evaluation(store, _evaluation("SC-000001", 1))  # the original, not yet deleted
        _old_layout_evaluation(store, _evaluation("SC-000002", 2))  # not yet copied
        reopened = es_store(store.prefix)
        assert [(e.expert_id, e.score) for e in reopened.iter_records("evaluation")] == [
            ("SC-000001", 5), ("SC-000002", 2)]
        assert reopened._es.count(index=store.ix["records"])["count"] == 0


class TestDataVersion:
    """What the contract cannot see from outside: when the Elasticsearch store changes the token."""

    def test_a_new_generation_comes_only_once_the_writes_are_searchable(self, es_store, monkeypatch):
        store = es_store()
        other = es_store(store.prefix)
        store.upsert_experts([make_expert("SC-000001")])
        seen = []
        real = store._set_generation

        def watch(value):
            settled = not value.startswith(es_module._CHANGING)
            seen.append((settled, ids(other.search(query("拓扑绝缘体")))))
            real(value)

        monkeypatch.setattr(store, "_set_generation", watch)
        store.upsert_experts([make_expert("SC-000002", keywords=["拓扑绝缘体"])])
        assert seen == [(False, []), (True, ["SC-000002"])]

    def test_while_a_change_is_under_way_every_token_is_new(self, es_store):
        store = es_store()
        other = es_store(store.prefix)
        before = other.data_version()
        with store.batch():
            store.append_audit(AuditDraft(at=dt.datetime(2024, 1, 1), user="lin", role="admin", action="x"))
            assert other.data_version() == before  # no data changed yet
            store.upsert_experts([make_expert("SC-000001")])
            during = {other.data_version() for _ in range(3)}
            assert len(during) == 3 and before not in during
        after = other.data_version()
        assert after == other.data_version() == store.data_version()
        assert after not in during | {before}

    def test_an_interrupted_change_leaves_the_store_uncacheable_until_the_next_one(self, es_store, monkeypatch):
        store = es_store()
        other = es_store(store.prefix)

        def unreachable():
            raise elastic_transport.ConnectionError("connection refused")

        monkeypatch.setattr(store, "_replace_generation", unreachable)
        with pytest.raises(StoreUnavailable):
            store.upsert_experts([make_expert("SC-000001")])
        assert other.get_expert("SC-000001") is not None  # written, but the new generation is not
        assert len({other.data_version() for _ in range(3)}) == 3
        other.upsert_records("history", [ReviewEvent(expert_id="SC-000001", activity="评审", date=dt.date(2024, 1, 1))])
        assert other.data_version() == other.data_version() == store.data_version()

    def test_a_store_made_before_data_versions_is_uncacheable_until_its_next_change(self, es_store):
        store = es_store()
        store._es.delete(index=store.ix["meta"], id=DATA_GENERATION_KEY, refresh=True)
        assert store.data_version() != store.data_version()
        store.upsert_experts([make_expert("SC-000001")])
        assert store.data_version() == store.data_version()

    def test_a_rebuild_changes_it(self, es_store):
        store = es_store()
        store.upsert_experts([make_expert("SC-000001")])
        before = store.data_version()
        store.rebuild_index()
        assert store.data_version() != before


class TestRankMany:
    def test_a_failing_query_raises_what_search_raises(self, es_store, monkeypatch):
        store = es_store()
        store.upsert_experts(generate_experts(20, seed=1))
        real = es_module.es_query.search_body

        def body(q, *args, **kwargs):
            out = real(q, *args, **kwargs)
            if q.limit == 7:  # sorting on a field the index does not have fails on every shard
                out["sort"] = [{"no_such_field": {"order": "asc"}}]
            return out

        monkeypatch.setattr(es_module.es_query, "search_body", body)
        bad = query("机器学习", limit=7)
        with pytest.raises(ApiError) as by_search:
            store.search(bad)
        with pytest.raises(ApiError) as by_rank:
            store.rank_many([query("机器学习"), bad, query()])
        assert type(by_rank.value) is type(by_search.value)
        assert by_rank.value.status_code == by_search.value.status_code == 400
        assert by_rank.value.message == by_search.value.message


class TestShardsNotReadyYet:
    """Right after an index is created its primary shard is still starting, and reads answer 503
    (what crashed the second of two processes opening a new store at once). A real node is put in
    that state on purpose: an index pinned to a node that does not exist stays unassigned until
    the pin is lifted."""

    PIN = "index.routing.allocation.require._name"

    def _recreate_pinned(self, store: ElasticsearchStore, short: str) -> str:
        name = store.ix[short]
        store._es.indices.delete(index=name)
        body = es_module.load_index_body(short)
        body["settings"]["index"]["routing"] = {"allocation": {"require": {"_name": "no-such-node"}}}
        store._es.indices.create(index=name, wait_for_active_shards="0", **body)
        return name

    def _lift_later(self, store: ElasticsearchStore, name: str, work):
        """Run `work` in a thread; lift the pin on `name` after a while; return work's result."""
        import threading
        import time

        outcome: dict = {}

        def run():
            try:
                outcome["value"] = work()
            except BaseException as exc:  # reported below, with its type
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(3)
        store._es.indices.put_settings(index=name, settings={self.PIN: None})
        thread.join(timeout=180)
        assert not thread.is_alive()
        assert "error" not in outcome, repr(outcome.get("error"))
        return outcome["value"]

    def test_opening_a_store_whose_indices_are_still_starting_waits_for_them(self, es_store, es_url):
        store = es_store()
        name = self._recreate_pinned(store, "meta")
        config = StoreConfig(backend="elasticsearch", es_url=es_url, es_index_prefix=store.prefix)
        second = self._lift_later(store, name, lambda: ElasticsearchStore.from_config(config))
        try:
            assert second.created is False
            second.set_meta("probe", "1")
            assert store.get_meta("probe") == "1"
        finally:
            second.close()

    def test_any_request_answered_503_is_retried_with_backoff(self, es_store):
        store = es_store()
        store.upsert_records("history", [ReviewEvent(expert_id="SC-000001", activity="评审", date=dt.date(2026, 1, 5))])
        name = self._recreate_pinned(store, "records")
        assert self._lift_later(store, name, lambda: list(store.iter_records("history"))) == []

    def test_indices_that_never_get_ready_are_a_clear_storage_error(self, es_store, es_url, monkeypatch):
        store = es_store()
        self._recreate_pinned(store, "meta")
        monkeypatch.setattr(ElasticsearchStore, "READY_TIMEOUT_S", 1)
        monkeypatch.setattr(es_module.PatientTransport, "patience_s", 1.0)
        config = StoreConfig(backend="elasticsearch", es_url=es_url, es_index_prefix=store.prefix)
        with pytest.raises(StoreUnavailable, match=store.prefix) as caught:
            ElasticsearchStore.from_config(config)
        assert caught.value.exit_code == 5
        with pytest.raises(StoreUnavailable):
            store.get_meta("schema_version")
