"""The session's `lottery` strategy: one maximin-fair distribution over whole sessions.

Fairness is over the session, not group by group: the quantity maximised is the smallest
chance, over every expert qualified for some group, of a seat in ANY group. An expert qualified
for two groups is one person with one chance; groups drawn one after another would let the first
take the rare experts the later ones need (and give those experts twice the chance of others).

Types. Experts interchangeable for every rule of every group — qualified in the same groups and,
in each of them, the same region class, required fields covered, 正高级-or-not, unit (where a
group caps it) and quotas counted, in no forbidden pair — form a type (`session_types`). A
session's composition is, per group, a count per type; the counts of one type over all groups
never exceed its size (the link rows of `model.joint_model`). By symmetry some optimal
distribution treats a type's members alike, so an expert's chance is the type's expected total
count over its size, and sampling draws a session composition and then the individuals of each
type uniformly, without replacement across groups.

The steps are those of the single panel's lottery (`panel.lottery`), over sessions:
1. a first valid session (the joint model with random weights);
2. phase one: an upper bound U on the minimum — the smaller of a counting bound (`session_bound`:
   any set of experts holds at most the seats of the groups they qualify for, a unit at most its
   caps) and the maximin over the joint model's LP relaxation (`lp_bound`: fractional sessions
   contain every distribution's expected counts) — and the target master
   (`panel.columns.TargetMaster`) aiming every type at U, with new sessions from packing the
   short types into copies of the sessions in use (`SessionState`), or from the joint model when
   packing finds none; reaching U proves optimality;
3. otherwise reachability and phase two: the maximin master with cheap pricing, and exact
   pricing by the joint model with the duals as weights (which gives a proven bound) whenever
   cheap pricing stops paying;
4. sampling, the independent check of every group and of disjointness, backups per group.
The masters see a session by its total count per type (what the probabilities depend on); the
session behind each master column is kept beside it for sampling.
"""
from __future__ import annotations

import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from expertpool.domain.panel import Candidate
from expertpool.domain.panel.columns import (REL_TOL, MaximinMaster, PanelState, TargetMaster, over_cap,
                                              reach_target)
from expertpool.domain.panel.encoder import Bounds, Pool, Units, encode, resolve_bounds
from expertpool.domain.panel.result import Diagnosis, DrawStats, SolveStatus
from expertpool.domain.panel.solve import LPRelaxation, maximise
from expertpool.domain.session.best import _with_backups
from expertpool.domain.session.checker import check_session
from expertpool.domain.session.diagnosis import diagnose_session
from expertpool.domain.session.model import EncodedGroup, JointModel, joint_model
from expertpool.domain.session.result import SessionResult
from expertpool.domain.session.spec import GroupDraw, SessionGroup, SessionRules, check_groups

#: a session composition: per group, {the group's unit (type): count}
Composition = list[dict[int, int]]


@dataclass
class SessionTypes:
    """The qualified experts of every group grouped into types, with each group's view of them."""
    groups: list[SessionGroup]            # with only their qualified candidates
    pools: list[Pool]
    bounds: list[Bounds]
    members: list[tuple[str, ...]]        # type → expert ids (sorted)
    type_groups: list[tuple[int, ...]]    # type → groups it is qualified in
    units: list[Units]                    # group → its units (one per type qualified there)
    unit_type: list[list[int]]            # group → unit → type
    type_unit: list[dict[int, int]]       # group → type → unit
    partners: list[dict[int, set[int]]]   # group → unit → units it may not sit with
    institution: list[str]                # type → its legal unit
    region: list[str]                     # type → its region
    senior: list[bool]                    # type → holds 正高级

    @property
    def sizes(self) -> list[int]:
        return [len(m) for m in self.members]

    def total(self, comp: Composition) -> dict[int, int]:
        """type → count over all groups."""
        out: Counter = Counter()
        for g, part in enumerate(comp):
            for u, k in part.items():
                out[self.unit_type[g][u]] += k
        return dict(out)

    def model(self) -> JointModel:
        supply = [(len(self.members[t]), [(g, self.type_unit[g][t]) for g in gs])
                  for t, gs in enumerate(self.type_groups) if len(gs) > 1]
        return joint_model(list(zip(self.units, self.bounds)), supply)


def session_types(groups: Sequence[SessionGroup]) -> SessionTypes:
    qualified = [SessionGroup(g.name, g.rules, tuple(g.qualified()), g.pairs) for g in groups]
    bounds = [resolve_bounds(g.rules, g.candidates) for g in qualified]
    pools = [encode(g.candidates, g.rules, g.pairs, b) for g, b in zip(qualified, bounds)]
    index = [p.index() for p in pools]
    in_pairs = [{p.ids[i] for i in p.in_pairs()} for p in pools]
    keys: dict[str, tuple] = {}
    person: dict[str, Candidate] = {}
    for g, pool in enumerate(pools):
        capped = bounds[g].inst_cap is not None and bounds[g].inst_cap < bounds[g].size
        for i, expert_id in enumerate(pool.ids):
            part = (g, pool.region[i], pool.cov[i], pool.quota[i], pool.inst_names[pool.inst[i]] if capped else None)
            keys[expert_id] = keys.get(expert_id, ()) + (part,)
        for c in qualified[g].candidates:
            person.setdefault(c.id, c)
    grouped: dict[tuple, list[str]] = {}
    for expert_id, parts in keys.items():
        single = any(expert_id in in_pairs[g] for g, *_ in parts)
        grouped.setdefault(("single", expert_id) if single else (person[expert_id].full_senior, parts),
                           []).append(expert_id)
    members = sorted(tuple(sorted(ids)) for ids in grouped.values())
    type_groups = [tuple(g for g, *_ in keys[ms[0]]) for ms in members]
    units, unit_type, type_unit, partners = [], [], [], []
    for g, pool in enumerate(pools):
        ts = [t for t, gs in enumerate(type_groups) if g in gs]
        local = {t: u for u, t in enumerate(ts)}
        first = [index[g][members[t][0]] for t in ts]
        cap = bounds[g].effective_cap
        capped = bounds[g].inst_cap is not None and bounds[g].inst_cap < bounds[g].size
        type_of = {}
        for t in ts:
            for expert_id in members[t]:
                type_of[index[g][expert_id]] = local[t]
        pairs = sorted({tuple(sorted((type_of[a], type_of[b]))) for a, b in pool.pairs})
        units.append(Units(
            region=tuple(pool.region[i] for i in first), cov=tuple(pool.cov[i] for i in first),
            senior=tuple(pool.senior[i] for i in first),
            inst=tuple(pool.inst[i] if capped else -1 for i in first),
            ub=tuple(min(len(members[t]), cap, bounds[g].size) for t in ts),
            pairs=tuple(pairs), quota=tuple(pool.quota[i] for i in first) if bounds[g].quotas else ()))
        unit_type.append(ts)
        type_unit.append(local)
        mates: dict[int, set[int]] = {}
        for a, b in pairs:
            mates.setdefault(a, set()).add(b)
            mates.setdefault(b, set()).add(a)
        partners.append(mates)
    firsts = [person[ms[0]] for ms in members]
    return SessionTypes(qualified, pools, bounds, members, type_groups, units, unit_type, type_unit, partners,
                        [c.institution for c in firsts], [c.region for c in firsts], [c.full_senior for c in firsts])


def session_bound(types: SessionTypes, cap: float | None, reachable: Sequence[int] | None = None) -> float:
    """An upper bound on the minimum chance, by counting: a set X of experts holds at most the
    seats X can fill, so someone in X has a chance ≤ seats/|X|. The sets: the experts qualified
    only within each set of groups (every set for up to 16 groups), each legal unit's experts
    (at most its cap in each group), each region's, and those without 正高级."""
    sizes = types.sizes
    alive = list(range(len(sizes))) if reachable is None else list(reachable)
    n_groups = len(types.groups)
    group_size = [b.size for b in types.bounds]
    best = sum(group_size) / max(1, sum(sizes[t] for t in alive))
    if cap is not None:
        best = min(best, cap)

    def limit(people: int, room: int) -> None:
        nonlocal best
        if people:
            best = min(best, room / people)

    by_mask: Counter = Counter()
    for t in alive:
        by_mask[sum(1 << g for g in types.type_groups[t])] += sizes[t]
    subsets = range(1, 1 << n_groups) if n_groups <= 16 else [*(1 << g for g in range(n_groups)), (1 << n_groups) - 1]
    for subset in subsets:
        limit(sum(k for mask, k in by_mask.items() if mask & ~subset == 0),
              sum(group_size[g] for g in range(n_groups) if subset >> g & 1))
    units: dict[str, list[int]] = {}
    for t in alive:
        units.setdefault(types.institution[t], []).append(t)
    for ts in units.values():
        where = {g for t in ts for g in types.type_groups[t]}
        limit(sum(sizes[t] for t in ts), sum(min(types.bounds[g].effective_cap, group_size[g]) for g in where))
    for region in {types.region[t] for t in alive}:
        room = 0
        for b in types.bounds:
            room += b.region_hi[b.region_names.index(region)] if region in b.region_names else b.size
        limit(sum(sizes[t] for t in alive if types.region[t] == region), room)
    limit(sum(sizes[t] for t in alive if not types.senior[t]), sum(b.size - b.senior_min for b in types.bounds))
    return best


def lp_bound(types: SessionTypes, model: JointModel, cap: float | None,
             reachable: Sequence[int] | None = None) -> float:
    """The maximin over fractional sessions: max z such that some x in the joint model's LP
    relaxation gives every type a total of at least z·|t| (and at most cap·|t|). Every
    distribution over sessions has its expected counts in that relaxation, so z bounds the
    optimum from above."""
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    inf = solver.infinity()
    x = [solver.NumVar(0.0, float(ub), "") for ub in model.units.ub]
    z = solver.NumVar(0.0, 1.0, "z")
    for row in model.rows:
        constraint = solver.Constraint(row.lo if math.isfinite(row.lo) else -inf, row.hi if math.isfinite(row.hi) else inf)
        for u in row.units:
            constraint.SetCoefficient(x[u], 1.0)
    for t in (range(len(types.members)) if reachable is None else reachable):
        groups = types.type_groups[t]
        size = float(len(types.members[t]))
        cover = solver.Constraint(0.0, inf)
        cover.SetCoefficient(z, -size)
        capped = solver.Constraint(-inf, cap * size) if cap is not None else None
        for g in groups:
            u = model.offsets[g] + types.type_unit[g][t]
            cover.SetCoefficient(x[u], 1.0)
            if capped is not None:
                capped.SetCoefficient(x[u], 1.0)
    solver.Maximize(z)
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return 1.0
    return z.solution_value() * (1 + 1e-9)


class SessionState:
    """A valid session with running totals, for cheap swaps (one `PanelState` per group, and the
    use of each type over all groups)."""

    def __init__(self, types: SessionTypes, comp: Composition):
        self.types = types
        self.states = [PanelState(types.units[g], types.bounds[g], comp[g], types.partners[g])
                       for g in range(len(comp))]
        self.used = Counter(types.total(comp))

    def composition(self) -> Composition:
        return [dict(s.comp) for s in self.states]

    def insert(self, t: int, w: np.ndarray, protected: set[tuple[int, int]], rng: random.Random) -> bool:
        """Put one more of type `t` in some group, in place of a member worth less under `w`
        (never one in `protected`: (group, unit) pairs placed earlier)."""
        types = self.types
        if self.used[t] >= len(types.members[t]):
            return False
        wt = w[t]
        order = list(types.type_groups[t])
        rng.shuffle(order)
        for g in order:
            state, local = self.states[g], types.type_unit[g][t]
            unit_type = types.unit_type[g]
            outs = sorted((o for o in state.comp if (g, o) not in protected), key=lambda o: w[unit_type[o]])
            for o in outs:
                if w[unit_type[o]] >= wt:
                    break
                if state.can_swap(o, local):
                    state.swap(o, local)
                    self.used[t] += 1
                    self.used[unit_type[o]] -= 1
                    protected.add((g, local))
                    return True
        return False


def packed_sessions(types: SessionTypes, w: np.ndarray, columns: Sequence[Composition], lam: np.ndarray,
                    rng: random.Random, limit: int = 24) -> list[Composition]:
    """Cheap pricing: pack the types the duals value (w > 0), most valued first, into copies of
    the sessions in use, each in place of a member worth less. Every swap is checked, so every
    session returned is valid."""
    hot = [t for t in range(len(w)) if w[t] > 0]
    if not hot:
        return []
    rng.shuffle(hot)
    hot.sort(key=lambda t: -w[t])
    support = [int(k) for k in np.argsort(-lam, kind="stable") if lam[k] > 0] or [0]
    found: list[Composition] = []
    left = hot
    for k in itertools.cycle(support):
        state = SessionState(types, columns[k])
        protected: set[tuple[int, int]] = set()
        rest = [t for t in left if not state.insert(t, w, protected, rng)]
        if len(rest) < len(left):
            found.append(state.composition())
        if not rest or len(rest) == len(left) or len(found) >= limit:
            break
        left = rest
    return found


@dataclass
class _Run:
    types: SessionTypes
    rules: SessionRules
    started: float
    deadline: float
    model: JointModel
    lp: LPRelaxation
    rng: random.Random = field(default_factory=lambda: random.Random("session-columns"))
    timings: dict[str, float] = field(default_factory=dict)

    def joint_weights(self, w: np.ndarray) -> list[float]:
        return [float(w[t]) for g in range(len(self.types.groups)) for t in self.types.unit_type[g]]

    def solve(self, w: np.ndarray) -> tuple[str, Composition | None, float]:
        sol = maximise(self.model.units, None, self.joint_weights(w), deadline=self.deadline, lp=self.lp)
        if sol.status not in ("optimal", "feasible"):
            return sol.status, None, sol.bound
        return sol.status, self.model.split(sol.x), sol.bound


class _Columns:
    """Sessions found so far, indexed like the master's columns (the master sees their totals)."""

    def __init__(self, types: SessionTypes):
        self.types = types
        self.sessions: list[Composition] = []

    def add_to(self, master, comp: Composition) -> bool:
        if master.add(self.types.total(comp)):
            self.sessions.append(comp)
            return True
        return False


def draw_session_lottery(groups: Sequence[SessionGroup], rules: SessionRules) -> SessionResult:
    """One session drawn from the maximin-fair distribution over valid sessions."""
    groups = check_groups(groups)
    started = time.monotonic()
    deadline = started + rules.time_limit_s
    types = session_types(groups)
    sizes = types.sizes
    n_types = len(sizes)
    stats = dict(pool_size=len({c.id for g in groups for c in g.candidates}),
                 qualified=sum(sizes), types=n_types,
                 forbidden_pairs=sum(len(p.pairs) for p in types.pools))
    timings = {"types": time.monotonic() - started}
    if any(len(p) < b.size for p, b in zip(types.pools, types.bounds)) or n_types == 0:
        return _failed(groups, types, rules, timings, stats)
    model = types.model()
    run = _Run(types, rules, started, deadline, model, model.lp(), timings=timings)
    status, first, _ = run.solve(np.array([1.0 + run.rng.random() for _ in range(n_types)]))
    if first is None:
        if status == "infeasible":
            return _failed(groups, types, rules, timings, stats)
        return SessionResult("lottery", SolveStatus.TIMEOUT, tuple(GroupDraw(g.name) for g in groups), rules.seed,
                             stats=DrawStats(timings=timings, **stats))
    timings["first"] = time.monotonic() - started - timings["types"]
    cap = rules.max_probability
    everyone = list(range(n_types))
    upper = min(session_bound(types, cap), lp_bound(types, model, cap))
    timings["bound"] = time.monotonic() - started - timings["types"] - timings["first"]
    columns, lam, reached, rounds = _phase_one(run, first, upper)
    reachable, unreachable, proven = everyone, [], True
    if not reached:
        reachable, unreachable, proven = _reachability(run, columns)
        upper = min(session_bound(types, cap, reachable), lp_bound(types, model, cap, reachable))
        columns, lam, upper, more = _phase_two(run, columns, lam, reachable, upper)
        rounds += more
    timings["columns"] = time.monotonic() - started - sum(timings.values())
    stats.update(columns=len(columns.sessions), iterations=rounds, model_size=len(model.units))
    if lam is None:
        return SessionResult("lottery", SolveStatus.TIMEOUT, tuple(GroupDraw(g.name) for g in groups), rules.seed,
                             stats=DrawStats(timings=timings, **stats))
    if cap is not None and over_cap([types.total(c) for c in columns.sessions], lam, sizes, cap, tol=1e-6):
        message = f"每人入选概率上限 {cap:.4f} 无法满足：受规则限制，部分专家必须更常入选"
        return SessionResult("lottery", SolveStatus.INFEASIBLE, tuple(GroupDraw(g.name) for g in groups), rules.seed,
                             diagnosis=Diagnosis([message], [{"rule": "max_probability", "target": None,
                                                              "need": None, "have": cap, "message": message}]),
                             stats=DrawStats(timings=timings, **stats))
    return _sample(run, columns, lam, reachable, unreachable, proven, upper, stats)


def _phase_one(run: _Run, first: Composition, target: float) -> tuple[_Columns, np.ndarray | None, bool, int]:
    """Aim every type at the upper bound (`panel.columns.TargetMaster`, `reach_target`): new
    sessions by packing the short types, or from the joint model when packing finds none."""
    types, sizes = run.types, run.types.sizes
    n_types = len(sizes)
    columns = _Columns(types)
    if target <= 1e-12:        # some type is on no session: reachability decides first
        columns.sessions.append(first)
        return columns, None, False, 0
    master = TargetMaster(sizes, list(range(n_types)), target)
    columns.add_to(master, first)

    def add_columns(y: np.ndarray, need: float, lam: np.ndarray) -> int:
        added = sum(columns.add_to(master, c) for c in packed_sessions(types, y, columns.sessions, lam, run.rng))
        if added:
            return added
        _, comp, _ = run.solve(y + 1e-9 * np.array([run.rng.random() for _ in range(n_types)]))
        if comp is None or sum(y[t] * k for t, k in types.total(comp).items()) <= need * (1 + 1e-9) + 1e-12:
            return 0       # no session improves: the bound is not attainable
        return int(columns.add_to(master, comp))

    stop = run.started + (run.deadline - run.started) * 0.7
    lam, reached, rounds = reach_target(master, sizes, list(range(n_types)), target, run.rules.max_probability,
                                        stop, add_columns)
    return columns, lam, reached, rounds


def _expected(types: SessionTypes, sessions: Sequence[Composition], lam: np.ndarray) -> np.ndarray:
    expected = np.zeros(len(types.members))
    for weight, comp in zip(lam, sessions):
        if weight > 0:
            for t, k in types.total(comp).items():
                expected[t] += weight * k
    return expected


def _reachability(run: _Run, columns: _Columns) -> tuple[list[int], list[int], bool]:
    """Which types are in some valid session: those in a session found so far, those the joint
    model can seat when they alone are valued (the exact optimum 0 proves the rest never are)."""
    types = run.types
    n_types = len(types.members)
    seated = {t for comp in columns.sessions for t in types.total(comp)}
    left = [t for t in range(n_types) if t not in seated]
    while left and time.monotonic() < run.deadline:
        w = np.zeros(n_types)
        for t in left:
            w[t] = 1.0 + 0.5 * run.rng.random()
        status, comp, _ = run.solve(w)
        gained = set(types.total(comp)) & set(left) if comp is not None else set()
        if gained:
            columns.sessions.append(comp)       # the phase-two master will take it
            left = [t for t in left if t not in gained]
            continue
        return [t for t in range(n_types) if t not in set(left)], left, status == "optimal"
    if left:
        return [t for t in range(n_types) if t not in set(left)], left, False
    return list(range(n_types)), [], True


def _phase_two(run: _Run, found: _Columns, fallback: np.ndarray | None, reachable: list[int],
               upper: float) -> tuple[_Columns, np.ndarray | None, float, int]:
    """The maximin master with cheap pricing, then exact pricing for a proven bound."""
    types, sizes, cap = run.types, run.types.sizes, run.rules.max_probability
    n_types = len(sizes)
    master = MaximinMaster(sizes, reachable, cap)
    columns = _Columns(types)
    for comp in found.sessions:
        columns.add_to(master, comp)
    lam, rounds, last_solve = None, 0, 0.0
    size_arr = np.array(sizes, dtype=float)
    since_exact, z_at_exact = 0, -1.0
    while True:
        rounds += 1
        if lam is not None and run.deadline - time.monotonic() < 1.5 * last_solve:
            break
        t0 = time.monotonic()
        result = master.solve(n_types, run.deadline - time.monotonic())
        last_solve = time.monotonic() - t0
        if result is None:
            break
        z, y, v, mu, lam, slack = result
        if master.add_cap_rows(master.over_cap(lam)):
            continue
        capped_ok = slack <= 1e-9
        if (capped_ok and z >= upper * (1 - REL_TOL)) or time.monotonic() > run.deadline:
            break
        scale = float(np.dot(y, sizes))
        if scale <= 0:
            break
        w = y - v
        # cheap pricing while it pays: a few rounds, or until z moves by less than 1 % over them
        stalled = since_exact >= 3 and z < z_at_exact * 1.01 + 1e-15
        if not stalled:
            cheap = [c for c in packed_sessions(types, w, columns.sessions, lam, run.rng)
                     if sum(w[t] * k for t, k in types.total(c).items()) > mu * (1 + 1e-9) + 1e-15]
            if sum(columns.add_to(master, c) for c in cheap):
                since_exact += 1
                continue
        since_exact, z_at_exact = 0, z
        status, comp, bound = run.solve(w + 1e-9 * max(float(np.max(np.abs(w))), 1e-300)
                                        * np.array([run.rng.random() for _ in range(n_types)]))
        if comp is None:
            break
        value = sum(w[t] * k for t, k in types.total(comp).items())
        if status == "optimal":
            upper = min(upper, (bound + (cap * float(np.dot(v, size_arr)) if cap is not None else 0.0)) / scale)
        if (capped_ok and z >= upper * (1 - REL_TOL)) or value <= mu + 1e-9 * abs(mu) + 1e-15:
            break
        if not columns.add_to(master, comp):
            break
    if lam is None:
        if fallback is not None:
            return found, fallback, upper, rounds
        return columns, None, upper, rounds
    return columns, lam, upper, rounds


def _sample(run: _Run, columns: _Columns, lam: np.ndarray, reachable: list[int], unreachable: list[int],
            proven: bool, upper: float, stats: dict) -> SessionResult:
    types, rules = run.types, run.rules
    lam = lam[:len(columns.sessions)]
    lam = lam / float(lam.sum())
    expected = _expected(types, columns.sessions, lam)
    probabilities = {e: float(expected[t]) / len(ms) for t, ms in enumerate(types.members) for e in ms}
    rng = random.Random(rules.seed)
    pick, acc, chosen = rng.random(), 0.0, columns.sessions[-1]
    for weight, comp in zip(lam, columns.sessions):
        acc += weight
        if weight > 0 and pick < acc:
            chosen = comp
            break
    remaining = {t: list(ms) for t, ms in enumerate(types.members)}
    members: list[list[int]] = []
    for g, part in enumerate(chosen):
        index = types.pools[g].index()
        picked: list[int] = []
        for u in sorted(part):
            t = types.unit_type[g][u]
            for expert_id in rng.sample(remaining[t], part[u]):
                remaining[t].remove(expert_id)
                picked.append(index[expert_id])
        members.append(sorted(picked))
    encoded = [EncodedGroup(g, b, p, [0.0] * len(p), []) for g, b, p in zip(types.groups, types.bounds, types.pools)]
    orders = []
    for p in types.pools:
        order = list(range(len(p)))
        rng.shuffle(order)
        orders.append(order)
    draws = _with_backups(encoded, members, orders)
    problems = check_session({d.name: d.members for d in draws}, types.groups)
    if problems:  # pragma: no cover - a solver bug, never an input problem
        raise RuntimeError("评审会抽取结果未通过独立校验：" + "；".join(problems))
    reach_probs = [probabilities[types.members[t][0]] for t in reachable]
    z_min = min(reach_probs) if reach_probs else 0.0
    upper = max(upper, z_min)
    optimal = proven and z_min >= upper * (1 - REL_TOL) - 1e-12
    run.timings["sample"] = time.monotonic() - run.started - sum(run.timings.values())
    return SessionResult(
        "lottery", SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE, draws, rules.seed,
        probabilities=probabilities,
        unreachable=tuple(sorted(e for t in unreachable for e in types.members[t])),
        probability_min=z_min, probability_max=max(reach_probs) if reach_probs else 0.0,
        objective=z_min, bound=upper, gap=0.0 if optimal else (upper - z_min) / max(upper, 1e-300),
        relevance_sum=sum(d.relevance_sum for d in draws),
        stats=DrawStats(timings=run.timings, **stats))


def _failed(groups: Sequence[SessionGroup], types: SessionTypes, rules: SessionRules, timings: dict,
            stats: dict) -> SessionResult:
    t0 = time.monotonic()
    diagnosis = diagnose_session(types.groups, rules, time_limit_s=max(10.0, rules.time_limit_s))
    timings["diagnose"] = time.monotonic() - t0
    return SessionResult("lottery", SolveStatus.INFEASIBLE, tuple(GroupDraw(g.name) for g in groups), rules.seed,
                         diagnosis=diagnosis, stats=DrawStats(timings=timings, **stats))
