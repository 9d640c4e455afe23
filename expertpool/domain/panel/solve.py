"""Exact maximisation of a weighted panel: LP bound, reduced-cost fixing, then CP-SAT.

`maximise(units, bounds, weights)` finds x_u ∈ [0, ub_u] (integers) satisfying every panel rule
and maximising Σ w_u x_u. It is the engine of the `best` strategy (units = candidates, weights =
perturbed relevance) and the pricing step of the `lottery` strategy (units = types, weights =
dual prices).

Method, and why it is exact:
1. Solve the LP relaxation with GLOP and read its row duals y. For ANY y (sign-compatible with
   the row bounds) the Lagrangian bound UB(y) = Σ_r y_r·(hi_r if y_r > 0 else lo_r)
   + Σ_u ub_u·max(0, d_u), with reduced costs d_u = w_u − Σ_{r∋u} y_r, bounds every integer
   solution. We recompute UB(y) and d ourselves, so GLOP's tolerances cannot make it invalid.
2. If the LP optimum is integral and meets UB, it is the optimum.
3. Otherwise, given a gap g ≥ UB − OPT, any optimal solution has x_u ≤ ⌊g/−d_u⌋ when d_u < 0
   and x_u ≥ ub_u − ⌊g/d_u⌋ when d_u > 0 (taking more would cost more than g). CP-SAT solves the
   small fixed model. A first guess g₁ is verified afterwards: if the CP-SAT optimum v satisfies
   UB − v ≤ g₁ it is global; otherwise we redo it with g = UB − v, which is valid because v is
   attained.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from expertpool.domain.panel.encoder import Bounds, Units

# weights are scaled to integers for CP-SAT so that the largest |w| becomes this
_CP_SCALE = 1e9
_INT_TOL = 1e-6


@dataclass(frozen=True)
class Row:
    lo: float
    hi: float
    units: tuple[int, ...]
    kind: str          # size | field | region | senior | institution | quota | pair
    key: int = -1      # field / region / institution / quota index


def panel_rows(units: Units, bounds: Bounds) -> list[Row]:
    """The panel rules as rows Σ_{u ∈ units} x_u ∈ [lo, hi] (all coefficients are 1)."""
    n = len(units)
    inf = math.inf
    rows = [Row(bounds.size, bounds.size, tuple(range(n)), "size")]
    if bounds.field_min > 0:
        for k in range(len(bounds.field_names)):
            bit = 1 << k
            rows.append(Row(bounds.field_min, inf, tuple(u for u in range(n) if units.cov[u] & bit), "field", k))
    for k in range(len(bounds.region_names)):
        rows.append(Row(bounds.region_lo[k], bounds.region_hi[k],
                        tuple(u for u in range(n) if units.region[u] == k), "region", k))
    if bounds.senior_min > 0:
        rows.append(Row(bounds.senior_min, inf, tuple(u for u in range(n) if units.senior[u]), "senior"))
    cap = bounds.inst_cap
    if cap is not None:
        members: dict[int, list[int]] = {}
        for u in range(n):
            if units.inst[u] >= 0:
                members.setdefault(units.inst[u], []).append(u)
        for inst, us in sorted(members.items()):
            if sum(units.ub[u] for u in us) > cap:
                rows.append(Row(-inf, cap, tuple(us), "institution", inst))
    for k, quota in enumerate(bounds.quotas):
        bit = 1 << k
        counted = tuple(u for u in range(n) if units.quota_of(u) & bit)
        lo = quota.lo if quota.lo > 0 else -inf
        hi = quota.hi if quota.hi < sum(units.ub[u] for u in counted) else inf
        if lo > -inf or hi < inf:
            rows.append(Row(lo, hi, counted, "quota", k))
    for a, b in units.pairs:
        rows.append(Row(-inf, 1, (a, b), "pair"))
    return rows


@dataclass(frozen=True)
class LPSolution:
    feasible: bool
    x: np.ndarray
    value: float
    bound: float            # Lagrangian bound recomputed from the duals
    reduced: np.ndarray     # d_u


class LPRelaxation:
    """The LP relaxation of the panel rules over `units`; re-solved with new weights cheaply."""

    def __init__(self, units: Units, bounds: Bounds | None, rows: list[Row] | None = None):
        from ortools.linear_solver.python import model_builder_helper as mbh

        self.units = units
        self.rows = rows if rows is not None else panel_rows(units, bounds)
        n = len(units)
        self.ub = np.array(units.ub, dtype=float)
        model = mbh.ModelBuilderHelper()
        model.add_var_array_with_bounds(np.zeros(n), self.ub, np.zeros(n, dtype=bool), "x")
        nz_rows: list[int] = []
        nz_units: list[int] = []
        for r, row in enumerate(self.rows):
            ct = model.add_linear_constraint()
            model.set_constraint_lower_bound(ct, row.lo)
            model.set_constraint_upper_bound(ct, row.hi)
            for u in row.units:
                model.safe_add_term_to_constraint(ct, u, 1.0)
            nz_rows.extend([r] * len(row.units))
            nz_units.extend(row.units)
        model.set_maximize(True)
        self._model = model
        self._solver = mbh.ModelSolverHelper("glop")
        self._nz_rows = np.array(nz_rows, dtype=np.int64)
        self._nz_units = np.array(nz_units, dtype=np.int64)
        self._lo = np.array([row.lo for row in self.rows], dtype=float)
        self._hi = np.array([row.hi for row in self.rows], dtype=float)
        self._all = list(range(n))

    def solve(self, weights: np.ndarray, time_limit: float | None = None) -> LPSolution:
        from ortools.linear_solver.python import model_builder_helper as mbh

        n = len(self.ub)
        self._model.set_objective_coefficients(self._all, [float(w) for w in weights])
        if time_limit is not None:
            self._solver.set_time_limit_in_seconds(max(0.01, time_limit))
        self._solver.solve(self._model)
        status = self._solver.status()
        if status != mbh.SolveStatus.OPTIMAL:
            return LPSolution(False, np.zeros(n), -math.inf, -math.inf if status == mbh.SolveStatus.INFEASIBLE
                              else math.inf, np.zeros(n))
        x = np.asarray(self._solver.variable_values(), dtype=float)
        y = np.asarray(self._solver.dual_values(), dtype=float)
        # a multiplier is usable only in the direction of a finite bound
        y = np.where((y > 0) & ~np.isfinite(self._hi), 0.0, y)
        y = np.where((y < 0) & ~np.isfinite(self._lo), 0.0, y)
        d = np.asarray(weights, dtype=float) - np.bincount(self._nz_units, weights=y[self._nz_rows], minlength=n)
        row_term = np.where(y > 0, y * np.where(np.isfinite(self._hi), self._hi, 0.0),
                            y * np.where(np.isfinite(self._lo), self._lo, 0.0))
        bound = float(row_term.sum() + (self.ub * np.maximum(d, 0.0)).sum())
        return LPSolution(True, x, float(np.dot(weights, x)), bound, d)


@dataclass(frozen=True)
class WeightedSolution:
    status: str                 # optimal | feasible | infeasible | timeout
    x: dict[int, int]           # unit → count (only non-zero)
    value: float
    bound: float
    model_size: int             # variables in the last CP-SAT model (0 if the LP sufficed)


def _solve_cpsat(units: Units, rows: list[Row], weights: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, time_limit: float, hint: dict[int, int] | None,
                 workers: int) -> tuple[str, dict[int, int], float]:
    """CP-SAT on the units whose upper bound is positive. Returns (status, x, objective).

    The model goes to CP-SAT through OR-Tools' C++ model builder rather than the Python
    `cp_model` layer: that layer imports pandas, ≈ 0.5 s on every CLI call that needs CP-SAT.
    The objective is scaled to integers here, so CP-SAT's optimum is exact.
    """
    from ortools.linear_solver.python import model_builder_helper as mbh

    keep = [u for u in range(len(units)) if hi[u] > 0]
    # units at 0 are out; rows only need the kept ones
    pos = {u: k for k, u in enumerate(keep)}
    top = float(np.max(np.abs(weights))) if len(weights) else 0.0
    scale = _CP_SCALE / top if top > 0 else 1.0
    model = mbh.ModelBuilderHelper()
    model.add_var_array_with_bounds(np.array([float(lo[u]) for u in keep]), np.array([float(hi[u]) for u in keep]),
                                    np.ones(len(keep), dtype=bool), "x")
    inf = math.inf
    for row in rows:
        us = [pos[u] for u in row.units if u in pos]
        if not us:
            if row.lo > 0:
                return "infeasible", {}, -math.inf
            continue
        row_lo = float(row.lo) if math.isfinite(row.lo) and row.lo > 0 else -inf
        row_hi = float(row.hi) if math.isfinite(row.hi) and row.hi < sum(int(hi[keep[k]]) for k in us) else inf
        if row_lo == -inf and row_hi == inf:
            continue
        ct = model.add_linear_constraint()
        model.set_constraint_lower_bound(ct, row_lo)
        model.set_constraint_upper_bound(ct, row_hi)
        for k in us:
            model.safe_add_term_to_constraint(ct, k, 1.0)
    model.set_objective_coefficients(list(range(len(keep))),
                                     [float(round(float(weights[u]) * scale)) for u in keep])
    model.set_maximize(True)
    if hint:
        for u, value in hint.items():
            if u in pos and lo[u] <= value <= hi[u]:
                model.add_hint(pos[u], float(value))
    solver = mbh.ModelSolverHelper("sat")
    solver.set_time_limit_in_seconds(max(0.05, time_limit))
    solver.set_solver_specific_parameters(f"num_workers: {workers} random_seed: 1")
    solver.solve(model)
    status = solver.status()
    if status in (mbh.SolveStatus.OPTIMAL, mbh.SolveStatus.FEASIBLE) and solver.has_solution():
        values = solver.variable_values()
        x = {u: int(round(values[k])) for k, u in enumerate(keep)}
        x = {u: k for u, k in x.items() if k}
        return ("optimal" if status == mbh.SolveStatus.OPTIMAL else "feasible"), x, float(
            sum(weights[u] * k for u, k in x.items()))
    if status == mbh.SolveStatus.INFEASIBLE:
        return "infeasible", {}, -math.inf
    return "timeout", {}, -math.inf


def _fixings(sol: LPSolution, ub: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Bounds every solution within `gap` of the LP bound must respect (see module docstring)."""
    d = sol.reduced
    lo = np.zeros(len(ub))
    hi = ub.copy()
    gap = max(gap, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        neg = d < -1e-12
        hi = np.where(neg, np.minimum(ub, np.floor(gap / np.where(neg, -d, 1.0) + 1e-9)), hi)
        pos = d > 1e-12
        lo = np.where(pos, np.maximum(0.0, ub - np.floor(gap / np.where(pos, d, 1.0) + 1e-9)), lo)
    return lo, hi


def maximise(units: Units, bounds: Bounds | None, weights: Sequence[float], *, deadline: float,
             lp: LPRelaxation | None = None, hint: dict[int, int] | None = None,
             workers: int = 1) -> WeightedSolution:
    """Maximise Σ w·x over the panels made of `units`. `deadline` is a time.monotonic() value.
    With `lp` given, its rows are the model (a review session's joint rows) and `bounds` is unused."""
    w = np.asarray(weights, dtype=float)
    lp = lp or LPRelaxation(units, bounds)
    rows = lp.rows
    ub = lp.ub
    remaining = deadline - time.monotonic()
    sol = lp.solve(w, time_limit=remaining)
    if not sol.feasible:
        if sol.bound == -math.inf:   # LP infeasible ⇒ no panel at all
            return WeightedSolution("infeasible", {}, -math.inf, -math.inf, 0)
        # LP did not finish: fall back to CP-SAT on everything
        status, x, value = _solve_cpsat(units, rows, w, np.zeros(len(ub)), ub,
                                        deadline - time.monotonic(), hint, workers)
        return WeightedSolution(status, x, value, math.inf, len(ub))
    scale_tol = 1e-9 * (1.0 + abs(sol.bound))
    xr = np.rint(sol.x)
    if np.all(np.abs(sol.x - xr) <= _INT_TOL):
        value = float(np.dot(w, xr))
        if value >= sol.bound - 1e-7 * (1.0 + abs(sol.bound)):
            return WeightedSolution("optimal", {int(u): int(k) for u, k in enumerate(xr) if k}, value,
                                    sol.bound, 0)
        hint = {int(u): int(k) for u, k in enumerate(xr) if k}
    spread = float(np.max(np.abs(w))) if len(w) else 1.0
    guess = max(sol.bound - sol.value, 1e-3 * (abs(sol.bound) + spread)) + scale_tol
    for _ in range(8):
        lo, hi = _fixings(sol, ub, guess)
        status, x, value = _solve_cpsat(units, rows, w, lo, hi, deadline - time.monotonic(), hint,
                                        workers)
        size = int(np.count_nonzero(hi > 0))
        if status == "optimal":
            if sol.bound - value <= guess:
                return WeightedSolution("optimal", x, value, value, size)
            # the guess was too small: redo with the attained gap, which is valid
            lo, hi = _fixings(sol, ub, sol.bound - value + scale_tol)
            status2, x2, value2 = _solve_cpsat(units, rows, w, lo, hi, deadline - time.monotonic(), x,
                                               workers)
            size = int(np.count_nonzero(hi > 0))
            if status2 == "optimal":
                return WeightedSolution("optimal", x2, value2, value2, size)
            if status2 == "feasible" and value2 >= value:
                return WeightedSolution("feasible", x2, value2, sol.bound, size)
            return WeightedSolution("feasible", x, value, sol.bound, size)
        if status == "feasible":
            return WeightedSolution("feasible", x, value, sol.bound, size)
        if status == "timeout":
            return WeightedSolution("timeout", {}, -math.inf, sol.bound, size)
        # infeasible under the guessed fixing: widen it
        if np.all(lo == 0) and np.all(hi == ub):
            return WeightedSolution("infeasible", {}, -math.inf, -math.inf, size)
        guess *= 10.0
    lo, hi = np.zeros(len(ub)), ub
    status, x, value = _solve_cpsat(units, rows, w, lo, hi, deadline - time.monotonic(), hint, workers)
    return WeightedSolution(status, x, value, value if status == "optimal" else sol.bound, len(ub))


def is_feasible(units: Units, bounds: Bounds | None, *, deadline: float, rows: list[Row] | None = None) -> bool | None:
    """Whether some panel exists (None: undecided within the time limit). `rows`: the model's
    rows when they are not one panel's (a review session)."""
    n = len(units)
    if n == 0:
        return False
    lp = LPRelaxation(units, bounds, rows)
    sol = lp.solve(np.zeros(n), time_limit=deadline - time.monotonic())
    if not sol.feasible:
        return False if sol.bound == -math.inf else None
    if np.all(np.abs(sol.x - np.rint(sol.x)) <= _INT_TOL):
        return True
    status, _, _ = _solve_cpsat(units, lp.rows, np.zeros(n), np.zeros(n), lp.ub,
                                deadline - time.monotonic(), None, 1)
    if status in ("optimal", "feasible"):
        return True
    if status == "infeasible":
        return False
    return None
