"""Backups: candidates who can replace ANY one member without breaking a rule.

For a candidate b the condition "for every member m, panel − m + b is valid" reduces exactly to
a few panel-level tests (so the scan is O(fields) per candidate, not O(size × rules)):
- every required field that has no spare coverage and is covered by some member, b covers;
- if some member is from another region r than b: b's region has room for one more and r can
  lose one (bounded regions only);
- if b is not 正高级 and some member is, the 正高级 count has one to spare;
- if some member is from another institution than b, b's institution has room for one more;
- for each quota b counts for: if some member does not, the quota has room for one more; for
  each quota b does not count for: if some member does, the quota can lose one;
- b is in no forbidden pair with a member (with a one-member panel: with no one but that member).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from expertpool.domain.panel.encoder import Bounds, Pool


def _member_partners(pool: Pool, member_set: set[int]) -> dict[int, set[int]]:
    """candidate → the members it may not sit with (forbidden pairs touching the panel)."""
    partners: dict[int, set[int]] = {}
    for a, b in pool.pairs:
        if a in member_set:
            partners.setdefault(b, set()).add(a)
        if b in member_set:
            partners.setdefault(a, set()).add(b)
    return partners


def _quota_counts(pool: Pool, bounds: Bounds, members: Sequence[int]) -> list[int]:
    return [sum(1 for m in members if pool.quota[m] >> k & 1) for k in range(len(bounds.quotas))]


def _quota_swap_ok(bounds: Bounds, counts: Sequence[int], out_mask: int, in_mask: int) -> bool:
    """Whether swapping a member counted by `out_mask` for one counted by `in_mask` keeps every quota."""
    changed = out_mask ^ in_mask
    k = 0
    while changed:
        if changed & 1:
            q = bounds.quotas[k]
            if in_mask >> k & 1:
                if counts[k] + 1 > q.hi:
                    return False
            elif counts[k] - 1 < q.lo:
                return False
        changed >>= 1
        k += 1
    return True


def rank_backups(pool: Pool, bounds: Bounds, members: Sequence[int], order: Iterable[int],
                 count: int) -> list[int]:
    """The first `count` candidates of `order` (pool indices) that can replace any member."""
    if count <= 0 or not members:
        return []
    member_set = set(members)
    n_fields = len(bounds.field_names)
    field_count = [sum(1 for m in members if pool.cov[m] >> k & 1) for k in range(n_fields)]
    tight_mask = 0
    for k in range(n_fields):
        if field_count[k] >= 1 and field_count[k] - 1 < bounds.field_min:
            tight_mask |= 1 << k
    region_count = Counter(pool.region[m] for m in members)
    member_regions = set(region_count)
    seniors = sum(1 for m in members if pool.senior[m])
    senior_spare = seniors - 1 >= bounds.senior_min
    capped = bounds.inst_cap is not None
    inst_count = Counter(pool.inst[m] for m in members)
    partners = _member_partners(pool, member_set)
    quota_counts = _quota_counts(pool, bounds, members)
    member_masks = set(pool.quota[m] for m in members) if bounds.quotas else set()
    quota_cache: dict[int, bool] = {}

    def quota_ok(mask: int) -> bool:
        return all(_quota_swap_ok(bounds, quota_counts, m, mask) for m in member_masks)

    def region_ok(rb: int) -> bool:
        others = member_regions - {rb}
        if not others:
            return True
        if rb >= 0 and region_count.get(rb, 0) + 1 > bounds.region_hi[rb]:
            return False
        return all(r < 0 or region_count[r] - 1 >= bounds.region_lo[r] for r in others)

    region_cache: dict[int, bool] = {}
    chosen: list[int] = []
    for b in order:
        if b in member_set:
            continue
        if pool.cov[b] & tight_mask != tight_mask:
            continue
        rb = pool.region[b]
        if rb not in region_cache:
            region_cache[rb] = region_ok(rb)
        if not region_cache[rb]:
            continue
        if not pool.senior[b] and seniors > 0 and not senior_spare:
            continue
        if capped:
            ib = pool.inst[b]
            if len(inst_count) > 1 or ib not in inst_count:
                if inst_count.get(ib, 0) + 1 > bounds.inst_cap:
                    continue
        if member_masks:
            qb = pool.quota[b]
            if qb not in quota_cache:
                quota_cache[qb] = quota_ok(qb)
            if not quota_cache[qb]:
                continue
        clash = partners.get(b)
        if clash and not (len(members) == 1 and clash <= member_set):
            continue
        chosen.append(b)
        if len(chosen) >= count:
            break
    return chosen


def rank_replacements(pool: Pool, bounds: Bounds, members: Sequence[int], order: Sequence[int],
                      count: int) -> dict[int, list[int]]:
    """For each member, the first `count` candidates of `order` that can take that member's seat."""
    if count <= 0 or not members:
        return {}
    member_set = set(members)
    n_fields = len(bounds.field_names)
    field_count = [sum(1 for m in members if pool.cov[m] >> k & 1) for k in range(n_fields)]
    region_count = Counter(pool.region[m] for m in members)
    seniors = sum(1 for m in members if pool.senior[m])
    inst_count = Counter(pool.inst[m] for m in members)
    partners = _member_partners(pool, member_set)
    quota_counts = _quota_counts(pool, bounds, members)
    out: dict[int, list[int]] = {}
    for m in members:
        need = 0
        for k in range(n_fields):
            if field_count[k] - (pool.cov[m] >> k & 1) < bounds.field_min:
                need |= 1 << k
        rm = pool.region[m]
        found: list[int] = []
        for b in order:
            if b in member_set or pool.cov[b] & need != need:
                continue
            rb = pool.region[b]
            if rb != rm:
                if rb >= 0 and region_count.get(rb, 0) + 1 > bounds.region_hi[rb]:
                    continue
                if rm >= 0 and region_count[rm] - 1 < bounds.region_lo[rm]:
                    continue
            if seniors - pool.senior[m] + pool.senior[b] < bounds.senior_min:
                continue
            if bounds.inst_cap is not None and pool.inst[b] != pool.inst[m] \
                    and inst_count.get(pool.inst[b], 0) + 1 > bounds.inst_cap:
                continue
            if bounds.quotas and not _quota_swap_ok(bounds, quota_counts, pool.quota[m], pool.quota[b]):
                continue
            clash = partners.get(b)
            if clash and clash - {m}:
                continue
            found.append(b)
            if len(found) >= count:
                break
        out[m] = found
    return out
