"""The `lottery` strategy: maximin value against brute force, empirical fairness, spreading work."""
import math
from dataclasses import replace
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertpool.domain.panel import (STRATEGIES, Candidate, LotteryDistribution, PanelRules, SolveStatus,
                                     check_panel, lottery_distribution)
from tests.panel_helpers import assert_panel_ok, lottery_against_brute_force, make_pairs, make_pool, make_rules

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=st.integers(0, 10 ** 6), n=st.integers(4, 12), size=st.integers(3, 5), npairs=st.integers(0, 3),
       threshold=st.sampled_from([0.0, 0.0, 3.0]), cap=st.sampled_from([None, None, 0.9, 0.7, 0.55, 0.45]))
def test_maximin_matches_brute_force_lp(seed, n, size, npairs, threshold, cap):
    # tight caps bind for some people (their rows are added lazily) or make the spec infeasible
    rng = random.Random(seed)
    pool = make_pool(rng, n)
    rules = make_rules(rng, size, mode="lottery", relevance_threshold=threshold, backups=2,
                       max_probability=cap)
    pairs = make_pairs(rng, pool, npairs)
    result, expected = lottery_against_brute_force(pool, rules, pairs, seed)
    if expected is None:
        return
    value, reach = expected
    assert result.objective == pytest.approx(value, abs=1e-6)
    qualified = {c.id for c in pool if c.relevance >= threshold}
    assert set(result.probabilities) == qualified
    assert set(result.unreachable) == qualified - reach
    assert all(result.probabilities[i] == 0 for i in result.unreachable)
    assert sum(result.probabilities.values()) == pytest.approx(size, abs=1e-6)
    if cap is not None:
        assert max(result.probabilities.values()) <= cap + 1e-6
    assert set(result.members) <= qualified
    assert_panel_ok(result, [c for c in pool if c.id in qualified], rules, pairs)


def _small_case():
    rng = random.Random(42)
    pool = make_pool(rng, 14, senior_share=0.4)
    rules = PanelRules(size=4, fields=("人工智能", "航空航天"), region_bounds={"四川": (0.25, 0.75)},
                       min_full_senior_share=0.25, max_per_institution=2, mode="lottery")
    pairs = [(pool[0].id, pool[1].id), (pool[2].id, pool[3].id)]
    return pool, rules, pairs


def test_sampling_frequencies_match_reported_probabilities():
    pool, rules, pairs = _small_case()
    dist = lottery_distribution(pool, rules, pairs)
    assert isinstance(dist, LotteryDistribution)
    draws = 6000
    counts = Counter()
    for seed in range(draws):
        panel = dist.sample(seed)
        assert check_panel(panel, pool, rules, pairs) == []
        counts.update(panel)
    for cid, p in dist.probabilities.items():
        sigma = math.sqrt(max(p * (1 - p), 1e-12) / draws)
        assert abs(counts[cid] / draws - p) <= 4 * sigma + 1e-9, (cid, counts[cid] / draws, p)


def test_draw_uses_the_distribution_and_reproduces():
    pool, rules, pairs = _small_case()
    strategy = STRATEGIES["lottery"]
    a = strategy(pool, rules, pairs, seed=8, time_limit_s=10)
    b = strategy(list(reversed(pool)), rules, pairs, seed=8, time_limit_s=10)
    assert a.members == b.members and a.probabilities == pytest.approx(b.probabilities)
    dist = lottery_distribution(pool, rules, pairs)
    assert a.members == dist.sample(8)
    assert a.member_probabilities() == {m: a.probabilities[m] for m in a.members}


def _gini(values):
    values = sorted(values)
    n = len(values)
    total = sum(values)
    return sum((2 * k - n - 1) * v for k, v in enumerate(values, 1)) / (n * total)


def test_lottery_spreads_work_more_than_best():
    rng = random.Random(7)
    pool = make_pool(rng, 40, senior_share=0.6)
    base = dict(size=5, fields=("人工智能", "航空航天", "新材料"), region_bounds={"四川": (0.4, 0.6)},
                min_full_senior_share=0.4, max_per_institution=2)
    best_rules = PanelRules(mode="best", perturbation=0.05, **base)
    lottery_rules = PanelRules(mode="lottery", **base)
    dist = lottery_distribution(pool, lottery_rules)
    best_counts, lottery_counts = Counter(), Counter()
    for seed in range(200):
        best_counts.update(STRATEGIES["best"](pool, best_rules, [], seed=seed, time_limit_s=10).members)
        lottery_counts.update(dist.sample(seed))
    everyone = [c.id for c in pool]
    assert len(lottery_counts) > len(best_counts)
    assert _gini([lottery_counts[i] for i in everyone]) < _gini([best_counts[i] for i in everyone])


def test_unreachable_candidates_get_zero_and_others_maximin():
    # X is the only 重庆 expert but 重庆 is capped at 0 members: X can be on no panel
    pool = [Candidate(f"S{k}", "s", "四川", ("人工智能",), "正高级", f"单位{k}", 5.0) for k in range(5)]
    pool.append(Candidate("X", "x", "重庆", ("人工智能",), "正高级", "重庆大学", 5.0))
    rules = PanelRules(size=2, region_bounds={"重庆": (0.0, 0.0)}, mode="lottery")
    result = STRATEGIES["lottery"](pool, rules, [], seed=1, time_limit_s=10)
    assert result.status is SolveStatus.OPTIMAL
    assert result.unreachable == ("X",) and result.probabilities["X"] == 0
    assert result.probability_min == pytest.approx(2 / 5)


def test_infeasible_max_probability_is_reported():
    rng = random.Random(1)
    pool = make_pool(rng, 6)
    rules = PanelRules(size=3, mode="lottery", max_probability=0.3)   # 3 seats over 6 people: average 0.5
    result = STRATEGIES["lottery"](pool, rules, [], seed=1, time_limit_s=10)
    assert result.status is SolveStatus.INFEASIBLE
    assert "概率上限" in result.diagnosis.messages[0]


@pytest.mark.slow
def test_lottery_on_a_medium_pool_with_institution_cap():
    from expertpool.synthetic.candidates import MAIN_RULES, synthetic_pool

    pool, pairs = synthetic_pool(300, seed=5, pairs=20)
    rules = PanelRules(mode="lottery", **MAIN_RULES)
    result = STRATEGIES["lottery"](pool, rules, pairs, seed=3, time_limit_s=60)
    assert result.status is SolveStatus.OPTIMAL
    assert result.probability_min == pytest.approx(result.bound, rel=1e-5)
    assert sum(result.probabilities.values()) == pytest.approx(15, abs=1e-6)
    assert_panel_ok(result, pool, rules, pairs)


def test_when_phase_two_gets_nowhere_the_draw_uses_phase_ones_distribution(monkeypatch):
    """Fault injection: the counting bound is out of reach (phase one ends short of it) and every
    maximin master solve runs out of time. The draw must still come from a valid distribution,
    reported as feasible with its gap, rather than no panel at all."""
    import expertpool.domain.panel.columns as columns
    import expertpool.domain.panel.lottery as lottery

    pool, rules, pairs = _small_case()
    monkeypatch.setattr(lottery, "_simple_bound", lambda *a, **k: 0.99)   # nobody can reach it
    monkeypatch.setattr(columns.MaximinMaster, "solve", lambda self, n_types, time_limit: None)
    result = STRATEGIES["lottery"](pool, rules, pairs, seed=5, time_limit_s=10)
    assert result.status is SolveStatus.FEASIBLE
    assert check_panel(result.members, pool, rules, pairs) == []
    assert sum(result.probabilities.values()) == pytest.approx(rules.size, abs=1e-6)
    assert 0 < result.gap <= 1 and result.bound == pytest.approx(0.99)


class _DictMemo:
    """An in-memory `SolutionMemo` that counts what the strategy asks of it."""

    def __init__(self):
        self.values, self.recalls, self.kept = {}, 0, 0

    def recall(self, key):
        self.recalls += 1
        return self.values.get(key)

    def keep(self, key, value):
        self.kept += 1
        self.values[key] = value


def _same_draw(a, b):
    assert a.members == b.members and a.backups == b.backups and a.replacements == b.replacements
    assert a.status == b.status and a.probabilities == b.probabilities
    assert (a.objective, a.bound, a.gap, a.unreachable) == (b.objective, b.bound, b.gap, b.unreachable)


@FAST
@given(seed=st.integers(0, 10 ** 6), n=st.integers(5, 12), size=st.integers(3, 5), npairs=st.integers(0, 3),
       cap=st.sampled_from([None, 0.9, 0.6]))
def test_a_remembered_distribution_draws_what_a_new_solve_draws(seed, n, size, npairs, cap):
    # the distribution does not depend on the draw's seed: a draw from the remembered solution is
    # the very draw a fresh solve gives for that seed, whatever seed solved it first
    rng = random.Random(seed)
    pool = make_pool(rng, n)
    rules = make_rules(rng, size, mode="lottery", backups=2, max_probability=cap)
    pairs = make_pairs(rng, pool, npairs)
    strategy = STRATEGIES["lottery"]
    memo = _DictMemo()
    first = strategy(pool, rules, pairs, seed=seed, time_limit_s=10, memo=memo)
    if first.status is not SolveStatus.OPTIMAL:
        assert memo.kept == 0        # only a proven optimum is kept
        return
    assert memo.kept == 1
    for other in (seed + 1, seed + 2):
        remembered = strategy(pool, rules, pairs, seed=other, time_limit_s=10, memo=memo)
        _same_draw(remembered, strategy(pool, rules, pairs, seed=other, time_limit_s=10))
        assert "remembered" in remembered.stats.timings
    assert memo.kept == 1


def test_another_pool_or_rule_is_solved_anew():
    pool, rules, pairs = _small_case()
    strategy = STRATEGIES["lottery"]
    memo = _DictMemo()
    strategy(pool, rules, pairs, seed=1, time_limit_s=10, memo=memo)
    assert memo.kept == 1
    changed = [pool[:-1], pool[:-1] + [replace(pool[-1], region="重庆" if pool[-1].region == "四川" else "四川")]]
    for other in changed:
        result = strategy(other, rules, pairs, seed=1, time_limit_s=10, memo=memo)
        assert "remembered" not in result.stats.timings
    result = strategy(pool, replace(rules, max_per_institution=1), pairs, seed=1, time_limit_s=10, memo=memo)
    assert "remembered" not in result.stats.timings
    result = strategy(pool, rules, pairs[:1], seed=1, time_limit_s=10, memo=memo)
    assert "remembered" not in result.stats.timings
    assert memo.kept >= 4 and len(memo.values) == memo.kept


def test_a_remembered_value_that_does_not_fit_is_not_used():
    pool, rules, pairs = _small_case()
    strategy = STRATEGIES["lottery"]
    memo = _DictMemo()
    expected = strategy(pool, rules, pairs, seed=5, time_limit_s=10, memo=memo)
    (key, kept), = memo.values.items()
    for wrong in ("not a solution", replace(kept, type_sizes=kept.type_sizes + (1,))):
        memo.values[key] = wrong
        result = strategy(pool, rules, pairs, seed=5, time_limit_s=10, memo=memo)
        assert "remembered" not in result.stats.timings
        _same_draw(result, expected)
