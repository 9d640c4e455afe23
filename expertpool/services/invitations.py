"""After the draw: inviting the members, recording their answers, and refilling open seats (补抽).

`invite_panel` gives every member not yet invited (or whose e-mail failed) a reply code (回执码)
and, where an SMTP server is configured and the member has an address, sends the invitation
e-mail (indexes/invitation.toml and its template); the others are on the call list, which the
program officer phones. `respond` records an answer; a decline, a declared conflict or the
`max_unanswered`-th unanswered call refills the seat at once by `panels.find_substitute` (the
rules of `panel replace`) and invites the substitute. Every step is in the panel's log and the
audit trail.

A sealed panel (`panel build --sealed-until`) is run the way a 抽取 office runs one: invitations go
by e-mail only and name nobody but the recipient; answers are recorded by reply code, which the
expert quotes; the officer's screen shows counts and codes, never a member. Members that e-mail
cannot reach are on a sealed call list only the supervisor (监督人) may open, and each opening is
audited.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from expertpool.domain.panel import invitations
from expertpool.domain.panel.invitations import Invitation, render_invitation
from expertpool.domain.panel.record import InvitationEvent, PanelRecord
from expertpool.domain.text import mask_email, mask_personal, mask_phone
from expertpool.errors import InputError
from expertpool.io.datafiles import InvitationSettings, load_invitation_settings
from expertpool.notify import Delivery, Notice, Notifier
from expertpool.progress import Progress
from expertpool.services.access import Actor, audit, check
from expertpool.services.panels import (
    MembersNoLongerEligible,
    NoSubstitute,
    anchored_replacement,
    find_substitute,
    load_panel,
    now_text,
    panel_state,
    shown_to,
    resolve_member,
    save_record,
    with_substitute,
)
from expertpool.stores.base import ExpertStore

EMAIL, PHONE = "电子邮件", "电话"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read out over the phone


def new_reply_code(taken: set[str]) -> str:
    while True:
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        if code not in taken:
            return code


@dataclass(frozen=True)
class CallEntry:
    """One line of the call list: a member to phone (contacts masked unless the role may see them)."""
    code: str
    expert_id: str
    name: str
    institution: str
    phone: str | None
    email: str | None
    status: str


@dataclass
class InviteReport:
    panel_id: str
    sealed: bool
    state: invitations.PanelState
    invited: list[str] = field(default_factory=list)         # reply codes newly invited (e-mail or phone)
    emailed: list[str] = field(default_factory=list)         # reply codes whose e-mail was sent
    failed: dict[str, str] = field(default_factory=dict)     # reply code → why the e-mail failed
    by_phone: list[str] = field(default_factory=list)        # reply codes to be phoned (no e-mail / no SMTP)
    call_list: list[CallEntry] = field(default_factory=list)  # empty while sealed (see `sealed_call_list`)

    def to_json(self) -> dict:
        return {"panel_id": self.panel_id, "sealed": self.sealed, "state": self.state.label,
                "counts": self.state.counts, "invited": self.invited, "emailed": self.emailed, "failed": self.failed,
                "by_phone": self.by_phone, "call_list": [c.__dict__ for c in self.call_list]}


@dataclass
class ReviewDetails:
    """What the invitation says besides the recipient: where, by when to answer, whom to contact."""
    place: str | None = None
    reply_by: str | None = None
    contact: str | None = None


def _contacts(store: ExpertStore, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    out = {}
    for expert_id in ids:
        expert = store.get_expert(expert_id)
        out[expert_id] = (expert.phone, expert.email) if expert is not None else (None, None)
    return out


def _failure(delivery: Delivery) -> str:
    """Why a notice was not delivered, as logged and shown. A notifier names no recipient
    (`notify`'s contract); masked all the same like every message, since the officer reads it
    even while the list is sealed."""
    return mask_personal(delivery.error or "发送失败")


def _values(record: PanelRecord, name: str, code: str, details: ReviewDetails) -> dict[str, str]:
    return {"专家姓名": name, "评审名称": record.name, "评审日期": record.review_date,
            "评审地点": details.place or record.spec.get("place") or "", "回复期限": details.reply_by or "",
            "联系方式": details.contact or "", "回执码": code}


def invite_panel(store: ExpertStore, actor: Actor, panel_id: str, *, details: ReviewDetails | None = None,
                 notifier: Notifier | None = None, settings: InvitationSettings | None = None,
                 now: dt.datetime | None = None) -> InviteReport:
    """Invite every current member not yet invited, and retry those whose e-mail failed. With a
    notifier the e-mail goes to each member with an address; everyone else is on the call list
    (phoned by the officer: recorded as invited by phone). Sending failures are recorded per
    member and leave the panel consistent: run again to retry. Sealed: e-mail only (see module)."""
    check(actor, "panel", "邀请评审专家")
    details = details or ReviewDetails()
    settings = settings or load_invitation_settings()
    record = load_panel(store, actor, panel_id, now=now, open_sealed=True)
    if not record.members:
        raise InputError(f"评审专家组 {panel_id} 没有成员，无可邀请")
    if record.sealed and notifier is None:
        raise InputError("名单密封期间只能以电子邮件发出邀请（不显示名单）：请配置 EXPERTPOOL_SMTP_HOST 等邮件服务器设置，"
                         "或由监督人提前解封（expertpool panel unseal）")
    if not (details.place or record.spec.get("place")):
        raise InputError("请给出评审地点（--place，或规则文件中的 place）：邀请须写明评审时间和地点")
    statuses = invitations.member_statuses(record.member_ids(), record.invitations, settings.max_unanswered)
    todo = [m for m in record.members if not statuses[m.id].invited or statuses[m.id].send_failed]
    codes = dict(record.reply_codes)
    for m in todo:
        if m.id not in codes:
            codes[m.id] = new_reply_code(set(codes.values()))
    contacts = _contacts(store, [m.id for m in record.members])
    at, by = now_text(now), actor.user
    report = InviteReport(panel_id, record.sealed, invitations.PanelState(invitations.PENDING))
    notices: list[Notice] = []
    for m in todo:
        email = contacts[m.id][1]
        if notifier is not None and email:
            letter: Invitation = render_invitation(settings.subject, settings.body, _values(record, m.name, codes[m.id],
                                                                                             details))
            notices.append(Notice(m.id, email, m.name, letter.subject, letter.body))
    deliveries = {d.key: d for d in (notifier.deliver(notices) if notifier is not None and notices else [])}
    events = list(record.invitations)
    for m in todo:
        code = codes[m.id]
        delivery = deliveries.get(m.id)
        if delivery is not None and delivery.ok:
            events.append(InvitationEvent(expert_id=m.id, action=invitations.INVITED, at=at, by=by, channel=EMAIL))
            report.emailed.append(code)
            report.invited.append(code)
        elif delivery is not None:
            error = _failure(delivery)
            events.append(InvitationEvent(expert_id=m.id, action=invitations.SEND_FAILED, at=at, by=by, channel=EMAIL,
                                          detail=error))
            report.failed[code] = error
        elif record.sealed:
            # no address: only the supervisor's sealed call list can reach them
            events.append(InvitationEvent(expert_id=m.id, action=invitations.SEND_FAILED, at=at, by=by, channel=EMAIL,
                                          detail="没有电子邮箱"))
            report.failed[code] = "没有电子邮箱（由监督人按密封电话名单联系：expertpool panel invite --call-list）"
        else:
            events.append(InvitationEvent(expert_id=m.id, action=invitations.INVITED, at=at, by=by, channel=PHONE))
            report.by_phone.append(code)
            report.invited.append(code)
    updated = record.model_copy(update={"invitations": events, "reply_codes": codes})
    with store.batch():
        saved = save_record(store, updated, record.revision)
        audit(store, actor, "panel.invite", target=panel_id, now=now,
              after={"invited": len(report.invited), "emailed": len(report.emailed), "failed": len(report.failed),
                     "by_phone": len(report.by_phone), "codes": sorted(codes[m.id] for m in todo)})
    report.state = panel_state(saved, settings.max_unanswered)
    if not saved.sealed:
        report.call_list = call_entries(saved, contacts, actor, settings.max_unanswered)
    return report


def call_entries(record: PanelRecord, contacts: dict[str, tuple[str | None, str | None]], actor: Actor,
                 max_unanswered: int, only_unreached: bool = False) -> list[CallEntry]:
    statuses = invitations.member_statuses(record.member_ids(), record.invitations, max_unanswered)
    full = actor.may("personal_data")
    out = []
    for m in record.members:
        status = statuses[m.id]
        if only_unreached and (status.answer or (status.invited and not status.send_failed)):
            continue
        phone, email = contacts.get(m.id, (None, None))
        out.append(CallEntry(record.reply_codes.get(m.id, ""), m.id, m.name, m.institution,
                             phone if full else mask_phone(phone), email if full else mask_email(email), status.label))
    return out


def call_list(store: ExpertStore, actor: Actor, panel_id: str, *, now: dt.datetime | None = None) -> list[CallEntry]:
    """The call list: every member with contacts (masked unless the role may see them) and where
    their invitation stands. Sealed: only a supervisor may open it, it lists only the members
    e-mail has not reached, with full contacts for the phone call, and the opening is audited."""
    record = load_panel(store, actor, panel_id, now=now, open_sealed=True)
    settings = load_invitation_settings()
    contacts = _contacts(store, record.member_ids())
    if not record.sealed:
        check(actor, "panel", "查看邀请电话名单")
        return call_entries(record, contacts, actor, settings.max_unanswered)
    check(actor, "panel.supervise", "在名单密封期间查看电话名单")
    supervisor = Actor(actor.user, actor.roles | {"program_officer"})   # sees the contacts to phone them
    entries = call_entries(record, contacts, supervisor, settings.max_unanswered, only_unreached=True)
    audit(store, actor, "panel.call_list", target=panel_id, now=now, reason="密封期间由监督人联系邮件未送达的成员",
          after={"codes": [e.code for e in entries]})
    return entries


@dataclass
class RespondOutcome:
    record: PanelRecord               # as saved (the public view while sealed)
    code: str                         # the member's reply code ("" before one was given)
    response: str
    state: invitations.PanelState
    replaced: bool = False            # a substitute took the seat
    substitute_code: str | None = None
    substitute_invited: str | None = None   # 电子邮件 | 电话 | 发送失败
    unfilled: str | None = None       # why the seat could not be refilled


def respond(store: ExpertStore, actor: Actor, panel_id: str, member: str, response: str, *,
            reason: str | None = None, details: ReviewDetails | None = None, notifier: Notifier | None = None,
            settings: InvitationSettings | None = None, now: dt.datetime | None = None,
            progress: Progress | None = None) -> RespondOutcome:
    """Record a member's answer (`member`: reply code, or unless sealed either list's number: `panels.resolve_member`). A decline, a
    declared conflict or the `max_unanswered`-th unanswered call refills the seat at once and
    invites the substitute (by e-mail with a notifier, else on the call list)."""
    check(actor, "panel", "记录专家答复")
    settings = settings or load_invitation_settings()
    record = load_panel(store, actor, panel_id, now=now, open_sealed=True)
    expert_id = resolve_member(store, record, member)
    statuses = invitations.member_statuses(record.member_ids(), record.invitations, settings.max_unanswered)
    who = f"回执码 {record.reply_codes.get(expert_id, '')} 的成员" if record.sealed else f"专家 {expert_id}"
    invitations.check_response(statuses[expert_id], response, who)
    at, by = now_text(now), actor.user
    reason = (reason or "").strip() or None
    event = InvitationEvent(expert_id=expert_id, action=response, at=at, by=by, reason=reason)
    updated = record.model_copy(update={"invitations": [*record.invitations, event]})
    status = invitations.member_statuses(updated.member_ids(), updated.invitations,
                                         settings.max_unanswered)[expert_id]
    outcome = RespondOutcome(updated, record.reply_codes.get(expert_id, ""), response,
                             invitations.PanelState(invitations.INVITING))
    replaced_from = None
    if status.seat_open:
        why = f"{response}（{reason}）" if reason else response
        try:
            substitute = find_substitute(store, updated, expert_id, progress)
        except NoSubstitute as exc:
            updated = updated.model_copy(update={"unfilled": {**updated.unfilled, expert_id: str(exc)}})
            outcome.unfilled = str(exc)
        except MembersNoLongerEligible as exc:
            updated = updated.model_copy(update={"refill_pending": {**updated.refill_pending, expert_id: str(exc)}})
            outcome.unfilled = str(exc)
        else:
            replaced_from = updated
            updated = with_substitute(updated, expert_id, substitute, reason=f"自动补抽：{why}", actor=actor, now=now,
                                      automatic=True)
            updated, outcome.substitute_code, outcome.substitute_invited = _invite_substitute(
                updated, substitute.view.id, store, details or ReviewDetails(), notifier, settings, actor, now)
            outcome.replaced = True
    with store.batch():
        audit(store, actor, "panel.respond", target=panel_id, reason=reason, now=now,
              after={"code": outcome.code, "response": response,
                     **({} if record.sealed else {"expert": expert_id})})
        if replaced_from is not None:
            updated = anchored_replacement(store, actor, updated, replaced_from, expert_id, now,
                                           in_code=outcome.substitute_code)
        saved = save_record(store, updated, record.revision)
    outcome.record = shown_to(actor, saved)
    outcome.state = panel_state(saved, settings.max_unanswered)
    return outcome


def _invite_substitute(record: PanelRecord, expert_id: str, store: ExpertStore, details: ReviewDetails,
                       notifier: Notifier | None, settings: InvitationSettings, actor: Actor,
                       now: dt.datetime | None) -> tuple[PanelRecord, str, str]:
    """The substitute invited in turn: a reply code, and the e-mail (or the call list)."""
    codes = dict(record.reply_codes)
    code = codes[expert_id] = new_reply_code(set(codes.values()))
    view = record.views()[expert_id]
    phone, email = _contacts(store, [expert_id])[expert_id]
    at, by = now_text(now), actor.user
    if notifier is not None and email:
        letter = render_invitation(settings.subject, settings.body, _values(record, view.name, code, details))
        delivery = notifier.deliver([Notice(expert_id, email, view.name, letter.subject, letter.body)])[0]
        if delivery.ok:
            event = InvitationEvent(expert_id=expert_id, action=invitations.INVITED, at=at, by=by, channel=EMAIL)
            how = EMAIL
        else:
            event = InvitationEvent(expert_id=expert_id, action=invitations.SEND_FAILED, at=at, by=by, channel=EMAIL,
                                    detail=_failure(delivery))
            how = invitations.SEND_FAILED
    elif record.sealed:
        event = InvitationEvent(expert_id=expert_id, action=invitations.SEND_FAILED, at=at, by=by, channel=EMAIL,
                                detail="没有电子邮箱" if notifier is not None else "未配置邮件服务器")
        how = invitations.SEND_FAILED
    else:
        event = InvitationEvent(expert_id=expert_id, action=invitations.INVITED, at=at, by=by, channel=PHONE)
        how = PHONE
    return record.model_copy(update={"reply_codes": codes, "invitations": [*record.invitations, event]}), code, how
