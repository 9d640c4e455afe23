"""Honours are an open vocabulary; functional zones are sub-regions; fields, regions, titles and
statuses stay strict (issue 11, item 2)."""
from __future__ import annotations

import pytest

import tomllib

from expertpool.domain import taxonomy
from expertpool.errors import InputError
from expertpool.io import datafiles
from expertpool.io.datafiles import load_honours
from expertpool.services.access import actor_for
from expertpool.services.importing import import_file, import_files
from expertpool.services.search import SearchRequest, build_filters, pool_stats
from tests.helpers import expert_row, write_csv


@pytest.fixture
def admin(store):
    return actor_for(store, "admin")


@pytest.fixture
def honours_file(tmp_path, monkeypatch):
    """A copy of indexes/honours.toml that a test may edit, as an administrator edits the real one."""
    copy = tmp_path / "honours.toml"
    copy.write_text(datafiles.default_honours_path().read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(datafiles, "default_honours_path", lambda: copy)
    return copy


def test_unknown_honours_are_kept_and_warned_with_counts_and_examples(tmp_path, store, admin):
    rows = [expert_row(专家编号=f"{i:06d}", 证件号码="", 人才称号=honour) for i, honour in enumerate(
        ["天府青城计划", "天府青城计划；长江学者", "两院院士", "某市优秀专家", "天府青城计划"], start=1)]
    report = import_file(store, write_csv(tmp_path / "sc.csv", rows), admin)
    assert (report.imported, report.rejected) == (5, 0)
    warned = {w.value: (w.count, w.rows) for w in report.warnings}
    assert warned == {"天府青城计划": (3, [2, 3, 6]), "某市优秀专家": (1, [5])}
    assert all(w.column == "人才称号" and "[mappings]" in w.message for w in report.warnings)
    assert store.get_expert("000002").honours == ["天府青城计划", "长江学者"]
    academician = store.get_expert("000003")
    assert academician.honours == ["两院院士"] and load_honours().is_high_level(academician.honours)
    assert not load_honours().is_high_level(store.get_expert("000001").honours)


def test_warnings_are_in_the_json_report(tmp_path, store, admin):
    path = write_csv(tmp_path / "sc.csv", [expert_row(人才称号="天府峨眉计划")])
    data = import_files(store, [path], admin).to_json()
    assert data["warnings"][0]["value"] == "天府峨眉计划" and data["warnings"][0]["count"] == 1
    assert data["totals"]["warned_rows"] == 1 and data["totals"]["rejected"] == 0


def test_an_administrator_maps_honours_in_the_data_file(tmp_path, store, admin, honours_file):
    with honours_file.open("a", encoding="utf-8") as fh:  # appended under [mappings], the file's last table
        fh.write('"天府青城计划" = "高层次人才"\n"川渝特聘专家" = "长江学者"\n"某市优秀专家" = "其他称号"\n')
    rows = [expert_row(专家编号="000001", 证件号码="", 人才称号="天府青城计划、川渝特聘专家、某市优秀专家")]
    report = import_file(store, write_csv(tmp_path / "sc.csv", rows), admin)
    assert report.warnings == []
    expert = store.get_expert("000001")
    assert expert.honours == ["天府青城计划", "长江学者", "某市优秀专家"]
    assert load_honours().is_high_level(["天府青城计划"]) and not load_honours().is_high_level(["某市优秀专家"])
    assert pool_stats(store).high_level == 1


def test_a_mapping_to_an_unknown_honour_is_refused(honours_file):
    with honours_file.open("a", encoding="utf-8") as fh:
        fh.write('"某奖" = "诺贝尔"\n')
    with pytest.raises(InputError, match="未知的称号「诺贝尔」"):
        load_honours()
    assert taxonomy.HonourVocabulary.from_mapping(tomllib.loads('[[honour]]\nname = "甲"\n')).names == ("甲",)


def test_search_filters_on_an_honour_kept_as_written(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(人才称号="天府青城计划")]), admin)
    assert build_filters(SearchRequest("", honours=("天府青城计划", "杰青"))).honours == (
        "天府青城计划", "国家杰出青年科学基金获得者")
    assert pool_stats(store).honours["天府青城计划"] == 1


@pytest.mark.parametrize("written, region, expected", [
    ("两江新区", "重庆", "两江新区"), ("重庆两江新区", "重庆", "两江新区"), ("重庆高新区", "重庆", "重庆高新区"),
    ("西部（重庆）科学城", "重庆", "重庆高新区"), ("万盛经开区", "重庆", "万盛经开区"),
    ("重庆经济技术开发区", "重庆", "南岸区"), ("重庆市渝北区", "重庆", "渝北区"),
    ("天府新区", "四川", "成都"), ("四川天府新区", "四川", "成都"), ("成都高新区", "四川", "成都"),
    ("成都市高新区", "四川", "成都"), ("绵阳科技城新区", "四川", "绵阳"), ("宜宾三江新区", "四川", "宜宾"),
    ("攀枝花钒钛高新区", "四川", "攀枝花"), ("四川省德阳市", "四川", "德阳"),
    # Sichuan's official prefecture names and its 183 county-level divisions name their city
    ("凉山彝族自治州", "四川", "凉山"), ("阿坝藏族羌族自治州", "四川", "阿坝"), ("甘孜藏族自治州", "四川", "甘孜"),
    ("双流区", "四川", "成都"), ("成都市双流区", "四川", "成都"), ("彭州市", "四川", "成都"), ("高县", "四川", "宜宾"),
    ("内江市市中区", "四川", "内江"), ("乐山市市中区", "四川", "乐山"), ("凉山州西昌市", "四川", "凉山"),
])
def test_functional_zones_map_to_their_region(tmp_path, store, admin, written, region, expected):
    row = expert_row(所在地区=region, **{"市州/区县": written}, 证件号码="")
    report = import_file(store, write_csv(tmp_path / "a.csv", [row]), admin)
    assert report.rejected == 0, report.rejects
    assert store.get_expert("000001").sub_region == expected


@pytest.mark.parametrize("written, region, sub_region", [
    ("两江新区", "重庆", "两江新区"), ("重庆市渝北区", "重庆", "渝北区"), ("成都市", "四川", "成都"),
    ("天府新区", "四川", "成都"), ("四川省绵阳市", "四川", "绵阳"), ("万盛经开区", "重庆", "万盛经开区"),
    ("凉山彝族自治州", "四川", "凉山"), ("彭州市", "四川", "成都"),
])
def test_a_city_or_zone_in_the_region_column_names_its_region(tmp_path, store, admin, written, region, sub_region):
    # real lists put the place in 所在地区 itself; the sub-region column, when filled, must agree
    report = import_file(store, write_csv(tmp_path / "a.csv", [expert_row(所在地区=written, 证件号码="", **{"市州/区县": ""})]), admin)
    assert report.rejected == 0, report.rejects
    stored = store.get_expert("000001")
    assert (stored.region, stored.sub_region) == (region, sub_region)
    rows = [expert_row(专家编号="000002", 姓名="林一", 所在地区=written, 证件号码="",
                       **{"市州/区县": "万州区" if region == "四川" else "绵阳"}),          # another province
            expert_row(专家编号="000003", 姓名="林二", 所在地区=written, 证件号码="",
                       **{"市州/区县": "江北区" if region == "重庆" else "德阳"}),           # another place in it
            expert_row(专家编号="000004", 姓名="林三", 所在地区=written, 证件号码="", **{"市州/区县": sub_region})]
    report = import_file(store, write_csv(tmp_path / "b.csv", rows), admin)
    assert [(r.row, r.column) for r in report.rejects] == [(2, "市州/区县"), (3, "市州/区县")]
    assert written in report.rejects[1].reason and store.get_expert("000004").sub_region == sub_region


@pytest.mark.parametrize("column, value", [("市州/区县", "高新区"), ("市州/区县", "两江新区"),
                                           ("市州/区县", "市中区"), ("市州/区县", "东区"),   # two cities' / too short
                                           ("专业领域", "量子玄学"), ("所在地区", "云南"), ("所在地区", "昆明市"),
                                           ("所在地区", "高新区"), ("职称", "大师"),
                                           ("状态", "休眠")])
def test_closed_vocabularies_stay_strict(tmp_path, store, admin, column, value):
    row = expert_row(证件号码="", **{column: value})  # 两江新区 is in 重庆, the row says 四川
    report = import_file(store, write_csv(tmp_path / "a.csv", [row]), admin)
    assert [(r.column, value in r.reason) for r in report.rejects] == [(column, True)]


def test_the_import_table_names_the_honours_table_as_written(tmp_path, monkeypatch):
    """Text printed through rich is markup unless escaped: "[mappings]" (and any bracket in a
    file's value or a path) must reach the screen as written, not vanish as a style tag."""
    from typer.testing import CliRunner

    from expertpool.cli.main import app

    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "s.sqlite3"))
    rows = [expert_row(专家编号="000001", 证件号码="", 人才称号="[bold]天府青城计划")]
    result = CliRunner().invoke(app, ["import", "--create", str(write_csv(tmp_path / "sc.csv", rows))])
    assert result.exit_code == 0, result.output
    assert "[mappings]" in result.output and "[bold]天府青城计划" in result.output
    assert "\\[" not in result.output                 # and without a markup escape showing


def test_bracketed_paths_users_and_values_print_as_written(tmp_path, monkeypatch):
    """Plain (markup-off) output must not escape brackets either: a backslash would show. The
    import command `generate` prints must work as printed; a user or a record value as typed."""
    from typer.testing import CliRunner

    from expertpool.cli.main import app

    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "s.sqlite3"))
    monkeypatch.setenv("EXPERTPOOL_USER", "[admin]")
    out = tmp_path / "池[1]"
    runner = CliRunner()
    generated = runner.invoke(app, ["generate", "--count", "20", "--seed", "3", "--projects", "2", "--out", str(out)])
    assert generated.exit_code == 0, generated.output
    assert "\\[" not in generated.output and f"{out}/sichuan_experts.csv" in generated.output
    assert runner.invoke(app, ["roles", "grant", "[admin]", "reviewer", "--create"]).exit_code == 0
    listed = runner.invoke(app, ["roles", "list"])
    assert listed.exit_code == 0, listed.output
    assert "[admin]" in listed.output and "\\[" not in listed.output


@pytest.mark.parametrize("command", [["search", "压裂液"], ["show", "SC000300"]])
def test_names_and_units_that_look_like_markup_are_printed_as_written(tmp_path, monkeypatch, command):
    """A cell "[/x]王" used to end `search` and `show` in a rich MarkupError traceback."""
    from typer.testing import CliRunner

    from expertpool.cli.main import app

    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "s.sqlite3"))
    rows = [expert_row(专家编号="SC000300", 证件号码="", 姓名="[/x]王", 工作单位="[bold]四川大学", 关键词="压裂液")]
    assert CliRunner().invoke(app, ["import", "--create", str(write_csv(tmp_path / "sc.csv", rows))]).exit_code == 0
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    flat = "".join(result.output.split()).replace("│", "")  # the table may wrap the unit's cell
    assert "[/x]王" in flat and "[bold" in flat


@pytest.mark.parametrize("written", ["高新区", "市中区", "四川高新区", "经济技术开发区"])
def test_a_zone_many_cities_have_asks_for_the_city(tmp_path, store, admin, written):
    report = import_file(store, write_csv(tmp_path / "a.csv", [expert_row(证件号码="", **{"市州/区县": written})]), admin)
    [reject] = report.rejects
    assert reject.column == "市州/区县" and "多个城市" in reject.reason and written in reject.reason


def test_an_unknown_place_is_not_called_ambiguous(tmp_path, store, admin):
    report = import_file(store, write_csv(tmp_path / "a.csv", [expert_row(证件号码="", **{"市州/区县": "昆明市"})]), admin)
    [reject] = report.rejects
    assert "昆明市" in reject.reason and "多个城市" not in reject.reason
