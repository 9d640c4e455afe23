"""The search use case: every query word accounted for, names as names, the defaults an officer
expects (在库 only, institutions by legal unit). The examples are the ones seen on real data."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.services.search import SearchRequest, search_experts
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
