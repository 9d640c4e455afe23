"""The search use case: every query word accounted for, names as names, the defaults an officer
expects (在库 only, institutions by legal unit). The examples are the ones seen on real data."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expertpool import segment
from expertpool.cli.main import app
from expertpool.services.search import (
    COMMON_CHARACTER_SHARE,
    FEEDBACK_MIN_WORDS,
    FEEDBACK_WEIGHTS,
    FEEDBACK_WORDS,
    SearchRequest,
    ranked_query,
    search_experts,
    with_feedback,
    without_common_characters,
    word_report,
)
from expertpool.stores.base import SearchFilters
from expertpool.stores.textindex import query_for
from expertpool.stores.sqlite import SQLiteStore
from tests.factories import generate_experts, make_expert

runner = CliRunner()


def _experts():
    return [
        make_expert("SC-100001", name="李明", fields=["现代农业"], keywords=["柑橘黄龙病", "柑橘栽培"],
                    research="柑橘黄龙病的田间防控与抗病砧木筛选。", discipline="植物保护"),
        make_expert("SC-100002", name="王芳", fields=["现代农业"], keywords=["柑橘栽培", "果树营养"],
                    research="柑橘高效栽培。", discipline="园艺学"),
        # people named 黄龙…, with nothing of citrus in their work
        make_expert("SC-100003", name="黄龙飞", fields=["生物医药"], keywords=["重症医学", "脓毒症"],
                    research="重症监护病房的脓毒症救治。", discipline="临床医学"),
        make_expert("CQ-100004", name="黄龙", region="重庆", sub_region="沙坪坝区", institution="重庆大学",
                    fields=["新一代信息技术"], keywords=["嵌入式系统"], research="嵌入式软件。"),
        make_expert("SC-100005", name="赵刚", fields=["资源环境"], keywords=["页岩气", "储层评价"],
                    research="四川盆地页岩气储层评价与开发。", discipline="石油与天然气工程"),
        make_expert("CQ-100006", name="陈静", region="重庆", sub_region="南岸区", institution="重邮",
                    fields=["新能源"], keywords=["电池管理系统", "荷电状态估计"],
                    research="电动汽车电池管理系统的荷电状态估计。", discipline="电气工程"),
        make_expert("CQ-100007", name="刘洋", region="重庆", sub_region="南岸区", institution="重庆邮电大学",
                    fields=["新能源", "新材料"], keywords=["锂离子电池", "正极材料"],
                    research="锂离子电池高镍正极材料。", discipline="材料科学与工程"),
        make_expert("SC-100008", name="周平", fields=["新能源"], keywords=["锂离子电池"], research="锂离子电池回收。",
                    status="出库"),
        make_expert("SC-100009", name="吴敏", fields=["生物医药"], keywords=["心血管药理"], research="心血管药理。",
                    institution="四川大学华西医院"),
    ]


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "pool.sqlite3")
    s.upsert_experts(generate_experts(200, seed=5) + _experts())
    yield s
    s.close()


def ids(result):
    return [h.expert.id for h in result.hits]


def words(result):
    return {w.word: (w.status, w.via) for w in result.words}


def test_a_disease_name_ranks_citrus_experts_not_people_named_after_part_of_it(store):
    result = search_experts(store, SearchRequest("柑橘黄龙病"))
    assert ids(result)[:2] == ["SC-100001", "SC-100002"]
    assert not {"SC-100003", "CQ-100004"} & set(ids(result))


def test_a_whole_name_still_finds_the_person(store):
    result = search_experts(store, SearchRequest("黄龙飞"))
    assert ids(result)[0] == "SC-100003" and result.hits[0].name_matched


def test_a_word_no_expert_holds_is_reported_not_dropped(store):
    result = search_experts(store, SearchRequest("页岩气压裂"))
    assert ids(result)[0] == "SC-100005"
    report = words(result)
    assert report["页岩气"][0] == "matched"
    assert report["压裂"] == ("not_found", ())
    assert result.unmatched == ["压裂"]


def test_an_unknown_compound_is_matched_through_its_bigrams_and_says_so(store):
    result = search_experts(store, SearchRequest("动力电池"))
    assert {"CQ-100006", "CQ-100007"} <= set(ids(result))
    status, via = words(result)["动力电池"]
    assert status == "bigrams" and "电池" in via
    hit = next(h for h in result.hits if h.expert.id == "CQ-100007")
    assert hit.matched == () and hit.partial == (("动力电池", ("电池",)),)


def test_stop_words_are_reported_as_ignored(store):
    result = search_experts(store, SearchRequest("页岩气的研究"))
    assert words(result)["研究"] == ("ignored", ())


def test_only_experts_in_the_pool_unless_a_status_is_asked_for(store):
    assert "SC-100008" not in ids(search_experts(store, SearchRequest("锂离子电池")))
    assert "SC-100008" in ids(search_experts(store, SearchRequest("锂离子电池", statuses=("出库",))))
    assert "SC-100008" in ids(search_experts(store, SearchRequest("锂离子电池", statuses=("全部",))))


def test_an_institution_filter_finds_the_unit_under_all_its_names(store):
    result = search_experts(store, SearchRequest("电池", institutions=("重庆邮电大学",)))
    assert {"CQ-100006", "CQ-100007"} <= set(ids(result))  # 重邮 is 重庆邮电大学
    assert {h.expert.institution for h in result.hits} == {"重邮", "重庆邮电大学"}
    result = search_experts(store, SearchRequest("", institutions=("川大",), limit=500))
    assert "SC-100009" in ids(result)  # 四川大学华西医院 belongs to 四川大学


def test_cli_lists_matched_and_unmatched_words(tmp_path, monkeypatch, store):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    result = runner.invoke(app, ["search", "页岩气压裂", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["unmatched"] == ["压裂"]
    assert {w["word"]: w["status"] for w in doc["words"]} == {"页岩气": "matched", "压裂": "not_found"}
    assert doc["hits"][0]["matched"] == ["页岩气"] and doc["hits"][0]["unmatched"] == ["压裂"]
    table = runner.invoke(app, ["search", "动力电池"], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "动力电池（库中无此词，按字词命中：" in table.stdout
    assert "动力电池≈电池" in table.stdout  # the 命中 column of each expert


def test_feedback_adds_the_best_experts_words_weighted_never_the_querys_own(store):
    text = "柑橘黄龙病 柑橘 病害 防控 果园"
    query = query_for(text, SearchFilters(statuses=("在库",)), 20)
    assert len(query.terms) >= FEEDBACK_MIN_WORDS
    expanded = with_feedback(store, query).expansion
    words_, weights = [w for w, _ in expanded], {w for _, w in expanded}
    assert words_ and len(words_) <= FEEDBACK_WORDS and weights <= set(FEEDBACK_WEIGHTS)
    assert expanded[0][1] == max(FEEDBACK_WEIGHTS)
    assert not set(words_) & {a for t in query.terms for a in t.alternatives}  # not the query's own words
    assert "柑橘栽培" in words_                                                # the best experts' keyword
    result = search_experts(store, SearchRequest(text))
    assert ids(result)[0] == "SC-100001"                 # feedback does not unseat the best match
    assert result.hits[0].related
    assert not {"SC-100003", "CQ-100004"} & set(ids(result))  # nor brings in the people named 黄龙…


def test_short_queries_and_queries_naming_someone_get_no_feedback(store):
    assert with_feedback(store, query_for("柑橘黄龙病 柑橘栽培")).expansion == ()
    naming = query_for("黄龙飞 重症医学 脓毒症 重症监护")
    assert len(naming.terms) >= FEEDBACK_MIN_WORDS and with_feedback(store, naming).expansion == ()


def test_characters_most_experts_hold_are_left_out_of_the_query(store):
    query = query_for("柑橘黄龙病的田间防控与抗病砧木筛选研究")
    single = [g for g in query.grams if len(g) == 1]
    held, total = store.term_counts([], single).grams, store.count_experts()
    cut = without_common_characters(store, query)
    dropped = set(query.grams) - set(cut.grams)
    assert dropped and all(len(g) == 1 and held[g] > COMMON_CHARACTER_SHARE * total for g in dropped)
    assert all(held[g] <= COMMON_CHARACTER_SHARE * total for g in cut.grams if len(g) == 1)
    assert any(len(g) == 1 for g in cut.grams)  # the rarer characters stay
    # words, bigrams (in order) and names are untouched
    assert (cut.terms, cut.names) == (query.terms, query.names)
    assert [g for g in cut.grams if len(g) > 1] == [g for g in query.grams if len(g) > 1]
    # no character common enough: the query itself
    rare = query_for("砧木")
    assert without_common_characters(store, rare) is rare


def test_the_search_service_ranks_the_query_without_its_common_characters(store):
    text = "柑橘黄龙病 柑橘 病害 防控 果园 研究"
    asked = ranked_query(store, query_for(text, SearchFilters(statuses=("在库",)), 20))
    assert asked.expansion and not set(asked.grams) - set(query_for(text).grams)
    assert len(asked.grams) < len(query_for(text).grams)
    result = search_experts(store, SearchRequest(text))
    assert [(h.expert.id, h.score) for h in result.hits] == [(h.expert.id, h.score) for h in store.search(asked)]
    assert ids(result)[0] == "SC-100001"
    # the word report, from the count read for both, is what a count of its own gives
    assert result.words == word_report(store, list(query_for(text).terms), segment.ignored_words(text))
    assert {w.status for w in result.words} == {"matched", "not_found", "ignored"}  # 病害, 果园; 研究
