"""Evaluations (专家评价) into pauses: the evaluation policy (indexes/evaluation_policy.toml) and
who it pauses on a date. Pure: evaluations, a policy and a date in; pauses out.

A pause rule counts the evaluations it matches — unexcused absences (缺席; 请假 never counts), or
scores at or below a bound — and when `count` of them fall within `within_months` months, the
expert is paused from draws for `pause_months` months from the last of them. An expert is paused
on a day when some pause started on or before that day and has not ended.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from expertpool.domain.models import Evaluation


class EvaluationPolicyError(ValueError):
    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


@dataclass(frozen=True)
class PauseRule:
    name: str
    count: int
    within_months: int
    pause_months: int
    absent: bool = False                # matches unexcused absences (缺席)
    score_at_most: int | None = None    # matches attended reviews scored at most this

    def matches(self, evaluation: Evaluation) -> bool:
        if self.absent and evaluation.attendance == "缺席":
            return True
        return (self.score_at_most is not None and evaluation.attendance == "出席"
                and evaluation.score is not None and evaluation.score <= self.score_at_most)


@dataclass(frozen=True)
class EvaluationPolicy:
    rules: tuple[PauseRule, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "EvaluationPolicy":
        unknown = sorted(set(data) - {"rules"})
        if unknown:
            raise EvaluationPolicyError(unknown[0], "未知的规则项；可用：rules")
        rules = []
        for i, raw in enumerate(data.get("rules", []), 1):
            where = f"rules[{i}]"
            if not isinstance(raw, Mapping):
                raise EvaluationPolicyError(where, "应为表（[[rules]]）")
            known = {"name", "count", "within_months", "pause_months", "absent", "score_at_most"}
            extra = sorted(set(raw) - known)
            if extra:
                raise EvaluationPolicyError(f"{where}.{extra[0]}", f"未知的规则项；可用：{', '.join(sorted(known))}")
            for key in ("count", "within_months", "pause_months"):
                value = raw.get(key)
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise EvaluationPolicyError(f"{where}.{key}", "应为正整数")
            absent = raw.get("absent", False)
            score = raw.get("score_at_most")
            if not isinstance(absent, bool):
                raise EvaluationPolicyError(f"{where}.absent", "应为 true 或 false")
            if score is not None and (not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5):
                raise EvaluationPolicyError(f"{where}.score_at_most", "应为 1 到 5 的整数")
            if not absent and score is None:
                raise EvaluationPolicyError(where, "应给出 absent = true 或 score_at_most")
            rules.append(PauseRule(name=str(raw.get("name") or where), count=raw["count"],
                                   within_months=raw["within_months"], pause_months=raw["pause_months"],
                                   absent=absent, score_at_most=score))
        return cls(tuple(rules))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Pause:
    """A pause in force on the day asked about: which rule, from when, until when (exclusive),
    and the evaluations (activity and date) that caused it."""
    rule: str
    start: dt.date
    until: dt.date
    evidence: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.rule}（{'、'.join(self.evidence)}）：暂停抽取至 {self.until - dt.timedelta(days=1)}"


def pauses_on(evaluations: Iterable[Evaluation], policy: EvaluationPolicy, day: dt.date) -> dict[str, Pause]:
    """expert id → the pause in force on `day` (the one lasting longest, when several are)."""
    by_rule: dict[tuple[str, int], list[Evaluation]] = {}
    for evaluation in evaluations:
        if evaluation.date > day:
            continue
        for k, rule in enumerate(policy.rules):
            if rule.matches(evaluation):
                by_rule.setdefault((evaluation.expert_id, k), []).append(evaluation)
    out: dict[str, Pause] = {}
    for (expert_id, k), matched in by_rule.items():
        rule = policy.rules[k]
        matched.sort(key=lambda e: (e.date, e.activity))
        for j in range(rule.count - 1, len(matched)):
            last = matched[j]
            window = matched[j - rule.count + 1:j + 1]
            if add_months(window[0].date, rule.within_months) <= last.date:
                continue  # the first of them is more than `within_months` before the last
            until = add_months(last.date, rule.pause_months)
            if last.date <= day < until and (expert_id not in out or out[expert_id].until < until):
                out[expert_id] = Pause(rule.name, last.date, until,
                                       tuple(f"{e.activity} {e.date}" for e in window))
    return out
