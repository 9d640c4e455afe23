"""Outputs of the panel solver. Every strategy returns the same `DrawResult`."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class SolveStatus(enum.StrEnum):
    """How a draw ended.

    OPTIMAL     the panel (best) or the distribution (lottery) is proven optimal.
    FEASIBLE    a valid panel was found but optimality was not proven within the time limit
                (`gap` says how far from the proven bound it may be).
    INFEASIBLE  no panel satisfies the rules; `diagnosis` says why and what to relax.
    TIMEOUT     the time limit ran out before any valid panel was found (feasibility unknown).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIMEOUT = "timeout"

    @property
    def has_panel(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@dataclass(frozen=True)
class Diagnosis:
    """Why the rules cannot all hold, in Chinese, and the smallest relaxations that work.

    messages     human-readable sentences, most important first.
    clashes      one dict per detected clash: {"rule", "target", "need", "have", "message", …}.
    relaxations  one dict per relaxation that was confirmed feasible, smallest first:
                 {"rule", "target", "from", "to", "steps", "message", "rules": PanelRules}.
    """

    messages: list[str] = field(default_factory=list)
    clashes: list[dict[str, Any]] = field(default_factory=list)
    relaxations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DrawStats:
    """Figures about one draw. `timings` maps phase name → seconds."""

    pool_size: int = 0
    qualified: int = 0
    model_size: int = 0           # decision variables in the final exact model (after narrowing)
    types: int = 0                # lottery: interchangeable groups (free types + singletons)
    columns: int = 0              # lottery: panel compositions generated
    iterations: int = 0           # lottery: column-generation rounds
    forbidden_pairs: int = 0      # pairs between two candidates of the pool
    forbidden_pairs_ignored: int = 0  # pairs naming someone outside the pool
    timings: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DrawResult:
    """The outcome of one draw, whatever the strategy.

    members        panel member ids, sorted (empty unless `status.has_panel`).
    backups        ranked ids; each can replace ANY one member without breaking a rule (with tight
                   rules — e.g. 11 fields each covered once — there may be none).
    replacements   member id → ranked ids that can take THAT member's seat (the practical list
                   when someone declines).
    probabilities  lottery: selection probability of every qualified candidate; best: None.
    unreachable    lottery: qualified candidates who are on no feasible panel (probability 0).
    objective      best: the maximised (perturbed) relevance; lottery: the minimum probability.
    bound          the proven bound on `objective` (equal to it when OPTIMAL).
    gap            (bound − objective) / max(|bound|, tiny); 0 when OPTIMAL.
    """

    strategy: str
    status: SolveStatus
    members: tuple[str, ...]
    backups: tuple[str, ...]
    seed: int
    replacements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
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

    def member_probabilities(self) -> dict[str, float] | None:
        """Each member's selection probability (lottery), else None."""
        if self.probabilities is None:
            return None
        return {m: self.probabilities.get(m, 0.0) for m in self.members}
