"""Attribute quotas in the panel solver: both strategies against brute force, the narrowing,
backups, the checker and the diagnosis naming a clashing quota."""
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertpool.domain import taxonomy
from expertpool.domain.panel import STRATEGIES, Candidate, PanelRules, SolveStatus, check_panel, diagnose, feasible
from expertpool.domain.panel.best import perturbed_weights
from expertpool.domain.panel.encoder import candidate_units, encode, resolve_bounds
from expertpool.domain.panel.narrowing import narrow
from expertpool.domain.panel.solve import maximise
from expertpool.domain.panel.spec import Quota
from expertpool.errors import InputError
from tests.panel_helpers import (assert_panel_ok, brute_best, lottery_against_brute_force, make_pairs, make_pool,
                                 make_quotas, make_rules)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=st.integers(0, 10 ** 6), n=st.integers(4, 13), size=st.integers(3, 5), npairs=st.integers(0, 3))
def test_best_with_quotas_matches_brute_force(seed, n, size, npairs):
    rng = random.Random(seed)
    pool = make_pool(rng, n, attributes=True)
    rules = make_rules(rng, size, backups=3, quotas=make_quotas(rng, size))
    pairs = make_pairs(rng, pool, npairs)
    expected = brute_best(pool, rules, pairs)
    result = STRATEGIES["best"](pool, rules, pairs, seed=seed, time_limit_s=20)
    if expected is None:
        assert result.status is SolveStatus.INFEASIBLE and result.diagnosis is not None
    else:
        assert result.status is SolveStatus.OPTIMAL
        assert result.relevance_sum == pytest.approx(expected, abs=1e-6)
        assert_panel_ok(result, pool, rules, pairs)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10 ** 6), n=st.integers(4, 12), size=st.integers(3, 5), npairs=st.integers(0, 2))
def test_lottery_with_quotas_matches_brute_force(seed, n, size, npairs):
    rng = random.Random(seed)
    pool = make_pool(rng, n, attributes=True)
    rules = make_rules(rng, size, mode="lottery", backups=2, quotas=make_quotas(rng, size))
    pairs = make_pairs(rng, pool, npairs)
    result, expected = lottery_against_brute_force(pool, rules, pairs, seed)
    if expected is None:
        return
    assert set(result.unreachable) == {c.id for c in pool} - expected[1]
    assert_panel_ok(result, pool, rules, pairs)


def _optimum(pool, rules, pairs, narrowed: bool):
    bounds = resolve_bounds(rules, pool)
    enc = encode(pool, rules, pairs, bounds)
    weights = perturbed_weights(enc, rules.perturbation, 7)
    chosen = narrow(enc, bounds, weights) if narrowed else list(range(len(enc)))
    sol = maximise(candidate_units(enc, chosen, bounds), bounds, [weights[i] for i in chosen],
                   deadline=time.monotonic() + 20)
    return sol.status, (sol.value if sol.status == "optimal" else None), len(chosen)


@pytest.mark.parametrize("seed", range(16))
def test_narrowing_keeps_the_optimum_under_quotas(seed):
    rng = random.Random(1000 + seed)
    pool = make_pool(rng, rng.randint(60, 160), fields=taxonomy.FIELDS[:4], insts=[f"单位{k}" for k in range(8)],
                     senior_share=0.6, attributes=True)
    size = rng.randint(5, 9)
    rules = make_rules(rng, size, fields=taxonomy.FIELDS[:4], perturbation=0.05,
                       quotas=make_quotas(rng, size) or (Quota("sector", ("企业",), min=2, max=3),))
    pairs = make_pairs(rng, pool, rng.randint(0, 8))
    full = _optimum(pool, rules, pairs, narrowed=False)
    narrowed = _optimum(pool, rules, pairs, narrowed=True)
    assert full[0] == narrowed[0]
    if full[1] is not None:
        assert narrowed[1] == pytest.approx(full[1], rel=1e-9)
    assert narrowed[2] <= full[2]


def _person(i: int, **attributes) -> Candidate:
    return Candidate(id=f"P{i:02d}", name=f"人{i}", region="四川", fields=("人工智能",), title="正高级",
                     institution=f"单位{i}", relevance=float(i), attributes=attributes)


def test_checker_names_each_broken_quota():
    people = [_person(1, sector="企业", gender="女", age="40", sub_region="成都"),
              _person(2, sector="高校", gender="男", age="50", sub_region="成都"),
              _person(3, sector="高校", gender="男", sub_region="成都")]
    rules = PanelRules(size=3, quotas=(Quota("sector", ("企业",), min_share=0.5),
                                       Quota("age", at_most=45, max=0),
                                       Quota("sub_region", max=2),
                                       Quota("gender", ("女",), min=1)))
    problems = check_panel(["P01", "P02", "P03"], people, rules)
    assert any("单位类型「企业」 1 人，应在 2–3 人" in p for p in problems), problems
    assert any("年龄≤45岁 1 人，应在 0–0 人" in p for p in problems), problems
    assert any("每个市州/区县（成都） 3 人，应在 0–2 人" in p for p in problems), problems
    assert not any("性别" in p for p in problems)


def test_quota_over_the_candidates_own_fields():
    people = [Candidate(id=f"Q{i}", name=f"人{i}", region="四川" if i < 4 else "重庆", fields=("人工智能",),
                        title="正高级", institution=f"单位{i}", relevance=float(i), high_level=i % 2 == 0)
              for i in range(8)]
    rules = PanelRules(size=4, quotas=(Quota("high_level", ("是",), min=3), Quota("region", ("重庆",), max=1)))
    result = STRATEGIES["best"](people, rules, [], seed=1, time_limit_s=10)
    assert result.status is SolveStatus.OPTIMAL
    chosen = [p for p in people if p.id in result.members]
    assert sum(p.high_level for p in chosen) >= 3 and sum(p.region == "重庆" for p in chosen) <= 1
    assert check_panel(result.members, people, rules) == []


def test_diagnosis_names_the_clashing_quota_and_a_confirmed_relaxation():
    people = [_person(i, sector="企业" if i < 2 else "高校") for i in range(10)]
    rules = PanelRules(size=5, quotas=(Quota("sector", ("企业",), min=3),))
    result = STRATEGIES["best"](people, rules, [], seed=1, time_limit_s=10)
    assert result.status is SolveStatus.INFEASIBLE
    assert any("单位类型「企业」可用专家 2 人，至少需要 3 人" in m for m in result.diagnosis.messages)
    relax = next(r for r in result.diagnosis.relaxations if r["rule"] == "quota")
    assert relax["from"] == 3 and relax["to"] == 2 and "单位类型「企业」至少人数由 3 降为 2" in relax["message"]
    assert feasible(people, relax["rules"], (), deadline=time.monotonic() + 10)


def test_diagnosis_names_an_upper_bound_that_leaves_too_few():
    people = [_person(i, sector="企业" if i < 8 else "高校") for i in range(10)]
    rules = PanelRules(size=5, quotas=(Quota("sector", ("企业",), max_share=0.4),))
    diagnosis = diagnose(people, rules)
    assert any("单位类型「企业」至多 2 人，其余可用专家仅 2 人" in m for m in diagnosis.messages), diagnosis.messages
    assert any(r["rule"] == "quota" and r["to"] == 3 for r in diagnosis.relaxations)


def test_each_value_cap_clash():
    people = [_person(i, sub_region="成都" if i < 7 else "绵阳") for i in range(9)]
    rules = PanelRules(size=5, quotas=(Quota("sub_region", max=2),))
    diagnosis = diagnose(people, rules)
    assert any("每个市州/区县至多 2 人，2 个取值最多只能凑出 4 人" in m for m in diagnosis.messages)


@pytest.mark.parametrize("kwargs, message", [
    (dict(attribute="", values=("白羊",), min=1), "attribute 不能为空"),
    (dict(attribute="sector", values=("企业",)), "至少给出"),
    (dict(attribute="gender", at_most=45, max=1), "数值范围"),
    (dict(attribute="sub_region", min=1), "只能给出上限"),
    (dict(attribute="sector", values=("企业",), min_share=1.5), "min_share"),
])
def test_quota_validation_names_the_problem(kwargs, message):
    with pytest.raises(InputError, match=message):
        Quota(**kwargs)


def test_rules_refuse_a_quota_larger_than_the_panel():
    with pytest.raises(InputError, match="超过专家组人数"):
        PanelRules(size=3, quotas=(Quota("sector", ("企业",), min=4),))
