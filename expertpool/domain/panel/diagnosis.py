"""Why a panel cannot be formed, and the smallest relaxation that makes it possible.

Two parts:
1. Clashes: counts of the pool against each rule, alone and in the simple combinations that
   explain most failures (a field's experts all sit in a region that is capped, too few 正高级,
   too few institutions for the cap …). Each is a necessary condition, so every clash reported
   is real; when none fires the rules only fail together, and we say so.
2. Relaxations: each rule is relaxed by its smallest step (a field dropped, min_per_field − 1,
   a region bound widened by 0.05, the 正高级 share lowered by 0.05, the institution cap raised
   by 1, a quota's bound moved by one person, the size cut by 2). Relaxing further never hurts, so for each rule we test the loosest
   setting and, if that works, binary-search the smallest number of steps. Every relaxation
   reported was confirmed feasible by the exact solver; they are listed smallest first.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from expertpool.domain import taxonomy
from expertpool.domain.panel.encoder import QuotaBound, candidate_units, encode, resolve_bounds
from expertpool.domain.panel.narrowing import narrow
from expertpool.domain.panel.result import Diagnosis
from expertpool.domain.panel.solve import is_feasible
from expertpool.domain.panel.spec import Candidate, PanelRules, Quota, share_ceil, share_floor

STEP = 0.05


def feasible(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]],
             *, deadline: float) -> bool | None:
    """Whether any panel satisfies `rules` (None: undecided before `deadline`)."""
    bounds = resolve_bounds(rules, candidates)
    pool = encode(candidates, rules, forbidden_pairs, bounds)
    if len(pool) < bounds.size:
        return False
    keep = narrow(pool, bounds, [0.0] * len(pool))
    return is_feasible(candidate_units(pool, keep, bounds), bounds, deadline=deadline)


def rule_clashes(candidates: Sequence[Candidate], rules: PanelRules) -> list[dict[str, Any]]:
    size = rules.size
    out: list[dict[str, Any]] = []
    if len(candidates) < size:
        out.append({"rule": "size", "target": None, "need": size, "have": len(candidates),
                    "message": f"可用候选专家仅 {len(candidates)} 人，不足专家组所需的 {size} 人"})
    by_region = Counter(c.region for c in candidates)
    bounded = {r: (share_ceil(lo, size), share_floor(hi, size)) for r, (lo, hi) in rules.region_bounds.items()}

    def capped_total(people: list[Candidate]) -> int:
        """How many of `people` a panel could hold under the region upper bounds."""
        per = Counter(c.region for c in people)
        return sum(min(k, bounded[r][1]) if r in bounded else k for r, k in per.items())

    def by_region_text(people: list[Candidate]) -> str:
        per = Counter(c.region for c in people)
        regions = [r for r in taxonomy.REGIONS] + sorted(set(per) - set(taxonomy.REGIONS))
        return "，".join(f"{r} {per.get(r, 0)} 人" for r in regions)

    for field in rules.fields:
        covering = [c for c in candidates if field in c.covers(rules.coverage)]
        need = rules.min_per_field
        if len(covering) < need:
            out.append({"rule": "fields", "target": field, "need": need, "have": len(covering),
                        "by_region": dict(Counter(c.region for c in covering)),
                        "message": f"「{field}」领域可用专家 {len(covering)} 人（{by_region_text(covering)}），"
                                   f"至少需要 {need} 人"})
        elif capped_total(covering) < need:
            out.append({"rule": "fields", "target": field, "need": need, "have": capped_total(covering),
                        "by_region": dict(Counter(c.region for c in covering)),
                        "message": f"「{field}」领域可用专家（{by_region_text(covering)}）受地区人数上限限制，"
                                   f"最多只能入选 {capped_total(covering)} 人，至少需要 {need} 人"})
    for region, (lo, hi) in sorted(bounded.items()):
        if by_region.get(region, 0) < lo:
            out.append({"rule": "region_bounds", "target": region, "need": lo, "have": by_region.get(region, 0),
                        "message": f"{region}可用专家 {by_region.get(region, 0)} 人，但规则要求至少 {lo} 人"})
        if lo > hi:
            out.append({"rule": "region_bounds", "target": region, "need": lo, "have": hi,
                        "message": f"{region}的占比区间在 {size} 人的专家组里取不到整数人数（下限 {lo} 人 > 上限 {hi} 人）"})
    if bounded:
        lo_sum = sum(lo for lo, _ in bounded.values())
        if lo_sum > size:
            out.append({"rule": "region_bounds", "target": None, "need": lo_sum, "have": size,
                        "message": f"各地区人数下限之和 {lo_sum} 人超过专家组人数 {size} 人"})
        reachable = capped_total(list(candidates))
        if reachable < size <= len(candidates):
            out.append({"rule": "region_bounds", "target": None, "need": size, "have": reachable,
                        "message": f"按各地区人数上限，最多只能选出 {reachable} 人，不足 {size} 人"})
    need_senior = share_ceil(rules.min_full_senior_share, size)
    seniors = [c for c in candidates if c.full_senior]
    if len(seniors) < need_senior:
        out.append({"rule": "min_full_senior_share", "target": "正高级", "need": need_senior, "have": len(seniors),
                    "message": f"正高级可用专家仅 {len(seniors)} 人，至少需要 {need_senior} 人"})
    elif capped_total(seniors) < need_senior:
        out.append({"rule": "min_full_senior_share", "target": "正高级", "need": need_senior,
                    "have": capped_total(seniors),
                    "message": f"正高级专家（{by_region_text(seniors)}）受地区人数上限限制，最多只能入选 "
                               f"{capped_total(seniors)} 人，至少需要 {need_senior} 人"})
    cap = rules.max_per_institution
    if cap is not None:
        per_inst = Counter(c.institution for c in candidates)
        reachable = sum(min(cap, k) for k in per_inst.values())
        if reachable < size <= len(candidates):
            out.append({"rule": "max_per_institution", "target": None, "need": size, "have": reachable,
                        "message": f"每个单位至多 {cap} 人，{len(per_inst)} 个单位最多只能凑出 {reachable} 人，"
                                   f"不足 {size} 人"})
    out.extend(_quota_clashes(candidates, rules))
    if rules.coverage == "primary" and rules.fields and len(rules.fields) * rules.min_per_field > size:
        need = len(rules.fields) * rules.min_per_field
        out.append({"rule": "fields", "target": None, "need": need, "have": size,
                    "message": f"按第一专业领域计，{len(rules.fields)} 个领域各需 {rules.min_per_field} 人，"
                               f"共需 {need} 人，超过专家组人数 {size} 人"})
    return out


def _quota_clashes(candidates: Sequence[Candidate], rules: PanelRules) -> list[dict[str, Any]]:
    """Each quota against the pool: too few people counted for its lower bound, too few left
    outside it for its upper bound, or (a cap per value) too few values to fill the panel."""
    size = rules.size
    out: list[dict[str, Any]] = []
    for quota in rules.quotas:
        lo, hi = quota.head_counts(size)
        if quota.each:
            per = Counter(v for c in candidates for v in set(c.values(quota.attribute)))
            without = sum(1 for c in candidates if not c.values(quota.attribute))
            reachable = sum(min(k, hi) for k in per.values()) + without
            if reachable < size <= len(candidates):
                out.append({"rule": "quota", "target": quota.label, "need": size, "have": reachable,
                            "message": f"{quota.label}至多 {hi} 人，{len(per)} 个取值最多只能凑出 {reachable} 人，"
                                       f"不足 {size} 人"})
            continue
        target = QuotaBound(quota.label, lo, hi, quota)
        counted = sum(1 for c in candidates if target.counts(c))
        if counted < lo:
            out.append({"rule": "quota", "target": quota.label, "need": lo, "have": counted,
                        "message": f"{quota.label}可用专家 {counted} 人，至少需要 {lo} 人"})
        others = len(candidates) - counted
        if others < size - hi <= len(candidates) - lo:
            out.append({"rule": "quota", "target": quota.label, "need": size - hi, "have": others,
                        "message": f"{quota.label}至多 {hi} 人，其余可用专家仅 {others} 人，凑不足 {size} 人"})
    return out


def _relaxed_quota(quota: Quota, size: int, side: str, k: int) -> Quota:
    """`quota` with its lower bound lowered (side "lo") or its upper bound raised ("hi") by k people."""
    lo, hi = quota.head_counts(size)
    if side == "lo":
        return replace(quota, min=max(0, lo - k), min_share=None)
    return replace(quota, max=min(size, hi + k), max_share=None)


def _steps_region(rules: PanelRules, region: str, side: int) -> int:
    lo, hi = rules.region_bounds[region]
    room = lo if side < 0 else 1.0 - hi
    return max(0, math.ceil(room / STEP - 1e-9))


def relaxed_rules(rules: PanelRules, dim: tuple[str, Any], k: int) -> PanelRules | None:
    """`rules` relaxed k steps along `dim` (None when that is not a change)."""
    rule, target = dim
    if k <= 0:
        return None
    if rule == "fields":
        return replace(rules, fields=tuple(f for f in rules.fields if f != target))
    if rule == "min_per_field":
        return replace(rules, min_per_field=max(0, rules.min_per_field - k))
    if rule == "region_lo":
        lo, hi = rules.region_bounds[target]
        bounds = dict(rules.region_bounds)
        bounds[target] = (round(max(0.0, lo - k * STEP), 4), hi)
        return replace(rules, region_bounds=bounds)
    if rule == "region_hi":
        lo, hi = rules.region_bounds[target]
        bounds = dict(rules.region_bounds)
        bounds[target] = (lo, round(min(1.0, hi + k * STEP), 4))
        return replace(rules, region_bounds=bounds)
    if rule == "min_full_senior_share":
        return replace(rules, min_full_senior_share=round(max(0.0, rules.min_full_senior_share - k * STEP), 4))
    if rule == "max_per_institution":
        return replace(rules, max_per_institution=rules.max_per_institution + k)
    if rule in ("quota_lo", "quota_hi"):
        quotas = list(rules.quotas)
        quotas[target] = _relaxed_quota(quotas[target], rules.size, rule[-2:], k)
        return replace(rules, quotas=tuple(quotas))
    if rule == "size":
        size = rules.size - 2 * k
        # a quota needing more people than the smaller panel has is cut to its size
        quotas = tuple(replace(q, min=size) if q.min is not None and q.min > size else q for q in rules.quotas)
        return replace(rules, size=size, quotas=quotas)
    raise ValueError(rule)


def max_relaxation_steps(rules: PanelRules, dim: tuple[str, Any]) -> int:
    rule, target = dim
    if rule == "fields":
        return 1
    if rule == "min_per_field":
        return rules.min_per_field if rules.fields else 0
    if rule == "region_lo":
        return _steps_region(rules, target, -1)
    if rule == "region_hi":
        return _steps_region(rules, target, +1)
    if rule == "min_full_senior_share":
        return math.ceil(rules.min_full_senior_share / STEP - 1e-9)
    if rule == "max_per_institution":
        return 0 if rules.max_per_institution is None else max(0, rules.size - rules.max_per_institution)
    if rule == "quota_lo":
        return rules.quotas[target].head_counts(rules.size)[0]
    if rule == "quota_hi":
        return rules.size - rules.quotas[target].head_counts(rules.size)[1]
    if rule == "size":
        return (rules.size - 1) // 2
    raise ValueError(rule)


def describe_relaxation(rules: PanelRules, relaxed: PanelRules, dim: tuple[str, Any], k: int) -> dict[str, Any]:
    rule, target = dim
    if rule == "fields":
        before, after = target, None
        text = f"不再要求「{target}」领域的专家"
    elif rule == "min_per_field":
        before, after = rules.min_per_field, relaxed.min_per_field
        text = f"每个领域至少人数由 {before} 降为 {after}"
    elif rule in ("region_lo", "region_hi"):
        before, after = rules.region_bounds[target], relaxed.region_bounds[target]
        which = "下限" if rule == "region_lo" else "上限"
        idx = 0 if rule == "region_lo" else 1
        text = f"{target}专家占比{which}由 {before[idx]:.2f} 调整为 {after[idx]:.2f}"
    elif rule == "min_full_senior_share":
        before, after = rules.min_full_senior_share, relaxed.min_full_senior_share
        text = f"正高级占比下限由 {before:.2f} 降为 {after:.2f}"
    elif rule == "max_per_institution":
        before, after = rules.max_per_institution, relaxed.max_per_institution
        text = f"每个单位人数上限由 {before} 提高到 {after}"
    elif rule in ("quota_lo", "quota_hi"):
        idx = 0 if rule == "quota_lo" else 1
        before = rules.quotas[target].head_counts(rules.size)[idx]
        after = relaxed.quotas[target].head_counts(relaxed.size)[idx]
        label = rules.quotas[target].label
        text = (f"{label}至少人数由 {before} 降为 {after}" if idx == 0
                else f"{label}至多人数由 {before} 提高到 {after}")
        target = label
    else:
        before, after = rules.size, relaxed.size
        text = f"专家组人数由 {before} 减为 {after}"
    name = "region_bounds" if rule.startswith("region") else "quota" if rule.startswith("quota") else rule
    return {"rule": name, "target": target,
            "from": before, "to": after, "steps": k, "message": f"{text}，即可组成专家组", "rules": relaxed}


def relaxation_dimensions(rules: PanelRules) -> list[tuple[str, Any]]:
    dims: list[tuple[str, Any]] = [("fields", f) for f in rules.fields]
    dims.append(("min_per_field", None))
    for region in sorted(rules.region_bounds):
        dims += [("region_lo", region), ("region_hi", region)]
    dims += [("min_full_senior_share", None), ("max_per_institution", None)]
    for k in range(len(rules.quotas)):
        dims += [("quota_lo", k), ("quota_hi", k)]
    dims.append(("size", None))
    return [d for d in dims if max_relaxation_steps(rules, d) > 0]


def diagnose(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]] = (),
             *, time_limit_s: float = 20.0, max_relaxations: int = 6) -> Diagnosis:
    """Explain why no panel satisfies `rules`, and find the smallest relaxations that work."""
    deadline = time.monotonic() + time_limit_s
    pairs = list(forbidden_pairs)
    clashes = rule_clashes(candidates, rules)
    messages = [c["message"] for c in clashes]
    if pairs and not clashes:
        if feasible(candidates, rules, (), deadline=deadline):
            clash = {"rule": "forbidden_pairs", "target": None, "need": 0, "have": len(pairs),
                     "message": "专家之间的回避关系（师生、亲属等）使满足其余规则的组合都无法成立"}
            clashes.append(clash)
            messages.append(clash["message"])
    if not clashes:
        messages.append("各项规则单独都能满足，但无法同时满足；请参考下列放宽方案")

    def ok(r: PanelRules) -> bool:
        return bool(feasible(candidates, r, pairs, deadline=deadline))

    relaxations: list[dict[str, Any]] = []
    dims = relaxation_dimensions(rules)
    for dim in dims:
        if time.monotonic() > deadline:
            break
        top = max_relaxation_steps(rules, dim)
        loosest = relaxed_rules(rules, dim, top)
        if loosest is None or not ok(loosest):
            continue
        lo, hi = 0, top          # infeasible at lo steps, feasible at hi steps
        while hi - lo > 1 and time.monotonic() < deadline:
            mid = (lo + hi) // 2
            candidate = relaxed_rules(rules, dim, mid)
            if candidate is not None and ok(candidate):
                hi = mid
            else:
                lo = mid
        relaxations.append(describe_relaxation(rules, relaxed_rules(rules, dim, hi), dim, hi))
    if not relaxations:
        # no single rule suffices: try pairs of rules, each first at its loosest
        for a in range(len(dims)):
            for b in range(a + 1, len(dims)):
                if time.monotonic() > deadline or len(relaxations) >= max_relaxations:
                    break
                da, db = dims[a], dims[b]
                if da[0] == "fields" and db[0] == "fields":
                    continue
                ka, kb = max_relaxation_steps(rules, da), max_relaxation_steps(rules, db)
                both = relaxed_rules(relaxed_rules(rules, da, ka), db, kb)
                if not ok(both):
                    continue
                while ka > 1 and ok(relaxed_rules(relaxed_rules(rules, da, ka - 1), db, kb)):
                    ka -= 1
                while kb > 1 and ok(relaxed_rules(relaxed_rules(rules, da, ka), db, kb - 1)):
                    kb -= 1
                first = relaxed_rules(rules, da, ka)
                final = relaxed_rules(first, db, kb)
                one, two = describe_relaxation(rules, first, da, ka), describe_relaxation(first, final, db, kb)
                relaxations.append({"rule": f"{one['rule']}+{two['rule']}", "target": (da[1], db[1]),
                                    "from": (one["from"], two["from"]), "to": (one["to"], two["to"]),
                                    "steps": ka + kb,
                                    "message": one["message"].removesuffix("，即可组成专家组") + "，并且"
                                               + two["message"],
                                    "rules": final})
    relaxations.sort(key=lambda r: r["steps"])
    relaxations = relaxations[:max_relaxations]
    if relaxations:
        messages.append("最小放宽方案：" + r"；".join(r["message"] for r in relaxations[:3]))
    else:
        messages.append("放宽单项或两项规则仍无法组成专家组")
    return Diagnosis(messages=messages, clashes=clashes, relaxations=relaxations)
