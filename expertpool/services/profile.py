"""One expert's full picture for `expertpool show`."""
from __future__ import annotations

import datetime as dt

from expertpool.domain.eligibility import SHOW_RULES, EligibilityFacts, EligibilityRules, barring_records, first_bar
from expertpool.services.access import Actor
from expertpool.services.eligibility import parse_review_date
from expertpool.services.evaluations import expert_evaluations, pause_on
from expertpool.services.search import expert_view, get_expert
from expertpool.stores.base import ExpertStore


def expert_profile(store: ExpertStore, expert_id: str, actor: Actor, on: str | dt.date | None = None) -> dict:
    """The expert (personal data masked unless the role may see it), with `eligible` on the date and
    the ids of the integrity records that bar them, plus affiliations and relations as text lines."""
    expert = get_expert(store, expert_id)
    day = parse_review_date(on)
    view = expert_view(expert, personal_data=actor.may("personal_data"), identity=actor.may("identity"))
    records = list(store.iter_integrity(expert.id))
    barring = barring_records(records, day)
    view["eligible_on"] = day.isoformat()
    pause = pause_on(store, expert.id, day)
    facts = EligibilityFacts(day, barred={expert.id: [r.id for r in barring]} if barring else {},
                             paused={expert.id} if pause else frozenset())
    view["eligible"] = first_bar(expert, EligibilityRules(SHOW_RULES), facts) is None
    view["barred_by"] = [r.id for r in barring]
    view["paused"] = pause.describe() if pause else None
    view["evaluations"] = [
        f"{e.date} {e.activity} {e.attendance}" + (f" 评分 {e.score}" if e.score is not None else "")
        + (f"（{actor.readable(e.note)}）" if e.note else "") for e in expert_evaluations(store, expert.id)]
    view["affiliations"] = [
        f"{a.institution} {a.start_year or '?'}–{a.end_year or '至今'}"
        for a in store.iter_records("affiliation", expert.id)]
    view["relations"] = [
        f"{r.kind} {r.other.name}（{r.other.institution or '单位不详'}{'，' + r.other.expert_id if r.other.expert_id else ''}）"
        f" {r.start_year or ''}{'–' + str(r.end_year) if r.end_year else ''}"
        for r in store.iter_records("relation", expert.id)]
    if actor.may("integrity.read"):
        view["integrity"] = [
            f"{r.id} {r.category} {r.severity} {r.start}–{r.end or '永久'} {r.status}" for r in records]
    return view
