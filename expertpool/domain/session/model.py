"""The joint model of a review session: every group's panel rules side by side, linked by supply.

Each group contributes its units (candidates in `best`, expert types in `lottery`) and its
panel rows (`panel.solve.panel_rows`), shifted to the group's place among all units. A LINK row
says the same people cannot be used twice: for an expert who is a candidate in several groups,
Σ_g x_g ≤ 1; for a type of interchangeable experts, Σ_g x_g ≤ its size. The rows are what
`panel.solve.maximise` and `is_feasible` take, so the exact machinery of one panel (LP bound,
reduced-cost fixing, CP-SAT) solves the whole session at once.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from expertpool.domain.panel.best import perturbed_weights
from expertpool.domain.panel.encoder import Bounds, Pool, Units, candidate_units, encode, resolve_bounds
from expertpool.domain.panel.narrowing import narrow
from expertpool.domain.panel.solve import LPRelaxation, Row, panel_rows
from expertpool.domain.session.spec import SessionGroup, SessionRules, seats


@dataclass(frozen=True)
class JointModel:
    units: Units                          # every group's units, concatenated
    rows: list[Row]
    offsets: tuple[int, ...]              # each group's first unit
    sizes: tuple[int, ...]                # each group's number of units
    links: int                            # supply rows added

    def group_of(self, u: int) -> tuple[int, int]:
        """(group, the group's own unit index) of joint unit `u`."""
        for g in range(len(self.offsets) - 1, -1, -1):
            if u >= self.offsets[g]:
                return g, u - self.offsets[g]
        raise IndexError(u)

    def split(self, x: dict[int, int]) -> list[dict[int, int]]:
        """A joint solution as one {group unit: count} per group."""
        out: list[dict[int, int]] = [{} for _ in self.offsets]
        for u, k in x.items():
            if k:
                g, local = self.group_of(u)
                out[g][local] = k
        return out

    def lp(self) -> LPRelaxation:
        return LPRelaxation(self.units, None, self.rows)


def joint_model(parts: Sequence[tuple[Units, Bounds]],
                supply: Iterable[tuple[int, Sequence[tuple[int, int]]]]) -> JointModel:
    """The session's model from each group's (units, bounds) and the supply limits: (cap, the
    (group, unit) pairs that draw on the same people)."""
    offsets, rows = [], []
    region, cov, senior, inst, ub, quota, pairs = [], [], [], [], [], [], []
    any_quota = any(units.quota for units, _ in parts)
    at = 0
    for units, bounds in parts:
        offsets.append(at)
        for row in panel_rows(units, bounds):
            rows.append(Row(row.lo, row.hi, tuple(u + at for u in row.units), row.kind, row.key))
        region += units.region
        cov += units.cov
        senior += units.senior
        inst += units.inst
        ub += units.ub
        quota += units.quota if units.quota else (0,) * len(units) if any_quota else ()
        pairs += [(a + at, b + at) for a, b in units.pairs]
        at += len(units)
    links = 0
    for cap, members in supply:
        joint = tuple(offsets[g] + u for g, u in members)
        if sum(ub[u] for u in joint) > cap:
            rows.append(Row(-math.inf, cap, joint, "link"))
            links += 1
    model_units = Units(region=tuple(region), cov=tuple(cov), senior=tuple(senior), inst=tuple(inst), ub=tuple(ub),
                        pairs=tuple(pairs), quota=tuple(quota))
    return JointModel(model_units, rows, tuple(offsets), tuple(len(u) for u, _ in parts), links)


@dataclass
class EncodedGroup:
    """One group encoded for the joint model: its pool, bounds, weights and kept candidates."""
    group: SessionGroup
    bounds: Bounds
    pool: Pool
    weights: list[float]
    keep: list[int]


def encode_groups(groups: Sequence[SessionGroup], rules: SessionRules, *, narrowed: bool = True,
                  zero_weights: bool = False) -> list[EncodedGroup]:
    total = seats(groups)
    out = []
    for group in groups:
        bounds = resolve_bounds(group.rules, group.candidates)
        pool = encode(group.candidates, group.rules, group.pairs, bounds)
        weights = [0.0] * len(pool) if zero_weights else perturbed_weights(pool, rules.perturbation, rules.seed)
        if len(pool) < bounds.size:
            keep: list[int] = []
        elif narrowed:
            # the most the other groups can take from one legal unit: each at most its cap
            elsewhere = sum(min(g.rules.max_per_institution or g.rules.size, g.rules.size)
                            for g in groups if g is not group)
            keep = narrow(pool, bounds, weights, seats=total, unit_elsewhere=elsewhere)
        else:
            keep = list(range(len(pool)))
        out.append(EncodedGroup(group, bounds, pool, weights, keep))
    return out


def candidate_model(encoded: Sequence[EncodedGroup]) -> JointModel:
    """The joint model over the kept candidates: one link row per expert kept in several groups."""
    where: dict[str, list[tuple[int, int]]] = {}
    for g, e in enumerate(encoded):
        for local, p in enumerate(e.keep):
            where.setdefault(e.pool.ids[p], []).append((g, local))
    parts = [(candidate_units(e.pool, e.keep, e.bounds), e.bounds) for e in encoded]
    return joint_model(parts, ((1, spots) for spots in where.values() if len(spots) > 1))
