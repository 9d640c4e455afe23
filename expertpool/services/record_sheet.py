"""The 评审专家抽取记录表 (`panel export`): what a review office prints, signs and files.

One `RecordSheet` (io/record_sheet.py lays it out as XLSX, PDF or CSV): the review, its projects,
the rules in Chinese, when and how the panel was drawn (mode, seed, solver status), who drew and
who witnessed it with lines to sign on, the members with their contacts (masked unless the
reader's role may see them) and their answers, backups and each member's own substitutes, the
invitation and replacement log (typed reasons masked like every message), the exclusions by
reason, and the audit anchor: every export appends a `panel.export` entry, and the sheet prints
that entry's sequence number and hash, so `audit verify --anchor SEQ:HASH` later shows the trail
was not cut or rewritten since.
A sealed panel cannot be exported before its release.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from expertpool.domain import taxonomy
from expertpool.domain.eligibility import REASONS
from expertpool.domain.panel import invitations
from expertpool.domain.panel.labels import method_label, mode_label, status_label
from expertpool.domain.panel.record import MemberView, PanelRecord, SeatedMembers
from expertpool.domain.text import mask_email, mask_phone
from expertpool.errors import InputError
from expertpool.io.datafiles import load_invitation_settings
from expertpool.io.files import output_file
from expertpool.io.record_sheet import FORMATS, RecordSheet, SheetTable, write_sheet
from expertpool.services.access import Actor, audit, check
from expertpool.services.panels import load_panel, panel_state, sealed_error, shown_to
from expertpool.stores.base import ExpertStore

TITLE = "评审专家抽取记录表"
REGIONS_TEXT = "、".join(taxonomy.REGIONS)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    anchor: str     # "seq:hash" of the export's own audit entry


def _local(text: str | None) -> str:
    """An ISO time from the record, as a reader of a printed sheet expects it: local, to the minute."""
    if not text:
        return ""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return f"{moment:%Y年%m月%d日 %H:%M}"


def rules_text(spec: dict) -> list[str]:
    """The spec's rules in Chinese, one line each (no English on the sheet)."""
    fields = "全部 11 个领域" if spec.get("fields") == "all" else "、".join(spec.get("fields") or [])
    coverage = "成员所列任一领域均计" if spec.get("coverage") == "any" else "只计成员的第一领域"
    lines = [f"1. 专家组人数：{spec.get('size')} 人；备选 {spec.get('backups')} 人。",
             f"2. 领域覆盖：{fields}，每个领域至少 {spec.get('min_per_field')} 人（{coverage}）。"]
    regions = spec.get("regions") or {}
    if regions:
        lines.append("3. 地区比例：" + "；".join(f"{r} {lo:.0%}–{hi:.0%}" for r, (lo, hi) in regions.items()) + "。")
    else:
        lines.append("3. 地区比例：不限。")
    lines.append(f"4. 正高级职称占比不低于 {spec.get('min_full_senior_share', 0):.0%}；"
                 + (f"同一法人单位至多 {spec['max_per_institution']} 人。" if spec.get("max_per_institution") else "同一法人单位人数不限。"))
    cap = spec.get("max_reviews_per_year")
    lines.append(f"5. 资格：状态为在库；年龄不超过 {spec.get('max_age')} 岁（高层次人才 {spec.get('max_age_high_level')} 岁）；"
                 "不在科研诚信处理期内；不在评价暂停期内；"
                 + (f"评审日期前 12 个月内评审不满 {cap} 次；" if cap else "")
                 + "与申报项目无利益冲突（同单位、合作、师生、亲属、申报人及其团队、申报人申请回避的专家），成员之间无师生、亲属关系。")
    mode = spec.get("mode")
    line = f"6. 抽取方式：{mode_label(mode)}" + {"lottery": "（最大最小公平抽签）", "best": "（相关度优先）"}.get(mode, "")
    if mode == "lottery":
        line += f"；相关度不低于各项目最高相关度的 {spec.get('relevance_threshold', 0.3):.0%} 方为合格"
        if spec.get("max_probability"):
            line += f"；任一专家入选概率不超过 {spec['max_probability']:.0%}"
    lines.append(line + "。")
    lines.append("7. 成员拒绝、申报回避或多次未接通时，按同一规则自动补抽，补抽专家须满足全部规则。")
    return lines


def _member_rows(record: PanelRecord, contacts: dict[str, tuple[str | None, str | None]], full: bool,
                 statuses: dict[str, invitations.MemberStatus]) -> list[list[str]]:
    came_in = {r.in_: r for r in record.replaced}
    rows = []
    for i, m in enumerate(record.members, 1):
        phone, email = contacts.get(m.id, (None, None))
        note = ""
        if m.id in came_in:
            r = came_in[m.id]
            note = f"{'自动补抽' if r.automatic else '替换'}，接替 {r.out}"
        rows.append([str(i), m.id, m.name, m.institution, m.title, "、".join(m.fields), m.sub_region or m.region,
                     (phone if full else mask_phone(phone)) or "", (email if full else mask_email(email)) or "",
                     statuses[m.id].label if m.id in statuses else "", note])
    return rows


#: the columns of `substitute_rows` (and of a review session's group sheet, `sessions.export_session`)
SUBSTITUTE_HEADERS = ["类别", "序号", "专家编号", "姓名", "工作单位", "职称", "专业领域", "地区", "替补对象"]


def expert_row(kind: str, i: int, v: MemberView, replaces: str) -> list[str]:
    """One drawn expert under `SUBSTITUTE_HEADERS`: no contact, so the row suits any reader."""
    return [kind, str(i), v.id, v.name, v.institution, v.title, "、".join(v.fields), v.sub_region or v.region,
            replaces]


def substitute_rows(record: SeatedMembers) -> list[list[str]]:
    """Backups (for any member), then each member's own substitutes in the order a replacement
    tries them: a panel's, or a review session group's."""
    rows = [expert_row("备选", i, b, "任一成员") for i, b in enumerate(record.backups, 1)]
    views = record.views()
    for member in record.members:
        for i, rid in enumerate(record.replacements.get(member.id, []), 1):
            if rid in views and rid not in record.member_ids():
                rows.append(expert_row("专属替补", i, views[rid], f"{member.id} {member.name}"))
    return rows


def _log_rows(record: PanelRecord) -> list[list[str]]:
    names = {v.id: v.name for v in record.views().values()}
    for r in record.replaced:
        names.setdefault(r.out, "")
    rows = []
    for e in record.invitations:
        detail = e.detail or ""
        if e.action == invitations.REPLACED:
            detail = f"由 {e.detail} {names.get(e.detail or '', '')} 接替"
        elif e.action == invitations.SUBSTITUTED:
            detail = f"接替 {e.detail} {names.get(e.detail or '', '')}"
        rows.append([_local(e.at), f"{e.expert_id} {names.get(e.expert_id, '')}".strip(), e.action, e.channel or "",
                     e.by, "；".join(x for x in (e.reason or "", detail.strip()) if x)])
    # replacements made before the invitation log existed (or by hand) are listed from their records
    logged = {(e.expert_id, e.detail) for e in record.invitations if e.action == invitations.REPLACED}
    for r in record.replaced:
        if (r.out, r.in_) not in logged:
            rows.append([_local(r.at), f"{r.out} {names.get(r.out, '')}".strip(), invitations.REPLACED, "", r.by,
                         f"{r.reason}；由 {r.in_} {names.get(r.in_, '')} 接替（{method_label(r.method)}）"])
    return rows


def build_sheet(store: ExpertStore, actor: Actor, record: PanelRecord, anchor: str) -> RecordSheet:
    """The sheet as `actor` may read it: contacts masked unless the role sees personal data, and
    the reasons and notes people typed masked like every message (`panels.shown_to`)."""
    record = shown_to(actor, record)
    settings = load_invitation_settings()
    state = panel_state(record, settings.max_unanswered)
    statuses = invitations.member_statuses(record.member_ids(), record.invitations, settings.max_unanswered)
    spec = record.spec
    projects = {p.id: p for p in store.iter_records("project")} if record.projects else {}
    project_text = "；".join(f"{pid} {projects[pid].title}" if pid in projects else pid for pid in record.projects)
    info = [("评审名称", record.name), ("专家组编号", record.id or ""),
            ("评审活动", spec.get("session") or "—"), ("组别", spec.get("group") or "—"),
            ("评审日期", record.review_date), ("评审地点", spec.get("place") or "—"),
            ("抽取方式", mode_label(record.strategy)), ("抽取时间", _local(record.created_at)),
            ("随机种子", str(record.seed)), ("求解状态", status_label(record.status)),
            ("专家库人数", f"{record.pool.experts} 人，符合条件 {record.pool.eligible} 人"),
            ("邀请状态", state.label + ("（" + "，".join(f"{k} {v}" for k, v in state.counts.items()) + "）"
                                        if state.counts else "")),
            ("申报项目", project_text or "（无）"),
            ("利益冲突审查", "已按申报项目排除有利益冲突的专家" if record.checked_for_conflicts else
             "未做利益冲突审查：抽取时没有申报项目（--no-projects），用于评审前须另行审查")]
    if record.lottery and record.probability_min is not None:
        info.append(("入选概率", f"最低 {record.probability_min:.4f}，最高 {record.probability_max:.4f}"))
    if record.seal is not None:
        info.append(("结果密封", f"密封至 {_local(record.seal.until)}；{_local(record.seal.released_at)} "
                                 f"由 {record.seal.released_by} 解封（{record.seal.release_reason}）"))
    contacts = {}
    for m in record.members:
        expert = store.get_expert(m.id)
        contacts[m.id] = (expert.phone, expert.email) if expert is not None else (None, None)
    full = actor.may("personal_data")
    members = SheetTable(f"专家组成员（{len(record.members)} 人）",
                         ["序号", "专家编号", "姓名", "工作单位", "职称", "专业领域", "地区", "手机", "电子邮箱", "邀请结果", "备注"],
                         _member_rows(record, contacts, full, statuses), [6, 11, 8, 22, 7, 20, 8, 13, 22, 10, 16])
    substitutes = SheetTable("备选与替补专家（依次递补）", SUBSTITUTE_HEADERS, substitute_rows(record),
                             [9, 6, 11, 8, 24, 7, 22, 8, 18])
    log = SheetTable("邀请与补抽记录", ["时间", "专家", "事项", "方式", "经办人", "说明"], _log_rows(record),
                     [16, 18, 8, 8, 10, 50])
    exclusions = SheetTable("排除人数（按首个适用的原因计）", ["排除原因", "人数"],
                            [[reason, str(record.exclusions.get(reason, 0))] for reason in REASONS.values()
                             if reason in record.exclusions], [40, 10])
    diagnosis = list(state.diagnosis) + (list(record.diagnosis.messages) if record.diagnosis else [])
    witness = record.witness
    notes = [f"审计锚点：{anchor}（本表导出时审计日志的最新条目；用 expertpool audit verify --anchor {anchor} "
             "可核对此后审计日志未被删改）",
             f"导出人：{actor.user}　导出时间：{_local(dt.datetime.now(dt.timezone.utc).isoformat())}"
             + ("" if full else "　（联系方式按导出人角色遮蔽）")]
    notes += [f"无法补齐：{d}" for d in diagnosis]
    return RecordSheet(
        title=TITLE, subtitle=f"{record.name}（{record.id}）", info=info, rules=rules_text(spec),
        tables=[members, substitutes, log, exclusions],
        signatures=[("抽取人", record.created_by or "", _local(record.created_at)),
                    ("监督人", witness.by if witness else "", _local(witness.at) if witness else "")],
        notes=notes, flat={"成员名单": members, "邀请与补抽记录": log})


def export_record_sheet(store: ExpertStore, actor: Actor, panel_id: str, out: Path, fmt: str | None = None,
                        now: dt.datetime | None = None) -> ExportResult:
    """Write the record sheet of a saved panel in `fmt` (xlsx, pdf, csv; default: by `out`'s
    suffix), with its `panel.export` audit entry as the anchor. The file is written inside the
    entry's batch: a failed write leaves neither file nor entry."""
    check(actor, "panel.read", "导出评审专家组")
    chosen = (fmt or out.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise InputError(f"{out}: 只支持导出为 {'、'.join(FORMATS)}（--format 或文件后缀）")
    record = load_panel(store, actor, panel_id, now=now)
    if record.sealed:
        raise sealed_error(record, "导出抽取记录表")
    output_file(out, "导出文件（--out）")
    with store.batch():
        entry = audit(store, actor, "panel.export", target=panel_id, now=now,
                      after={"file": out.name, "format": chosen, "members": len(record.members)})
        anchor = f"{entry.seq}:{entry.hash}"
        write_sheet(build_sheet(store, actor, record, anchor), out, chosen)
    return ExportResult(out, chosen, anchor)
