"""CLI: `integrity`, `roles`, `audit`, and what each role may do and see, through typer's runner
(and real processes for the concurrent amend)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.services.integrity import add_record
from expertpool.stores.sqlite import SQLiteStore
from tests.access_helpers import ADMIN, NOBODY, OFFICER, REVIEWER, seed, sql
from tests.helpers import expert_row, id_number, write_csv

runner = CliRunner()
REPO = Path(__file__).parents[1]


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    """A store with three experts and one user per role; EXPERTPOOL_DB points at it."""
    path = tmp_path / "pool.sqlite3"
    store = SQLiteStore(path)
    seed(store)
    store.close()
    monkeypatch.setenv("EXPERTPOOL_DB", str(path))
    monkeypatch.delenv("EXPERTPOOL_USER", raising=False)
    return path


def run(user: str, *args: str):
    return runner.invoke(app, list(args), env={"EXPERTPOOL_USER": user})


def ok(user: str, *args: str):
    result = run(user, *args)
    assert result.exit_code == 0, result.output
    return result


def as_json(user: str, *args: str):
    return json.loads(ok(user, *args, "--json").stdout)


def snapshot(path: Path) -> dict:
    store = SQLiteStore(path)
    try:
        integrity = list(store.iter_integrity())
        return {"experts": [e.model_dump() for e in store.iter_experts()],
                "integrity": [r.model_dump() for r in integrity],
                "versions": {r.id: len(store.integrity_versions(r.id)) for r in integrity},
                "audit": [a.model_dump() for a in store.iter_audit()],
                "roles": store.get_roles()}
    finally:
        store.close()


ADD = ("integrity", "add", "SC-000001", "--category", "抄袭剽窃", "--severity", "一般", "--start", "2026-01-01",
       "--end", "2027-01-01", "--issuer", "重庆市科学技术局", "--doc-no", "渝科监〔2025〕8号",
       "--reason", "依据处理决定录入")


# ---- integrity: add, amend, revoke, list, show ----
def test_add_amend_revoke_list_show(db):
    added = as_json(REVIEWER, *ADD, "--sanction", "取消评审专家资格", "--sanction", "通报批评",
                    "--decision-date", "2025年12月1日")
    record = added["record"]
    assert record["id"] == "IR-2026-000001" and record["version"] == 1 and record["entered_by"] == REVIEWER
    assert record["sanctions"] == ["取消评审专家资格", "通报批评"] and record["decision_date"] == "2025-12-01"
    amended = as_json(REVIEWER, "integrity", "amend", "IR-2026-000001", "--end", "2026/7/1", "--severity", "较重",
                      "--expected-version", "1", "--reason", "复核")
    assert (amended["record"]["end"], amended["record"]["version"], amended["previous_version"]) == ("2026-07-01", 2, 1)
    permanent = as_json(REVIEWER, "integrity", "amend", "IR-2026-000001", "--permanent", "--reason", "改为永久")
    assert permanent["record"]["end"] is None
    listed = as_json(OFFICER, "integrity", "list", "--expert", "SC-000001", "--active-on", "2030-01-01")
    assert [(r["id"], r["bars_review"]) for r in listed] == [("IR-2026-000001", True)]
    revoked = as_json(REVIEWER, "integrity", "revoke", "IR-2026-000001", "--reason", "决定被撤销")
    assert revoked["record"]["status"] == "revoked"
    assert as_json(OFFICER, "integrity", "list", "--active-on", "2030-01-01") == []
    assert [r["status"] for r in as_json(OFFICER, "integrity", "list", "--status", "已撤销")] == ["revoked"]
    shown = as_json(OFFICER, "integrity", "show", "IR-2026-000001")
    assert [v["version"] for v in shown["versions"]] == [1, 2, 3, 4]
    assert [a["action"] for a in shown["audit"]] == ["integrity.add", "integrity.amend", "integrity.amend",
                                                     "integrity.revoke"]
    assert [a["reason"] for a in shown["audit"]][-1] == "决定被撤销"


def test_human_output(db):
    added = ok(REVIEWER, *ADD)
    assert "已录入科研诚信记录 IR-2026-000001" in added.stdout and "渝科监〔2025〕8号" in added.stdout
    amended = ok(REVIEWER, "integrity", "amend", "IR-2026-000001", "--severity", "严重", "--reason", "r")
    assert "版本 1 → 2" in amended.stdout and "一般 → 严重" in amended.stdout
    listed = ok(OFFICER, "integrity", "list")
    assert "IR-2026-000001" in listed.stdout and "严重" in listed.stdout
    shown = ok(REVIEWER, "integrity", "show", "IR-2026-000001")
    assert "历史版本（2）" in shown.stdout and "integrity.amend" in shown.stdout


@pytest.mark.parametrize("args, code, message", [
    (("--category", "学术不端"), 2, "--category: 未知的失信行为类型「学术不端」；可选：抄袭剽窃"),
    (("--severity", "特重"), 2, "可选：一般、较重、严重"),
    (("--start", "2026-02-30"), 2, "--start"),
    (("--end", "2025-01-01"), 2, "--end: 处理结束日期 2025-01-01 早于开始日期 2026-01-01"),
    (("--reason", "  "), 2, "--reason"),
])
def test_add_errors_are_one_clear_line(db, args, code, message):
    argv = list(ADD)
    for flag, value in zip(args[::2], args[1::2]):
        argv[argv.index(flag) + 1] = value
    before = snapshot(db)
    result = run(REVIEWER, *argv)
    assert result.exit_code == code and message in result.stderr, result.output
    assert "Traceback" not in result.output and snapshot(db) == before


def test_unknown_expert_and_record(db):
    result = run(REVIEWER, "integrity", "add", "SC-404", "--category", "抄袭剽窃", "--severity", "一般",
                 "--start", "2026-01-01", "--reason", "r")
    assert result.exit_code == 1 and "SC-404" in result.stderr
    result = run(REVIEWER, "integrity", "amend", "IR-404", "--severity", "严重", "--reason", "r")
    assert result.exit_code == 1 and "IR-404" in result.stderr


def test_reason_is_required(db):
    result = run(REVIEWER, "integrity", "revoke", "IR-1")
    assert result.exit_code == 2 and "--reason" in result.output


def test_end_and_permanent_together_is_an_error(db):
    ok(REVIEWER, *ADD)
    result = run(REVIEWER, "integrity", "amend", "IR-2026-000001", "--end", "2028-01-01", "--permanent",
                 "--reason", "r")
    assert result.exit_code == 2 and "--permanent" in result.stderr


def test_a_stale_expected_version_exits_4_and_writes_nothing(db):
    ok(REVIEWER, *ADD)
    ok(ADMIN, "integrity", "amend", "IR-2026-000001", "--severity", "较重", "--reason", "管理员复核")
    before = snapshot(db)
    result = run(REVIEWER, "integrity", "amend", "IR-2026-000001", "--severity", "严重", "--expected-version", "1",
                 "--reason", "r")
    assert result.exit_code == 4
    assert "版本 1" in result.stderr and "版本 2" in result.stderr and "admin" in result.stderr
    assert "没有写入" in result.stderr and snapshot(db) == before


def test_two_processes_amending_at_once_one_gets_exit_4(db):
    ok(REVIEWER, *ADD)
    env = {**os.environ, "EXPERTPOOL_DB": str(db), "EXPERTPOOL_USER": REVIEWER, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "expertpool.cli.main", "integrity", "amend", "IR-2026-000001",
           "--expected-version", "1", "--reason", "并发修改"]
    procs = [subprocess.Popen(cmd + ["--severity", severity], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for severity in ("较重", "严重")]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 4], outcomes
    loser = next(err for code, err in outcomes if code == 4)
    assert "已被修改" in loser and "没有写入" in loser
    state = snapshot(db)
    assert state["versions"] == {"IR-2026-000001": 2}
    assert [a["action"] for a in state["audit"]].count("integrity.amend") == 1


# ---- roles: refusals change nothing, exit 3 ----
@pytest.mark.parametrize("user, args, what", [
    (REVIEWER, ("import", "{csv}"), "导入数据"),
    (OFFICER, ("import", "{csv}"), "导入数据"),
    (OFFICER, ADD, "录入科研诚信记录"),
    (NOBODY, ADD, "录入科研诚信记录"),
    (OFFICER, ("integrity", "revoke", "IR-2026-000001", "--reason", "r"), "撤销科研诚信记录"),
    (REVIEWER, ("roles", "grant", REVIEWER, "administrator"), "授予角色"),
    (OFFICER, ("roles", "revoke", ADMIN, "administrator"), "撤销角色"),
    (OFFICER, ("audit", "verify"), "校验审计日志"),
    (OFFICER, ("audit", "log"), "查看审计日志"),
    (NOBODY, ("search", "材料"), "检索专家"),
    (NOBODY, ("integrity", "list"), "查看科研诚信记录"),
])
def test_commands_outside_the_role_are_refused_and_change_nothing(db, tmp_path, user, args, what):
    csv = write_csv(tmp_path / "sc.csv", [expert_row(专家编号="000777", 姓名="赵六", 证件号码=id_number(seq="777"))])
    if args[:2] == ("integrity", "revoke"):
        ok(REVIEWER, *ADD)
    before = snapshot(db)
    result = run(user, *[a.replace("{csv}", str(csv)) for a in args])
    assert result.exit_code == 3, result.output
    assert what in result.stderr and f"用户 {user}" in result.stderr and "roles grant" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(db) == before


def test_roles_grant_list_revoke(db):
    granted = as_json(ADMIN, "roles", "grant", "zhao", "诚信审核员", "--reason", "调入")
    assert granted == {"user": "zhao", "role": "reviewer", "changed": True, "roles": ["reviewer"],
                       "audit_seq": granted["audit_seq"]}
    assert "已拥有" in ok(ADMIN, "roles", "grant", "zhao", "reviewer").stdout
    listed = as_json("zhao", "roles", "list")
    assert listed["users"]["zhao"] == ["reviewer"] and listed["current_user"] == "zhao"
    assert "audit.read" in listed["permissions"]["reviewer"]
    assert "（当前用户）" in ok("zhao", "roles", "list").stdout
    ok(ADMIN, "roles", "revoke", "zhao", "reviewer")
    assert "zhao" not in as_json(ADMIN, "roles", "list")["users"]
    result = run(ADMIN, "roles", "grant", "zhao", "boss")
    assert result.exit_code == 2 and "未知的角色「boss」" in result.stderr


def test_the_last_administrator_stays(db):
    before = snapshot(db)
    result = run(ADMIN, "roles", "revoke", ADMIN, "administrator")
    assert result.exit_code == 2 and "最后一位管理员" in result.stderr and snapshot(db) == before


def test_whoever_creates_a_store_administers_it(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "new.sqlite3"))
    assert ok("lin", "roles", "grant", "lin", "reviewer", "--create").exit_code == 0
    assert as_json("lin", "roles", "list")["users"] == {"lin": ["administrator", "reviewer"]}
    assert run("wang", "audit", "log").exit_code == 3


# ---- masking of personal data by role ----
@pytest.mark.parametrize("user, phone, email, last4", [
    (ADMIN, "13800000001", "zhangwei@scu.edu.cn", "123X"),
    (OFFICER, "13800000001", "zhangwei@scu.edu.cn", "****"),
    (REVIEWER, "138****0001", "z***@scu.edu.cn", "123X"),
])
def test_show_masks_personal_data_by_role(db, user, phone, email, last4):
    data = as_json(user, "show", "SC-000001")
    assert (data["phone"], data["email"], data["id_last4"]) == (phone, email, last4)
    assert "id_hash" not in data


def test_show_is_refused_without_a_role(db):
    result = run(NOBODY, "show", "SC-000001", "--json")
    assert result.exit_code == 3 and result.stdout == ""


# ---- eligibility in show and search ----
def test_show_on_a_date_and_search_eligible_on(db):
    ok(REVIEWER, *ADD)  # SC-000001 barred 2026-01-01 ≤ day < 2027-01-01, by a 重庆 decision
    ok(REVIEWER, "integrity", "add", "CQ-000002", "--category", "伪造篡改", "--severity", "严重", "--start",
       "2026-06-01", "--issuer", "四川省科学技术厅", "--reason", "永久取消")
    day = lambda d: as_json(OFFICER, "show", "SC-000001", "--on", d)  # noqa: E731
    assert (day("2025-12-31")["eligible"], day("2025-12-31")["barred_by"]) == (True, [])
    assert (day("2026-01-01")["eligible"], day("2026-01-01")["barred_by"]) == (False, ["IR-2026-000001"])
    assert day("2027年1月1日")["eligible"] is True
    assert as_json(OFFICER, "show", "CQ-000002", "--on", "2099-01-01")["barred_by"] == ["IR-2026-000002"]

    def ids(*args):
        return [h["id"] for h in as_json(OFFICER, "search", "", *args)["hits"]]
    assert ids() == ["CQ-000002", "SC-000001", "SC-000003"]
    assert ids("--eligible-on", "2025-12-31") == ["CQ-000002", "SC-000001", "SC-000003"]
    assert ids("--eligible-on", "2026-03-01") == ["CQ-000002", "SC-000003"]
    assert ids("--eligible-on", "2026/6/1") == ["SC-000003"]
    assert ids("--eligible-on", "2026-06-01", "--region", "重庆") == []
    assert "已排除" in ok(OFFICER, "search", "", "--eligible-on", "2026-06-01").stdout
    result = run(OFFICER, "search", "", "--eligible-on", "someday")
    assert result.exit_code == 2 and "--eligible-on" in result.stderr


# ---- bulk import of integrity records ----
def test_bulk_import_of_integrity_records_is_audited(db, tmp_path):
    headers = ["记录编号", "专家编号", "失信行为类型", "严重程度", "决定日期", "处理开始日期", "处理结束日期", "处理措施",
               "处理机构", "文号", "状态"]
    path = write_csv(tmp_path / "integrity.csv", [
        {"记录编号": "KJB-2025-01", "专家编号": "CQ-000002", "失信行为类型": "抄袭", "严重程度": "较重",
         "决定日期": "2025/3/5", "处理开始日期": "2025年3月5日", "处理结束日期": "", "处理措施": "取消评审专家资格；通报批评",
         "处理机构": "科技部", "文号": "国科监〔2025〕3号", "状态": "有效"}], headers=headers)
    before = snapshot(db)
    assert run(REVIEWER, "import", str(path), "--kind", "integrity").exit_code == 3
    assert snapshot(db) == before
    ok(ADMIN, "import", str(path), "--kind", "integrity")
    [record] = as_json(REVIEWER, "integrity", "list", "--active-on", "2030-01-01")
    assert (record["id"], record["end"], record["entered_by"]) == ("KJB-2025-01", None, ADMIN)
    [entry] = as_json(REVIEWER, "audit", "log", "--action", "import.integrity")
    assert (entry["user"], entry["role"], entry["target"], entry["after"]["imported"]) == (
        ADMIN, "administrator", "integrity.csv", 1)
    assert as_json(ADMIN, "show", "CQ-000002", "--on", "2026-01-01")["barred_by"] == ["KJB-2025-01"]


# ---- audit log and verify ----
def test_audit_log_and_verify(db):
    ok(REVIEWER, *ADD)
    ok(REVIEWER, "integrity", "amend", "IR-2026-000001", "--severity", "较重", "--reason", "复核")
    entries = as_json(REVIEWER, "audit", "log", "--expert", "SC-000001", "--action", "integrity")
    assert [(e["action"], e["user"], e["role"], e["reason"]) for e in entries] == [
        ("integrity.add", REVIEWER, "reviewer", "依据处理决定录入"), ("integrity.amend", REVIEWER, "reviewer", "复核")]
    assert entries[1]["before"]["severity"] == "一般" and entries[1]["after"]["severity"] == "较重"
    assert as_json(REVIEWER, "audit", "log", "--since", "2099-01-01") == []
    table = ok(REVIEWER, "audit", "log")
    assert "integrity.amend" in table.stdout and "较重" in table.stdout
    verified = as_json(REVIEWER, "audit", "verify")
    assert verified["ok"] is True and verified["entries"] == 6  # the seed's 4, the add and the amend
    text = ok(ADMIN, "audit", "verify").stdout
    assert "审计日志完好" in text and f"6:{verified['head_hash']}" in text
    ok(ADMIN, "audit", "verify", "--anchor", f"6:{verified['head_hash']}")


def test_verify_after_tampering_names_the_entry_and_exits_1(db):
    ok(REVIEWER, *ADD)
    ok(REVIEWER, "integrity", "amend", "IR-2026-000001", "--severity", "较重", "--reason", "复核")
    sql(db, "UPDATE audit SET doc = replace(doc, '复核', '无') WHERE seq = 6")
    result = run(REVIEWER, "audit", "verify")
    assert result.exit_code == 1 and "第 6 条" in result.stderr and "篡改" in result.stderr
    data = json.loads(run(REVIEWER, "audit", "verify", "--json").stdout)
    assert data["ok"] is False and data["first_bad_seq"] == 6
    sql(db, "DELETE FROM audit WHERE seq = 2")
    result = run(ADMIN, "audit", "verify")
    assert result.exit_code == 1 and "第 2 条缺失" in result.stderr


def test_verify_names_an_integrity_record_edited_in_the_table(db):
    ok(REVIEWER, *ADD)
    sql(db, "UPDATE integrity SET doc = json_set(doc, '$.end', NULL) WHERE id = 'IR-2026-000001'")
    result = run(REVIEWER, "audit", "verify")
    assert result.exit_code == 1, result.output
    assert "诚信记录 IR-2026-000001（版本 1）的内容与审计日志第 5 条写入时不符" in result.stderr
    data = json.loads(run(REVIEWER, "audit", "verify", "--json").stdout)
    assert data["ok"] is False and data["first_bad_seq"] == 5 and data["problem_count"] == 1


def test_verify_with_a_bad_anchor_flag(db):
    result = run(ADMIN, "audit", "verify", "--anchor", "nonsense")
    assert result.exit_code == 2 and "--anchor" in result.stderr


# ---- help ----
@pytest.mark.parametrize("command", [
    ("integrity", "add"), ("integrity", "amend"), ("integrity", "revoke"), ("integrity", "list"),
    ("integrity", "show"), ("roles", "list"), ("roles", "grant"), ("roles", "revoke"),
    ("audit", "log"), ("audit", "verify"),
])
def test_every_command_has_chinese_help_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Example: expertpool " + " ".join(command) in result.stdout
    first_line = next(line for line in result.stdout.splitlines()[1:] if line.strip())
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first_line), first_line
    for group in ("integrity", "roles", "audit"):
        assert runner.invoke(app, [group, "--help"]).exit_code == 0


def test_library_set_up_then_cli_reads(db):
    """State made through the library is what the CLI shows (the two share one store)."""
    store = SQLiteStore(db)
    try:
        from expertpool.services.access import actor_for
        add_record(store, actor_for(store, REVIEWER), "SC-000003", category="署名不当", severity="一般",
                   start="2026-01-01", reason="r", record_id="LIB-1")
    finally:
        store.close()
    assert [r["id"] for r in as_json(REVIEWER, "integrity", "list", "--expert", "CQ-000099")] == ["LIB-1"]
