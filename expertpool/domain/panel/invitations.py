"""After the draw: invitations, answers, and the panel's state. Pure: the panel's log in, decisions
out (the service sends the e-mails, keeps the clock and saves).

Each member's invitation is a run of events in `PanelRecord.invitations`: 邀请 (invited, by
e-mail or by phone from the call list), 发送失败 (the e-mail could not be sent; `panel invite`
tries again), then the answers `panel respond` records: 接受, 拒绝, 申报回避 (the expert declares a
conflict of interest), 未接通 (not reached; repeatable). 接受, 拒绝 and 申报回避 are final: a second
answer is refused (a member who accepted and then withdraws is replaced with `panel replace`).
A decline, a declared conflict, or the `max_unanswered`-th unanswered attempt opens the seat, which
the service refills at once by the same rules as `panel replace` (补抽), inviting the substitute.

The panel's state: 待邀请 (nobody invited yet), 邀请中, 已确认 (every member accepted), 需补抽 (a
seat is open and its automatic 补抽 could not run — another member no longer qualifies and must be
replaced first; `panel replace` refills it), 无法补齐 (no valid substitute under the rules: the
diagnosis says why; relax the rules and draw again).
"""
from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from expertpool.errors import InputError

#: the answers `panel respond` records
RESPONSES: tuple[str, ...] = ("接受", "拒绝", "未接通", "申报回避")
#: answers after which nothing more is recorded for the member
FINAL_RESPONSES: frozenset[str] = frozenset({"接受", "拒绝", "申报回避"})
#: answers that open the seat at once
DECLINES: frozenset[str] = frozenset({"拒绝", "申报回避"})
INVITED, SEND_FAILED, SUBSTITUTED, REPLACED = "邀请", "发送失败", "补抽", "替换"
#: every action the log holds
ACTIONS: tuple[str, ...] = (INVITED, SEND_FAILED, *RESPONSES, SUBSTITUTED, REPLACED)

PENDING, INVITING, CONFIRMED, NEEDS_REFILL, CANNOT_REFILL = "待邀请", "邀请中", "已确认", "需补抽", "无法补齐"
STATES: tuple[str, ...] = (PENDING, INVITING, CONFIRMED, NEEDS_REFILL, CANNOT_REFILL)


@dataclass(frozen=True)
class MemberStatus:
    """One member's invitation so far."""
    expert_id: str
    invited: bool = False
    send_failed: bool = False           # the last e-mail could not be sent (and none went after)
    answer: str | None = None           # the final answer, if any
    unanswered: int = 0                 # 未接通 attempts
    seat_open: bool = False             # declined, declared a conflict, or unreachable

    @property
    def label(self) -> str:
        if self.answer:
            return self.answer
        if self.unanswered:
            return f"未接通 {self.unanswered} 次" + ("（已达上限）" if self.seat_open else "")
        if self.send_failed:
            return "发送失败"
        return "已邀请" if self.invited else "待邀请"


def member_statuses(member_ids: Sequence[str], events: Sequence, max_unanswered: int) -> dict[str, MemberStatus]:
    """member id → their status from the log (events of experts no longer members are ignored)."""
    out = {m: MemberStatus(m) for m in member_ids}
    for event in events:
        status = out.get(event.expert_id)
        if status is None:
            continue
        if event.action == INVITED:
            status = MemberStatus(status.expert_id, True, False, status.answer, status.unanswered)
        elif event.action == SEND_FAILED:
            status = MemberStatus(status.expert_id, status.invited, True, status.answer, status.unanswered)
        elif event.action in FINAL_RESPONSES:
            status = MemberStatus(status.expert_id, True, False, event.action, status.unanswered,
                                  seat_open=event.action in DECLINES)
        elif event.action == "未接通":
            unanswered = status.unanswered + 1
            status = MemberStatus(status.expert_id, True, status.send_failed, status.answer, unanswered,
                                  seat_open=unanswered >= max_unanswered)
        out[status.expert_id] = status
    return out


@dataclass(frozen=True)
class PanelState:
    label: str                                        # one of STATES
    counts: dict[str, int] = field(default_factory=dict)   # member status label → members
    diagnosis: tuple[str, ...] = ()                   # why seats cannot be refilled (无法补齐)


def panel_state(member_ids: Sequence[str], events: Sequence, unfilled: Mapping[str, str],
                max_unanswered: int, pending: Mapping[str, str] | None = None) -> PanelState:
    """The panel's state from its members' statuses (see the module docstring). `unfilled`: member
    id → why no substitute could be found for their open seat; `pending`: member id → why the
    automatic 补抽 did not run (e.g. another member no longer qualifies and must be replaced first)."""
    statuses = member_statuses(member_ids, events, max_unanswered)
    counts: dict[str, int] = {}
    for s in statuses.values():
        key = "未接通" if s.unanswered and not s.answer else s.label
        counts[key] = counts.get(key, 0) + 1
    open_seats = [s.expert_id for s in statuses.values() if s.seat_open]
    if open_seats:
        stuck = [unfilled[m] for m in open_seats if m in unfilled]
        if stuck:
            return PanelState(CANNOT_REFILL, counts, tuple(dict.fromkeys(stuck)))
        waiting = [(pending or {})[m] for m in open_seats if m in (pending or {})]
        return PanelState(NEEDS_REFILL, counts, tuple(dict.fromkeys(waiting)))
    if statuses and all(s.answer == "接受" for s in statuses.values()):
        return PanelState(CONFIRMED, counts)
    if not any(s.invited or s.send_failed for s in statuses.values()):
        return PanelState(PENDING, counts)
    return PanelState(INVITING, counts)


def check_response(status: MemberStatus, response: str, who: str) -> None:
    """Refuse an answer that cannot follow the member's status (InputError names why)."""
    if response not in RESPONSES:
        raise InputError(f"未知的答复「{response}」；可选：{'、'.join(RESPONSES)}")
    if status.answer:
        raise InputError(f"{who} 已答复「{status.answer}」，不能再记录「{response}」"
                         "（接受后又无法参加的，请用 expertpool panel replace 替换并说明理由）")
    if status.seat_open:
        raise InputError(f"{who} 已多次未接通，席位已补抽；不能再记录答复")
    if not status.invited and not status.send_failed:
        raise InputError(f"尚未邀请 {who}：请先执行 expertpool panel invite")


# ---- invitation templates ----

#: the placeholders an invitation template may use, each filled per recipient
TEMPLATE_FIELDS: tuple[str, ...] = ("专家姓名", "评审名称", "评审日期", "评审地点", "回复期限", "联系方式", "回执码")


@dataclass(frozen=True)
class Invitation:
    subject: str
    body: str


def template_fields(text: str, where: str) -> list[str]:
    """The placeholders `{…}` used in `text`; an unknown one (or a malformed brace) is an InputError
    naming them and the allowed ones. Literal braces are written {{ and }}."""
    try:
        used = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise InputError(f"{where}: 模板中的花括号不成对（{exc}）；字面花括号请写作 {{{{ 和 }}}}") from None
    unknown = sorted({u for u in used if u not in TEMPLATE_FIELDS})
    if unknown:
        raise InputError(f"{where}: 模板中有未知的占位符 {'、'.join('{' + u + '}' for u in unknown)}；"
                         f"可用：{'、'.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")
    return used


def parse_template(text: str, where: str) -> tuple[str, str]:
    """(subject template, body template) of a template file: a first line `主题：…`, then the body.
    Every placeholder is checked (`template_fields`)."""
    lines = text.replace("\r\n", "\n").split("\n")
    first = lines[0].lstrip("\ufeff").strip() if lines else ""
    for prefix in ("主题：", "主题:", "Subject:"):
        if first.startswith(prefix):
            subject = first[len(prefix):].strip()
            break
    else:
        raise InputError(f"{where}: 模板第一行应为「主题：……」")
    body = "\n".join(lines[1:]).strip("\n") + "\n"
    template_fields(subject, where)
    template_fields(body, where)
    if not subject:
        raise InputError(f"{where}: 主题为空")
    return subject, body


def render_invitation(subject: str, body: str, values: Mapping[str, str]) -> Invitation:
    """The invitation for one recipient. `values` holds only that recipient's and the review's
    details (no template field names another member)."""
    filled = {f: values.get(f) or "（未提供）" for f in TEMPLATE_FIELDS}
    return Invitation(subject.format(**filled), body.format(**filled))
