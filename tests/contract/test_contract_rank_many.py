"""Contract: `rank_many` returns what `search` would, as (id, score) pairs, for many queries at once."""
from __future__ import annotations

import pytest

from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchQuery

from tests.contract.harness import pairs, query
from tests.factories import generate_experts, make_expert

#: Long queries matching most of the pool (like a project's text), short ones, filters, paging,
#: no terms, no match, a synonym alternative, and pages deeper than one Elasticsearch request.
QUERIES = [
    query("锂离子电池 储能技术 光伏发电 氢能 智能电网 石墨烯 纳米材料 高温合金 机器学习 深度学习 "
          "计算机视觉 新能源汽车 动力电池管理 自动驾驶 水稻育种 柑橘栽培", limit=300, statuses="在库"),
    query("深度学习 医学影像", limit=10),
    query("深度学习 医学影像", limit=10, offset=10),
    query("新能源汽车 动力电池管理", fields=("汽车摩托车", "新能源"), regions="重庆", limit=50),
    query("石墨烯 纳米材料", titles=("正高级", "副高级"), exclude_ids={"SC-000002", "CQ-000004"}),
    query("水污染治理", honours=("长江学者", "天府学者", "巴渝学者"), institutions=("四川大学", "重庆大学")),
    query(limit=25, offset=5, statuses="在库", regions="四川"),
    query(limit=1000),
    query("量子引力"),
    SearchQuery(terms=(QueryTerm("ai", ("ai", "人工智能")),), limit=40),
    query("机器学习 水稻育种", limit=20_000, offset=3),
    query(limit=20_000, offset=100),
]


@pytest.fixture
def pool(store):
    store.upsert_experts(generate_experts(240, seed=11))
    return store


class TestRankMany:
    def test_each_list_is_what_search_returns_in_input_order(self, pool):
        expected = [pairs(pool.search(q)) for q in QUERIES]
        # The cases are worth comparing: long rankings, distinct scores, empty and filter-only lists.
        assert len(expected[0]) > 100 and len({score for _, score in expected[0]}) > 20
        assert expected[8] == [] and expected[7] and all(score == 0.0 for _, score in expected[7])
        assert len({tuple(e) for e in expected}) == len(QUERIES) - 1  # all differ but the two empty ones
        assert pool.rank_many(QUERIES) == expected
        assert pool.rank_many(list(reversed(QUERIES))) == list(reversed(expected))

    def test_one_query_and_none(self, pool):
        assert pool.rank_many([QUERIES[1]]) == [pairs(pool.search(QUERIES[1]))]
        assert pool.rank_many([]) == []

    def test_equal_scores_are_ordered_by_id(self, store):
        store.upsert_experts([make_expert(i) for i in ("SC-000009", "SC-000005", "SC-000002")]
                             + [make_expert("SC-000001", keywords=["柑橘栽培"], research="柑橘栽培", fields=["现代农业"])])
        ranked = store.rank_many([query("机器学习"), query("机器学习", limit=2)])
        assert [[i for i, _ in r] for r in ranked] == [["SC-000002", "SC-000005", "SC-000009"], ["SC-000002", "SC-000005"]]
        assert ranked == [pairs(store.search(query("机器学习"))), pairs(store.search(query("机器学习", limit=2)))]

    def test_it_sees_what_another_connection_committed(self, pool, harness):
        other = harness.open()
        queries = [query("拓扑绝缘体"), query("拓扑绝缘体", statuses="在库"), query(limit=1000)]
        assert pool.rank_many(queries)[:2] == [[], []]
        other.upsert_experts([make_expert("SC-900001", keywords=["拓扑绝缘体"], research="拓扑绝缘体的输运性质。")])
        ranked = pool.rank_many(queries)
        assert [r[0][0] for r in ranked[:2]] == ["SC-900001", "SC-900001"]
        assert "SC-900001" in [i for i, _ in ranked[2]]
        assert ranked == [pairs(pool.search(q)) for q in queries]

    def test_inside_a_batch_it_sees_the_batch_like_search(self, pool):
        queries = [query("拓扑绝缘体"), query("拓扑绝缘体", limit=1), query(limit=1000)]
        with pool.batch():
            pool.upsert_experts([make_expert("SC-900001", keywords=["拓扑绝缘体"], research="拓扑绝缘体的输运性质。")])
            ranked = pool.rank_many(queries)
            assert ranked == [pairs(pool.search(q)) for q in queries]
        assert [r[0][0] for r in ranked[:2]] == ["SC-900001", "SC-900001"]
        assert len(ranked[2]) == 241


class TestRankIndex:
    """`rank_index` (None on Elasticsearch) makes `rank_many` cheaper, never different."""

    def test_ranking_with_the_index_is_what_search_returns(self, pool):
        index = pool.rank_index()
        expected = [pairs(pool.search(q)) for q in QUERIES]
        assert pool.rank_many(QUERIES, index=index) == expected
        assert pool.rank_many(list(reversed(QUERIES)), index=index) == list(reversed(expected))

    def test_an_index_of_older_data_is_not_used(self, pool):
        index = pool.rank_index()
        pool.upsert_experts([make_expert("SC-900001", keywords=["拓扑绝缘体"], research="拓扑绝缘体的输运性质。"),
                             make_expert("SC-000003", status="出库")])
        queries = [query("拓扑绝缘体"), QUERIES[0], query("机器学习", statuses="在库", limit=500)]
        ranked = pool.rank_many(queries, index=index)
        assert ranked[0][0][0] == "SC-900001"
        assert ranked == [pairs(pool.search(q)) for q in queries]

    def test_inside_a_batch_it_sees_the_batch(self, pool):
        index = pool.rank_index()
        with pool.batch():
            pool.upsert_experts([make_expert("SC-900001", keywords=["拓扑绝缘体"], research="拓扑绝缘体的输运性质。")])
            ranked = pool.rank_many([query("拓扑绝缘体"), QUERIES[0]], index=index)
            assert ranked == [pairs(pool.search(query("拓扑绝缘体"))), pairs(pool.search(QUERIES[0]))]
        assert ranked[0][0][0] == "SC-900001"

    def test_an_index_of_another_store_is_not_used(self, pool, harness):
        other_harness = harness.another()
        try:
            other = other_harness.open()
            other.upsert_experts(generate_experts(40, seed=5))
            foreign = other.rank_index()
            assert pool.rank_many(QUERIES[:4], index=foreign) == [pairs(pool.search(q)) for q in QUERIES[:4]]
        finally:
            other_harness.cleanup()
