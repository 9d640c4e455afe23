"""Contract: ranked text search with filters (see `SearchQuery`)."""
from __future__ import annotations

import pytest

from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchQuery

from tests.factories import make_expert
from tests.contract.harness import ids, query


@pytest.fixture
def pool(store):
    """Six experts whose text and attributes the tests below rely on."""
    store.upsert_experts([
        make_expert("SC-000001", name="王建国", fields=["新材料"], keywords=["石墨烯", "纳米材料"],
                    research="主要从事石墨烯的制备与应用研究。", discipline="材料科学与工程",
                    department="材料科学与工程学院", honours=["长江学者"]),
        make_expert("SC-000002", name="李晓东", fields=["新能源"], keywords=["储能技术", "锂离子电池"],
                    research="研究锂离子电池储能，也涉及石墨烯电极材料。", discipline="电气工程",
                    institution="电子科技大学", department="能源学院", title="副高级"),
        make_expert("CQ-000001", name="陈静", region="重庆", sub_region="沙坪坝区", institution="重庆大学",
                    fields=["汽车摩托车", "新能源"], keywords=["新能源汽车", "动力电池"],
                    research="从事新能源汽车动力电池管理与整车控制研究。", discipline="车辆工程",
                    department="机械与运载工程学院", honours=["重庆英才"]),
        make_expert("CQ-000002", name="刘洋", region="重庆", sub_region="北碚区", institution="西南大学",
                    fields=["现代农业"], keywords=["柑橘栽培", "土壤改良"], research="柑橘绿色栽培技术。",
                    discipline="园艺学", department="园艺园林学院", title="中级", status="暂停"),
        make_expert("SC-000003", name="赵敏", fields=["人工智能", "新一代信息技术"], keywords=["机器学习", "计算机视觉"],
                    research="深度学习方法及其在医学影像中的应用。", discipline="计算机科学与技术"),
        make_expert("SC-000004", name="周平", fields=["生物医药"], keywords=["中药现代化", "药物代谢"],
                    research="中药活性成分的药物代谢研究。", discipline="药学", department="华西药学院",
                    institution="四川大学", status="出库"),
    ])
    return store


class TestMatching:
    def test_keywords_outrank_a_mention_in_research(self, pool):
        hits = pool.search(query("石墨烯"))
        assert ids(hits) == ["SC-000001", "SC-000002"]
        assert hits[0].score > hits[1].score

    def test_only_experts_with_a_query_word_match(self, pool):
        assert ids(pool.search(query("柑橘"))) == ["CQ-000002"]
        assert pool.search(query("量子引力")) == []

    def test_a_word_outside_the_dictionary_matches_through_its_bigrams(self, pool):
        hits = pool.search(query("量子计算"))  # no expert holds the word; 计算 is in 计算机视觉
        assert ids(hits) == ["SC-000003"]
        assert hits[0].matched == () and hits[0].partial == (("量子计算", ("计算",)),)

    def test_a_whole_word_outranks_its_bigrams_elsewhere(self, pool):
        hits = pool.search(query("锂离子电池"))  # SC-000002 holds the word; CQ-000001 only 电池 (动力电池)
        assert ids(hits) == ["SC-000002", "CQ-000001"]
        assert hits[0].matched == ("锂离子电池",) and hits[1].partial == (("锂离子电池", ("电池",)),)
        assert hits[0].score > 2 * hits[1].score

    def test_any_term_is_enough_and_more_terms_rank_higher(self, pool):
        hits = pool.search(query("动力电池 新能源汽车 锂离子电池"))
        assert set(ids(hits)) == {"CQ-000001", "SC-000002"}
        assert ids(hits)[0] == "CQ-000001"

    def test_matched_lists_the_query_words_found(self, pool):
        hits = {h.expert.id: h for h in pool.search(query("石墨烯 储能 量子"))}
        assert hits["SC-000001"].matched == ("石墨烯",)
        assert hits["SC-000002"].matched == ("石墨烯", "储能")

    def test_a_synonym_alternative_matches(self, pool):
        terms = (QueryTerm("ai", ("ai", "人工智能")),)
        hits = pool.search(SearchQuery(terms=terms))
        assert ids(hits) == ["SC-000003"]
        assert hits[0].matched == ("ai",)

    def test_a_full_name_finds_the_person(self, pool):
        hits = pool.search(query("陈静"))
        assert ids(hits)[:1] == ["CQ-000001"] and hits[0].name_matched

    def test_part_of_a_name_is_not_a_topic(self, store):
        store.upsert_experts([make_expert("SC-000001", name="黄龙飞", keywords=["重症医学"], research="重症监护"),
                              make_expert("SC-000002", name="李明", keywords=["柑橘黄龙病"], research="柑橘病害防控"),
                              make_expert("SC-000003", name="王芳", keywords=["柑橘栽培"], research="柑橘栽培")])
        hits = store.search(query("柑橘黄龙病"))
        assert ids(hits) == ["SC-000002", "SC-000003"]  # never the person named 黄龙…
        assert store.search(query("黄龙飞"))[0].expert.id == "SC-000001"  # the whole name does

    def test_equal_scores_are_ordered_by_id(self, store):
        twins = [make_expert(i) for i in ("SC-000009", "SC-000005", "SC-000002")]
        other = make_expert("SC-000001", keywords=["柑橘栽培"], research="柑橘栽培", fields=["现代农业"])
        store.upsert_experts([*twins, other])
        hits = store.search(query("机器学习"))
        assert ids(hits) == ["SC-000002", "SC-000005", "SC-000009"]
        assert len({round(h.score, 4) for h in hits}) == 1

    def test_operator_characters_are_plain_text(self, pool):
        terms = (QueryTerm('石墨烯"', ('石墨烯"', "OR", "*", "石墨烯")),)
        assert "SC-000001" in ids(pool.search(SearchQuery(terms=terms)))


class TestFilters:
    @pytest.mark.parametrize(("filters", "expected"), [
        ({"fields": "新能源"}, ["CQ-000001", "SC-000002"]),
        ({"fields": ("新材料", "现代农业")}, ["CQ-000002", "SC-000001"]),
        ({"regions": "重庆"}, ["CQ-000001", "CQ-000002"]),
        ({"titles": ("中级", "副高级")}, ["CQ-000002", "SC-000002"]),
        ({"honours": ("长江学者", "重庆英才")}, ["CQ-000001", "SC-000001"]),
        ({"institutions": "重庆大学"}, ["CQ-000001"]),
        ({"statuses": ("暂停", "出库")}, ["CQ-000002", "SC-000004"]),
        ({"regions": "四川", "titles": "正高级", "statuses": "在库"}, ["SC-000001", "SC-000003"]),
        ({"exclude_ids": {"SC-000001", "CQ-000002"}}, ["CQ-000001", "SC-000002", "SC-000003", "SC-000004"]),
    ])
    def test_filters_without_terms_list_by_id(self, pool, filters, expected):
        hits = pool.search(query(**filters))
        assert ids(hits) == expected
        assert all(h.score == 0.0 and h.matched == () for h in hits)

    def test_filters_combine_with_terms(self, pool):
        assert ids(pool.search(query("石墨烯", institutions="电子科技大学"))) == ["SC-000002"]
        assert ids(pool.search(query("石墨烯", exclude_ids={"SC-000002"}))) == ["SC-000001"]
        assert pool.search(query("石墨烯", regions="重庆")) == []

    def test_no_terms_no_filters_lists_everyone(self, pool):
        assert ids(pool.search(query())) == ["CQ-000001", "CQ-000002", "SC-000001", "SC-000002",
                                             "SC-000003", "SC-000004"]


class TestPaging:
    def test_limit_and_offset_page_through_one_ranking(self, store):
        store.upsert_experts([make_expert(f"SC-{i:06d}", keywords=["机器学习"] * (1 + i % 4))
                              for i in range(1, 26)])
        full = ids(store.search(query("机器学习", limit=100)))
        assert len(full) == 25
        pages = [ids(store.search(query("机器学习", limit=7, offset=o))) for o in range(0, 28, 7)]
        assert sum(pages, []) == full
        assert store.search(query("机器学习", limit=5, offset=25)) == []

    def test_paging_a_listing(self, pool):
        assert ids(pool.search(query(limit=2, offset=3))) == ["SC-000002", "SC-000003"]

    def test_a_limit_larger_than_one_request_window(self, store):
        store.upsert_experts([make_expert(f"SC-{i:06d}") for i in range(1, 31)])
        assert len(store.search(query(limit=20_000))) == 30
        assert ids(store.search(query("机器学习", limit=20_000, offset=9_990))) == []
        assert len(store.search(query("机器学习", limit=20_000, offset=10))) == 20
