"""CLI: `expertpool coi check` — exit codes, JSON shape, messages naming the file, row and key."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.config import StoreConfig
from expertpool.services.access import actor_for
from expertpool.services.importing import import_file, import_files
from expertpool.stores import open_store
from tests.helpers import expert_row, id_number, write_csv, write_jsonl

runner = CliRunner()

RELATION_HEADERS = ["专家编号", "关联专家编号", "关联人姓名", "关联人单位", "关系类型", "起始年份", "结束年份", "备注"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "pool.sqlite3"))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    return tmp_path


def applicant_project(id="P1", **overrides) -> dict:
    data = {"id": id, "title": "钒钛新材料的制备", "fields": ["新材料"], "institution": "四川大学",
            "applicant": {"name": "张三", "institution": "四川大学华西医院"},
            "team": [{"name": "赵九", "institution": "成都大学"}], "avoid": []}
    data.update(overrides)
    return data


@pytest.fixture
def pool(env):
    """Three experts, two relations to the outside applicant 张三 (四川大学), set up through the library."""
    store = open_store(StoreConfig.from_env())
    try:
        actor = actor_for(store, "admin")
        experts = write_csv(env / "experts.csv", [
            expert_row(),  # 000001 张伟, 四川大学
            expert_row(专家编号="000002", 姓名="李娜", 工作单位="电子科技大学", 人才称号="", 证件号码=id_number(seq="002")),
            expert_row(专家编号="000003", 姓名="王强", 所在地区="重庆", **{"市州/区县": "沙坪坝区"}, 工作单位="重庆大学",
                       人才称号="", 证件号码=id_number("500106", seq="003")),
        ])
        relations = write_csv(env / "relations.csv", [
            {"专家编号": "000002", "关联人姓名": "张三", "关联人单位": "川大", "关系类型": "合著",
             "起始年份": "2023", "结束年份": "2023", "备注": "作者数=5"},
            {"专家编号": "000003", "关联人姓名": "张三", "关联人单位": "四川大学", "关系类型": "师生", "备注": "博士"},
        ], headers=RELATION_HEADERS)
        report = import_files(store, [experts, relations], actor)
        assert not report.failed, report.to_json()
    finally:
        store.close()
    write_jsonl(env / "projects.jsonl", [applicant_project()])
    return env


def check(*args: str):
    return runner.invoke(app, ["coi", "check", *args])


def test_json_lists_every_conflict_with_rule_and_evidence(pool):
    result = check("--project", str(pool / "projects.jsonl"), "--review-date", "2025-06-01", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"project", "expert_id", "rule", "evidence", "hard"} <= set(rows[0])
    found = {(r["expert_id"], r["rule"]) for r in rows}
    assert found == {("000001", "same_unit"), ("000002", "coauthor"), ("000003", "advisor")}
    coauthor = next(r for r in rows if r["rule"] == "coauthor")
    assert coauthor["evidence"] == "000002 —合著 2023（作者 5 人）— 张三 (申报人, 四川大学)"
    assert coauthor["hard"] is True and coauthor["project"] == "P1" and coauthor["expert_name"] == "李娜"


def test_table_output_and_windows(pool):
    result = check("--project", str(pool / "projects.jsonl"), "--review-date", "2025-06-01")
    assert result.exit_code == 0
    assert "需回避专家 3 位" in result.stdout
    assert "000002 李娜  合著  000002 —合著 2023（作者 5 人）— 张三 (申报人, 四川大学)" in result.stdout
    later = check("--project", str(pool / "projects.jsonl"), "--review-date", "2028-01-01", "--json")
    assert {r["rule"] for r in json.loads(later.stdout)} == {"same_unit", "advisor"}


def test_project_id_already_imported(pool):
    store = open_store(StoreConfig.from_env())
    try:
        report = import_file(store, pool / "projects.jsonl", actor_for(store, "admin"), kind="projects")
        assert report.imported == 1
    finally:
        store.close()
    result = check("--project", "P1", "--review-date", "2025-06-01", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 3


def test_expert_filter_and_no_conflicts(pool):
    result = check("--project", str(pool / "projects.jsonl"), "--expert", "000003", "--review-date", "2025-06-01",
                   "--json")
    assert [r["rule"] for r in json.loads(result.stdout)] == ["advisor"]
    write_jsonl(pool / "clean.jsonl", [applicant_project(id="P9", institution="西南大学",
                                                         applicant={"name": "孙八", "institution": "西南大学"})])
    result = check("--project", str(pool / "clean.jsonl"), "--review-date", "2025-06-01")
    assert result.exit_code == 0 and "未发现利益冲突" in result.stdout
    assert json.loads(check("--project", str(pool / "clean.jsonl"), "--json").stdout) == []
    unknown = check("--project", str(pool / "projects.jsonl"), "--expert", "SC-404")
    assert unknown.exit_code == 2 and "--expert" in unknown.stderr and "SC-404" in unknown.stderr


def test_bad_project_file_names_file_row_and_field(pool):
    path = write_jsonl(pool / "bad.jsonl", [
        applicant_project(),
        applicant_project(id="P2", team=[{"name": "李四", "institution": "重庆大学", "expert_id": "SC-999999"}]),
    ])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    result = check("--project", str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr
    assert "第 2 行" in result.stderr and "team[0]" in result.stderr and "SC-999999" in result.stderr
    assert "第 3 行" in result.stderr and "JSON" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_or_project(pool):
    result = check("--project", str(pool / "nope.jsonl"))
    assert result.exit_code == 2 and "nope.jsonl" in result.stderr and "不存在" in result.stderr


def test_policy_file_errors_name_file_and_key(pool):
    policy = pool / "review.toml"
    policy.write_text("[coauthor]\nyears = 9\n", encoding="utf-8")
    result = check("--project", str(pool / "projects.jsonl"), "--policy", str(policy))
    assert result.exit_code == 2
    assert str(policy) in result.stderr and "coauthor.years" in result.stderr and "2–5" in result.stderr
    policy.write_text("[coauthor]\nyeras = 3\n", encoding="utf-8")
    result = check("--project", str(pool / "projects.jsonl"), "--policy", str(policy))
    assert result.exit_code == 2 and "coauthor.yeras" in result.stderr
    policy.write_text("[coauthor]\nyears = 2\n", encoding="utf-8")
    args = ("--project", str(pool / "projects.jsonl"), "--review-date", "2026-06-01", "--json")
    default = check(*args)
    assert "coauthor" in {r["rule"] for r in json.loads(default.stdout)}  # 2023 is within 4 years
    result = check(*args, "--policy", str(policy))
    assert result.exit_code == 0
    assert {r["rule"] for r in json.loads(result.stdout)} == {"same_unit", "advisor"}  # not within 2


def test_bad_review_date(pool):
    result = check("--project", str(pool / "projects.jsonl"), "--review-date", "2025-13-01")
    assert result.exit_code == 2 and "--review-date" in result.stderr


def test_needs_the_coi_permission(pool, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_USER", "visitor")
    result = check("--project", str(pool / "projects.jsonl"))
    assert result.exit_code == 3 and "visitor" in result.stderr


def test_bad_relation_rows_are_rejected_with_file_row_and_column(pool):
    path = write_csv(pool / "bad_relations.csv", [
        {"专家编号": "000001", "关联人姓名": "张三", "关联人单位": "四川大学", "关系类型": "合著",
         "起始年份": "2024", "结束年份": "2020"},
        {"专家编号": "000001", "关联人姓名": "张三", "关联人单位": "四川大学", "关系类型": "仇人"},
    ], headers=RELATION_HEADERS)
    store = open_store(StoreConfig.from_env())
    try:
        report = import_file(store, path, actor_for(store, "admin"))
    finally:
        store.close()
    rejects = {(r.row, r.column): r.reason for r in report.rejects}
    assert "早于起始年份" in rejects[(2, "结束年份")]
    assert "未知的关系类型「仇人」" in rejects[(3, "关系类型")]


def test_help_has_an_example():
    result = runner.invoke(app, ["coi", "check", "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout
    assert runner.invoke(app, ["coi", "--help"]).exit_code == 0


@pytest.fixture
def big_unit(pool):
    """Forty more experts at 四川大学 (the applicant's unit): the unit rule dwarfs the relations."""
    store = open_store(StoreConfig.from_env())
    try:
        rows = [expert_row(专家编号=f"{100 + i:06d}", 姓名=f"川大{i}", 人才称号="", 证件号码=id_number(seq=f"{100 + i:03d}"))
                for i in range(40)]
        report = import_files(store, [write_csv(pool / "more.csv", rows)], actor_for(store, "admin"))
        assert not report.failed, report.to_json()
    finally:
        store.close()
    return pool


def test_default_output_summarises_unit_rules_and_lists_direct_relations_by_name(big_unit):
    args = ("--project", str(big_unit / "projects.jsonl"), "--review-date", "2025-06-01")
    result = check(*args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "需回避专家 43 位" in out
    assert "同一法人单位 41 位（四川大学 41）" in out
    # the direct relations by name and evidence; the 41 unit colleagues are only counted
    assert "000002 李娜  合著  000002 —合著 2023（作者 5 人）— 张三 (申报人, 四川大学)" in out
    assert "000003 王强  师生" in out
    assert "000100" not in out and out.count("—任职 至今—") == 0
    # the totals close the output, after any list
    assert out.rstrip().splitlines()[-1].startswith("合计：评审日期 2025-06-01，审查项目 1 个；需回避专家 43 位")
    detail = check(*args, "--detail").stdout
    assert detail.count("—任职 至今—") == 41 and "000139 川大39  同一法人单位" in detail


def test_rule_and_expert_filters_list_what_was_asked(big_unit):
    args = ("--project", str(big_unit / "projects.jsonl"), "--review-date", "2025-06-01")
    by_key = check(*args, "--rule", "same_unit")
    by_label = check(*args, "--rule", "同一法人单位")
    assert by_key.exit_code == 0 and by_key.stdout == by_label.stdout
    assert by_key.stdout.count("—任职 至今—") == 41 and "李娜" not in by_key.stdout
    rows = json.loads(check(*args, "--rule", "same_unit", "--rule", "advisor", "--json").stdout)
    assert {r["rule"] for r in rows} == {"same_unit", "advisor"} and len(rows) == 42
    two = check(*args, "--expert", "000100", "--expert", "000003")
    assert "000100 川大0  同一法人单位" in two.stdout and "000003 王强  师生" in two.stdout
    assert "李娜" not in two.stdout
    assert {r["expert_id"] for r in json.loads(check(*args, "-e", "000100", "-e", "000003", "--json").stdout)} \
        == {"000100", "000003"}
    bad = check(*args, "--rule", "同事")
    assert bad.exit_code == 2 and "--rule" in bad.stderr and "同事" in bad.stderr and "same_unit" in bad.stderr


def test_json_is_the_full_list_whatever_the_summary_shows(big_unit):
    rows = json.loads(check("--project", str(big_unit / "projects.jsonl"), "--review-date", "2025-06-01",
                            "--json").stdout)
    assert len(rows) == 43 and sum(r["rule"] == "same_unit" for r in rows) == 41
