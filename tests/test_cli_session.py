"""`expertpool session …` (cli/session_cmd.py) on the committed sample pool: plan (table and
--json), show and reproduce, list, replace, export, and errors as messages with exit codes."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from expertpool.cli.main import app
from tests.sample_pool import SAMPLES, admin, store, template  # noqa: F401 (fixtures)

runner = CliRunner()
SPEC = str(SAMPLES / "session.toml")


def test_plan_show_reproduce_list(store, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    result = runner.invoke(app, ["session", "plan", SPEC, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"].startswith("SES-20261201-20261201-") and data["status"] == "optimal"
    assert len(data["groups"]) == 3
    for group in data["groups"]:
        assert {"name", "projects", "members", "status"} <= set(group)
        assert {"id", "name", "region", "institution", "probability"} <= set(group["members"][0])
    table = runner.invoke(app, ["session", "plan", SPEC, "--mode", "best", "--dry-run"])
    assert table.exit_code == 0, table.output
    assert "各组概况（3 组）" in table.stdout and "生物医药组" in table.stdout and "（未保存）" in table.stdout
    shown = runner.invoke(app, ["session", "show", data["id"], "--reproduce"])
    assert shown.exit_code == 0 and "一致" in shown.stdout
    one = runner.invoke(app, ["session", "show", data["id"], "--group", "新材料组"])
    member = data["groups"][2]["members"][0]["id"]
    assert member in one.stdout and data["groups"][1]["members"][0]["id"] not in one.stdout
    listed = runner.invoke(app, ["session", "list", "--json"])
    assert [s["id"] for s in json.loads(listed.stdout)] == [data["id"]]
    assert "评审会（1）" in runner.invoke(app, ["session", "list"]).stdout


def test_replace_and_export(store, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    data = json.loads(runner.invoke(app, ["session", "plan", SPEC, "--mode", "best", "--json"]).stdout)
    group = next(g for g in data["groups"] if g["backups"] or any(g["replacements"].values()))
    member = next(m["id"] for m in group["members"] if group["backups"] or group["replacements"].get(m["id"]))
    replaced = runner.invoke(app, ["session", "replace", data["id"], member, "--reason", "本人回避", "--json"])
    assert replaced.exit_code == 0, replaced.output
    doc = json.loads(replaced.stdout)
    assert doc["replaced"][-1]["out"] == member and doc["replaced"][-1]["group"] == group["name"]
    out = tmp_path / "评审会.xlsx"
    exported = runner.invoke(app, ["session", "export", data["id"], "--out", str(out)])
    assert exported.exit_code == 0 and out.exists()
    no_reason = runner.invoke(app, ["session", "replace", data["id"], member])
    assert no_reason.exit_code == 2


def test_errors_are_messages_with_exit_codes(store, monkeypatch, tmp_path):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    missing = runner.invoke(app, ["session", "show", "SES-404"])
    assert missing.exit_code == 1 and "SES-404" in missing.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('review_date = 2026-12-01\nprojects = "p.jsonl"\ngroups = 2\ngroup_by = "地区"\n', encoding="utf-8")
    wrong = runner.invoke(app, ["session", "plan", str(bad)])
    assert wrong.exit_code == 2 and "bad.toml" in wrong.stderr and "group_by" in wrong.stderr
    assert "Traceback" not in wrong.output
    too_many = runner.invoke(app, ["session", "plan", SPEC, "--groups", "30", "--dry-run"])
    assert too_many.exit_code == 2 and "多于申报项目数" in too_many.stderr
    reader = runner.invoke(app, ["session", "plan", SPEC], env={"EXPERTPOOL_DB": str(store.path),
                                                                "EXPERTPOOL_USER": "nobody"})
    assert reader.exit_code == 3
