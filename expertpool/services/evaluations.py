"""专家评价: after a review, how each member did (attended or not, a score), and the pauses the
evaluation policy (indexes/evaluation_policy.toml, `domain.evaluation`) draws from them."""
from __future__ import annotations

import datetime as dt

from expertpool.domain.evaluation import Pause, pauses_on
from expertpool.domain.models import Evaluation
from expertpool.errors import InputError
from expertpool.io.datafiles import load_evaluation_policy
from expertpool.services.access import Actor, audit, check
from expertpool.services.panels import load_panel, resolve_member, sealed_error
from expertpool.stores.base import ExpertStore, record_key


def evaluate_member(store: ExpertStore, actor: Actor, panel_id: str, member: str, *, attended: bool,
                    score: int | None = None, excused: bool = False, note: str | None = None,
                    now: dt.datetime | None = None) -> Evaluation:
    """Evaluate one member of a panel (by either list's number or reply code: `panels.resolve_member`) on or after its review date: attended
    with a score 1–5, or absent (excused or not; no score). One evaluation per member and panel."""
    check(actor, "panel", "评价评审专家")
    record = load_panel(store, actor, panel_id, now=now)
    if record.sealed:
        raise sealed_error(record, "评价专家")
    expert_id = resolve_member(store, record, member)
    review_date = dt.date.fromisoformat(record.review_date)
    today = (now or dt.datetime.now(dt.timezone.utc)).date()
    if today < review_date:
        raise InputError(f"评审日期 {review_date} 之前不能评价专家（评价记录评审的实际情况）")
    if attended:
        if excused:
            raise InputError("--excused 只用于缺席（--absent）")
        if score is None:
            raise InputError("出席的专家须给出评分：--score 1..5")
    elif score is not None:
        raise InputError("缺席的专家不评分：请去掉 --score")
    if score is not None and not 1 <= score <= 5:
        raise InputError(f"--score: 评分 {score} 应为 1 到 5 的整数")
    evaluation = Evaluation(expert_id=expert_id, activity=panel_id, date=review_date,
                            attendance="出席" if attended else ("请假" if excused else "缺席"), score=score,
                            note=(note or "").strip() or None, entered_by=actor.user,
                            entered_at=(now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0))
    key = record_key("evaluation", evaluation)
    with store.batch():
        if any(record_key("evaluation", e) == key for e in store.iter_records("evaluation", expert_id)):
            raise InputError(f"专家 {expert_id} 在评审专家组 {panel_id} 的评价已录入，不能重复评价")
        store.upsert_records("evaluation", [evaluation])
        audit(store, actor, "panel.evaluate", target=panel_id, reason=evaluation.note, now=now,
              after={"expert": expert_id, "attendance": evaluation.attendance, "score": score})
    return evaluation


def expert_evaluations(store: ExpertStore, expert_id: str) -> list[Evaluation]:
    return sorted(store.iter_records("evaluation", expert_id), key=lambda e: (e.date, e.activity))


def panel_evaluations(store: ExpertStore, record_ids: list[str], panel_id: str) -> dict[str, Evaluation]:
    """member id → their evaluation for this panel."""
    out = {}
    for expert_id in record_ids:
        for e in store.iter_records("evaluation", expert_id):
            if e.activity == panel_id:
                out[expert_id] = e
    return out


def pause_on(store: ExpertStore, expert_id: str, day: dt.date) -> Pause | None:
    return pauses_on(store.iter_records("evaluation", expert_id), load_evaluation_policy(), day).get(expert_id)
