"""The `best` strategy, the registry, the encoder and the exact narrowing."""
import copy
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertpool.domain import taxonomy
from expertpool.domain.panel import STRATEGIES, Candidate, PanelRules, SolveStatus, draw, get_strategy
from expertpool.domain.panel.best import perturbed_weights
from expertpool.domain.panel.encoder import candidate_units, encode, resolve_bounds
from expertpool.domain.panel.narrowing import narrow
from expertpool.domain.panel.solve import maximise
from expertpool.errors import InputError
from tests.panel_helpers import assert_panel_ok, brute_best, make_pairs, make_pool, make_rules

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=st.integers(0, 10 ** 6), n=st.integers(4, 14), size=st.integers(3, 5), npairs=st.integers(0, 4))
def test_best_matches_brute_force(seed, n, size, npairs):
    rng = random.Random(seed)
    pool = make_pool(rng, n)
    rules = make_rules(rng, size, backups=3)
    pairs = make_pairs(rng, pool, npairs)
    expected = brute_best(pool, rules, pairs)
    result = STRATEGIES["best"](pool, rules, pairs, seed=seed, time_limit_s=20)
    if expected is None:
        assert result.status is SolveStatus.INFEASIBLE
        assert result.members == () and result.diagnosis is not None
    else:
        assert result.status is SolveStatus.OPTIMAL
        assert result.relevance_sum == pytest.approx(expected, abs=1e-6)
        assert result.gap == 0.0
        assert_panel_ok(result, pool, rules, pairs)


def _optimum(pool, rules, pairs, indices=None):
    bounds = resolve_bounds(rules)
    enc = encode(pool, rules, pairs, bounds)
    weights = perturbed_weights(enc, rules.perturbation, 7)
    chosen = list(range(len(enc))) if indices is None else indices(enc, bounds, weights)
    import time
    sol = maximise(candidate_units(enc, chosen, bounds), bounds, [weights[i] for i in chosen],
                   deadline=time.monotonic() + 20)
    return sol.status, (sol.value if sol.status == "optimal" else None), len(chosen)


@pytest.mark.parametrize("seed", range(12))
def test_narrowing_keeps_the_optimum(seed):
    rng = random.Random(seed)
    pool = make_pool(rng, rng.randint(60, 160), fields=taxonomy.FIELDS[:5], insts=[f"单位{k}" for k in range(8)],
                     senior_share=0.6)
    rules = make_rules(rng, rng.randint(5, 9), fields=taxonomy.FIELDS[:5], perturbation=0.05)
    pairs = make_pairs(rng, pool, rng.randint(0, 10))
    full = _optimum(pool, rules, pairs)
    narrowed = _optimum(pool, rules, pairs, narrow)
    assert full[0] == narrowed[0]
    if full[1] is not None:
        assert narrowed[1] == pytest.approx(full[1], rel=1e-9)
    assert narrowed[2] <= full[2]


def test_same_seed_same_panel_and_seeds_spread_work():
    rng = random.Random(5)
    pool = make_pool(rng, 80, fields=taxonomy.FIELDS[:4], relevance=False)
    rules = PanelRules(size=5, fields=taxonomy.FIELDS[:4], perturbation=0.05)
    a = STRATEGIES["best"](pool, rules, [], seed=11, time_limit_s=10)
    b = STRATEGIES["best"](list(reversed(pool)), rules, [], seed=11, time_limit_s=10)
    assert a.members == b.members                      # input order does not matter
    picked = set()
    for seed in range(20):
        picked.update(STRATEGIES["best"](pool, rules, [], seed=seed, time_limit_s=10).members)
    assert len(picked) > 25                             # equal relevance: noise spreads the work


def test_inputs_are_not_mutated():
    rng = random.Random(2)
    pool = make_pool(rng, 12)
    bounds = {"四川": (0.2, 0.8)}
    rules = PanelRules(size=4, region_bounds=bounds, backups=2)
    pairs = [(pool[0].id, pool[1].id)]
    before = (copy.deepcopy(pool), copy.deepcopy(bounds), list(pairs))
    draw(pool, rules, pairs)
    assert (pool, bounds, pairs) == before
    bounds["四川"] = (0.9, 1.0)
    assert rules.region_bounds["四川"] == (0.2, 0.8)    # rules hold their own copy


def test_unknown_strategy_is_an_error_listing_choices():
    with pytest.raises(InputError) as info:
        get_strategy("random")
    assert "best" in str(info.value) and "lottery" in str(info.value)
    with pytest.raises(InputError):
        draw([], PanelRules(size=1, mode="nope"))


def test_bad_rules_and_duplicate_ids_are_rejected():
    with pytest.raises(InputError):
        PanelRules(size=0)
    with pytest.raises(InputError):
        PanelRules(size=3, region_bounds={"上海": (0, 1)})
    with pytest.raises(InputError):
        PanelRules(size=3, fields=("不存在",))
    dup = [Candidate("X", "x", "四川", ("人工智能",), "正高级", "四川大学")] * 2
    with pytest.raises(InputError):
        draw(dup, PanelRules(size=1))


def test_forbidden_pairs_outside_the_pool_are_ignored_and_counted():
    rng = random.Random(3)
    pool = make_pool(rng, 10)
    result = draw(pool, PanelRules(size=3), [("E000", "NOBODY"), ("E001", "E002")])
    assert result.stats.forbidden_pairs == 1 and result.stats.forbidden_pairs_ignored == 1


def test_backups_replace_any_member_when_rules_are_loose():
    rng = random.Random(9)
    pool = make_pool(rng, 40)
    rules = PanelRules(size=4, fields=("人工智能",), min_per_field=1, backups=5, perturbation=0.0)
    result = draw(pool, rules, [])
    assert len(result.backups) == 5
    assert set(result.replacements) == set(result.members)
    assert_panel_ok(result, pool, rules, [])
    rel = {c.id: c.relevance for c in pool}
    ranked = [rel[b] for b in result.backups]
    assert ranked == sorted(ranked, reverse=True)          # best mode ranks backups by relevance


@pytest.mark.slow
def test_best_on_a_large_pool_is_optimal_and_valid():
    from expertpool.synthetic.candidates import MAIN_RULES, synthetic_pool

    pool, pairs = synthetic_pool(6000, seed=3, pairs=100)
    rules = PanelRules(mode="best", **MAIN_RULES)
    result = draw(pool, rules, pairs)
    assert result.status is SolveStatus.OPTIMAL
    assert result.stats.model_size < len(pool)
    assert_panel_ok(result, pool, rules, pairs)
