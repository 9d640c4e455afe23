"""From draw to signed record (services): one sealed panel walked through invitations by e-mail to
a real local SMTP server, two declines refilled automatically, the supervisor's sign-off, release
at the seal's time, the record sheet as XLSX and PDF, and evaluations. The commands and their bad
input: test_cli_review.py."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import pytest

from expertpool.domain.panel import invitations
from expertpool.errors import InputError, PermissionDenied
from expertpool.notify.email import notifier_from_env
from expertpool.services import sealing
from expertpool.services.access import actor_for
from expertpool.services.evaluations import evaluate_member
from expertpool.services.invitations import ReviewDetails, call_list, invite_panel, respond
from expertpool.services.panel_view import panel_view
from expertpool.services.panels import build_panel, get_panel, load_panel, replace_member
from expertpool.services.profile import expert_profile
from expertpool.services.record_sheet import export_record_sheet
from expertpool.services.supervision import confirm_panel, unseal_panel
from tests.sample_pool import admin, spec, store, template  # noqa: F401 (fixtures)
from tests.smtp_helpers import smtp_env, smtp_server  # noqa: F401 (fixture)

CST = dt.timezone(dt.timedelta(hours=8))
DRAWN_AT = dt.datetime(2026, 11, 20, 9, 0, tzinfo=CST)
RELEASE = dt.datetime(2026, 12, 1, 8, 0, tzinfo=CST)
CODE = re.compile(r"回执码：([A-Z2-9]{4}-[A-Z2-9]{4})")


@pytest.fixture
def people(store, admin):
    store.set_roles("officer", ["program_officer"])
    store.set_roles("witness", ["supervisor"])
    return {"officer": actor_for(store, "officer"), "witness": actor_for(store, "witness"), "admin": admin}


def at(minutes: int) -> dt.datetime:
    return DRAWN_AT + dt.timedelta(minutes=minutes)


def stored_bytes(store, panel_id: str) -> bytes:
    """What someone reading the SQLite file finds about the panel: its row and the audit entries
    about it (the rest of the file holds the whole pool, members or not)."""
    db = sqlite3.connect(store._file)
    try:
        rows = db.execute("SELECT doc FROM panels").fetchall()
        rows += [r for r in db.execute("SELECT doc FROM audit").fetchall() if panel_id in r[0]]
    finally:
        db.close()
    assert len(rows) >= 2
    return "\n".join(r[0] for r in rows).encode()


def test_a_sealed_panel_from_draw_to_evaluation(store, people, smtp_server, monkeypatch, tmp_path):  # noqa: F811
    officer, witness = people["officer"], people["witness"]
    smtp_env(monkeypatch, smtp_server.port)
    # the secret seed of a sealed draw, fixed so this test's panel is the same on every run
    import expertpool.services.panels as panels

    monkeypatch.setattr(panels.secrets, "randbelow", lambda n: 424242)
    notifier = notifier_from_env()

    # 1. the draw, sealed until the review morning: nothing names a member, not even the seed
    outcome = build_panel(store, officer, spec(place="成都市科技会堂301会议室"), now=DRAWN_AT, sealed_until=RELEASE)
    panel_id = outcome.panel_id
    assert outcome.record.members == [] and outcome.record.seal.members == 15 and outcome.record.seed == 0
    full = load_panel(store, officer, panel_id, now=at(1), open_sealed=True)
    drawn = {m.id: m.name for m in full.members}
    assert len(drawn) == 15 and full.seed != spec().seed and full.spec["seed"] == full.seed
    assert "SEALED" in panel_id and str(full.seed) not in panel_id
    raw = stored_bytes(store, panel_id)
    for expert_id, name in drawn.items():
        assert expert_id.encode() not in raw and name.encode() not in raw, expert_id
    assert get_panel(store, officer, panel_id, now=at(1)).members == []
    with pytest.raises(PermissionDenied, match="密封至"):
        export_record_sheet(store, officer, panel_id, tmp_path / "early.xlsx", now=at(1))

    # 2. the supervisor witnesses (the officer who drew may not)
    with pytest.raises(PermissionDenied):
        confirm_panel(store, officer, panel_id, now=at(2))
    confirm_panel(store, witness, panel_id, note="抽取过程规范", now=at(2))

    # 3. invitations by e-mail only, each naming only its recipient, with a reply code
    report = invite_panel(store, officer, panel_id, details=ReviewDetails(reply_by="2026年11月25日", contact="评审处 张老师"),
                          notifier=notifier, now=at(3))
    assert report.sealed and report.call_list == []
    emails = {}
    for expert_id in drawn:
        expert = store.get_expert(expert_id)
        if expert.email:
            emails[expert.email] = expert_id
    received = smtp_server.by_recipient()
    assert set(received) == set(emails) and len(report.emailed) == len(emails)
    codes: dict[str, str] = {}
    for address, message in received.items():
        body = message.get_content()
        me = emails[address]
        assert drawn[me] in body and "成都市科技会堂301会议室" in body and "2026-12-01" in body
        assert not [n for i, n in drawn.items() if i != me and n in body + str(message["Subject"])]
        codes[me] = CODE.search(body).group(1)
    # members without an address: the supervisor's sealed call list (audited), never the officer's
    unreached = [i for i in drawn if i not in codes]
    with pytest.raises(PermissionDenied):
        call_list(store, officer, panel_id, now=at(4))
    for entry in call_list(store, witness, panel_id, now=at(4)):
        assert entry.expert_id in unreached and entry.phone and "*" not in entry.phone
        codes[entry.expert_id] = entry.code
    assert set(codes) == set(drawn)

    # 4. answers by reply code; an expert id is refused while sealed (it would reveal the list)
    # two members whose seats the draw found refillable decline (the others accept below)
    first, second = [m for m in codes if full.replacements.get(m)][:2]
    rest = [m for m in codes if m not in (first, second)]
    with pytest.raises(InputError, match="回执码"):
        respond(store, officer, panel_id, first, "接受", notifier=notifier, now=at(5))
    sent_before = len(smtp_server.messages)
    one = respond(store, officer, panel_id, codes[first], "拒绝", reason="时间冲突", notifier=notifier, now=at(5))
    two = respond(store, officer, panel_id, codes[second], "申报回避", reason="与申报人合作", notifier=notifier, now=at(6))
    assert one.replaced and two.replaced and one.record.members == []
    full = load_panel(store, officer, panel_id, now=at(7), open_sealed=True)
    substitutes = [r.in_ for r in full.replaced]
    assert [r.out for r in full.replaced] == [first, second] and all(r.automatic for r in full.replaced)
    assert not set(substitutes) & set(drawn) and len(full.members) == 15
    with_email = [s for s in substitutes if store.get_expert(s).email]
    assert len(smtp_server.messages) == sent_before + len(with_email)
    sub_codes = {s: full.reply_codes[s] for s in substitutes}
    assert {one.substitute_code, two.substitute_code} == set(sub_codes.values())
    for s in substitutes:
        if s not in with_email:   # reached by the supervisor's call list, like the others
            assert any(e.code == sub_codes[s] for e in call_list(store, witness, panel_id, now=at(7)))
    for expert_id in [*rest, *substitutes]:
        code = codes.get(expert_id) or sub_codes[expert_id]
        respond(store, officer, panel_id, code, "接受", notifier=notifier, now=at(8))
    view = panel_view(store, officer, panel_id, now=at(9))
    assert view.state.label == invitations.CONFIRMED and view.record.members == []
    with pytest.raises(InputError, match="已答复"):
        respond(store, officer, panel_id, sub_codes[substitutes[0]], "拒绝", notifier=notifier, now=at(9))
    raw = stored_bytes(store, panel_id)
    for expert_id in [*drawn, *substitutes]:
        assert expert_id.encode() not in raw

    # 5. released at its time (by whoever reads it first; audited with the members)
    released = get_panel(store, officer, panel_id, now=RELEASE + dt.timedelta(seconds=1))
    assert released.member_ids() == full.member_ids() and released.seal.released
    entry = [e for e in store.iter_audit() if e.action == "panel.unseal"][-1]
    assert entry.after["members"] == full.member_ids() and entry.reason == "到达解封时间"
    with pytest.raises(InputError, match="已于"):
        unseal_panel(store, witness, panel_id, reason="再次", now=RELEASE + dt.timedelta(minutes=1))

    # 6. the record sheet, XLSX and PDF
    after = RELEASE + dt.timedelta(minutes=5)
    xlsx = export_record_sheet(store, officer, panel_id, tmp_path / "记录表.xlsx", now=after)
    pdf = export_record_sheet(store, officer, panel_id, tmp_path / "记录表.pdf", now=after)
    from openpyxl import load_workbook

    ws = load_workbook(xlsx.path)["抽取记录表"]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    from pdfminer.high_level import extract_text

    pdf_text = extract_text(str(pdf.path))
    for content in (text, pdf_text.replace(" ", "")):
        assert "评审专家抽取记录表" in content and "抽取人" in content and "监督人" in content
        assert "officer" in content and "witness" in content and "随机抽取" in content
        assert "时间冲突" in content and "自动补抽" in content
        for expert_id in released.member_ids():
            assert expert_id in content
    assert xlsx.anchor in text and pdf.anchor.split(":")[1] in pdf_text.replace(" ", "").replace("\n", "")
    assert "lottery" not in text and "lottery" not in pdf_text

    # 7. evaluations after the review; the absent one is counted by the policy
    review_day = dt.datetime(2026, 12, 1, 18, tzinfo=CST)
    with pytest.raises(InputError, match="之前不能评价"):
        evaluate_member(store, officer, panel_id, rest[0], attended=True, score=5, now=DRAWN_AT)
    evaluate_member(store, officer, panel_id, rest[0], attended=True, score=5, note="意见中肯", now=review_day)
    evaluate_member(store, officer, panel_id, rest[1], attended=False, now=review_day)
    with pytest.raises(InputError, match="重复"):
        evaluate_member(store, officer, panel_id, rest[1], attended=False, now=review_day)
    view = panel_view(store, officer, panel_id, now=review_day)
    assert view.evaluations[rest[0]].score == 5 and view.evaluations[rest[1]].attendance == "缺席"
    profile = expert_profile(store, rest[1], officer, on="2027-01-01")
    assert any("缺席" in line for line in profile["evaluations"]) and profile["eligible"]


def test_a_seat_that_cannot_be_refilled_says_why(store, people):  # noqa: F811
    officer = people["officer"]
    panel_id = build_panel(store, officer, spec(mode="best", seed=9, place="成都"), now=DRAWN_AT).panel_id
    invite_panel(store, officer, panel_id, now=at(1))
    record = load_panel(store, officer, panel_id)
    # two members with the most qualified replacements (only qualified experts may take a seat)
    first, second = sorted(record.member_ids(), key=lambda m: -len(record.replacements.get(m, [])))[:2]
    # another member sanctioned since the draw: the 补抽 waits for them to be replaced (需补抽)
    from expertpool.services.integrity import add_record

    add_record(store, people["admin"], second, category="抄袭剽窃", severity="严重", start="2026-01-01",
               sanctions=["取消评审专家资格"], reason="通报")
    pending = respond(store, officer, panel_id, first, "拒绝", now=at(2))
    assert not pending.replaced and pending.state.label == invitations.NEEDS_REFILL
    assert second in pending.state.diagnosis[0] and "不符合条件" in pending.state.diagnosis[0]
    replace_member(store, officer, panel_id, second, "诚信处理期内", now=at(3))
    refilled = replace_member(store, officer, panel_id, first, "拒绝后补抽", now=at(4))
    assert first not in refilled.member_ids() and panel_view(store, officer, panel_id).state.label == invitations.INVITING
    # nobody left who may sit: 无法补齐 with the diagnosis
    members = set(refilled.member_ids())
    store.upsert_experts([e.model_copy(update={"status": "暂停"}) for e in store.iter_experts() if e.id not in members])
    invite_panel(store, officer, panel_id, now=at(5))
    third = refilled.member_ids()[2]
    stuck = respond(store, officer, panel_id, third, "申报回避", reason="与申报人同一课题组", now=at(6))
    assert not stuck.replaced and stuck.state.label == invitations.CANNOT_REFILL
    assert "没有能替换" in stuck.unfilled and third in stuck.unfilled
    shown = panel_view(store, officer, panel_id)
    assert shown.state.label == invitations.CANNOT_REFILL and shown.state.diagnosis
