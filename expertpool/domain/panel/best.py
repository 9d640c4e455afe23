"""The `best` strategy: the single most relevant panel, with seeded tie-spreading noise.

Weight of candidate i = relevance_i + perturbation · spread · u_i, where spread is the range of
relevance in the pool (1 if all are equal) and u_i ∈ [0, 1) is a hash of (seed, id): the same
seed gives the same noise whatever else is in the pool, different seeds spread the work among
experts whose relevance differs by less than the noise.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
import time
from collections.abc import Iterable, Sequence

from expertpool.domain.panel.backups import rank_backups, rank_replacements
from expertpool.domain.panel.diagnosis import diagnose
from expertpool.domain.panel.encoder import Pool, candidate_units, encode, resolve_bounds
from expertpool.domain.panel.narrowing import narrow
from expertpool.domain.panel.result import DrawResult, DrawStats, SolveStatus
from expertpool.domain.panel.solve import WeightedSolution, maximise
from expertpool.domain.panel.spec import Candidate, PanelRules


@lru_cache(maxsize=250_000)
def seeded_unit(seed: int, key: str) -> float:
    """A reproducible number in [0, 1) from (seed, key) (cached: a session asks once per group)."""
    digest = hashlib.blake2b(f"{seed}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


def perturbed_weights(pool: Pool, perturbation: float, seed: int) -> list[float]:
    if not len(pool):
        return []
    rel = pool.relevance
    spread = max(rel) - min(rel)
    amplitude = perturbation * (spread if spread > 0 else 1.0)
    if amplitude == 0:
        return list(rel)
    return [r + amplitude * seeded_unit(seed, cid) for r, cid in zip(rel, pool.ids)]


def draw_best(candidates: Sequence[Candidate], rules: PanelRules, forbidden_pairs: Iterable[tuple[str, str]],
              *, seed: int, time_limit_s: float, memo: object = None) -> DrawResult:
    """The panel of maximum (perturbed) relevance satisfying every rule. `memo` is unused: the
    solution depends on the seed, and solving takes a fraction of a second."""
    started = time.monotonic()
    deadline = started + time_limit_s
    pairs = list(forbidden_pairs)
    bounds = resolve_bounds(rules, candidates)
    pool = encode(candidates, rules, pairs, bounds)
    weights = perturbed_weights(pool, rules.perturbation, seed)
    t_encode = time.monotonic()
    keep = narrow(pool, bounds, weights) if len(pool) >= bounds.size else []
    t_narrow = time.monotonic()
    units = candidate_units(pool, keep, bounds)
    if len(keep) < bounds.size:
        sol = WeightedSolution("infeasible", {}, float("-inf"), float("-inf"), 0)
    else:
        sol = maximise(units, bounds, [weights[i] for i in keep], deadline=deadline)
    t_solve = time.monotonic()
    timings = {"encode": t_encode - started, "narrow": t_narrow - t_encode, "solve": t_solve - t_narrow}
    stats = dict(pool_size=len(pool), qualified=len(pool), model_size=sol.model_size or len(keep),
                 forbidden_pairs=len(pool.pairs), forbidden_pairs_ignored=pool.ignored_pairs)
    if sol.status == "infeasible":
        diagnosis = diagnose(candidates, rules, pairs, time_limit_s=max(5.0, time_limit_s))
        timings["diagnose"] = time.monotonic() - t_solve
        return DrawResult("best", SolveStatus.INFEASIBLE, (), (), seed, diagnosis=diagnosis,
                          stats=DrawStats(timings=timings, **stats))
    if sol.status == "timeout":
        return DrawResult("best", SolveStatus.TIMEOUT, (), (), seed, bound=sol.bound,
                          stats=DrawStats(timings=timings, **stats))
    members = sorted(keep[u] for u, k in sol.x.items() for _ in range(k))
    # backups and replacements only from the qualified (relevance ≥ the threshold), as in the lottery:
    # a seat is never handed to someone the projects do not concern
    order = sorted((i for i in range(len(pool)) if pool.relevance[i] >= rules.relevance_threshold),
                   key=lambda i: (-weights[i], i))
    backups = rank_backups(pool, bounds, members, order, rules.backups)
    replacements = rank_replacements(pool, bounds, members, order, rules.backups)
    timings["backups"] = time.monotonic() - t_solve
    objective = sum(weights[i] for i in members)
    gap = 0.0 if sol.status == "optimal" else max(0.0, sol.bound - objective) / max(abs(sol.bound), 1e-12)
    return DrawResult(
        "best", SolveStatus.OPTIMAL if sol.status == "optimal" else SolveStatus.FEASIBLE,
        members=tuple(pool.ids[i] for i in members), backups=tuple(pool.ids[i] for i in backups), seed=seed,
        replacements={pool.ids[m]: tuple(pool.ids[i] for i in rs) for m, rs in replacements.items()},
        objective=objective, bound=objective if sol.status == "optimal" else sol.bound, gap=gap,
        relevance_sum=sum(pool.relevance[i] for i in members),
        stats=DrawStats(timings=timings, **stats),
    )
