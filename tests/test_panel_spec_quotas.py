"""Quotas in panel specs ([[quota]] tables) and in draws on the committed sample pool: the derived
attributes (sector from the alias table, age on the review date, gender, sub-region) read from
the store independently of the draw, in both modes."""
import datetime as dt

import pytest

from expertpool.errors import InputError
from expertpool.io.datafiles import load_institutions
from expertpool.services.panels import build_panel, load_spec
from tests.sample_pool import SAMPLES, admin, spec, store, template  # noqa: F401 (fixtures)


def test_quota_tables_are_read_with_chinese_names_and_fractions(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text((SAMPLES / "panel.toml").read_text(encoding="utf-8") + '''
[[quota]]
attribute = "单位类型"
value = "企业"
min_share = "1/3"

[[quota]]
attribute = "年龄"
at_most = 45
min = 2

[[quota]]
attribute = "市州/区县"
max = 4

[[quota]]
attribute = "性别"
values = ["女", "female"]
min = 3
''', encoding="utf-8")
    loaded = load_spec(path)
    sector, young, per_city, women = loaded.quotas
    assert (sector.attribute, sector.values, sector.head_counts(15)) == ("sector", ("企业",), (5, 15))
    assert (young.attribute, young.at_most, young.min) == ("age", 45, 2)
    assert per_city.each and per_city.head_counts(15) == (0, 4)
    assert women.values == ("女",)
    # the saved spec reads back to the same quotas (panel show --reproduce)
    assert load_spec(None, loaded.to_json()).quotas == loaded.quotas


@pytest.mark.parametrize("table, message", [
    ({"attribute": "星座", "value": "白羊", "min": 1}, "属性「星座」未知"),
    ({"attribute": "单位类型", "value": "个体户", "min": 1}, "单位类型"),
    ({"attribute": "单位类型", "value": "企业", "min_share": "三分之一"}, "min_share"),
    ({"attribute": "年龄", "value": "45", "max": 1}, "at_most"),
    ({"attribute": "性别", "value": "女", "minimum": 1}, "未知的项 minimum"),
    ({"attribute": "性别", "value": "女"}, "至少给出"),
])
def test_bad_quota_tables_name_the_problem(table, message):
    with pytest.raises(InputError, match=message):
        load_spec(None, {"quota": [table]})


def _experts(store, ids):
    return [store.get_expert(i) for i in ids]


@pytest.mark.parametrize("mode", ["best", "lottery"])
def test_draw_keeps_every_quota(store, admin, mode):
    table = load_institutions()
    quotas = [{"attribute": "单位类型", "value": "企业", "min": 2},
              {"attribute": "年龄", "at_most": 50, "min": 3},
              {"attribute": "市州/区县", "max": 5},
              {"attribute": "性别", "value": "女", "min": 4}]
    # the sample pool has 4 enterprise experts, 1 of them qualified at panel.toml's relevance bar:
    # drawn from everyone eligible, so the lottery too can seat two
    outcome = build_panel(store, admin, spec(mode=mode, seed=5, quota=quotas, max_probability=1.0,
                                             relevance_threshold=0.0), save=False)
    assert outcome.has_panel, outcome.document.get("diagnosis")
    members = _experts(store, outcome.record.member_ids())
    day = dt.date(2026, 12, 1)
    sectors = [table.sector(table.normalise(e.institution)) for e in members]
    assert sectors.count("企业") >= 2
    assert sum(1 for e in members if e.birth_year is not None and day.year - e.birth_year <= 50) >= 3
    assert max(sum(1 for e in members if e.sub_region == s) for s in {e.sub_region for e in members}) <= 5
    assert sum(1 for e in members if e.gender == "女") >= 4
    # the record shows the panel against each quota
    counts = outcome.record.quota_counts
    assert [q.label for q in counts][0] == "单位类型「企业」" and len(counts) == 4
    assert all(q.min <= q.count <= q.max for q in counts)
    assert counts[0].count == sectors.count("企业")


def test_an_impossible_quota_is_named_in_the_diagnosis(store, admin):
    outcome = build_panel(store, admin, spec(mode="best", quota=[{"attribute": "单位类型", "value": "政府机关",
                                                                  "min": 2}]), save=False)
    assert not outcome.has_panel
    messages = outcome.document["diagnosis"]["messages"]
    assert any("单位类型「政府机关」可用专家" in m and "至少需要 2 人" in m for m in messages), messages
