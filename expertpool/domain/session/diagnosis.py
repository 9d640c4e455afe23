"""Why a review session cannot be formed: which group, which clash, and the smallest relaxation,
each confirmed by solving the whole session again.

Two cases:
1. Some group cannot be formed even alone: that group's own diagnosis (`panel.diagnosis`: the
   clash with its counts, its smallest relaxations), each relaxation kept only if the whole
   session then has a solution.
2. Every group can be formed alone, but not all at once: they compete for the same experts.
   A deletion filter finds a smallest set of groups that still cannot be formed together (each
   group left out in turn; kept out when the rest still fail), the shortages among them are
   counted (a field, a quota, 正高级, a region or simply people, needed by those groups together
   against the experts any of them could take, one seat each, or what the unit caps let them
   fill), and each rule of each of those groups is relaxed step by step (as in
   `panel.diagnosis`) until the session has a solution.
In both cases a rule every group has is also relaxed in every group at once (the session's
default rule, one change to the spec), when no single group's change is enough.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from expertpool.domain.panel.diagnosis import (
    describe_relaxation,
    diagnose,
    feasible,
    max_relaxation_steps,
    relaxation_dimensions,
    relaxed_rules,
)
from expertpool.domain.panel.encoder import QuotaBound
from expertpool.domain.panel.result import Diagnosis
from expertpool.domain.panel.solve import is_feasible
from expertpool.domain.panel.spec import PanelRules, share_ceil
from expertpool.domain.session.model import candidate_model, encode_groups
from expertpool.domain.session.spec import SessionGroup, SessionRules


def session_feasible(groups: Sequence[SessionGroup], *, deadline: float) -> bool | None:
    """Whether every group can be formed at once, no expert in two (None: undecided in time)."""
    encoded = encode_groups(groups, SessionRules(), zero_weights=True)
    if any(len(e.keep) < e.bounds.size for e in encoded):
        return False
    model = candidate_model(encoded)
    return is_feasible(model.units, None, deadline=deadline, rows=model.rows)


def _with_rules(groups: Sequence[SessionGroup], index: int, rules: PanelRules) -> list[SessionGroup]:
    return [replace(g, rules=rules) if k == index else g for k, g in enumerate(groups)]


def diagnose_session(groups: Sequence[SessionGroup], rules: SessionRules, *, time_limit_s: float = 30.0,
                     max_relaxations: int = 6) -> Diagnosis:
    deadline = time.monotonic() + time_limit_s
    groups = list(groups)
    alone = [feasible(g.candidates, g.rules, g.pairs, deadline=deadline) for g in groups]
    failing = [k for k, ok in enumerate(alone) if ok is False]
    if failing:
        return _groups_that_fail_alone(groups, failing, deadline, max_relaxations)
    return _groups_that_compete(groups, deadline, max_relaxations)


def _groups_that_fail_alone(groups: list[SessionGroup], failing: list[int], deadline: float,
                            max_relaxations: int) -> Diagnosis:
    messages: list[str] = []
    clashes: list[dict[str, Any]] = []
    relaxations: list[dict[str, Any]] = []
    per_group: list[list[dict[str, Any]]] = []
    for k in failing:
        group = groups[k]
        share = max(2.0, (deadline - time.monotonic()) / (2 * len(failing)))
        alone = diagnose(group.candidates, group.rules, group.pairs, time_limit_s=share)
        messages += [f"{group.name}：{m}" for m in alone.messages if not m.startswith("最小放宽方案")]
        clashes += [{**c, "group": group.name} for c in alone.clashes]
        per_group.append([{**r, "group": group.name, "message": f"{group.name}：{r['message']}"}
                          for r in alone.relaxations])
    if len(failing) == 1:
        # confirmed for the group alone; keep those with which the whole session works
        k = failing[0]
        for r in per_group[0]:
            if time.monotonic() > deadline:
                break
            if session_feasible(_with_rules(groups, k, r["rules"]), deadline=deadline):
                relaxations.append(r)
    else:
        # several groups fail alone: each needs its own relaxation; the smallest of each, together
        trial = list(groups)
        for k, options in zip(failing, per_group):
            if options:
                trial = _with_rules(trial, k, options[0]["rules"])
        if all(per_group) and session_feasible(trial, deadline=deadline):
            relaxations.append({"rule": "+".join(o[0]["rule"] for o in per_group), "group": None,
                                "target": [o[0]["target"] for o in per_group],
                                "steps": sum(o[0]["steps"] for o in per_group),
                                "message": "；".join(o[0]["message"] for o in per_group),
                                "rules": None})
    return _finish(messages, clashes, relaxations, max_relaxations)


def _groups_that_compete(groups: list[SessionGroup], deadline: float, max_relaxations: int) -> Diagnosis:
    core = list(range(len(groups)))
    for k in range(len(groups)):
        if len(core) <= 2 or time.monotonic() > deadline:
            break
        trial = [j for j in core if j != k]
        if session_feasible([groups[j] for j in trial], deadline=deadline) is False:
            core = trial
    names = "、".join(groups[j].name for j in core)
    clashes = [{**c, "groups": [groups[j].name for j in core]} for c in _shortages([groups[j] for j in core])]
    messages = [f"{names} 各自都能组成专家组，但不能同时组成：一位专家只能入一个组"]
    messages += [c["message"] for c in clashes]
    relaxations: list[dict[str, Any]] = []
    for k in core:
        group = groups[k]
        for dim in relaxation_dimensions(group.rules):
            if time.monotonic() > deadline:
                break
            top = max_relaxation_steps(group.rules, dim)
            loosest = relaxed_rules(group.rules, dim, top)
            if loosest is None or not session_feasible(_with_rules(groups, k, loosest), deadline=deadline):
                continue
            lo, hi = 0, top
            while hi - lo > 1 and time.monotonic() < deadline:
                mid = (lo + hi) // 2
                trial = relaxed_rules(group.rules, dim, mid)
                if trial is not None and session_feasible(_with_rules(groups, k, trial), deadline=deadline):
                    hi = mid
                else:
                    lo = mid
            found = describe_relaxation(group.rules, relaxed_rules(group.rules, dim, hi), dim, hi)
            relaxations.append({**found, "group": group.name,
                                "message": f"{group.name}：{found['message'].removesuffix('，即可组成专家组')}，"
                                           "即可组成整场评审会"})
    if not relaxations:
        relaxations = _everywhere(groups, deadline)
    return _finish(messages, clashes, relaxations, max_relaxations)


def _everywhere(groups: list[SessionGroup], deadline: float) -> list[dict[str, Any]]:
    """A rule every group has, relaxed by the same number of steps in all of them (the smallest
    number with which the session has a solution)."""
    out: list[dict[str, Any]] = []
    shared = [d for d in relaxation_dimensions(groups[0].rules)
              if d[0] != "fields" and all(d in relaxation_dimensions(g.rules) for g in groups)]

    def relaxed_all(dim, k: int) -> list[SessionGroup] | None:
        trial = []
        for g in groups:
            rules = relaxed_rules(g.rules, dim, min(k, max_relaxation_steps(g.rules, dim)))
            if rules is None:
                return None
            trial.append(replace(g, rules=rules))
        return trial

    for dim in shared:
        if time.monotonic() > deadline:
            break
        top = max(max_relaxation_steps(g.rules, dim) for g in groups)
        loosest = relaxed_all(dim, top)
        if loosest is None or not session_feasible(loosest, deadline=deadline):
            continue
        lo, hi = 0, top
        while hi - lo > 1 and time.monotonic() < deadline:
            mid = (lo + hi) // 2
            trial = relaxed_all(dim, mid)
            if trial is not None and session_feasible(trial, deadline=deadline):
                hi = mid
            else:
                lo = mid
        first = groups[0]
        found = describe_relaxation(first.rules, relaxed_rules(first.rules, dim, min(hi, max_relaxation_steps(
            first.rules, dim))), dim, hi)
        out.append({**found, "group": None, "rules": None,
                    "message": f"各组同时{found['message'].removesuffix('，即可组成专家组')}，即可组成整场评审会"})
    return out


def _shortages(core: Sequence[SessionGroup]) -> list[dict[str, Any]]:
    """What the groups of `core` need together against the experts any of them could take."""
    names = "、".join(g.name for g in core)
    out: list[dict[str, Any]] = []

    def short(rule: str, target: Any, need: int, people: set[str], label: str) -> None:
        if need > len(people):
            out.append({"rule": rule, "target": target, "need": need, "have": len(people),
                        "message": f"{label}：{names} 共需 {need} 人，可用专家只有 {len(people)} 人"})

    short("size", None, sum(g.rules.size for g in core), {c.id for g in core for c in g.candidates}, "人数")
    # each legal unit fills at most its cap in each group, and no more seats than it has people
    people: dict[str, set[str]] = {}
    room: dict[str, int] = {}
    for g in core:
        cap = g.rules.max_per_institution if g.rules.max_per_institution is not None else g.rules.size
        for unit in {c.institution for c in g.candidates}:
            room[unit] = room.get(unit, 0) + min(cap, g.rules.size)
        for c in g.candidates:
            people.setdefault(c.institution, set()).add(c.id)
    fillable = sum(min(len(ids), room[unit]) for unit, ids in people.items())
    need = sum(g.rules.size for g in core)
    if any(g.rules.max_per_institution is not None for g in core) and fillable < need:
        out.append({"rule": "max_per_institution", "target": None, "need": need, "have": fillable,
                    "message": f"单位人数上限：{names} 共需 {need} 人，按各组每个单位的人数上限最多只能凑出 {fillable} 人"})
    fields = sorted({f for g in core for f in g.rules.fields})
    for field in fields:
        needing = [g for g in core if field in g.rules.fields]
        short("fields", field, sum(g.rules.min_per_field for g in needing),
              {c.id for g in needing for c in g.candidates if field in g.rules.covered_fields(c)}, f"「{field}」领域")
    short("min_full_senior_share", "正高级", sum(share_ceil(g.rules.min_full_senior_share, g.rules.size) for g in core),
          {c.id for g in core for c in g.candidates if c.full_senior}, "正高级")
    regions = sorted({r for g in core for r in g.rules.region_bounds})
    for region in regions:
        short("region_bounds", region, sum(share_ceil(g.rules.region_bounds[region][0], g.rules.size)
                                           for g in core if region in g.rules.region_bounds),
              {c.id for g in core for c in g.candidates if c.region == region}, f"{region}专家")
    quotas: dict[str, list[tuple[SessionGroup, QuotaBound]]] = {}
    for g in core:
        for quota in g.rules.quotas:
            if not quota.each and quota.head_counts(g.rules.size)[0] > 0:
                lo, hi = quota.head_counts(g.rules.size)
                quotas.setdefault(quota.label, []).append((g, QuotaBound(quota.label, lo, hi, quota)))
    for label, entries in sorted(quotas.items()):
        short("quota", label, sum(q.lo for _, q in entries),
              {c.id for g, q in entries for c in g.candidates if q.counts(c)}, label)
    return out


def _finish(messages: list[str], clashes: list[dict[str, Any]], relaxations: list[dict[str, Any]],
            max_relaxations: int) -> Diagnosis:
    relaxations.sort(key=lambda r: r["steps"])
    relaxations = relaxations[:max_relaxations]
    if relaxations:
        messages.append("最小放宽方案（已对整场评审会重新求解验证）：" + "；".join(r["message"] for r in relaxations[:3]))
    else:
        messages.append("在时限内未找到能让整场评审会成立的单项放宽方案")
    return Diagnosis(messages=messages, clashes=clashes, relaxations=relaxations)
