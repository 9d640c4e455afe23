"""Outputs of the session solver: one `SessionResult` whatever the strategy."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from expertpool.domain.panel.result import Diagnosis, DrawStats, SolveStatus
from expertpool.domain.session.spec import GroupDraw


@dataclass(frozen=True)
class SessionResult:
    """A drawn session.

    groups         one `GroupDraw` per group, in the session's order (members empty unless
                   `status.has_panel`).
    probabilities  lottery: every qualified expert's chance of a seat in some group.
    unreachable    lottery: qualified experts on no feasible session (probability 0).
    objective      best: the total (perturbed) relevance; lottery: the minimum probability.
    bound, gap     the proven bound on `objective` and the relative gap (0 when OPTIMAL).
    diagnosis      when INFEASIBLE: which group, which clash, and the smallest relaxations,
                   each confirmed by solving the whole session again.
    """

    strategy: str
    status: SolveStatus
    groups: tuple[GroupDraw, ...]
    seed: int
    probabilities: Mapping[str, float] | None = None
    unreachable: tuple[str, ...] = ()
    probability_min: float | None = None
    probability_max: float | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    relevance_sum: float | None = None
    diagnosis: Diagnosis | None = None
    stats: DrawStats = field(default_factory=DrawStats)

    def members(self) -> dict[str, tuple[str, ...]]:
        return {g.name: g.members for g in self.groups}
