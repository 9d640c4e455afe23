"""Column generation for the lottery (`lottery`): panel compositions over types (`PanelState`,
with cheap swap tests), the two master LPs (`TargetMaster` for phase one, `MaximinMaster` for
phase two), cheap pricing (`packed_columns`, `improving_columns`), phase one's loop
(`target_phase`) and the reachability proof (`reachability`). The method is described in
`lottery`'s docstring; this module is its machinery.
"""
from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from expertpool.domain.panel.encoder import Bounds, Units
from expertpool.domain.panel.solve import LPRelaxation, maximise

REL_TOL = 1e-6
PENALTY = 1e3


class PanelState:
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
        nq = len(bounds.quotas)
        self.quotas = [sum(k for t, k in comp.items() if units.quota_of(t) >> q & 1) for q in range(nq)]
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
        if self.quotas and not self.quota_swap_ok(out, inn):
            return False
        clash = self.partners.get(inn)
        if clash and any(p in self.comp and (p != out or self.comp[p] > 1) for p in clash):
            return False
        return True

    def quota_swap_ok(self, out: int, inn: int) -> bool:
        """Whether every quota holds after `out` leaves and `inn` comes in."""
        qi, qo = self.u.quota_of(inn), self.u.quota_of(out)
        changed, k = qi ^ qo, 0
        while changed:
            if changed & 1:
                q = self.b.quotas[k]
                if qi >> k & 1:
                    if self.quotas[k] + 1 > q.hi:
                        return False
                elif self.quotas[k] - 1 < q.lo:
                    return False
            changed >>= 1
            k += 1
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
            mask, q = u.quota_of(t), 0
            while mask:
                if mask & 1:
                    self.quotas[q] += sign
                mask >>= 1
                q += 1


class MaximinMaster:
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
            s.Objective().SetCoefficient(slack, -PENALTY)
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
        return [t for t in over_cap(self.columns, lam, self.sizes, self.cap) if t not in self.caprow]

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


class TargetMaster:
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


def over_cap(columns: Sequence[dict[int, int]], lam: np.ndarray, sizes: Sequence[int], cap: float,
              tol: float = 1e-9) -> list[int]:
    """Types whose expected share under the weights `lam` exceeds `cap`."""
    expected: dict[int, float] = {}
    for weight, comp in zip(lam, columns):
        if weight > 0:
            for t, k in comp.items():
                expected[t] = expected.get(t, 0.0) + weight * k
    return sorted(t for t, x in expected.items() if x > cap * sizes[t] * (1 + tol) + 1e-12)


def improving_columns(units: Units, bounds: Bounds, partners: dict[int, set[int]], w: np.ndarray, mu: float,
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
        state = PanelState(units, bounds, columns[k], partners)
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


def packed_columns(units: Units, bounds: Bounds, partners: dict[int, set[int]], w: np.ndarray, mu: float | None,
                    columns: Sequence[dict[int, int]], lam: np.ndarray, rng: random.Random,
                    rounds: int = 6) -> list[dict[int, int]]:
    """Cheap pricing aimed at the binding types: swap as many of them as fit into copies of the
    columns in use, each replacing a member whose type the duals value less.

    Column generation on the maximin master is slow when each new column serves one set of
    binding types (each round moves z a little). Packing every binding type into some copy of
    the current support gives, per round, columns that together reach all of them, and the
    master mixes them. With `mu`, only improving columns (Σ w·a > mu) are kept, so when none is
    found the exact pricing still decides; phase one passes None and keeps them all (a column
    that does not pay at these duals often does a round later, and phase one ends on a stall,
    not on pricing). Every swap is checked, so every column is a feasible panel. Up to `rounds`
    passes over the types left unplaced: more passes per LP solve mean fewer solves (6 rather than
    3: on 32,000 experts, 693 types, 1.3 -> 1.05 s).
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
    quotas = bool(bounds.quotas)
    for _ in range(rounds):
        todo, left, tried = left, [], 0
        while todo and tried < 4 * len(support):
            state = PanelState(units, bounds, columns[support[tried % len(support)]], partners)
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
                        if (t in partners or quotas) and not state.can_swap(o, t):
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


def add_cheap_columns(master: "MaximinMaster | TargetMaster", units: Units, bounds: Bounds,
                       partners: dict[int, set[int]], w: np.ndarray, pack_mu: float | None, mu: float,
                       lam: np.ndarray, rng: random.Random) -> int:
    """Cheap pricing for either master: packed columns, else swap-improved ones. Returns how
    many new columns were added (0: the caller decides what comes next)."""
    added = 0
    for comp in packed_columns(units, bounds, partners, w, pack_mu, master.columns, lam, rng):
        added += master.add(comp)
    if not added:
        for comp in improving_columns(units, bounds, partners, w, mu, master.columns, lam):
            added += master.add(comp)
    return added


def target_phase(units: Units, bounds: Bounds, partners: dict[int, set[int]], sizes: Sequence[int],
                  types: Sequence[int], target: float, cap: float | None, columns: list[dict[int, int]],
                  deadline: float, rng: random.Random
                  ) -> tuple[list[dict[int, int]], np.ndarray | None, bool, int]:
    """Phase one (see `TargetMaster`): try to give every type in `types` a share ≥ `target`.

    Returns every column found, the weights of the last solve (None if none finished), whether
    they reach the target within the cap (if not, the maximin master decides; the weights are
    still a valid distribution to fall back on), and the rounds run.
    """
    phase = TargetMaster(sizes, types, target)
    for comp in columns:
        phase.add(comp)
    lam, reached, rounds = reach_target(
        phase, sizes, types, target, cap, deadline,
        lambda y, mu, lam: add_cheap_columns(phase, units, bounds, partners, y, None, mu, lam, rng))
    return phase.columns, lam, reached, rounds


def reach_target(master: TargetMaster, sizes: Sequence[int], types: Sequence[int], target: float,
                 cap: float | None, deadline: float,
                 add_columns: Callable[[np.ndarray, float, np.ndarray], int]) -> tuple[np.ndarray | None, bool, int]:
    """Phase one's loop, for a panel's types or a session's: solve `master`, stop when every type
    of `types` reaches `target` (within the cap), after 5 rounds without gain, or when
    `add_columns(duals, the value an improving column must exceed, weights)` adds none.
    Returns (the last weights, reached?, rounds)."""
    size_arr = np.array(sizes, dtype=float)
    idx = np.array(types, dtype=np.int64)
    best_short, stalled, rounds, last = math.inf, 0, 0, None
    while time.monotonic() < deadline:
        rounds += 1
        got = master.solve(len(sizes), deadline - time.monotonic())
        if got is None:
            break
        short, y, mu, lam = got
        last = lam
        expected = np.zeros(len(sizes))
        for weight, comp in zip(lam, master.columns):
            if weight > 0:
                for t, k in comp.items():
                    expected[t] += weight * k
        if float(np.min(expected[idx] / size_arr[idx])) >= target * (1 - REL_TOL / 10):
            if cap is None or not over_cap(master.columns, lam, sizes, cap):
                return lam, True, rounds
            break
        stalled = 0 if short < best_short * (1 - 1e-6) else stalled + 1
        best_short = min(best_short, short)
        if stalled >= 5:         # the target is probably not attainable
            break
        if not add_columns(y, mu, lam):
            break
    return last, False, rounds


def reachability(units: Units, bounds: Bounds, partners: dict[int, set[int]], columns: list[dict[int, int]],
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
        state, protected = PanelState(units, bounds, base, partners), set()
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
                state, protected = PanelState(units, bounds, base, partners), set()
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
            columns.append(comp_from(sol.x))
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


def comp_from(x: dict[int, int]) -> dict[int, int]:
    return {t: k for t, k in x.items() if k}
