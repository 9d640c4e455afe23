"""The supervisor's (监督人) part: witnessing a draw (`confirm_panel`) and opening a sealed result
before its release time (`unseal_panel`). Both are audited; nobody witnesses their own draw."""
from __future__ import annotations

import datetime as dt

from expertpool.domain.panel.record import PanelRecord, Witness
from expertpool.errors import InputError, PermissionDenied
from expertpool.services.access import Actor, audit, check
from expertpool.services.panels import load_panel, now_text, release_seal, save_record, shown_to
from expertpool.stores.base import ExpertStore


def confirm_panel(store: ExpertStore, actor: Actor, panel_id: str, *, note: str | None = None,
                  now: dt.datetime | None = None) -> PanelRecord:
    """Record the supervisor's sign-off of the draw: who witnessed it and when (the record sheet
    prints it beside who drew). Refused for the officer who drew the panel, and a second time."""
    check(actor, "panel.supervise", "以监督人身份确认抽取")
    record = load_panel(store, actor, panel_id, now=now, open_sealed=True)
    if record.created_by == actor.user:
        raise PermissionDenied(f"用户 {actor.user} 抽取了评审专家组 {panel_id}，不能同时作为监督人确认；"
                               "请由另一位监督人确认")
    if record.witness is not None:
        raise InputError(f"评审专家组 {panel_id} 已由监督人 {record.witness.by} 于 {record.witness.at} 确认，不能重复确认")
    note = (note or "").strip() or None
    witness = Witness(by=actor.user, at=now_text(now), note=note)
    with store.batch():
        saved = save_record(store, record.model_copy(update={"witness": witness}), record.revision)
        audit(store, actor, "panel.confirm", target=panel_id, reason=note, now=now,
              after={"witness": actor.user, "drawn_by": record.created_by})
    return shown_to(actor, saved)


def unseal_panel(store: ExpertStore, actor: Actor, panel_id: str, *, reason: str,
                 now: dt.datetime | None = None) -> PanelRecord:
    """Open a sealed result before its release time (supervisors only; a reason is required)."""
    check(actor, "panel.supervise", "提前解封评审专家组名单")
    if not reason or not reason.strip():
        raise InputError("提前解封必须说明理由（--reason）")
    record = load_panel(store, actor, panel_id, now=now, open_sealed=True)
    if record.seal is None:
        raise InputError(f"评审专家组 {panel_id} 没有密封")
    if record.seal.released:
        raise InputError(f"评审专家组 {panel_id} 已于 {record.seal.released_at} 解封（{record.seal.release_reason}）")
    return shown_to(actor, release_seal(store, actor, record, reason=f"监督人提前解封：{reason.strip()}", now=now))
