"""Inputs of the session solver: the groups of a review session, each a panel of its own.

A review session (评审会) reviews many projects on one day in groups (分组), each with its own
panel, and no expert sits in two groups. Each group has its own rules (`PanelRules`: size,
fields, regions, seniority, unit cap, quotas, backups, the lottery's relevance threshold), its
own candidates (those eligible for ITS projects: conflicts are checked against the group's
projects only; relevance is to the group's projects) and its own forbidden pairs. The session
adds the mode, the seed and the time limit, shared by all groups.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from expertpool.domain.panel import STRATEGIES, Candidate, PanelRules
from expertpool.errors import InputError


@dataclass(frozen=True)
class SessionGroup:
    """One group: its name, rules, candidates (relevance to its projects) and forbidden pairs."""

    name: str
    rules: PanelRules
    candidates: tuple[Candidate, ...]
    pairs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        object.__setattr__(self, "pairs", tuple(tuple(p) for p in self.pairs))
        if not self.name:
            raise InputError("分组缺少名称")

    def qualified(self, threshold: float | None = None) -> list[Candidate]:
        """Candidates whose relevance reaches the group's threshold (the lottery's pool)."""
        cut = self.rules.relevance_threshold if threshold is None else threshold
        return [c for c in self.candidates if c.relevance >= cut]


@dataclass(frozen=True)
class SessionRules:
    """What the whole session shares.

    mode             "best" (most relevant panels in total) or "lottery" (maximin-fair over the
                     whole session: every qualified expert's chance of a seat in any group).
    seed             reproduces the draw.
    time_limit_s     solver time budget for the session.
    max_probability  lottery only: cap on anyone's chance of a seat.
    perturbation     best only: seeded noise, as in `PanelRules`.
    """

    mode: str = "best"
    seed: int = 0
    time_limit_s: float = 60.0
    max_probability: float | None = None
    perturbation: float = 0.05

    def __post_init__(self) -> None:
        if self.mode not in STRATEGIES:
            raise InputError(f"未知的抽取方式「{self.mode}」；可选：{'、'.join(STRATEGIES)}")
        if not self.time_limit_s > 0:
            raise InputError(f"time_limit_s 必须为正（现为 {self.time_limit_s}）")
        if self.max_probability is not None and not 0 < self.max_probability <= 1:
            raise InputError(f"max_probability 必须在 (0, 1] 之间（现为 {self.max_probability}）")


def check_groups(groups: Sequence[SessionGroup]) -> tuple[SessionGroup, ...]:
    """The groups, refusing none at all and two with one name."""
    groups = tuple(groups)
    if not groups:
        raise InputError("评审会至少需要一个分组")
    names = [g.name for g in groups]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"分组名称重复：{'、'.join(dupes)}")
    return groups


def seats(groups: Iterable[SessionGroup]) -> int:
    return sum(g.rules.size for g in groups)


@dataclass(frozen=True)
class GroupDraw:
    """One group's panel as drawn: members (sorted), backups and per-member replacements, all
    outside every group of the session."""

    name: str
    members: tuple[str, ...] = ()
    backups: tuple[str, ...] = ()
    replacements: dict[str, tuple[str, ...]] = field(default_factory=dict)
    relevance_sum: float = 0.0
