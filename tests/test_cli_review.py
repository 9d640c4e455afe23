"""`expertpool panel invite | respond | confirm | unseal | evaluate | export` (cli/review_cmd.py,
cli/panel_cmd.py): the review after the draw through the commands, and each bad input as a
message with its documented exit code (2 bad input, 3 permission denied, 1 general)."""
from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.services.access import actor_for
from expertpool.services.panels import build_panel, load_panel
from tests.sample_pool import SAMPLES, admin, spec, store, template  # noqa: F401 (fixtures)
from tests.smtp_helpers import free_port, smtp_env, smtp_server  # noqa: F401 (fixture)

runner = CliRunner()


@pytest.fixture
def env(store, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    for var in ("EXPERTPOOL_SMTP_HOST", "EXPERTPOOL_SMTP_PORT"):
        monkeypatch.delenv(var, raising=False)
    store.set_roles("officer", ["program_officer"])
    store.set_roles("witness", ["supervisor"])
    store.set_roles("auditor", ["reviewer"])

    def run(user: str, *args: str):
        monkeypatch.setenv("EXPERTPOOL_USER", user)
        return runner.invoke(app, list(args))
    return run


@pytest.fixture
def panel_id(store, admin):
    officer = actor_for(store, "officer") if "officer" in store.get_roles() else admin
    return build_panel(store, officer, spec(mode="best", seed=5, place="重庆市科技会堂")).panel_id


def test_invite_by_phone_respond_and_automatic_replacement(env, store, panel_id):
    invited = env("officer", "panel", "invite", panel_id, "--json")
    assert invited.exit_code == 0, invited.output
    report = json.loads(invited.stdout)
    assert report["state"] == "邀请中" and len(report["by_phone"]) == 15 and not report["emailed"]
    entry = report["call_list"][0]
    assert entry["phone"] and "*" not in entry["phone"]      # officers see contacts in full
    record = load_panel(store, None, panel_id)
    # the member with the most qualified replacements (only qualified experts may take a seat)
    member = max(record.member_ids(), key=lambda m: len(record.replacements.get(m, [])))
    declined = env("officer", "panel", "respond", panel_id, member, "拒绝", "--reason", "出差", "--json")
    assert declined.exit_code == 0, declined.output
    outcome = json.loads(declined.stdout)
    assert outcome["replaced"] and outcome["substitute_invited"] == "电话"
    after = load_panel(store, None, panel_id)
    assert member not in after.member_ids() and after.replaced[-1].automatic
    assert [e.action for e in store.iter_audit()][-2:] == ["panel.respond", "panel.replace"]
    shown = env("officer", "panel", "show", panel_id)
    assert "邀请状态：邀请中" in shown.stdout and "自动补抽" in shown.stdout

    # bad input: not a member (2), a second answer (2), an unknown answer (2), not yet invited (2)
    outsider = next(e.id for e in store.iter_experts() if e.id not in record.member_ids())
    result = env("officer", "panel", "respond", panel_id, outsider, "接受")
    assert result.exit_code == 2 and "不是评审专家组" in result.stderr
    result = env("officer", "panel", "respond", panel_id, member, "接受")
    assert result.exit_code == 2 and "已被替换" not in result.stderr and "不是" in result.stderr
    other = next(m for m in after.member_ids() if m != after.replaced[-1].in_)
    assert env("officer", "panel", "respond", panel_id, other, "接受").exit_code == 0
    result = env("officer", "panel", "respond", panel_id, other, "拒绝")
    assert result.exit_code == 2 and "已答复「接受」" in result.stderr
    result = env("officer", "panel", "respond", panel_id, other, "也许")
    assert result.exit_code == 2 and "未知的答复" in result.stderr
    newcomer = after.replaced[-1].in_
    # the substitute was invited by phone, so it may answer; three unanswered calls open the seat
    for _ in range(3):
        assert env("officer", "panel", "respond", panel_id, newcomer, "未接通").exit_code == 0
    assert newcomer not in load_panel(store, None, panel_id).member_ids()
    # a reviewer may not record answers (3)
    assert env("auditor", "panel", "respond", panel_id, other, "接受").exit_code == 3


def test_supervisor_confirm_and_unseal_rules(env, store, admin):
    import datetime as dt

    officer = actor_for(store, "officer")
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)
    sealed = build_panel(store, officer, spec(), sealed_until=until).panel_id
    # the officer may not confirm (no role: 3); a supervisor may not confirm their own draw (3)
    assert env("officer", "panel", "confirm", sealed).exit_code == 3
    store.set_roles("officer", ["program_officer", "supervisor"])
    own = env("officer", "panel", "confirm", sealed)
    assert own.exit_code == 3 and "不能同时作为监督人" in own.stderr
    ok = env("witness", "panel", "confirm", sealed, "--note", "过程规范")
    assert ok.exit_code == 0 and "witness" in ok.stdout
    again = env("witness", "panel", "confirm", sealed)
    assert again.exit_code == 2 and "不能重复确认" in again.stderr
    # sealed: show gives counts only, export and reproduce are refused (3)
    shown = env("officer", "panel", "show", sealed)
    assert "名单密封至" in shown.stdout and "成员（" not in shown.stdout
    assert env("officer", "panel", "export", sealed, "--out", str(store.path.parent / "x.xlsx")).exit_code == 3
    assert env("officer", "panel", "show", sealed, "--reproduce").exit_code == 3
    # invitations of a sealed panel need e-mail (2); expert ids are not accepted (2)
    no_mail = env("officer", "panel", "invite", sealed)
    assert no_mail.exit_code == 2 and "电子邮件" in no_mail.stderr
    member = load_panel(store, None, sealed, open_sealed=True).members[0].id
    assert env("officer", "panel", "respond", sealed, member, "接受").exit_code == 2
    # unsealing: not without the role (3), not without a reason (2), then audited
    store.set_roles("officer", ["program_officer"])
    assert env("officer", "panel", "unseal", sealed, "--reason", "提前").exit_code == 3
    assert env("witness", "panel", "unseal", sealed, "--reason", " ").exit_code == 2
    opened = env("witness", "panel", "unseal", sealed, "--reason", "评审提前一天", "--json")
    assert opened.exit_code == 0, opened.output
    assert [m["id"] for m in json.loads(opened.stdout)["members"]] == load_panel(store, None, sealed).member_ids()
    entry = [e for e in store.iter_audit() if e.action == "panel.unseal"][-1]
    assert entry.user == "witness" and "评审提前一天" in entry.reason
    # --seed and --sealed-until together (2); a sealed best-mode draw (2)
    both = env("officer", "panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--seed", "7",
               "--sealed-until", "2099-01-01 08:00")
    assert both.exit_code == 2 and "--seed" in both.stderr
    best = env("officer", "panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--mode", "best",
               "--sealed-until", "2099-01-01 08:00")
    assert best.exit_code == 2 and "随机抽取" in best.stderr
    past = env("officer", "panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--sealed-until", "2020-01-01")
    assert past.exit_code == 2 and "已过" in past.stderr


def test_unknown_template_placeholders_are_refused(env, store, panel_id, tmp_path, monkeypatch):
    template = tmp_path / "letter.txt"
    template.write_text("主题：评审邀请 {评审名称}\n{专家姓名}：请于{评审日期}到{会场}，同组专家有{其他专家}。\n",
                        encoding="utf-8")
    config = tmp_path / "invitation.toml"
    config.write_text(f'max_unanswered = 2\ntemplate = "{template.name}"\n', encoding="utf-8")
    monkeypatch.setenv("EXPERTPOOL_INVITATION_CONFIG", str(config))
    result = env("officer", "panel", "invite", panel_id)
    assert result.exit_code == 2
    assert "letter.txt" in result.stderr and "{会场}" in result.stderr and "{其他专家}" in result.stderr
    assert not load_panel(store, None, panel_id).invitations   # nothing recorded
    # a template that is a directory, or missing: bad input naming it (never a storage failure)
    for name in (".", "missing.txt"):
        config.write_text(f'template = "{name}"\n', encoding="utf-8")
        result = env("officer", "panel", "invite", panel_id)
        assert result.exit_code == 2 and "邀请邮件模板" in result.stderr and "Traceback" not in result.output


def test_smtp_refusing_or_timing_out_leaves_the_panel_retryable(env, store, panel_id, smtp_server, monkeypatch):
    # a port nobody listens on: every e-mail fails, the panel records it, exit 1
    smtp_env(monkeypatch, free_port())
    refused = env("officer", "panel", "invite", panel_id, "--json")
    assert refused.exit_code == 1
    report = json.loads(refused.stdout)
    assert report["failed"] and not report["emailed"] and "无法连接邮件服务器" in next(iter(report["failed"].values()))
    record = load_panel(store, None, panel_id)
    assert {e.action for e in record.invitations} <= {"发送失败", "邀请"}
    # a server that accepts the connection but never answers: a timeout, nothing hangs
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        smtp_env(monkeypatch, silent.getsockname()[1], timeout="1")
        timed_out = env("officer", "panel", "invite", panel_id, "--json")
    assert timed_out.exit_code == 1 and "超时" in json.dumps(json.loads(timed_out.stdout)["failed"], ensure_ascii=False)
    # the real server, refusing one mailbox: the others are sent, that one stays retryable
    members = load_panel(store, None, panel_id).members
    addresses = [store.get_expert(m.id).email for m in members if store.get_expert(m.id).email]
    smtp_server.refuse = {addresses[0]}
    smtp_env(monkeypatch, smtp_server.port)
    partly = env("officer", "panel", "invite", panel_id, "--json")
    assert partly.exit_code == 1
    report = json.loads(partly.stdout)
    assert len(report["emailed"]) == len(addresses) - 1 and len(report["failed"]) == 1
    reason = next(iter(report["failed"].values()))
    assert "拒收" in reason and addresses[0] not in reason and addresses[0] not in partly.stderr
    smtp_server.refuse = set()
    retried = env("officer", "panel", "invite", panel_id, "--json")
    assert retried.exit_code == 0, retried.output
    assert len(json.loads(retried.stdout)["emailed"]) == 1
    assert len(smtp_server.messages) == len(addresses)   # every member with an address: exactly once
    monkeypatch.setenv("EXPERTPOOL_SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("EXPERTPOOL_SMTP_USER", "sender")
    result = env("officer", "panel", "invite", panel_id)   # nothing left to send; the secret is never printed
    assert "s3cret-pw" not in result.output


def test_evaluate_and_export_commands(env, store, admin, tmp_path):
    import datetime as dt

    officer = actor_for(store, "officer")
    today = dt.date.today()
    # evaluations are of reviews that took place: one held yesterday, one a month ahead
    panel_id = build_panel(store, officer, spec(mode="best", seed=5, review_date=today - dt.timedelta(days=1))).panel_id
    ahead = build_panel(store, officer, spec(mode="best", seed=5, review_date=today + dt.timedelta(days=30))).panel_id
    early_member = load_panel(store, None, ahead).members[0].id
    early = env("officer", "panel", "evaluate", ahead, early_member, "--attended", "--score", "4")
    assert early.exit_code == 2 and "之前不能评价" in early.stderr
    record = load_panel(store, None, panel_id)
    # the member with the most qualified replacements (only qualified experts may take a seat)
    member = max(record.member_ids(), key=lambda m: len(record.replacements.get(m, [])))
    assert env("officer", "panel", "evaluate", panel_id, member).exit_code == 2           # neither flag
    assert env("officer", "panel", "evaluate", panel_id, member, "--attended").exit_code == 2   # no score
    assert env("officer", "panel", "evaluate", panel_id, member, "--attended", "--score", "9").exit_code == 2
    assert env("officer", "panel", "evaluate", panel_id, member, "--absent", "--score", "3").exit_code == 2
    ok = env("officer", "panel", "evaluate", panel_id, member, "--attended", "--score", "4", "--note", "认真")
    assert ok.exit_code == 0, ok.output
    assert env("officer", "panel", "evaluate", panel_id, member, "--attended", "--score", "4").exit_code == 2
    shown = env("officer", "show", member)
    assert "专家评价" in shown.stdout and "评分 4" in shown.stdout
    for fmt in ("xlsx", "pdf", "csv"):
        out = tmp_path / f"sheet.{fmt}"
        exported = env("witness", "panel", "export", panel_id, "--format", fmt, "--out", str(out))
        assert exported.exit_code == 0, exported.output
        assert out.exists() and "审计锚点" in exported.stdout
    assert env("witness", "panel", "export", panel_id, "--out", str(tmp_path / "sheet.docx")).exit_code == 2
    assert env("auditor", "panel", "export", panel_id, "--out", str(tmp_path / "a.csv")).exit_code == 3
