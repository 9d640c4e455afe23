"""`expertpool panel …` (cli/panel_cmd.py) on the committed sample pool: build, show, reproduce,
the summary table, and errors as messages with exit codes."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.domain.panel.record import PanelRecord
from expertpool.services.panels import build_panel
from tests.access_helpers import sql
from tests.sample_pool import SAMPLES, admin, spec, store, template  # noqa: F401 (fixtures)

runner = CliRunner()


def test_cli_build_show_reproduce(store, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    result = runner.invoke(app, ["panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"status", "members", "backups", "exclusions", "seed", "diagnosis"} <= set(data)
    assert {"id", "name", "region", "institution", "title", "fields", "probability"} <= set(data["members"][0])
    shown = runner.invoke(app, ["panel", "show", data["id"], "--reproduce"])
    assert shown.exit_code == 0 and "一致" in shown.stdout
    table = runner.invoke(app, ["panel", "show", data["id"]])
    assert "领域 × 地区" in table.stdout and data["members"][0]["id"] in table.stdout
    infeasible = runner.invoke(app, ["panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--size", "3"])
    assert infeasible.exit_code == 1 and "无法同时满足" in infeasible.stdout
    even = runner.invoke(app, ["panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--size", "16", "--dry-run"])
    assert "偶数" in even.stderr
    missing = runner.invoke(app, ["panel", "show", "PNL-404"])
    assert missing.exit_code == 1 and "PNL-404" in missing.stderr


def test_without_universal_backups_the_summary_lists_each_members_replacements(store, admin, capsys):
    """With every field covered once, often nobody can replace ANY member; the summary must then
    say so and show each member's own replacements instead of printing nothing."""
    from expertpool.cli.panel_cmd import render_panel

    doc = build_panel(store, admin, spec(mode="best", seed=7), save=False).document
    assert any(doc["replacements"].values())
    render_panel(PanelRecord.from_document({**doc, "backups": []}))
    shown = capsys.readouterr().out
    assert "没有能替换任一成员的通用备选" in shown and "专属替补" in shown
    member, replacements = next((m, r) for m, r in doc["replacements"].items() if r)
    assert member in shown and replacements[0] in shown


def test_cli_list_replace_and_export(store, admin, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    doc = build_panel(store, admin, spec(mode="best", seed=3)).document
    listed = runner.invoke(app, ["panel", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [p["id"] for p in json.loads(listed.stdout)] == [doc["id"]]
    table = runner.invoke(app, ["panel", "list"]).stdout
    assert "评审专家组（1）" in table and "择优抽取" in table and "best" not in table  # the mode in Chinese
    member = next(m for m, r in doc["replacements"].items() if r)  # one with a qualified replacement
    replaced = runner.invoke(app, ["panel", "replace", doc["id"], member, "--reason", "本人回避", "--json"])
    assert replaced.exit_code == 0, replaced.output
    record = json.loads(replaced.stdout)
    assert record["replaced"][-1]["out"] == member and record["schema_version"] == 3
    shown = runner.invoke(app, ["panel", "show", doc["id"]])
    assert f"替换记录：{member} →" in shown.stdout
    assert "方式 择优抽取" in shown.stdout and "求解状态 最优" in shown.stdout and "optimal" not in shown.stdout
    exported = runner.invoke(app, ["panel", "export", doc["id"], "--out", str(tmp_path / "panel.csv")])
    assert exported.exit_code == 0 and (tmp_path / "panel.csv").exists()


# ---- a panel without projects must be asked for, and says so ----
def test_a_panel_drawn_without_projects_says_so_on_screen(store, admin, capsys):
    from expertpool.cli.panel_cmd import render_panel

    render_panel(build_panel(store, admin, spec(projects=[], no_projects=True, mode="best"), save=False).record)
    assert "未做利益冲突审查" in capsys.readouterr().out
    render_panel(build_panel(store, admin, spec(mode="best"), save=False).record)
    assert "未做利益冲突审查" not in capsys.readouterr().out


def test_cli_panel_build_without_projects(store, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    bare = runner.invoke(app, ["panel", "build", "--review-date", "2026-12-01"])
    assert bare.exit_code == 2 and "--no-projects" in bare.stderr and "利益冲突" in bare.stderr
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    assert runner.invoke(app, ["panel", "build", "--spec", str(empty)]).exit_code == 2
    asked = runner.invoke(app, ["panel", "build", "--review-date", "2026-12-01", "--size", "11", "--mode", "best",
                                "--no-projects"])
    assert asked.exit_code == 0, asked.output
    assert "未做利益冲突审查" in asked.stdout
    both = runner.invoke(app, ["panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--no-projects"])
    assert both.exit_code == 2 and "--no-projects" in both.stderr


# ---- the record sheet is an anchor for audit verify ----
def test_an_exported_sheet_is_an_anchor_for_verify(store, admin, tmp_path, monkeypatch):
    from expertpool.services.record_sheet import export_record_sheet

    drawn = build_panel(store, admin, spec(mode="best", seed=5))
    sheet = export_record_sheet(store, admin, drawn.panel_id, tmp_path / "专家组.xlsx").path
    export = list(store.iter_audit())[-1]
    assert export.action == "panel.export" and export.after == {"file": "专家组.xlsx", "format": "xlsx", "members": 15}
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    fine = runner.invoke(app, ["audit", "verify", "--anchors", str(sheet)])
    assert fine.exit_code == 0 and "核对锚点 2 个" in fine.stdout, fine.output  # the panel's and the sheet's
    sql(store.path, "DELETE FROM audit WHERE seq >= ?", (export.seq,))  # the export entry is gone; the panel's own anchor still holds …
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    cut = runner.invoke(app, ["audit", "verify", "--anchors", str(sheet)])  # … the sheet's does not
    assert cut.exit_code == 1 and "专家组.xlsx" in cut.stderr and f"第 {export.seq} 条" in cut.stderr
    plain = tmp_path / "notes.txt"
    plain.write_text("no anchors", encoding="utf-8")
    assert runner.invoke(app, ["audit", "verify", "--anchors", str(plain)]).exit_code == 2
