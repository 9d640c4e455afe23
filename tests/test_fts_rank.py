"""The SQLite rank index: FTS5's bm25 computed outside SQLite, bit for bit, or not at all."""
from __future__ import annotations

import pytest

from expertpool.segment import QueryTerm
from expertpool.stores import fts_rank
from expertpool.stores.base import SearchFilters, SearchQuery
from tests.contract.harness import pairs, query
from tests.factories import generate_experts, make_expert


def _q(*alternatives: str, **kw) -> SearchQuery:
    return SearchQuery(tuple(QueryTerm(a, (a,)) for a in alternatives), **kw)


@pytest.mark.parametrize("batch", [fts_rank.READ_BATCH, 7])
def test_the_index_itself_answers_plain_queries_with_sqlites_scores(store, monkeypatch, batch):
    # a small batch: the rows are read in many batches, words numbered batch by batch
    monkeypatch.setattr(fts_rank, "READ_BATCH", batch)
    store.upsert_experts(generate_experts(240, seed=11) + [make_expert("SC-900001", status="出库")])
    index = store.rank_index()
    assert isinstance(index, fts_rank.RankIndex)
    queries = [query("锂离子电池 储能技术 光伏发电 机器学习 深度学习 水稻育种", limit=300, statuses="在库"),
               query("机器学习", limit=300), query("机器学习", statuses=("在库", "暂停"), limit=7, offset=3),
               query("量子引力"),
               SearchQuery(query("机器学习").terms, grams=query("机器学习").grams, limit=300,
                           expansion=(("深度学习", 1.0), ("储能技术", 0.25), ("水稻育种", 0.125), ("光伏发电", 0.25)))]
    for q in queries:
        answer = index.rank(q)
        assert answer is not None
        assert answer == pairs(store.search(q))  # same ids, order and float scores
    assert "SC-900001" in [i for i, _ in index.rank(queries[1])]
    assert "SC-900001" not in [i for i, _ in index.rank(query("机器学习", limit=300, statuses="在库"))]


def test_it_leaves_to_sql_what_it_cannot_vouch_for(store):
    store.upsert_experts(generate_experts(60, seed=3))
    index = store.rank_index()
    assert index.rank(_q("c++")) is None          # FTS5 splits it
    assert index.rank(_q("Ai")) is None           # FTS5 folds it
    assert index.rank(query("机器学习", regions="重庆")) is None  # filters other than status
    assert index.rank(query(limit=5)) is None     # no terms: an id-ordered listing


def test_words_fts5_splits_or_folds_in_the_text_are_read_from_fts5(store):
    """Text tokens that are not plain words (C++, 5G-NR, 居里·夫人, upper case) are indexed by FTS5
    in pieces; the index takes those terms' postings from FTS5 itself."""
    store.upsert_experts(generate_experts(60, seed=3) + [
        make_expert("SC-900001", name="玛丽·居里", keywords=["C++", "5G-NR", "MOF材料"], research="C++ 与 5G-NR 的研究"),
        make_expert("SC-900002", keywords=["c", "5g", "nr", "mof材料"], research="c 语言"),
    ])
    index = store.rank_index()
    assert index is not None
    queries = [_q("c", "5g", "nr", "机器学习", limit=100), _q("mof材料", "nr", limit=100),
               query("C++ 5G-NR 玛丽·居里", limit=100)]
    expected = [pairs(store.search(q)) for q in queries]
    assert expected[0][:2] and expected[1]
    assert expected[2][0][0] == "SC-900001"  # the whole name, 玛丽·居里, as written
    assert store.rank_many(queries, index=index) == expected
    assert index.rank(queries[0]) == expected[0] and index.rank(queries[1]) == expected[1]


def test_a_stale_index_is_refused_by_its_key(store):
    store.upsert_experts(generate_experts(30, seed=1))
    index = store.rank_index()
    store.rebuild_index()  # same text, a new FTS table: the old copy is not trusted
    assert index.key != store._rank_key(store._db)
    assert store.rank_index().key == store._rank_key(store._db)


def test_no_index_of_an_empty_store(store):
    assert store.rank_index() is None
    assert store.rank_many([query("机器学习")], index=None) == [[]]


def test_status_filter_and_paging_match_sql(store):
    experts = generate_experts(120, seed=7)
    experts += [make_expert(f"SC-9000{i:02d}", status=status)
                for i, status in enumerate(["出库", "暂停", "在库", "出库"])]
    store.upsert_experts(experts)
    index = store.rank_index()
    for statuses in ((), ("在库",), ("出库", "暂停")):
        for offset, limit in ((0, 5), (3, 10), (0, 1000), (500, 10)):
            q = query("机器学习 计算机视觉 新材料", limit=limit, offset=offset)
            q = SearchQuery(q.terms, SearchFilters(statuses=statuses), limit=limit, offset=offset)
            assert index.rank(q) == pairs(store.search(q))


def test_empty_and_deep_pages_match_sql(store):
    store.upsert_experts(generate_experts(40, seed=2))
    index = store.rank_index()
    for offset, limit in ((0, 0), (5, 0), (39, 5), (0, 1)):
        q = query("机器学习 新材料", limit=limit, offset=offset)
        assert index.rank(q) == pairs(store.search(q))


def test_search_ranks_from_the_kept_index_exactly_as_sql(store, tmp_path):
    from expertpool.stores.sqlite import SQLiteStore

    store.upsert_experts(generate_experts(150, seed=4) + [make_expert("SC-900001", name="黄龙飞", status="出库")])
    other = SQLiteStore(store.path)  # a second connection: no index kept, SQL only
    texts = ["锂离子电池 储能技术", "β-乳球蛋白在0.5% NaCl中的稳定性 机器学习", "黄龙飞", "量子引力 新材料"]
    assert store.rank_index() is not None and store._kept is not None
    for text in texts:
        for statuses in ((), ("在库",)):
            q = query(text, limit=30, statuses=statuses) if statuses else query(text, limit=30)
            assert store._kept.rank(q) is not None  # answered by the index, not SQL
            assert [(h.expert.id, h.score, h.matched, h.partial) for h in store.search(q)] == \
                   [(h.expert.id, h.score, h.matched, h.partial) for h in other.search(q)]
    assert store.term_counts(["机器学习", "量子引力"], ["电池"]) == other.term_counts(["机器学习", "量子引力"], ["电池"])
    store.upsert_experts([make_expert("SC-900002", keywords=["量子引力"])])  # new data: the kept index is stale
    assert store.search(query("量子引力"))[0].expert.id == "SC-900002"
    other.close()


def test_a_pickled_index_carries_no_speed_tables_and_ranks_the_same(store):
    """The index is cached on disk (`cache.snapshot.rank_index`): what it keeps for speed (the
    last query's part, the names table) is not written with it, and the copy read back ranks as
    SQL does."""
    import pickle

    store.upsert_experts(generate_experts(80, seed=5))
    index = store.rank_index()
    name = store.search(query(limit=1))[0].expert.name
    asked = [query("机器学习 深度学习", limit=50), query(name, limit=5)]
    first = [index.rank(q) for q in asked]
    assert any(key.startswith("_") for key in index.__dict__)
    copy = pickle.loads(pickle.dumps(index))
    assert not any(key.startswith("_") for key in copy.__dict__)
    assert [copy.rank(q) for q in asked] == first == [pairs(store.search(q)) for q in asked]


def test_sql_reads_each_part_of_a_query_once_not_once_per_matched_row(store):
    """The SQL behind search and the rank index's probes: every part (words, grams, feedback
    groups, names) is one FTS5 match, combined by row in one sort. The plan has no part joined
    by scanning it per row — that made one probe with a common character take ≈ 20 s on 32,000
    experts, inside every import's prepare step — and still scores exactly as the index does."""
    import sqlite3

    from expertpool.stores.sqlite import _search_sql

    store.upsert_experts(generate_experts(120, seed=5))
    base = query("机器学习 储能技术")
    q = SearchQuery(base.terms, grams=("学", "储能", "能技"), names=("张伟",),
                    expansion=(("深度学习", 1.0), ("光伏发电", 0.25)), limit=50)
    sql, params = _search_sql(q, "e.id")
    db = sqlite3.connect(store.path)
    plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert plan and not [line for line in plan if "LEFT-JOIN" in line], plan
    for part in ("w", "g", "x0", "x1"):  # each part read once, where the parts are combined
        assert [line for line in plan if line.split()[:2] == ["SCAN", part]] == [f"SCAN {part}"], plan
    index = store.rank_index()
    assert index is not None and index.rank(q) == pairs(store.search(q))
