"""The `lottery` strategy: a maximin-fair distribution over feasible panels, then one seeded draw.

Among qualified candidates (relevance ≥ threshold) we find a distribution over feasible panels
that maximises the minimum selection probability (optionally with every probability capped),
as in citizens'-assembly sortition (Flanigan et al., Nature 2021), and sample one panel from it.

Types. Candidates who are interchangeable for every rule — same bounded region (or none), same
set of required fields covered, same 正高级-or-not, same institution when a cap applies, and in no
forbidden pair — form a TYPE. Candidates in forbidden pairs are singleton types. By symmetry
(average any optimal distribution over permutations within types) some optimal distribution
gives everyone in a type the same probability, so we optimise over type counts and draw the
individuals within a type uniformly: probability = expected count / type size.

Phase one: the counting bound. Simple counting gives an upper bound U on the minimum
probability (an institution of m qualified people with a cap of c seats: someone there has at
most c/m; likewise regions, juniors, the panel size; `_simple_bound`). Phase one looks for a
distribution giving every type at least U (`_TargetMaster`: minimise the total shortfall). Its
duals are 1 on the types still short, so each round packs every short type into copies of the
panels in use (`_packed_columns`) and the LP mixes them. Reaching U proves the distribution
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
"""
from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from expertpool.domain.panel.backups import rank_backups, rank_replacements
from expertpool.domain.panel.checker import check_panel
from expertpool.domain.panel.diagnosis import diagnose
from expertpool.domain.panel.encoder import Bounds, Pool, Units, encode, resolve_bounds
from expertpool.domain.panel.result import Diagnosis, DrawResult, DrawStats, SolveStatus
from expertpool.domain.panel.solve import LPRelaxation, maximise
from expertpool.domain.panel.spec import Candidate, PanelRules

_REL_TOL = 1e-6
_PENALTY = 1e3


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
        key = ("single", i) if i in in_pairs else (pool.region[i], pool.cov[i], pool.senior[i], inst)
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
    )
    return TypeTable(units, members)


class _PanelState:
    """A feasible composition (type → count) with running totals, for cheap swap tests."""

    def __init__(self, units: Units, bounds: Bounds, comp: dict[int, int], partners: dict[int, set[int]]):
        self.u, self.b, self.partners = units, bounds, partners
        self.cap = bounds.effective_cap
        self.comp = dict(comp)
        nf = len(bounds.field_names)
        self.fields = [sum(k for t, k in comp.items() if units.cov[t] >> f & 1) for f in range(nf)]
        self.regions = Counter()
        self.inst = Counter()
        self.seniors = 0
        for t, k in comp.items():
            self.regions[units.region[t]] += k
            self.inst[units.inst[t]] += k
            self.seniors += k * units.senior[t]

    def can_swap(self, out: int, inn: int) -> bool:
        u, b = self.u, self.b
        if out == inn or self.comp.get(inn, 0) + 1 > u.ub[inn]:
            return False
        inst = u.inst[inn]
        if inst >= 0 and inst != u.inst[out] and self.inst[inst] + 1 > self.cap:
            return False
        lost = u.cov[out] & ~u.cov[inn]
        f = 0
        while lost:
            if lost & 1 and self.fields[f] - 1 < b.field_min:
                return False
            lost >>= 1
            f += 1
        ro, ri = u.region[out], u.region[inn]
        if ro != ri:
            if ri >= 0 and self.regions[ri] + 1 > b.region_hi[ri]:
                return False
            if ro >= 0 and self.regions[ro] - 1 < b.region_lo[ro]:
                return False
        if self.seniors - u.senior[out] + u.senior[inn] < b.senior_min:
            return False
        clash = self.partners.get(inn)
        if clash and any(p in self.comp and (p != out or self.comp[p] > 1) for p in clash):
            return False
        return True

    def leave_profiles(self, outs: Iterable[int]) -> list[tuple[int, int, int, bool, int, int]]:
        """For each member type o in `outs`, what `can_swap(o, ·)` asks of the incoming type:
        (o, fields it must cover, o's region, whether o's region may lose one, senior slack
        without o, o's institution). Lets a caller test many incoming types cheaply."""
        u, b = self.u, self.b
        profiles = []
        for o in outs:
            lost, cov, f = 0, u.cov[o], 0
            while cov:
                if cov & 1 and self.fields[f] - 1 < b.field_min:
                    lost |= 1 << f
                cov >>= 1
                f += 1
            ro = u.region[o]
            leave_ok = ro < 0 or self.regions[ro] - 1 >= b.region_lo[ro]
            profiles.append((o, lost, ro, leave_ok, self.seniors - u.senior[o] - b.senior_min, u.inst[o]))
        return profiles

    def swap(self, out: int, inn: int) -> None:
        u = self.u
        for t, sign in ((out, -1), (inn, 1)):
            self.comp[t] = self.comp.get(t, 0) + sign
            if not self.comp[t]:
                del self.comp[t]
            for f in range(len(self.fields)):
                if u.cov[t] >> f & 1:
                    self.fields[f] += sign
            self.regions[u.region[t]] += sign
            self.inst[u.inst[t]] += sign
            self.seniors += sign * u.senior[t]


class _Master:
    """The restricted master LP, grown one column at a time.

    The max_probability rows start out absent and are added for the types that break the cap
    (`add_cap_rows`): the cap rarely binds for more than a few types, and rows that never bind
    only slow every solve down. A master without some cap rows is a relaxation, so the pricing
    bound stays valid.
    """

    def __init__(self, sizes: Sequence[int], reachable: Sequence[int], cap: float | None):
        from ortools.linear_solver import pywraplp

        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        s = self.solver
        self.z = s.NumVar(0.0, s.infinity(), "z")
        s.Objective().SetCoefficient(self.z, 1.0)
        s.Objective().SetMaximization()
        self.one = s.Constraint(1.0, 1.0)
        self.sizes = sizes
        self.cap = cap
        self.cover = {}
        self.caprow = {}
        for t in reachable:
            row = s.Constraint(0.0, s.infinity())
            row.SetCoefficient(self.z, -float(sizes[t]))
            self.cover[t] = row
        self.lams: list = []
        self.columns: list[dict[int, int]] = []
        self.seen: set[tuple] = set()

    def add_cap_rows(self, types: Iterable[int]) -> int:
        """Add the max_probability rows of `types` (Σ λ a_t ≤ π·|t| + slack, slack penalised)."""
        s = self.solver
        added = 0
        for t in types:
            if self.cap is None or t in self.caprow or t not in self.cover:
                continue
            crow = s.Constraint(-s.infinity(), self.cap * self.sizes[t])
            slack = s.NumVar(0.0, s.infinity(), "")
            crow.SetCoefficient(slack, -1.0)
            s.Objective().SetCoefficient(slack, -_PENALTY)
            for lam, comp in zip(self.lams, self.columns):
                if t in comp:
                    crow.SetCoefficient(lam, float(comp[t]))
            self.caprow[t] = (crow, slack)
            added += 1
        return added

    def over_cap(self, lam: np.ndarray) -> list[int]:
        """Types whose expected share under `lam` exceeds the cap and that have no cap row yet."""
        if self.cap is None:
            return []
        return [t for t in _over_cap(self.columns, lam, self.sizes, self.cap) if t not in self.caprow]

    def add(self, comp: dict[int, int]) -> bool:
        key = tuple(sorted(comp.items()))
        if key in self.seen:
            return False
        self.seen.add(key)
        lam = self.solver.NumVar(0.0, 1.0, "")
        self.one.SetCoefficient(lam, 1.0)
        for t, k in comp.items():
            if t in self.cover:
                self.cover[t].SetCoefficient(lam, float(k))
            if t in self.caprow:
                self.caprow[t][0].SetCoefficient(lam, float(k))
        self.lams.append(lam)
        self.columns.append(dict(comp))
        return True

    def solve(self, n_types: int, time_limit: float):
        from ortools.linear_solver import pywraplp

        self.solver.SetTimeLimit(int(max(1.0, time_limit) * 1000))
        status = self.solver.Solve()
        if status != pywraplp.Solver.OPTIMAL:
            return None
        y = np.zeros(n_types)
        v = np.zeros(n_types)
        for t, row in self.cover.items():
            y[t] = max(0.0, -row.dual_value())
        for t, (row, _) in self.caprow.items():
            v[t] = max(0.0, row.dual_value())
        lam = np.array([max(0.0, x.solution_value()) for x in self.lams])
        slack = sum(s.solution_value() for _, s in self.caprow.values())
        return self.z.solution_value(), y, v, self.one.dual_value(), lam, slack


class _TargetMaster:
    """Phase one of column generation: reach a known upper bound U on the minimum probability.

        min Σ_t σ_t  s.t.  Σ_k λ_k = 1,  Σ_k λ_k a_kt + σ_t ≥ U·|t|  (every reachable type).

    Its duals lie in [0, 1] (1 for a type still short of U), so pricing aims at every short type
    at once instead of chasing the maximin master's degenerate duals. When Σ σ reaches 0 every
    type has probability ≥ U, which proves the distribution maximin-optimal. U comes from
    `_simple_bound`; when it is not attainable phase one stalls and the maximin master takes
    over with the columns found.

    GLOP solves the DUAL of that LP,
        max Σ_t U·|t|·y_t + μ  s.t.  Σ_t a_kt·y_t + μ ≤ 0 (every column k),  0 ≤ y_t ≤ 1,
    with the dual simplex: a new column is a new row there, the last basis stays dual feasible
    and the re-solve starts from it (on 9.4k types ≈ 3× faster than re-solving the primal after
    each round of columns). λ_k are the row duals.
    """

    def __init__(self, sizes: Sequence[int], reachable: Sequence[int], target: float):
        from ortools.linear_solver import pywraplp

        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        s = self.solver
        s.SetSolverSpecificParametersAsString("use_dual_simplex: true")
        objective = s.Objective()
        self.y = {}
        for t in reachable:
            var = s.NumVar(0.0, 1.0, "")
            objective.SetCoefficient(var, target * sizes[t])
            self.y[t] = var
        self.mu = s.NumVar(-s.infinity(), s.infinity(), "")
        objective.SetCoefficient(self.mu, 1.0)
        objective.SetMaximization()
        self.rows: list = []
        self.columns: list[dict[int, int]] = []
        self.seen: set[tuple] = set()

    def add(self, comp: dict[int, int]) -> bool:
        key = tuple(sorted(comp.items()))
        if key in self.seen:
            return False
        self.seen.add(key)
        s = self.solver
        row = s.Constraint(-s.infinity(), 0.0)
        for t, k in comp.items():
            if t in self.y:
                row.SetCoefficient(self.y[t], float(k))
        row.SetCoefficient(self.mu, 1.0)
        self.rows.append(row)
        self.columns.append(dict(comp))
        return True

    def solve(self, n_types: int, time_limit: float) -> tuple[float, np.ndarray, float, np.ndarray] | None:
        """(total shortfall, duals y in [0, 1], the value an improving column must exceed, λ)."""
        from ortools.linear_solver import pywraplp

        self.solver.SetTimeLimit(int(max(1.0, time_limit) * 1000))
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        y = np.zeros(n_types)
        for t, var in self.y.items():
            y[t] = min(1.0, max(0.0, var.solution_value()))
        lam = np.array([max(0.0, row.dual_value()) for row in self.rows])
        return self.solver.Objective().Value(), y, -self.mu.solution_value(), lam


def _over_cap(columns: Sequence[dict[int, int]], lam: np.ndarray, sizes: Sequence[int], cap: float,
              tol: float = 1e-9) -> list[int]:
    """Types whose expected share under the weights `lam` exceeds `cap`."""
    expected: dict[int, float] = {}
    for weight, comp in zip(lam, columns):
        if weight > 0:
            for t, k in comp.items():
                expected[t] = expected.get(t, 0.0) + weight * k
    return sorted(t for t, x in expected.items() if x > cap * sizes[t] * (1 + tol) + 1e-12)


def _improving_columns(units: Units, bounds: Bounds, partners: dict[int, set[int]], w: np.ndarray, mu: float,
                       columns: Sequence[dict[int, int]], lam: np.ndarray, bases: int = 12,
                       limit: int = 48) -> list[dict[int, int]]:
    """Cheap pricing: local search by swaps from the heaviest columns, keeping improving results.

    Only a heuristic — it can miss improving columns, never invents infeasible ones (every swap
    is checked). The exact pricing runs whenever this finds nothing.
    """
    hot = [int(t) for t in np.argsort(-w, kind="stable")[:96] if w[t] > 0]
    if not hot:
        return []
    values = [sum(w[t] * k for t, k in comp.items()) for comp in columns]
    order = sorted(range(len(lam)), key=lambda k: (0 if lam[k] > 0 else 1, -values[k]))[:bases]
    found: list[dict[int, int]] = []
    threshold = mu * (1 + 1e-9) + 1e-15
    for k in order:
        state = _PanelState(units, bounds, columns[k], partners)
        value = values[k]
        improved = True
        while improved:
            improved = False
            outs = sorted(state.comp, key=w.__getitem__)
            for t in hot:
                wt = w[t]
                if state.comp.get(t, 0) >= units.ub[t] or wt <= w[outs[0]]:
                    continue
                for o in outs:
                    if w[o] >= wt:
                        break
                    if state.can_swap(o, t):
                        state.swap(o, t)
                        value += wt - w[o]
                        improved = True
                        outs = sorted(state.comp, key=w.__getitem__)
                        break
        if value > threshold:
            found.append(dict(state.comp))
            if len(found) >= limit:
                break
    return found


def _packed_columns(units: Units, bounds: Bounds, partners: dict[int, set[int]], w: np.ndarray, mu: float | None,
                    columns: Sequence[dict[int, int]], lam: np.ndarray, rng: random.Random,
                    rounds: int = 3) -> list[dict[int, int]]:
    """Cheap pricing aimed at the binding types: swap as many of them as fit into copies of the
    columns in use, each replacing a member whose type the duals value less.

    Column generation on the maximin master is slow when each new column serves one set of
    binding types (each round moves z a little). Packing every binding type into some copy of
    the current support gives, per round, columns that together reach all of them, and the
    master mixes them. With `mu`, only improving columns (Σ w·a > mu) are kept, so when none is
    found the exact pricing still decides; phase one passes None and keeps them all (a column
    that does not pay at these duals often does a round later, and phase one ends on a stall,
    not on pricing). Every swap is checked, so every column is a feasible panel.
    """
    hot = [t for t in range(len(units)) if w[t] > 0]
    if not hot:
        return []
    rng.shuffle(hot)
    hot.sort(key=lambda t: -w[t])
    support = [int(k) for k in np.argsort(-lam, kind="stable") if lam[k] > 0]
    if not support:
        return []
    threshold = -math.inf if mu is None else mu * (1 + 1e-9) + 1e-15
    found: list[dict[int, int]] = []
    left = hot
    cov, region, senior, inst, ub = units.cov, units.region, units.senior, units.inst, units.ub
    cap, hi = bounds.effective_cap, bounds.region_hi
    for _ in range(rounds):
        todo, left, tried = left, [], 0
        while todo and tried < 4 * len(support):
            state = _PanelState(units, bounds, columns[support[tried % len(support)]], partners)
            tried += 1
            placed_here: set[int] = set()
            # members that may leave, cheapest first; `todo` is sorted by w, descending
            profiles = state.leave_profiles(sorted(state.comp, key=w.__getitem__))
            rest = []
            for pos, t in enumerate(todo):
                wt = w[t]
                if not profiles or w[profiles[0][0]] >= wt:
                    rest.extend(todo[pos:])      # no member is worth less than t or anyone after it
                    break
                placed = False
                if state.comp.get(t, 0) < ub[t]:
                    it, rt, cv, st = inst[t], region[t], cov[t], senior[t]
                    full = it >= 0 and state.inst[it] + 1 > cap
                    room = rt < 0 or state.regions[rt] + 1 <= hi[rt]
                    for o, lost, ro, leave_ok, senior_slack, io in profiles:
                        if w[o] >= wt:
                            break
                        if (o == t or (full and io != it) or cv & lost != lost
                                or (ro != rt and not (room and leave_ok)) or senior_slack + st < 0):
                            continue
                        if t in partners and not state.can_swap(o, t):
                            continue
                        state.swap(o, t)
                        placed_here.add(t)
                        placed = True
                        break
                if placed:
                    profiles = state.leave_profiles(sorted((o for o in state.comp if o not in placed_here),
                                                           key=w.__getitem__))
                else:
                    rest.append(t)
            if placed_here and sum(w[t] * k for t, k in state.comp.items()) > threshold:
                found.append(dict(state.comp))
            if len(rest) == len(todo):
                left.extend(rest)
                break
            todo = rest
        if not left:
            break
    return found


def _add_cheap_columns(master: "_Master | _TargetMaster", units: Units, bounds: Bounds,
                       partners: dict[int, set[int]], w: np.ndarray, pack_mu: float | None, mu: float,
                       lam: np.ndarray, rng: random.Random) -> int:
    """Cheap pricing for either master: packed columns, else swap-improved ones. Returns how
    many new columns were added (0: the caller decides what comes next)."""
    added = 0
    for comp in _packed_columns(units, bounds, partners, w, pack_mu, master.columns, lam, rng):
        added += master.add(comp)
    if not added:
        for comp in _improving_columns(units, bounds, partners, w, mu, master.columns, lam):
            added += master.add(comp)
    return added


def _target_phase(units: Units, bounds: Bounds, partners: dict[int, set[int]], sizes: Sequence[int],
                  types: Sequence[int], target: float, cap: float | None, columns: list[dict[int, int]],
                  deadline: float, rng: random.Random
                  ) -> tuple[list[dict[int, int]], np.ndarray | None, bool, int]:
    """Phase one (see `_TargetMaster`): try to give every type in `types` a share ≥ `target`.

    Returns every column found, the weights of the last solve (None if none finished), whether
    they reach the target within the cap (if not, the maximin master decides; the weights are
    still a valid distribution to fall back on), and the rounds run.
    """
    n_types = len(units)
    size_arr = np.array(sizes, dtype=float)
    idx = np.array(types, dtype=np.int64)
    phase = _TargetMaster(sizes, types, target)
    for comp in columns:
        phase.add(comp)
    best_short, stalled, rounds = math.inf, 0, 0
    last = None
    while time.monotonic() < deadline:
        rounds += 1
        got = phase.solve(n_types, deadline - time.monotonic())
        if got is None:
            break
        short, y, mu, lam = got
        last = lam
        expected = np.zeros(n_types)
        for weight, comp in zip(lam, phase.columns):
            if weight > 0:
                for t, k in comp.items():
                    expected[t] += weight * k
        if float(np.min(expected[idx] / size_arr[idx])) >= target * (1 - _REL_TOL / 10):
            if cap is None or not _over_cap(phase.columns, lam, sizes, cap):
                return phase.columns, lam, True, rounds
            break
        stalled = 0 if short < best_short * (1 - 1e-6) else stalled + 1
        best_short = min(best_short, short)
        if stalled >= 5:         # the target is probably not attainable
            break
        if not _add_cheap_columns(phase, units, bounds, partners, y, None, mu, lam, rng):
            break
    return phase.columns, last, False, rounds


def _reachability(units: Units, bounds: Bounds, partners: dict[int, set[int]], columns: list[dict[int, int]],
                  lp: LPRelaxation, deadline: float, rng: random.Random) -> tuple[list[int], list[int], bool]:
    """Which types are on some feasible panel: (reachable, unreachable, proven).

    Cheap swap-insertions into known panels prove most types reachable (each success adds a
    column to `columns`); for the rest we maximise the number of their members on a panel: when
    the exact optimum is 0 none of them is on any feasible panel. `proven` is False when time ran
    out first (the rest are then treated as unreachable).
    """
    n_types = len(units)
    covered = {t for comp in columns for t in comp}

    def insert_all(targets: list[int], base: dict[int, int]) -> list[int]:
        """Swap as many targets as possible into copies of `base`; return those left over."""
        left: list[int] = []
        state, protected = _PanelState(units, bounds, base, partners), set()
        for t in targets:
            if t in covered:
                continue
            placed = False
            for attempt in range(2):
                for out in list(state.comp):
                    if out not in protected and state.can_swap(out, t):
                        state.swap(out, t)
                        protected.add(t)
                        covered.add(t)
                        placed = True
                        break
                if placed or not protected:
                    break
                columns.append(dict(state.comp))
                state, protected = _PanelState(units, bounds, base, partners), set()
            if not placed:
                left.append(t)
        if protected:
            columns.append(dict(state.comp))
        return left

    order = [t for t in range(n_types) if t not in covered]
    rng.shuffle(order)
    left = insert_all(order, columns[0])
    unreachable: list[int] = []
    proven = True
    while left and time.monotonic() < deadline:
        weights = [0.0] * n_types
        for t in left:
            weights[t] = 1.0 + 0.5 * rng.random()
        sol = maximise(units, bounds, weights, deadline=deadline, lp=lp)
        gained = [t for t in left if sol.x.get(t)]
        if sol.status in ("optimal", "feasible") and gained:
            columns.append(_comp_from(sol.x))
            covered.update(sol.x)
            left = insert_all([t for t in left if t not in covered], columns[-1])
            continue
        if sol.status != "optimal":
            proven = False
        unreachable = left
        break
    if left and not unreachable:           # ran out of time while proving reachability
        unreachable, proven = left, False
    gone = set(unreachable)
    return [t for t in range(n_types) if t not in gone], unreachable, proven


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
    return best


def _comp_from(x: dict[int, int]) -> dict[int, int]:
    return {t: k for t, k in x.items() if k}


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


def lottery_distribution(candidates: Sequence[Candidate], rules: PanelRules,
                         forbidden_pairs: Iterable[tuple[str, str]] = (), *,
                         time_limit_s: float = 30.0) -> LotteryDistribution | DrawResult:
    """The maximin distribution itself, e.g. to preview probabilities or to sample many panels
    from one solve; when there is none, the `DrawResult` that says why (status, diagnosis)."""
    solved = _maximin(candidates, rules, forbidden_pairs, seed=0, time_limit_s=time_limit_s)
    return solved.failure if solved.failure is not None else solved.distribution  # type: ignore[return-value]


def draw_lottery(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]],
                 *, seed: int, time_limit_s: float) -> DrawResult:
    """Draw one panel from the maximin-fair distribution over feasible panels."""
    solved = _maximin(candidates, rules, forbidden_pairs, seed=seed, time_limit_s=time_limit_s)
    return solved.failure if solved.failure is not None else _sample(solved)


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
             *, seed: int, time_limit_s: float) -> _Solved:
    setup = _set_up(candidates, rules, forbidden_pairs, seed, time_limit_s)
    if len(setup.pool) < setup.bounds.size:
        return _Solved(setup, failure=setup.failed(setup.diagnosis()))
    _build_types(setup)
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
        reachable, unreachable, proven = _reachability(setup.units, setup.bounds, setup.partners, found.columns,
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
    bounds = resolve_bounds(rules)
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
    setup.lp = LPRelaxation(setup.units, setup.bounds)


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
    return _comp_from(first.x)


def _phase_one(setup: _Setup, first: dict[int, int], upper: float
               ) -> tuple[_Columns, bool, _Columns | None]:
    """Aim every type at the counting bound `upper` (`_target_phase`). Reaching it proves the
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
    columns, lam, reached, iterations = _target_phase(
        setup.units, setup.bounds, setup.partners, sizes, list(range(len(setup.units))), upper, cap,
        found.columns, setup.started + (setup.deadline - setup.started) * 0.85, setup.jitter)
    found = _Columns(columns, lam, iterations)
    if reached:
        return found, True, None
    fallback = None
    if lam is not None and (cap is None or not _over_cap(columns, lam, sizes, cap)):
        fallback = _Columns(list(columns[:len(lam)]), lam)   # a valid distribution, if phase two gets nowhere
    return _Columns(columns, None, iterations), False, fallback


def _phase_two(setup: _Setup, found: _Columns, reachable: list[int], upper: float,
               fallback: _Columns | None) -> tuple[_Columns, float]:
    """The maximin master, with exact pricing for a proven bound. Returns the distribution's
    columns and weights (phase one's fallback when the master got nowhere; `lam` None, with
    `failure` set, when there is neither) and the proven upper bound."""
    units, bounds, partners, sizes = setup.units, setup.bounds, setup.partners, setup.sizes
    cap, n_types, deadline = setup.rules.max_probability, len(setup.units), setup.deadline
    master = _Master(sizes, reachable, cap)
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
        if (capped_ok and z >= upper * (1 - _REL_TOL)) or time.monotonic() > deadline:
            break
        scale = float(np.dot(y, sizes))
        if scale <= 0:
            break
        w = y - v
        if _add_cheap_columns(master, units, bounds, partners, w, mu, mu, lam, setup.jitter):
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
        if (capped_ok and z >= upper * (1 - _REL_TOL)) or value <= mu + 1e-9 * abs(mu) + 1e-15:
            break
        if not master.add(_comp_from(price.x)):
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
    if found.slack <= 1e-7 and _over_cap(found.columns, lam, sizes, cap, tol=1e-6):
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
    optimal = solved.proven and z_min >= upper * (1 - _REL_TOL) - 1e-12
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
