"""The invitation rules (domain/panel/invitations.py): member statuses, the panel's state, the
e-mail template's placeholders; and the SMTP settings (notify/email.py) checked before any send."""
from __future__ import annotations

import pytest

from expertpool.config import SmtpConfig
from expertpool.domain.panel import invitations as inv
from expertpool.domain.panel.record import InvitationEvent
from expertpool.errors import InputError
from expertpool.io.datafiles import load_invitation_settings
from expertpool.notify import Notifier
from expertpool.notify.email import SmtpNotifier


def e(expert: str, action: str) -> InvitationEvent:
    return InvitationEvent(expert_id=expert, action=action, at="2026-11-20T09:00:00+00:00", by="officer")


def test_statuses_and_states():
    members = ["A", "B", "C"]
    assert inv.panel_state(members, [], {}, 3).label == inv.PENDING
    log = [e("A", "邀请"), e("B", "邀请"), e("C", "发送失败"), e("A", "接受"), e("B", "未接通"), e("B", "未接通")]
    statuses = inv.member_statuses(members, log, 3)
    assert statuses["A"].answer == "接受" and statuses["B"].unanswered == 2 and not statuses["B"].seat_open
    assert statuses["C"].send_failed and statuses["C"].label == "发送失败"
    assert inv.panel_state(members, log, {}, 3).label == inv.INVITING
    log.append(e("B", "未接通"))
    assert inv.member_statuses(members, log, 3)["B"].seat_open
    assert inv.panel_state(members, log, {}, 3).label == inv.NEEDS_REFILL
    stuck = inv.panel_state(members, log, {"B": "没有能替换 B 的专家"}, 3)
    assert stuck.label == inv.CANNOT_REFILL and stuck.diagnosis == ("没有能替换 B 的专家",)
    done = [e(m, "邀请") for m in members] + [e(m, "接受") for m in members]
    assert inv.panel_state(members, done, {}, 3).label == inv.CONFIRMED
    with pytest.raises(InputError, match="已答复"):
        inv.check_response(inv.member_statuses(members, done, 3)["A"], "拒绝", "A")
    with pytest.raises(InputError, match="尚未邀请"):
        inv.check_response(inv.MemberStatus("Z"), "接受", "Z")


def test_template_placeholders_are_checked_and_filled():
    subject, body = inv.parse_template("主题：{评审名称}邀请\n{专家姓名}老师：{{请勿回复}} 回执码 {回执码}\n", "t.txt")
    letter = inv.render_invitation(subject, body, {"评审名称": "项目评审", "专家姓名": "张伟", "回执码": "ABCD-EFGH"})
    assert letter.subject == "项目评审邀请" and "张伟老师：{请勿回复} 回执码 ABCD-EFGH" in letter.body
    with pytest.raises(InputError, match=r"t.txt.*\{全体成员\}"):
        inv.parse_template("主题：邀请\n{全体成员}\n", "t.txt")
    with pytest.raises(InputError, match="花括号"):
        inv.parse_template("主题：邀请\n{专家姓名\n", "t.txt")
    with pytest.raises(InputError, match="主题"):
        inv.parse_template("邀请\n正文\n", "t.txt")
    shipped = load_invitation_settings()
    assert shipped.max_unanswered == 3 and "{专家姓名}" in shipped.body and "{回执码}" in shipped.body


@pytest.mark.parametrize("changes, flag", [({"security": "tls13"}, "EXPERTPOOL_SMTP_TLS"),
                                           ({"port": "smtp"}, "EXPERTPOOL_SMTP_PORT"),
                                           ({"sender": None}, "EXPERTPOOL_SMTP_SENDER"),
                                           ({"user": "u"}, "EXPERTPOOL_SMTP_USER"),
                                           ({"timeout_s": "-1"}, "EXPERTPOOL_SMTP_TIMEOUT")])
def test_smtp_settings_are_checked_and_the_password_never_shown(changes, flag):
    good = dict(host="mail.example.cn", port="587", sender="评审处 <review@example.cn>")
    notifier = SmtpNotifier(SmtpConfig(**good, user="u", password="s3cret"))
    assert isinstance(notifier, Notifier) and "s3cret" not in repr(notifier) and "s3cret" not in repr(notifier.config)
    with pytest.raises(InputError, match=flag):
        SmtpNotifier(SmtpConfig(**{**good, **changes}))
