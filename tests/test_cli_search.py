"""CLI: import → search → show → stats through typer's runner; errors are messages, not tracebacks."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from tests.helpers import expert_row, id_number, write_csv

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "pool.sqlite3"))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    return tmp_path


@pytest.fixture
def pool(env):
    rows = [
        expert_row(),
        expert_row(专家编号="000002", 姓名="李娜", 专业领域="人工智能", 研究方向="知识图谱与大语言模型在工业中的应用",
                   关键词="知识图谱、大语言模型", 人才称号="", 证件号码=id_number(seq="002"), 工作单位="电子科技大学"),
        expert_row(专家编号="000003", 姓名="王强", 所在地区="重庆", **{"市州/区县": "沙坪坝区"}, 工作单位="重庆大学",
                   专业领域="新材料", 研究方向="镁合金的制备", 关键词="镁合金", 人才称号="", 职称="副教授",
                   证件号码=id_number("500106", seq="003")),
    ]
    path = write_csv(env / "sc.csv", rows, encoding="gb18030")
    result = runner.invoke(app, ["import", "--create", str(path)])
    assert result.exit_code == 0, result.output
    return env


def test_import_summary_and_json(env):
    path = write_csv(env / "a.csv", [expert_row(), expert_row(专家编号="000002", 专业领域="量子玄学", 证件号码="")])
    result = runner.invoke(app, ["import", "--create", str(path), "--json"])
    assert result.exit_code == 1  # a row was rejected
    report = json.loads(result.stdout)
    assert report["totals"]["imported"] == 1 and report["totals"]["rejected"] == 1
    [reject] = report["rejects"]
    assert {k: reject[k] for k in ("file", "row", "expert_id", "column")} == {
        "file": str(path), "row": 3, "expert_id": "000002", "column": "专业领域"}
    assert reject["reason"].startswith("未知的专业领域「量子玄学」")
    again = runner.invoke(app, ["import", str(path)])
    assert "未变" in again.stdout and again.exit_code == 1


def test_reimport_says_nothing_changed(pool):
    result = runner.invoke(app, ["import", str(pool / "sc.csv")])
    assert result.exit_code == 0
    assert "未作任何更改" in result.stdout


def test_search_ranks_and_filters(pool):
    result = runner.invoke(app, ["search", "钒钛新材料", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["id"] == "000001"
    assert {"id", "name", "region", "institution", "title", "fields", "score", "matched", "unmatched"} <= set(hits[0])
    result = runner.invoke(app, ["search", "制备", "--region", "渝", "--json"])
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["000003"]
    result = runner.invoke(app, ["search", "", "--field", "AI", "--json"])
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["000002"]


def test_search_table_output(pool):
    result = runner.invoke(app, ["search", "知识图谱"])
    assert result.exit_code == 0 and "李娜" in result.stdout


def test_unknown_filter_value_is_a_clear_error(pool):
    result = runner.invoke(app, ["search", "材料", "--field", "量子玄学"])
    assert result.exit_code == 2
    assert "--field" in result.stderr and "量子玄学" in result.stderr
    assert "Traceback" not in result.output


def test_show_and_stats(pool):
    result = runner.invoke(app, ["show", "000001", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["name"] == "张伟" and data["eligible"] is True and data["barred_by"] == []
    assert "id_hash" not in data
    missing = runner.invoke(app, ["show", "SC-404"])
    assert missing.exit_code == 1 and "SC-404" in missing.stderr
    stats = runner.invoke(app, ["stats", "--json"])
    data = json.loads(stats.stdout)
    assert data["total"] == 3 and data["region_field"]["重庆"]["新材料"] == 1
    table = runner.invoke(app, ["stats"])
    assert table.exit_code == 0 and "新一代信息技术" in table.stdout


def test_missing_file_is_a_clear_error(env):
    result = runner.invoke(app, ["import", "--create", str(env / "nope.csv")])
    assert result.exit_code == 2  # bad input: the file named cannot be read
    assert "nope.csv" in result.output and "不存在" in result.output
    assert "Traceback" not in result.output


def test_every_command_has_help():
    assert runner.invoke(app, ["--help"]).exit_code == 0
    for command in ("import", "search", "show", "stats", "generate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.stdout, command


def test_index_rebuild_command(pool):
    result = runner.invoke(app, ["index", "rebuild", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["experts"] == 3
    hits = json.loads(runner.invoke(app, ["search", "钒钛新材料", "--json"]).stdout)["hits"]
    assert hits[0]["id"] == "000001"
