"""The `lottery` strategy: a maximin-fair distribution over feasible panels, then one seeded draw.

Among qualified candidates (relevance ≥ threshold) we find a distribution over feasible panels
that maximises the minimum selection probability (optionally with every probability capped),
as in citizens'-assembly sortition (Flanigan et al., Nature 2021), and sample one panel from it.

Types. Candidates who are interchangeable for every rule — same bounded region (or none), same
set of required fields covered, same 正高级-or-not, same institution when a cap applies, counted
by the same quotas, and in no forbidden pair — form a TYPE. Candidates in forbidden pairs are singleton types. By symmetry
(average any optimal distribution over permutations within types) some optimal distribution
gives everyone in a type the same probability, so we optimise over type counts and draw the
individuals within a type uniformly: probability = expected count / type size.

Phase one: the counting bound. Simple counting gives an upper bound U on the minimum
probability (an institution of m qualified people with a cap of c seats: someone there has at
most c/m; likewise regions, juniors, the panel size; `_simple_bound`). Phase one looks for a
distribution giving every type at least U (`TargetMaster`: minimise the total shortfall). Its
duals are 1 on the types still short, so each round packs every short type into copies of the
panels in use (`packed_columns`) and the LP mixes them. Reaching U proves the distribution
optimal and every type reachable at once; with an institution cap the largest institution
usually sets the optimum, and this ends in a few rounds. Phase one stops after 5 rounds
without gain, or at 85 % of the time limit; if phase two then finds nothing better in time, the
draw uses phase one's last distribution (feasible, with its gap).

Phase two: maximin column generation, when U is not attainable (or phase one ran out of time).
The master LP (GLOP) has one column per panel composition a (type counts):
    max z  s.t.  Σ_k λ_k = 1,  Σ_k λ_k a_kt ≥ z·|t|  (every reachable type t),
                 [Σ_k λ_k a_kt ≤ π·|t| + s_t, objective − M·Σ s]   (with max_probability π;
                 these rows are added only for the types that break the cap).
Cheap pricing (packing, swaps) runs first; when it finds nothing the exact pricing maximises
Σ_t (y_t − v_t)·a_t over feasible compositions with the LP-bound/reduced-cost/CP-SAT routine of
`solve.maximise`. With Σ y_t|t| = 1 the pricing bound P gives z* ≤ P + π·Σ v_t|t|, so every
exact round has a proven upper bound; we stop when the master reaches it (relative 1e-6).

Reachability (phase two only). A type is reachable if some feasible panel contains it. Cheap
swap-insertions into known panels prove most types reachable; for the rest we maximise the
number of their members on a panel: when the exact optimum is 0 none of them is on any feasible
panel, and they get probability 0 (reported as `unreachable`).

Remembering. The distribution depends on the qualified candidates, the rules (not the seed) and
the forbidden pairs, never on the draw's seed (the column search is seeded with a constant). A
caller may hand in a `SolutionMemo`: a proven-optimal distribution is kept under a key of those
inputs, and a later draw of the same pool and rules (another seed, a reproduction) samples from
it instead of solving again. Only proven-optimal distributions are kept: whatever the clock did
while finding one, the same inputs give the same minimum probability.

This module reads as those steps (`_maximin`, then `_sample`); the column-generation machinery
they use (compositions, the two masters, cheap pricing, phase one's loop, reachability) is
`columns`.
"""
from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import ortools

from expertpool.domain.panel.backups import rank_backups, rank_replacements
from expertpool.domain.panel.checker import check_panel
from expertpool.domain.panel.columns import (
    REL_TOL,
    MaximinMaster,
    add_cheap_columns,
    comp_from,
    over_cap,
    reachability,
    target_phase,
)
from expertpool.domain.panel.diagnosis import diagnose
from expertpool.domain.panel.encoder import Bounds, Pool, Units, encode, resolve_bounds
from expertpool.domain.panel.result import Diagnosis, DrawResult, DrawStats, SolveStatus
from expertpool.domain.panel.solve import LPRelaxation, maximise
from expertpool.domain.panel.spec import Candidate, PanelRules



@dataclass(frozen=True)
class TypeTable:
    units: Units
    members: tuple[tuple[int, ...], ...]    # pool indices of each type, sorted


def build_types(pool: Pool, bounds: Bounds) -> TypeTable:
    capped = bounds.inst_cap is not None and bounds.inst_cap < bounds.size
    in_pairs = pool.in_pairs()
    groups: dict[tuple, list[int]] = {}
    for i in range(len(pool)):
        inst = pool.inst[i] if capped else -1
        key = ("single", i) if i in in_pairs else (pool.region[i], pool.cov[i], pool.senior[i], inst, pool.quota[i])
        groups.setdefault(key, []).append(i)
    keys = sorted(groups, key=lambda k: groups[k][0])
    members = tuple(tuple(groups[k]) for k in keys)
    type_of = {i: t for t, ms in enumerate(members) for i in ms}
    cap = bounds.effective_cap
    units = Units(
        region=tuple(pool.region[ms[0]] for ms in members),
        cov=tuple(pool.cov[ms[0]] for ms in members),
        senior=tuple(pool.senior[ms[0]] for ms in members),
        inst=tuple(pool.inst[ms[0]] if capped else -1 for ms in members),
        ub=tuple(min(len(ms), cap, bounds.size) for ms in members),
        pairs=tuple(sorted((min(type_of[a], type_of[b]), max(type_of[a], type_of[b])) for a, b in pool.pairs)),
        quota=tuple(pool.quota[ms[0]] for ms in members) if bounds.quotas else (),
    )
    return TypeTable(units, members)


def _simple_bound(units: Units, bounds: Bounds, sizes: Sequence[int], reachable: Sequence[int],
                  cap: float | None) -> float:
    """Upper bounds on the minimum probability from counting: if a group G of reachable people can
    hold at most k seats on any panel, someone in G has probability ≤ k/|G|."""
    def group(pred) -> int:
        return sum(sizes[t] for t in reachable if pred(t))

    best = bounds.size / max(1, group(lambda t: True))
    if cap is not None:
        best = min(best, cap)
    if bounds.inst_cap is not None:
        per_inst: dict[int, int] = {}
        for t in reachable:
            if units.inst[t] >= 0:
                per_inst[units.inst[t]] = per_inst.get(units.inst[t], 0) + sizes[t]
        for people in per_inst.values():
            best = min(best, bounds.inst_cap / people)
    for k, hi in enumerate(bounds.region_hi):
        people = group(lambda t: units.region[t] == k)
        if people:
            best = min(best, hi / people)
    juniors = group(lambda t: not units.senior[t])
    if juniors:
        best = min(best, max(0, bounds.size - bounds.senior_min) / juniors)
    for k, quota in enumerate(bounds.quotas):
        counted = group(lambda t: units.quota_of(t) >> k & 1)
        if counted:
            best = min(best, quota.hi / counted)
        others = group(lambda t: not units.quota_of(t) >> k & 1)
        if others:
            best = min(best, max(0, bounds.size - quota.lo) / others)
    return best


@dataclass(frozen=True)
class LotteryDistribution:
    """The maximin distribution: panel compositions (type → count) with their weights."""

    ids: tuple[str, ...]
    type_members: tuple[tuple[int, ...], ...]     # pool indices per type
    columns: tuple[dict[int, int], ...]
    weights: tuple[float, ...]
    probabilities: dict[str, float]

    def sample_indices(self, rng: random.Random) -> list[int]:
        """Pick a composition by weight, then the individuals within each type uniformly."""
        pick = rng.random()
        acc = 0.0
        chosen = self.columns[-1]
        for weight, comp in zip(self.weights, self.columns):
            acc += weight
            if weight > 0 and pick < acc:
                chosen = comp
                break
        members: list[int] = []
        for t in sorted(chosen):
            members.extend(rng.sample(self.type_members[t], chosen[t]))
        return sorted(members)

    def sample(self, seed: int) -> tuple[str, ...]:
        return tuple(self.ids[i] for i in self.sample_indices(random.Random(seed)))


class SolutionMemo(Protocol):
    """Where a caller keeps solutions between draws (on disk, per data version: `services`)."""

    def recall(self, key: str) -> object | None: ...

    def keep(self, key: str, value: object) -> None: ...


@dataclass(frozen=True)
class RememberedSolution:
    """A proven-optimal maximin distribution over types, as a `SolutionMemo` keeps it: with the
    type sizes it was found for (rebuilt types that differ are never sampled from it)."""

    type_sizes: tuple[int, ...]
    columns: tuple[dict[int, int], ...]
    weights: tuple[float, ...]
    reachable: tuple[int, ...]
    unreachable: tuple[int, ...]
    upper: float
    stats: dict
    notes: tuple[str, ...]


def lottery_distribution(candidates: Sequence[Candidate], rules: PanelRules,
                         forbidden_pairs: Iterable[tuple[str, str]] = (), *,
                         time_limit_s: float = 30.0) -> LotteryDistribution | DrawResult:
    """The maximin distribution itself, e.g. to preview probabilities or to sample many panels
    from one solve; when there is none, the `DrawResult` that says why (status, diagnosis)."""
    solved = _maximin(candidates, rules, forbidden_pairs, seed=0, time_limit_s=time_limit_s)
    return solved.failure if solved.failure is not None else solved.distribution  # type: ignore[return-value]


def draw_lottery(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]],
                 *, seed: int, time_limit_s: float, memo: SolutionMemo | None = None) -> DrawResult:
    """Draw one panel from the maximin-fair distribution over feasible panels; with `memo`, from
    the distribution remembered for these inputs when there is one (see the module docstring)."""
    solved = _maximin(candidates, rules, forbidden_pairs, seed=seed, time_limit_s=time_limit_s, memo=memo)
    return solved.failure if solved.failure is not None else _sample(solved)


def solution_key(qualified: Sequence[Candidate], rules: PanelRules, pairs: Sequence[tuple[str, str]]) -> str:
    """Everything the distribution depends on, hashed: the qualified candidates in order (with
    every attribute), the rules but the seed, the forbidden pairs, and the versions of the
    solvers that found it (another OR-Tools may find another optimal distribution)."""
    digest = hashlib.sha256(f"ortools {ortools.__version__} numpy {np.__version__}".encode())
    digest.update(repr(replace(rules, seed=0)).encode())
    for candidate in qualified:
        digest.update(repr(candidate).encode())
    digest.update(repr(sorted(pairs)).encode())
    return digest.hexdigest()


# --- the steps ------------------------------------------------------------------------------------
# `_maximin` reads as the method: set up the types, find a first panel, phase one (aim every type
# at the counting bound), reachability, phase two (the maximin master with exact pricing), the
# distribution; `_sample` then draws one panel from it.


@dataclass
class _Setup:
    """What every step of one lottery reads: the qualified pool, its types, the clock."""
    rules: PanelRules
    seed: int
    time_limit_s: float
    started: float
    deadline: float
    qualified: list[Candidate]
    pairs: list[tuple[str, str]]
    bounds: Bounds
    pool: Pool
    timings: dict[str, float]
    base_stats: dict
    table: TypeTable | None = None
    sizes: list[int] | None = None
    #: seeded with a constant: the distribution does not depend on the draw seed
    jitter: random.Random = field(default_factory=lambda: random.Random("lottery-columns"))
    lp: LPRelaxation | None = None
    partners: dict[int, set[int]] = field(default_factory=dict)

    @property
    def units(self) -> Units:
        return self.table.units  # type: ignore[union-attr]

    def failed(self, diagnosis: Diagnosis | None, status: SolveStatus = SolveStatus.INFEASIBLE,
               **extra) -> DrawResult:
        return DrawResult("lottery", status, (), (), self.seed, diagnosis=diagnosis,
                          stats=DrawStats(timings=self.timings, **self.base_stats, **extra))

    def diagnosis(self) -> Diagnosis:
        return diagnose(self.qualified, self.rules, self.pairs, time_limit_s=max(5.0, self.time_limit_s))


@dataclass
class _Solved:
    """The outcome of `_maximin`: a distribution and what sampling reports with it, or `failure`."""
    setup: _Setup
    failure: DrawResult | None = None
    distribution: LotteryDistribution | None = None
    reachable: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    proven: bool = True
    upper: float = 0.0
    stats: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass
class _Columns:
    """Panel compositions found so far and the weights of the distribution over them."""
    columns: list[dict[int, int]]
    lam: np.ndarray | None = None
    iterations: int = 0
    exact_rounds: int = 0
    slack: float = 0.0
    #: with `lam` None: why there is no distribution
    failure: DrawResult | None = None


def _maximin(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]],
             *, seed: int, time_limit_s: float, memo: SolutionMemo | None = None) -> _Solved:
    setup = _set_up(candidates, rules, forbidden_pairs, seed, time_limit_s)
    if len(setup.pool) < setup.bounds.size:
        return _Solved(setup, failure=setup.failed(setup.diagnosis()))
    _build_types(setup)
    key = solution_key(setup.qualified, rules, setup.pairs) if memo is not None else ""
    if memo is not None:
        remembered = _recall(setup, memo.recall(key))
        if remembered is not None:
            return remembered
    solved = _solve(setup)
    if memo is not None and solved.failure is None and _proven_optimal(solved):
        memo.keep(key, _remembered(solved))
    return solved


def _solve(setup: _Setup) -> _Solved:
    """Phase one, reachability and phase two from the types (see the module docstring)."""
    rules = setup.rules
    setup.lp = LPRelaxation(setup.units, setup.bounds)
    first = _first_panel(setup)
    if isinstance(first, DrawResult):
        return _Solved(setup, failure=first)
    everyone = list(range(len(setup.units)))
    cap = rules.max_probability
    upper = _simple_bound(setup.units, setup.bounds, setup.sizes, everyone, cap)
    found, reached, fallback = _phase_one(setup, first, upper)
    reachable, unreachable, proven = everyone, [], True
    if not reached:
        t_reach = time.monotonic()
        reachable, unreachable, proven = reachability(setup.units, setup.bounds, setup.partners, found.columns,
                                                       setup.lp, setup.deadline, setup.jitter)
        setup.timings["reach"] = time.monotonic() - t_reach
        upper = _simple_bound(setup.units, setup.bounds, setup.sizes, reachable, cap)
        found, upper = _phase_two(setup, found, reachable, upper, fallback)
        if found.lam is None:
            return _Solved(setup, failure=found.failure)
    setup.timings["columns"] = time.monotonic() - setup.started - setup.timings["types"] - setup.timings["reach"]
    n_types = len(setup.units)
    stats = dict(types=n_types, columns=len(found.columns), iterations=found.iterations, model_size=n_types)
    failure = _cap_failure(setup, found, reachable, stats)
    if failure is not None:
        return _Solved(setup, failure=failure)
    return _Solved(setup, distribution=_distribution(setup, found), reachable=reachable, unreachable=unreachable,
                   proven=proven, upper=upper, stats=stats, notes=(f"exact pricing rounds: {found.exact_rounds}",))


def _set_up(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]],
            seed: int, time_limit_s: float) -> _Setup:
    """The qualified candidates (relevance ≥ threshold), encoded."""
    started = time.monotonic()
    pairs = list(forbidden_pairs)
    qualified = [c for c in candidates if c.relevance >= rules.relevance_threshold]
    bounds = resolve_bounds(rules, qualified)
    pool = encode(qualified, rules, pairs, bounds)
    base_stats = dict(pool_size=len(candidates), qualified=len(pool), forbidden_pairs=len(pool.pairs),
                      forbidden_pairs_ignored=pool.ignored_pairs)
    return _Setup(rules, seed, time_limit_s, started, started + time_limit_s, qualified, pairs, bounds, pool, {},
                  base_stats)


def _build_types(setup: _Setup) -> None:
    """Interchangeable candidates grouped into types (see the module docstring)."""
    setup.table = build_types(setup.pool, setup.bounds)
    setup.sizes = [len(ms) for ms in setup.table.members]
    setup.timings["types"] = time.monotonic() - setup.started


def _first_panel(setup: _Setup) -> dict[int, int] | DrawResult:
    """A first feasible composition (the start of the column pool), or why there is none."""
    units, n_types = setup.units, len(setup.units)
    first = maximise(units, setup.bounds, [1.0 + setup.jitter.random() for _ in range(n_types)],
                     deadline=setup.deadline, lp=setup.lp)
    if first.status == "infeasible":
        setup.timings["reach"] = time.monotonic() - setup.started
        return setup.failed(setup.diagnosis(), types=n_types)
    if first.status == "timeout":
        return setup.failed(None, SolveStatus.TIMEOUT, types=n_types)
    for a, b in units.pairs:
        setup.partners.setdefault(a, set()).add(b)
        setup.partners.setdefault(b, set()).add(a)
    setup.timings["reach"] = 0.0
    return comp_from(first.x)


def _phase_one(setup: _Setup, first: dict[int, int], upper: float
               ) -> tuple[_Columns, bool, _Columns | None]:
    """Aim every type at the counting bound `upper` (`target_phase`). Reaching it proves the
    distribution optimal and every type reachable, with no exact pricing: (columns and weights,
    True). Otherwise (columns found, False, and phase one's last distribution when it is valid,
    for phase two to fall back on)."""
    found = _Columns([first])
    if upper <= 0:
        return found, False, None
    # Phase one ends by itself within a few rounds once it stops gaining (an unattainable bound);
    # while it gains it is the faster way to the optimum, so it may use most of the time. Its
    # last distribution is kept in case the maximin master gets nowhere in the rest.
    cap, sizes = setup.rules.max_probability, setup.sizes
    columns, lam, reached, iterations = target_phase(
        setup.units, setup.bounds, setup.partners, sizes, list(range(len(setup.units))), upper, cap,
        found.columns, setup.started + (setup.deadline - setup.started) * 0.85, setup.jitter)
    found = _Columns(columns, lam, iterations)
    if reached:
        return found, True, None
    fallback = None
    if lam is not None and (cap is None or not over_cap(columns, lam, sizes, cap)):
        fallback = _Columns(list(columns[:len(lam)]), lam)   # a valid distribution, if phase two gets nowhere
    return _Columns(columns, None, iterations), False, fallback


def _phase_two(setup: _Setup, found: _Columns, reachable: list[int], upper: float,
               fallback: _Columns | None) -> tuple[_Columns, float]:
    """The maximin master, with exact pricing for a proven bound. Returns the distribution's
    columns and weights (phase one's fallback when the master got nowhere; `lam` None, with
    `failure` set, when there is neither) and the proven upper bound."""
    units, bounds, partners, sizes = setup.units, setup.bounds, setup.partners, setup.sizes
    cap, n_types, deadline = setup.rules.max_probability, len(setup.units), setup.deadline
    master = MaximinMaster(sizes, reachable, cap)
    for comp in found.columns:
        master.add(comp)
    iterations, exact_rounds = found.iterations, 0
    status_ok = True
    slack = 0.0
    z = 0.0
    result = None
    tiebreak = np.array([setup.jitter.random() for _ in range(n_types)])
    last_solve = 0.0
    while True:
        iterations += 1
        # keep time for sampling: stop before a master solve that would likely overrun
        if result is not None and deadline - time.monotonic() < 1.5 * last_solve:
            break
        t_solve = time.monotonic()
        attempt = master.solve(n_types, deadline - time.monotonic())
        last_solve = time.monotonic() - t_solve
        if attempt is None:
            status_ok = result is not None       # fall back to the last solved master
            break
        result = attempt
        z, y, v, mu, lam, slack = result
        if master.add_cap_rows(master.over_cap(lam)):
            continue
        capped_ok = slack <= 1e-9
        if (capped_ok and z >= upper * (1 - REL_TOL)) or time.monotonic() > deadline:
            break
        scale = float(np.dot(y, sizes))
        if scale <= 0:
            break
        w = y - v
        if add_cheap_columns(master, units, bounds, partners, w, mu, mu, lam, setup.jitter):
            continue
        # exact pricing; a tiny non-negative tie-break makes LP vertices less degenerate, and
        # since it only raises weights the bound stays valid for w
        exact_rounds += 1
        eps = 1e-9 * max(float(np.max(np.abs(w))), 1e-300)
        price = maximise(units, bounds, w + eps * tiebreak, deadline=deadline, lp=setup.lp)
        if price.status not in ("optimal", "feasible"):
            break
        value = float(sum(w[t] * k for t, k in price.x.items()))
        bound = (price.bound + (cap * float(np.dot(v, sizes)) if cap is not None else 0.0)) / scale
        upper = min(upper, bound)
        if (capped_ok and z >= upper * (1 - REL_TOL)) or value <= mu + 1e-9 * abs(mu) + 1e-15:
            break
        if not master.add(comp_from(price.x)):
            break
    if status_ok and result is not None:
        return _Columns(master.columns, result[4], iterations, exact_rounds, slack), upper
    if fallback is not None:
        return _Columns(fallback.columns, fallback.lam, iterations, exact_rounds, 0.0), upper
    setup.timings["columns"] = time.monotonic() - setup.started - setup.timings["types"] - setup.timings["reach"]
    failure = setup.failed(None, SolveStatus.TIMEOUT, types=n_types, columns=len(master.columns),
                           iterations=iterations, model_size=n_types)
    return _Columns(master.columns, None, iterations, exact_rounds, failure=failure), upper


def _cap_failure(setup: _Setup, found: _Columns, reachable: list[int], stats: dict) -> DrawResult | None:
    """Why the distribution cannot be used with max_probability, if it cannot."""
    cap, sizes, lam = setup.rules.max_probability, setup.sizes, found.lam
    if cap is None:
        return None
    if found.slack <= 1e-7 and over_cap(found.columns, lam, sizes, cap, tol=1e-6):
        # out of time before the cap rows it needed were added
        return setup.failed(None, SolveStatus.TIMEOUT, **stats)
    if found.slack > 1e-7:
        n_reach = sum(sizes[t] for t in reachable)
        need = setup.bounds.size / n_reach if n_reach else 1.0
        message = (f"每人入选概率上限 {cap:.4f} 无法满足：{n_reach} 名可入选专家平均入选概率已为 {need:.4f}，"
                   "或受规则限制部分专家必须更常入选")
        return setup.failed(Diagnosis(messages=[message], clashes=[{"rule": "max_probability", "target": None,
                                                                     "need": None, "have": cap, "message": message}]),
                            **stats)
    return None


def _distribution(setup: _Setup, found: _Columns) -> LotteryDistribution:
    """The weights normalised, and every qualified candidate's probability: their type's
    expected count over its size."""
    lam = found.lam / float(found.lam.sum())  # type: ignore[union-attr]
    table, sizes, pool = setup.table, setup.sizes, setup.pool
    expected = np.zeros(len(setup.units))
    for weight, comp in zip(lam, found.columns):
        for t, k in comp.items():
            expected[t] += weight * k
    probabilities: dict[str, float] = {}
    for t, ms in enumerate(table.members):  # type: ignore[union-attr]
        p = float(expected[t]) / sizes[t]
        for i in ms:
            probabilities[pool.ids[i]] = p
    used = [k for k, weight in enumerate(lam) if weight > 0]
    return LotteryDistribution(pool.ids, table.members, tuple(found.columns[k] for k in used),  # type: ignore[union-attr]
                               tuple(float(lam[k]) for k in used), probabilities)


def _proven_optimal(solved: _Solved) -> bool:
    """Whether the distribution is proven maximin-optimal (what `_sample` reports as OPTIMAL)."""
    distribution = solved.distribution
    if distribution is None or not solved.proven:
        return False
    table = solved.setup.table
    probabilities = [distribution.probabilities[distribution.ids[table.members[t][0]]]  # type: ignore[union-attr]
                     for t in solved.reachable]
    z_min = min(probabilities) if probabilities else 0.0
    return z_min >= max(solved.upper, z_min) * (1 - REL_TOL) - 1e-12


def _remembered(solved: _Solved) -> RememberedSolution:
    distribution = solved.distribution
    assert distribution is not None
    return RememberedSolution(tuple(solved.setup.sizes or ()), distribution.columns, distribution.weights,
                              tuple(solved.reachable), tuple(solved.unreachable), solved.upper,
                              dict(solved.stats), solved.notes)


def _recall(setup: _Setup, value: object) -> _Solved | None:
    """The remembered solution as `_maximin`'s outcome, if it was found for these types."""
    if not isinstance(value, RememberedSolution) or value.type_sizes != tuple(setup.sizes or ()):
        return None
    table, pool = setup.table, setup.pool
    expected = np.zeros(len(value.type_sizes))
    for weight, comp in zip(value.weights, value.columns):
        for t, k in comp.items():
            expected[t] += weight * k
    probabilities = {pool.ids[i]: float(expected[t]) / value.type_sizes[t]
                     for t, ms in enumerate(table.members) for i in ms}  # type: ignore[union-attr]
    distribution = LotteryDistribution(pool.ids, table.members, value.columns,  # type: ignore[union-attr]
                                       value.weights, probabilities)
    setup.timings["remembered"] = time.monotonic() - setup.started - setup.timings["types"]
    return _Solved(setup, distribution=distribution, reachable=list(value.reachable),
                   unreachable=list(value.unreachable), proven=True, upper=value.upper, stats=dict(value.stats),
                   notes=value.notes + ("最大最小分布沿用此前对同一专家库、同一规则的求解结果",))


def _sample(solved: _Solved) -> DrawResult:
    """One seeded panel from the distribution, checked by the independent checker, with backups."""
    setup, distribution = solved.setup, solved.distribution
    assert distribution is not None
    pool, table, rules, timings = setup.pool, setup.table, setup.rules, setup.timings
    rng = random.Random(setup.seed)
    members = distribution.sample_indices(rng)
    probabilities = distribution.probabilities
    reachable_probs = [probabilities[pool.ids[table.members[t][0]]] for t in solved.reachable]  # type: ignore[union-attr]
    member_ids = tuple(pool.ids[i] for i in members)
    problems = check_panel(member_ids, setup.qualified, rules, setup.pairs)
    if problems:  # pragma: no cover - a solver bug, never an input problem
        raise RuntimeError("抽取结果未通过独立校验：" + "；".join(problems))
    order = list(range(len(pool)))
    rng.shuffle(order)
    backups = rank_backups(pool, setup.bounds, members, order, rules.backups)
    replacements = rank_replacements(pool, setup.bounds, members, order, rules.backups)
    timings["sample"] = time.monotonic() - setup.started - sum(timings.values())
    z_min = min(reachable_probs) if reachable_probs else 0.0
    upper = max(solved.upper, z_min)
    optimal = solved.proven and z_min >= upper * (1 - REL_TOL) - 1e-12
    notes = solved.notes + (() if solved.proven else ("部分类型是否可入选未能在时限内证明",))
    return DrawResult(
        "lottery", SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        members=member_ids, backups=tuple(pool.ids[i] for i in backups), seed=setup.seed,
        replacements={pool.ids[m]: tuple(pool.ids[i] for i in rs) for m, rs in replacements.items()},
        probabilities=probabilities,
        unreachable=tuple(sorted(pool.ids[i] for t in solved.unreachable for i in table.members[t])),  # type: ignore[union-attr]
        probability_min=z_min, probability_max=max(reachable_probs) if reachable_probs else 0.0,
        objective=z_min, bound=upper, gap=0.0 if optimal else (upper - z_min) / max(upper, 1e-300),
        relevance_sum=sum(pool.relevance[i] for i in members),
        stats=DrawStats(timings=timings, notes=notes, **setup.base_stats, **solved.stats),
    )
