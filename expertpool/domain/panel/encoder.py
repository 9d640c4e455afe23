"""Encoder: ids → integers, rules → integer bounds, conflicts → forbidden index pairs.

Nothing downstream (LP, CP-SAT) sees an id, a name or a share: only the `Pool` arrays and
the `Bounds` head counts built here. Candidates are ordered by id, so a draw does not depend
on the order in which the caller listed them.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from expertpool.errors import InputError
from expertpool.domain.panel.spec import Candidate, PanelRules, Quota, share_ceil, share_floor


@dataclass(frozen=True)
class QuotaBound:
    """One resolved quota: a `Quota` (for an `each` quota, one of its values) as head counts."""

    label: str
    lo: int
    hi: int
    quota: Quota
    value: str | None = None       # the value of an `each` quota

    def counts(self, candidate: Candidate) -> bool:
        values = candidate.values(self.quota.attribute)
        return self.value in values if self.value is not None else self.quota.matches(values)


def resolve_quotas(rules: PanelRules, candidates: Iterable[Candidate]) -> tuple[QuotaBound, ...]:
    """The rules' quotas as head counts, an `each` quota once per value the candidates have.
    A quota that cannot bind (no lower bound, and no more candidates count than its upper bound
    allows) is left out, so it does not split types or add rows."""
    quotas = rules.quotas
    if not quotas:
        return ()
    people = list(candidates)
    out: list[QuotaBound] = []
    for quota in quotas:
        lo, hi = quota.head_counts(rules.size)
        if quota.each:
            values = sorted({v for c in people for v in c.values(quota.attribute)})
            targets = [QuotaBound(quota.describe(v), lo, hi, quota, v) for v in values]
        else:
            targets = [QuotaBound(quota.label, lo, hi, quota)]
        for target in targets:
            if lo > 0 or sum(1 for c in people if target.counts(c)) > hi:
                out.append(target)
    return tuple(out)


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
    quotas: tuple[QuotaBound, ...] = ()   # bit k of a quota mask = quotas[k]

    @property
    def quota_lo(self) -> tuple[int, ...]:
        return tuple(q.lo for q in self.quotas)

    @property
    def quota_hi(self) -> tuple[int, ...]:
        return tuple(q.hi for q in self.quotas)

    def quota_masks(self) -> tuple[int, int, int]:
        """(lower-only, upper-only, two-sided) quota bits: how a swap may move each count."""
        low = up = both = 0
        for k, q in enumerate(self.quotas):
            has_lo, has_hi = q.lo > 0, q.hi < self.size
            if has_lo and has_hi:
                both |= 1 << k
            elif has_lo:
                low |= 1 << k
            elif has_hi:
                up |= 1 << k
        return low, up, both

    @property
    def effective_cap(self) -> int:
        """The per-institution cap, or `size` when there is none (a cap ≥ size never binds)."""
        return self.size if self.inst_cap is None else min(self.inst_cap, self.size)


def resolve_bounds(rules: PanelRules, candidates: Iterable[Candidate] = ()) -> Bounds:
    """The rules as head counts; `candidates` give the values of `each` quotas (and show which
    quotas cannot bind)."""
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
        quotas=resolve_quotas(rules, candidates),
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
    quota: tuple[int, ...] = ()          # bitmask of bounds.quotas the candidate counts for

    def __len__(self) -> int:
        return len(self.ids)

    def index(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.ids)}

    def in_pairs(self) -> frozenset[int]:
        return frozenset(i for pair in self.pairs for i in pair)


def quota_mask(candidate: Candidate, bounds: Bounds) -> int:
    return sum(1 << k for k, q in enumerate(bounds.quotas) if q.counts(candidate))


def _quota_masks(ordered: Sequence[Candidate], bounds: Bounds) -> tuple[int, ...]:
    """Each candidate's quota mask; candidates alike in everything a quota reads share one."""
    if not bounds.quotas:
        return (0,) * len(ordered)
    memo: dict[tuple, int] = {}
    out = []
    for c in ordered:
        key = (c.attributes, c.region, c.title, c.fields, c.institution, c.high_level)
        mask = memo.get(key)
        if mask is None:
            mask = memo[key] = quota_mask(c, bounds)
        out.append(mask)
    return tuple(out)


def encode(candidates: Sequence[Candidate], rules: PanelRules,
           forbidden_pairs: Iterable[tuple[str, str]], bounds: Bounds | None = None) -> Pool:
    bounds = bounds or resolve_bounds(rules, candidates)
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
        quota=_quota_masks(ordered, bounds),
    )


@dataclass(frozen=True)
class Units:
    """What an exact model chooses from: candidates (ub 1) or types (ub = how many may be taken).

    All constraints of the panel are linear in the unit counts x_u ∈ [0, ub_u]:
    Σ x = size; per required field Σ_{cov has f} x ≥ field_min; per bounded region
    lo ≤ Σ x ≤ hi; Σ_{senior} x ≥ senior_min; per institution Σ x ≤ cap; per quota
    lo ≤ Σ_{counted} x ≤ hi; per forbidden pair x_a + x_b ≤ 1.
    """

    region: tuple[int, ...]
    cov: tuple[int, ...]
    senior: tuple[bool, ...]
    inst: tuple[int, ...]        # -1: no institution constraint applies
    ub: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]
    quota: tuple[int, ...] = ()  # quota bitmask per unit (empty: no quotas)

    def __len__(self) -> int:
        return len(self.ub)

    def quota_of(self, u: int) -> int:
        return self.quota[u] if self.quota else 0


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
        quota=tuple(pool.quota[p] for p in chosen) if bounds.quotas else (),
    )
