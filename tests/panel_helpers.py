"""Shared helpers for the panel-solver tests: small random pools, rules, brute force references."""
from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest

from expertpool.domain.panel import STRATEGIES, Candidate, PanelRules, SolveStatus, check_panel
from expertpool.domain.panel.spec import Quota

FIELDS3 = ("人工智能", "航空航天", "新材料")
INSTS = ("四川大学", "电子科技大学", "重庆大学", "西南大学")


SECTORS3 = ("高校", "科研院所", "企业")


def make_pool(rng: random.Random, n: int, *, fields: Sequence[str] = FIELDS3, insts: Sequence[str] = INSTS,
              senior_share: float = 0.5, relevance: bool = True, attributes: bool = False) -> list[Candidate]:
    """`n` random candidates; with `attributes`, each also has a gender, a sector, an age (most
    of them) and a sub-region, for quotas."""
    pool = []
    for k in range(n):
        fs = rng.sample(list(fields), rng.randint(1, min(2, len(fields))))
        extra = {}
        if attributes:
            extra = {"gender": rng.choice(("男", "男", "女")), "sector": rng.choice(SECTORS3),
                     "sub_region": rng.choice(("成都", "绵阳", "渝北区"))}
            if rng.random() < 0.9:
                extra["age"] = str(rng.randint(32, 64))
        pool.append(Candidate(
            id=f"E{k:03d}", name=f"专家{k}", region=rng.choice(("四川", "重庆")), fields=tuple(fs),
            title="正高级" if rng.random() < senior_share else rng.choice(("副高级", "中级")),
            institution=rng.choice(list(insts)),
            relevance=round(rng.uniform(0, 10), 3) if relevance else 1.0,
            attributes=extra,
        ))
    return pool


def make_quotas(rng: random.Random, size: int) -> tuple[Quota, ...]:
    """Zero to two random quotas of the kinds officers write (a share of 企业, women, young
    experts, a cap per sub-region, high-level talents)."""
    kinds = [
        lambda: Quota("sector", ("企业",), min=rng.randint(1, 2)),
        lambda: Quota("sector", ("企业",), min_share=1 / 3),
        lambda: Quota("gender", ("女",), min=1, max=rng.randint(1, size)),
        lambda: Quota("age", at_most=45, min=1),
        lambda: Quota("age", at_least=60, max=1),
        lambda: Quota("sub_region", max=rng.randint(1, 2)),
        lambda: Quota("sector", ("高校", "科研院所"), max_share=0.6),
        lambda: Quota("title", ("中级",), max=0),
    ]
    return tuple(rng.choice(kinds)() for _ in range(rng.randint(0, 2)))


def make_rules(rng: random.Random, size: int, *, fields: Sequence[str] = FIELDS3, **overrides) -> PanelRules:
    lo = rng.choice((0.0, 0.2, 0.3))
    params = dict(
        size=size,
        fields=tuple(rng.sample(list(fields), rng.randint(0, len(fields)))),
        min_per_field=rng.choice((1, 1, 2)),
        coverage=rng.choice(("any", "primary")),
        region_bounds=rng.choice(({}, {"四川": (lo, 1 - lo), "重庆": (lo, 1 - lo)}, {"重庆": (0.0, 0.5)})),
        min_full_senior_share=rng.choice((0.0, 0.3, 0.5)),
        max_per_institution=rng.choice((None, 1, 2)),
        perturbation=0.0,
        time_limit_s=20.0,
    )
    params.update(overrides)
    return PanelRules(**params)


def make_pairs(rng: random.Random, pool: Sequence[Candidate], count: int) -> list[tuple[str, str]]:
    ids = [c.id for c in pool]
    return [tuple(rng.sample(ids, 2)) for _ in range(count)] if len(ids) >= 2 else []


def feasible_panels(pool: Sequence[Candidate], rules: PanelRules, pairs) -> list[tuple[str, ...]]:
    """Every feasible panel, by brute force (use on ≤ 14 candidates)."""
    ids = sorted(c.id for c in pool)
    return [combo for combo in itertools.combinations(ids, rules.size)
            if not check_panel(combo, pool, rules, pairs)]


def brute_best(pool: Sequence[Candidate], rules: PanelRules, pairs) -> float | None:
    panels = feasible_panels(pool, rules, pairs)
    if not panels:
        return None
    rel = {c.id: c.relevance for c in pool}
    return max(sum(rel[i] for i in p) for p in panels)


def brute_maximin(pool: Sequence[Candidate], rules: PanelRules, pairs) -> tuple[float, set[str]] | None:
    """Maximin over qualified candidates by an LP over ALL feasible panels (GLOP).

    Returns (value, ids that are on some feasible panel) or None when no panel exists.
    """
    from ortools.linear_solver import pywraplp

    qualified = [c for c in pool if c.relevance >= rules.relevance_threshold]
    panels = feasible_panels(qualified, rules, pairs)
    if not panels:
        return None
    reach = {i for p in panels for i in p}
    solver = pywraplp.Solver.CreateSolver("GLOP")
    lam = [solver.NumVar(0, 1, "") for _ in panels]
    z = solver.NumVar(0, 1, "z")
    solver.Add(sum(lam) == 1)
    for person in reach:
        row = sum(lam[k] for k, p in enumerate(panels) if person in p)
        solver.Add(row >= z)
        if rules.max_probability is not None:
            solver.Add(row <= rules.max_probability)
    solver.Maximize(z)
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return z.solution_value(), reach


def assert_panel_ok(result, pool, rules, pairs) -> None:
    """The checker passes on the panel and on every backup / replacement substitution."""
    members = list(result.members)
    assert check_panel(members, pool, rules, pairs) == [], check_panel(members, pool, rules, pairs)
    for b in result.backups:
        for k in range(len(members)):
            swapped = members[:k] + [b] + members[k + 1:]
            assert check_panel(swapped, pool, rules, pairs) == [], (b, members[k])
    for m, replacements in result.replacements.items():
        k = members.index(m)
        for b in replacements:
            swapped = members[:k] + [b] + members[k + 1:]
            assert check_panel(swapped, pool, rules, pairs) == [], (m, b)


def lottery_against_brute_force(pool: Sequence[Candidate], rules: PanelRules, pairs, seed: int):
    """The lottery's draw beside brute force's (maximin, reachable experts): infeasible in both
    (then None), or optimal at the same minimum probability."""
    expected = brute_maximin(pool, rules, pairs)
    result = STRATEGIES["lottery"](pool, rules, pairs, seed=seed, time_limit_s=20)
    if expected is None:
        assert result.status is SolveStatus.INFEASIBLE
        return result, None
    assert result.status is SolveStatus.OPTIMAL
    assert result.probability_min == pytest.approx(expected[0], abs=1e-6)
    return result, expected
