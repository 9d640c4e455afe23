"""One expert's full picture for `expertpool show`, with their recent reviews and upcoming panels."""
from __future__ import annotations

import datetime as dt

from expertpool.domain.eligibility import SHOW_RULES, EligibilityFacts, EligibilityRules, barring_records, first_bar
from expertpool.services.access import Actor
from expertpool.services.eligibility import parse_review_date
from expertpool.services.evaluations import expert_evaluations, pause_on
from expertpool.services.ledger import read_ledger
from expertpool.services.search import expert_view, get_expert
from expertpool.stores.base import ExpertStore


def expert_profile(store: ExpertStore, expert_id: str, actor: Actor, on: str | dt.date | None = None) -> dict:
    """The expert (personal data masked unless the role may see it), with `eligible` on the date and
    the ids of the integrity records that bar them, plus affiliations and relations as text lines,
    `reviews` (the 12 months before the date: imported history and saved panels and sessions) and
    `upcoming` (saved panels and sessions on or after the date)."""
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
    view["reviews"], view["upcoming"] = _reviews(store, expert.id, day)
    if actor.may("integrity.read"):
        view["integrity"] = [
            f"{r.id} {r.category} {r.severity} {r.start}–{r.end or '永久'} {r.status}" for r in records]
    return view


def _reviews(store: ExpertStore, expert_id: str, day: dt.date) -> tuple[list[str], list[str]]:
    """(reviews in the 12 months before `day`, newest first; seats on `day` or later, soonest first)."""
    start = day - dt.timedelta(days=365)
    # a seat on a still-sealed panel counts in the workload, but `show` would reveal a member
    seats = read_ledger(store, open_sealed=False).of_expert(expert_id)
    past = [(e.date, f"{e.date.isoformat()} {e.activity}（导入的评审记录）")
            for e in store.iter_records("history", expert_id) if start <= e.date < day]
    past += [(s.day, s.describe()) for s in seats if start <= s.day < day]
    upcoming = [s.describe() for s in seats if s.day >= day]
    return [text for _, text in sorted(past, key=lambda item: item[0], reverse=True)], upcoming
