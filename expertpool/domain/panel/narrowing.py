"""Exact narrowing of the pool before the `best` model is built.

Claim: dropping the candidates below loses no optimal panel (nor feasibility).

Say t DOMINATES p when both are free (in no forbidden pair — candidates in forbidden pairs are
always kept), share a region class (a bounded region, or "unbounded"), t covers every required
field p covers, t is 正高级 if p is, t counts for every quota with only a lower bound that p
counts for, for no quota with only an upper bound that p does not count for, and for exactly
p's two-sided quotas, and t comes before p in the order (weight desc, index asc). Field, 正高级
and lower-only quota counts cannot fall, upper-only quota counts cannot rise, region and
two-sided quota counts do not move, so swapping p out of a panel for a dominating t keeps every
rule except, possibly, the institution cap.

Let q = min(cap, size) (q = size without a cap). We drop p if, scanning p's dominators in order,
(a) we can pick K = size of them with at most q per institution, or
(b) q of them are in p's own institution.
Take any optimal panel P containing p. In case (b), P holds at most cap − 1 others from p's
institution and q ≥ min(cap, size) > those, so one of the q is outside P: swapping keeps the
institution counts. In case (a), call t of the K blocked if t ∈ P, or t's institution already has
cap members in P \\ {p}. A non-full institution J blocks at most |P ∩ J \\ {p}| picks; a full one
blocks at most q ≤ cap = |P ∩ I \\ {p}|. So at most Σ_I |P ∩ I \\ {p}| = size − 1 < K picks are
blocked, and one unblocked t can replace p. Each swap moves a member strictly up the (finite)
order, so repeating ends with a panel of the kept candidates, of weight ≥ P's.
(`test_panel_model.py` checks this against the unnarrowed model on random pools.)

In a review session (`domain.session`) a candidate of one group may also be taken by another:
the other groups' members block at most E = seats − size more dominators, and at most F of them
from p's own institution (F = what the other groups may hold from one unit: the sum of their
caps). So (a) scans for K = seats picks (without a cap, any number from one pseudo-institution),
and (b) needs q + min(E, F) dominators in p's own institution; both arguments above then go
through with that many more blocked. A swap in one group leaves the other groups' weights alone
(`seats` and `unit_elsewhere` below).
"""
from __future__ import annotations

import heapq
from collections.abc import Sequence

from expertpool.domain.panel.encoder import Bounds, Pool


def narrow(pool: Pool, bounds: Bounds, weights: Sequence[float], seats: int | None = None,
           unit_elsewhere: int | None = None) -> list[int]:
    """Indices of the candidates to keep (sorted). `seats`: the seats of the whole session this
    panel is one group of (default: its own size); `unit_elsewhere`: how many members the other
    groups may take from one unit (default: all their seats)."""
    size = bounds.size
    capped = bounds.inst_cap is not None and bounds.inst_cap < size
    q = min(bounds.inst_cap, size) if capped else size
    k_needed = max(size, seats or 0)
    elsewhere = k_needed - size if unit_elsewhere is None else min(k_needed - size, unit_elsewhere)
    q_keep = q + elsewhere                       # rule (b)
    q_accept = q if capped else k_needed         # rule (a): picks counted per institution
    in_pairs = pool.in_pairs()
    keep = set(in_pairs)
    low, up, both = bounds.quota_masks()
    quota = pool.quota if pool.quota else (0,) * len(pool)
    groups: dict[tuple[int, int, bool, int], list[int]] = {}
    for i in range(len(pool)):
        if i not in in_pairs:
            groups.setdefault((pool.region[i], pool.cov[i], pool.senior[i], quota[i] & (low | up | both)), []).append(i)
    order_key = {}
    for members in groups.values():
        members.sort(key=lambda i: (-weights[i], i))
    for i in range(len(pool)):
        order_key[i] = (-weights[i], i)
    by_region: dict[int, list[tuple[int, int, bool, int]]] = {}
    for key in groups:
        by_region.setdefault(key[0], []).append(key)
    for key, members in groups.items():
        region, cov, senior, qm = key
        dominating = [groups[g] for g in by_region[region]
                      if (g[1] & cov) == cov and (g[2] or not senior) and (g[3] & low & qm) == (qm & low)
                      and (g[3] & up) & ~qm == 0 and (g[3] & both) == (qm & both)]
        accepted = 0
        per_inst: dict[int, int] = {}
        own = set(members) if len(dominating) > 1 else None
        for i in heapq.merge(*dominating, key=order_key.__getitem__):
            if accepted >= k_needed:
                break
            inst = pool.inst[i] if capped else 0
            seen = per_inst.get(inst, 0)
            if own is None or i in own:
                if seen < q_keep:     # rule (b) does not apply: keep
                    keep.add(i)
            if seen < q_accept:
                accepted += 1
            per_inst[inst] = seen + 1
    return sorted(keep)
