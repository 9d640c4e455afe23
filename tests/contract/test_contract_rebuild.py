"""Contract: rebuilding the text index keeps every expert and the same ranking."""
from __future__ import annotations

from expertpool import segment
from expertpool.stores.base import SearchQuery
from tests.factories import generate_experts


def test_rebuild_keeps_experts_and_ranking(store):
    store.upsert_experts(generate_experts(60, seed=3))
    query = SearchQuery(tuple(segment.query_terms("锂离子电池 知识图谱 水稻育种")), limit=10)
    before = [h.expert.id for h in store.search(query)]
    assert before
    result = store.rebuild_index()
    assert result.experts == 60 == store.count_experts()
    assert [h.expert.id for h in store.search(query)] == before
