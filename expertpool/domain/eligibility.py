"""Who may review on a date, and why not. Pure: records, facts and a date in; decisions out.

The rules, in the order they are tested (an expert is barred by the first that applies):
    status     a status other than 在库
    age        older than the age limit on the date (high-level talents have a limit of their own)
    integrity  an active integrity record whose sanction covers review work (either province's)
    evaluation a pause from draws under the evaluation policy (e.g. two unexcused absences in
               12 months: 6 months; `domain.evaluation`)
    workload   as many reviews in the 12 months before the date as the yearly cap (imported
               history plus the saved panels and sessions: `domain.ledger`)
    booked     already seated on another saved panel or session group on the same date
    conflict   a hard conflict of interest with a project under review
Each caller names the rules that apply to it:
    SHOW_RULES    `expertpool show`: status, integrity and evaluation
    SEARCH_RULES  `search --eligible-on`: integrity only (a filter on the integrity records)
    PANEL_RULES   a panel draw or a review session: all seven (a spec that allows a second seat on
                  the same day drops `booked` and warns instead)
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from expertpool.domain.models import REVIEW_SANCTIONS, IntegrityRecord

#: rule → the reason shown to users, in the order the rules are tested
REASONS: dict[str, str] = {
    "status": "状态非在库",
    "age": "超过年龄上限",
    "integrity": "科研诚信处理期内",
    "evaluation": "评价暂停期内",
    "workload": "评审次数已达年度上限",
    "booked": "同日已入选其他评审专家组",
    "conflict": "与申报项目有利益冲突",
}
RULE_ORDER: tuple[str, ...] = tuple(REASONS)
SHOW_RULES: tuple[str, ...] = ("status", "integrity", "evaluation")
SEARCH_RULES: tuple[str, ...] = ("integrity",)
PANEL_RULES: tuple[str, ...] = RULE_ORDER
#: the status in which an expert may review
IN_POOL = "在库"


def covers_review(record: IntegrityRecord) -> bool:
    """Whether the record's sanctions include review work (评审专家资格 and the like)."""
    return any(s in REVIEW_SANCTIONS or "评审" in s for s in record.sanctions)


def bars_on(record: IntegrityRecord, day: dt.date) -> bool:
    """An active record whose sanction covers review work bars on `day` when start ≤ day < end
    (no end: permanent). Records from either province apply in both."""
    return (record.status == "active" and covers_review(record)
            and record.start <= day and (record.end is None or day < record.end))


def barring_records(records: Iterable[IntegrityRecord], day: dt.date) -> list[IntegrityRecord]:
    return [r for r in records if bars_on(r, day)]


def barred_experts(records: Iterable[IntegrityRecord], day: dt.date) -> dict[str, list[str]]:
    """expert id → ids of the records that bar them on `day`."""
    out: dict[str, list[str]] = {}
    for record in records:
        if bars_on(record, day):
            out.setdefault(record.expert_id, []).append(record.id)
    return out


class Reviewer(Protocol):
    """What the rules read of an expert (`Expert` and the snapshot's `ExpertBrief` both fit)."""

    id: str
    status: str
    high_level: bool

    def age_on(self, day: dt.date) -> int | None: ...


@dataclass(frozen=True)
class EligibilityRules:
    """Which rules apply (names of `RULE_ORDER`; tested in that order whatever order they are
    given in) and their limits."""
    apply: tuple[str, ...]
    max_age: int = 65
    max_age_high_level: int = 70
    max_reviews_per_year: int | None = 10
    # one flag per rule, so the per-expert test reads an attribute rather than searching a tuple
    status: bool = field(init=False, repr=False)
    age: bool = field(init=False, repr=False)
    integrity: bool = field(init=False, repr=False)
    evaluation: bool = field(init=False, repr=False)
    workload: bool = field(init=False, repr=False)
    booked: bool = field(init=False, repr=False)
    conflict: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = [r for r in self.apply if r not in REASONS]
        if unknown:
            raise ValueError(f"unknown eligibility rules {unknown}; known: {list(REASONS)}")
        object.__setattr__(self, "apply", tuple(r for r in RULE_ORDER if r in self.apply))
        for rule in RULE_ORDER:
            object.__setattr__(self, rule, rule in self.apply)
        if self.max_reviews_per_year is None:
            object.__setattr__(self, "workload", False)  # no cap: nobody is over it


@dataclass(frozen=True)
class EligibilityFacts:
    """What the rules read besides the expert, as of `day`: the integrity records barring each
    expert (`barred_experts`), the experts paused by the evaluation policy
    (`evaluation.pauses_on`), reviews in the 12 months before the day (`ledger.review_counts`),
    the experts already seated on that day (`Ledger.booked_on`), and the experts with a hard
    conflict with a project under review. A rule that does not apply needs no facts."""
    day: dt.date
    barred: Mapping[str, Sequence[str]] = field(default_factory=dict)
    paused: Collection[str] = frozenset()
    reviews: Mapping[str, int] = field(default_factory=dict)
    booked: Collection[str] = frozenset()
    conflicted: Collection[str] = frozenset()


def first_bar(expert: Reviewer, rules: EligibilityRules, facts: EligibilityFacts) -> str | None:
    """The first rule of `rules` that bars `expert` on `facts.day`, or None when they may review."""
    if rules.status and expert.status != IN_POOL:
        return "status"
    if rules.age:
        age = expert.age_on(facts.day)
        if age is not None and age > (rules.max_age_high_level if expert.high_level else rules.max_age):
            return "age"
    if rules.integrity and expert.id in facts.barred:
        return "integrity"
    if rules.evaluation and expert.id in facts.paused:
        return "evaluation"
    if rules.workload and facts.reviews.get(expert.id, 0) >= rules.max_reviews_per_year:  # type: ignore[operator]
        return "workload"
    if rules.booked and expert.id in facts.booked:
        return "booked"
    if rules.conflict and expert.id in facts.conflicted:
        return "conflict"
    return None


def sort_out(experts: Iterable[Reviewer], rules: EligibilityRules, facts: EligibilityFacts
             ) -> tuple[list, dict[str, list[str]]]:
    """(the experts who may review, rule → ids of those barred by it first), every rule of
    `rules` present in the second, in the order tested."""
    excluded: dict[str, list[str]] = {rule: [] for rule in rules.apply}
    eligible = []
    for expert in experts:
        rule = first_bar(expert, rules, facts)
        if rule is None:
            eligible.append(expert)
        else:
            excluded[rule].append(expert.id)
    return eligible, excluded


def barred_by_records(rules: EligibilityRules, facts: EligibilityFacts) -> dict[str, list[str]]:
    """expert id → the integrity records barring them, for callers whose rules are read from the
    integrity records alone (`SEARCH_RULES`): no expert needs to be read to apply them."""
    needs_experts = [r for r in rules.apply if r != "integrity"]
    if needs_experts:
        raise ValueError(f"rules {needs_experts} are decided per expert: use first_bar or sort_out")
    return {expert_id: list(ids) for expert_id, ids in facts.barred.items()} if rules.integrity else {}
