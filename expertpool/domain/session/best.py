"""The session's `best` strategy: the groups' panels of maximum total (perturbed) relevance,
with no expert in two groups, solved as one exact model (`model.joint_model`).

Each group's candidates are narrowed first (`panel.narrowing.narrow` with the session's seats,
which keeps every optimum of the joint model); each expert who stays a candidate in several
groups gets a link row. The weights are the groups' own (relevance to the group's projects plus
the seeded noise of `panel.best`), so an expert who fits two groups goes where the total gains.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

from expertpool.domain.panel.backups import rank_backups, rank_replacements
from expertpool.domain.panel.result import DrawStats, SolveStatus
from expertpool.domain.panel.solve import maximise
from expertpool.domain.session.diagnosis import diagnose_session
from expertpool.domain.session.model import EncodedGroup, candidate_model, encode_groups
from expertpool.domain.session.result import SessionResult
from expertpool.domain.session.spec import GroupDraw, SessionGroup, SessionRules, check_groups


def draw_session_best(groups: Sequence[SessionGroup], rules: SessionRules) -> SessionResult:
    """The most relevant valid session (see the module docstring)."""
    groups = check_groups(groups)
    started = time.monotonic()
    deadline = started + rules.time_limit_s
    encoded = encode_groups(groups, rules)
    t_encode = time.monotonic()
    timings = {"encode": t_encode - started}
    stats = dict(pool_size=len({c.id for g in groups for c in g.candidates}),
                 qualified=len({c.id for g in groups for c in g.candidates}),
                 forbidden_pairs=sum(len(e.pool.pairs) for e in encoded))
    if any(len(e.keep) < e.bounds.size for e in encoded):
        status, x, value, bound, size = "infeasible", {}, None, None, 0
        model = None
    else:
        model = candidate_model(encoded)
        weights = [e.weights[p] for e in encoded for p in e.keep]
        sol = maximise(model.units, None, weights, deadline=deadline, lp=model.lp())
        status, x, value, bound, size = sol.status, sol.x, sol.value, sol.bound, sol.model_size or len(weights)
    timings["solve"] = time.monotonic() - t_encode
    if status in ("infeasible", "timeout"):
        diagnosis = None
        if status == "infeasible":
            diagnosis = diagnose_session(groups, rules, time_limit_s=max(10.0, rules.time_limit_s))
            timings["diagnose"] = time.monotonic() - t_encode - timings["solve"]
        return SessionResult("best", SolveStatus(status), tuple(GroupDraw(g.name) for g in groups), rules.seed,
                             bound=bound, diagnosis=diagnosis,
                             stats=DrawStats(timings=timings, model_size=size, **stats))
    assert model is not None
    chosen = [[e.keep[u] for u, k in part.items() for _ in range(k)] for e, part in zip(encoded, model.split(x))]
    draws = _with_backups(encoded, chosen)
    timings["backups"] = time.monotonic() - started - sum(timings.values())
    objective = sum(e.weights[i] for e, members in zip(encoded, chosen) for i in members)
    optimal = status == "optimal"
    gap = 0.0 if optimal else max(0.0, bound - objective) / max(abs(bound), 1e-12)
    return SessionResult(
        "best", SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE, draws, rules.seed,
        objective=objective, bound=objective if optimal else bound, gap=gap,
        relevance_sum=sum(d.relevance_sum for d in draws),
        stats=DrawStats(timings=timings, model_size=size, **stats))


def _with_backups(encoded: Sequence[EncodedGroup], chosen: Sequence[Sequence[int]],
                  orders: Sequence[Sequence[int]] | None = None) -> tuple[GroupDraw, ...]:
    """Each group's draw with its backups and replacements, none of them seated in any group and
    all qualified for the group (relevance ≥ its threshold: a seat is never handed to someone
    its projects do not concern). `orders`: each group's candidates in the order backups are
    tried (default: by weight)."""
    seated = {e.pool.ids[i] for e, members in zip(encoded, chosen) for i in members}
    draws = []
    for g, (e, members) in enumerate(zip(encoded, chosen)):
        pool, count = e.pool, e.group.rules.backups
        order = orders[g] if orders is not None else sorted(range(len(pool)), key=lambda i: (-e.weights[i], i))
        threshold = e.group.rules.relevance_threshold
        free = [i for i in order if pool.ids[i] not in seated and pool.relevance[i] >= threshold]
        members = sorted(members)
        backups = rank_backups(pool, e.bounds, members, free, count)
        replacements = rank_replacements(pool, e.bounds, members, free, count)
        draws.append(GroupDraw(
            e.group.name, tuple(pool.ids[i] for i in members), tuple(pool.ids[i] for i in backups),
            {pool.ids[m]: tuple(pool.ids[i] for i in rs) for m, rs in replacements.items()},
            sum(pool.relevance[i] for i in members)))
    return tuple(draws)
