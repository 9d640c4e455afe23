"""Encoder: ids → integers, rules → integer bounds, conflicts → forbidden index pairs.

Nothing downstream (LP, CP-SAT) sees an id, a name or a share: only the `Pool` arrays and
the `Bounds` head counts built here. Candidates are ordered by id, so a draw does not depend
on the order in which the caller listed them.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from expertpool.errors import InputError
from expertpool.domain.panel.spec import Candidate, PanelRules, share_ceil, share_floor


@dataclass(frozen=True)
class Bounds:
    """The rules as head counts."""

    size: int
    field_names: tuple[str, ...]          # required fields; bit k of a coverage mask = field k
    field_min: int                        # members needed per required field
    region_names: tuple[str, ...]         # bounded regions
    region_lo: tuple[int, ...]
    region_hi: tuple[int, ...]
    senior_min: int                       # 正高级 members needed
    inst_cap: int | None                  # None: no per-institution cap

    @property
    def effective_cap(self) -> int:
        """The per-institution cap, or `size` when there is none (a cap ≥ size never binds)."""
        return self.size if self.inst_cap is None else min(self.inst_cap, self.size)


def resolve_bounds(rules: PanelRules) -> Bounds:
    regions = tuple(sorted(rules.region_bounds))
    return Bounds(
        size=rules.size,
        field_names=tuple(rules.fields),
        field_min=rules.min_per_field if rules.fields else 0,
        region_names=regions,
        region_lo=tuple(share_ceil(rules.region_bounds[r][0], rules.size) for r in regions),
        region_hi=tuple(share_floor(rules.region_bounds[r][1], rules.size) for r in regions),
        senior_min=share_ceil(rules.min_full_senior_share, rules.size),
        inst_cap=rules.max_per_institution,
    )


@dataclass(frozen=True)
class Pool:
    """Candidates as parallel arrays, indexed 0..n-1 in id order."""

    ids: tuple[str, ...]
    region: tuple[int, ...]       # index into bounds.region_names, -1 if the region is unbounded
    cov: tuple[int, ...]          # bitmask of required fields covered
    senior: tuple[bool, ...]      # holds 正高级
    inst: tuple[int, ...]         # index into inst_names
    inst_names: tuple[str, ...]
    relevance: tuple[float, ...]
    pairs: tuple[tuple[int, int], ...]   # forbidden pairs (i < j), sorted, unique
    ignored_pairs: int                   # pairs naming an id outside the pool

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.ids)}

    def in_pairs(self) -> frozenset[int]:
        return frozenset(i for pair in self.pairs for i in pair)


def encode(candidates: Sequence[Candidate], rules: PanelRules,
           forbidden_pairs: Iterable[tuple[str, str]], bounds: Bounds | None = None) -> Pool:
    bounds = bounds or resolve_bounds(rules)
    ordered = sorted(candidates, key=lambda c: c.id)
    for a, b in zip(ordered, ordered[1:]):
        if a.id == b.id:
            raise InputError(f"候选专家编号重复：{a.id}")
    index = {c.id: i for i, c in enumerate(ordered)}
    region_pos = {r: k for k, r in enumerate(bounds.region_names)}
    field_bit = {f: 1 << k for k, f in enumerate(bounds.field_names)}
    inst_pos: dict[str, int] = {}
    for c in ordered:
        inst_pos.setdefault(c.institution, len(inst_pos))
    pairs: set[tuple[int, int]] = set()
    ignored = 0
    for pair in forbidden_pairs:
        a, b = tuple(pair)
        if a == b:
            continue
        if a not in index or b not in index:
            ignored += 1
            continue
        i, j = sorted((index[a], index[b]))
        pairs.add((i, j))
    return Pool(
        ids=tuple(c.id for c in ordered),
        region=tuple(region_pos.get(c.region, -1) for c in ordered),
        cov=tuple(sum(field_bit.get(f, 0) for f in c.covers(rules.coverage)) for c in ordered),
        senior=tuple(c.full_senior for c in ordered),
        inst=tuple(inst_pos[c.institution] for c in ordered),
        inst_names=tuple(inst_pos),
        relevance=tuple(float(c.relevance) for c in ordered),
        pairs=tuple(sorted(pairs)),
        ignored_pairs=ignored,
    )


@dataclass(frozen=True)
class Units:
    """What an exact model chooses from: candidates (ub 1) or types (ub = how many may be taken).

    All constraints of the panel are linear in the unit counts x_u ∈ [0, ub_u]:
    Σ x = size; per required field Σ_{cov has f} x ≥ field_min; per bounded region
    lo ≤ Σ x ≤ hi; Σ_{senior} x ≥ senior_min; per institution Σ x ≤ cap; per forbidden pair
    x_a + x_b ≤ 1.
    """

    region: tuple[int, ...]
    cov: tuple[int, ...]
    senior: tuple[bool, ...]
    inst: tuple[int, ...]        # -1: no institution constraint applies
    ub: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.ub)


def candidate_units(pool: Pool, chosen: Sequence[int], bounds: Bounds) -> Units:
    """Units for a subset of the pool's candidates (each may be taken once)."""
    pos = {p: k for k, p in enumerate(chosen)}
    capped = bounds.inst_cap is not None and bounds.inst_cap < bounds.size
    return Units(
        region=tuple(pool.region[p] for p in chosen),
        cov=tuple(pool.cov[p] for p in chosen),
        senior=tuple(pool.senior[p] for p in chosen),
        inst=tuple(pool.inst[p] if capped else -1 for p in chosen),
        ub=tuple(1 for _ in chosen),
        pairs=tuple((pos[a], pos[b]) for a, b in pool.pairs if a in pos and b in pos),
    )
