"""Inputs of the panel solver: candidates and the rules a panel must satisfy.

Both are frozen dataclasses; the solver never mutates them (it copies what it keeps).
Shares are turned into head counts with a tolerance of 1e-9, so that 0.4 × 15 is 6, not 7:
a region's count must lie in ceil(lo·size)..floor(hi·size), the 正高级 count must reach
ceil(share·size).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from expertpool.domain import taxonomy
from expertpool.errors import InputError

COVERAGE_MODES: tuple[str, ...] = ("any", "primary")
FULL_SENIOR = "正高级"
# Shares are converted to counts after removing this much floating-point noise.
SHARE_EPS = 1e-9


def share_floor(share: float, size: int) -> int:
    """Largest count allowed by an upper share: floor(share·size), tolerant of float noise."""
    return math.floor(share * size + SHARE_EPS)


def share_ceil(share: float, size: int) -> int:
    """Smallest count required by a lower share: ceil(share·size), tolerant of float noise."""
    return math.ceil(share * size - SHARE_EPS)


@dataclass(frozen=True)
class Candidate:
    """An eligible expert as the panel solver sees them.

    `institution` is the legal unit, already normalised by the caller (same unit ⇒ same string).
    `fields` lists 1–3 of the 11 fields, primary first. `relevance` ≥ 0 is the candidate's
    relevance to the projects under review (any scale; only comparisons matter).
    """

    id: str
    name: str
    region: str
    fields: tuple[str, ...]
    title: str
    institution: str
    relevance: float = 0.0
    high_level: bool = False

    def __post_init__(self) -> None:
        if not self.id:
            raise InputError("候选专家缺少编号")
        object.__setattr__(self, "fields", tuple(self.fields))
        if not self.fields:
            raise InputError(f"候选专家 {self.id} 没有专业领域")
        if len(set(self.fields)) != len(self.fields):
            raise InputError(f"候选专家 {self.id} 的专业领域重复：{'、'.join(self.fields)}")
        if self.title not in taxonomy.TITLES:
            raise InputError(f"候选专家 {self.id} 的职称「{self.title}」不在 {'/'.join(taxonomy.TITLES)} 之中")
        if not self.institution:
            raise InputError(f"候选专家 {self.id} 缺少工作单位")
        if not (isinstance(self.relevance, (int, float)) and math.isfinite(self.relevance) and self.relevance >= 0):
            raise InputError(f"候选专家 {self.id} 的相关度 {self.relevance!r} 必须是非负有限数")

    @property
    def full_senior(self) -> bool:
        return self.title == FULL_SENIOR

    def covers(self, coverage: str) -> tuple[str, ...]:
        """The fields this candidate counts for under a coverage mode."""
        return self.fields if coverage == "any" else self.fields[:1]


@dataclass(frozen=True)
class PanelRules:
    """What a panel must satisfy, and how to draw it.

    size                  number of members.
    fields                fields that need members ("all" is resolved by the caller to taxonomy.FIELDS).
    min_per_field         each listed field needs at least this many members covering it.
    coverage              "any": a member covers every field they list; "primary": only their first.
    region_bounds         {region: (lo_share, hi_share)}; regions not listed are unbounded.
    min_full_senior_share share of members who must hold 正高级.
    max_per_institution   at most this many members from one legal unit (None = no cap).
    mode                  strategy name, a key of `STRATEGIES` ("best" or "lottery").
    max_probability       lottery only: cap on any individual's selection probability.
    backups               how many backups to rank.
    seed                  reproduces the draw (perturbation in best mode, sampling in lottery mode).
    time_limit_s          solver time budget for one draw.
    relevance_threshold   candidates with relevance ≥ this are qualified: the lottery draws only
                          them; in both modes only they are backups and replacements.
    perturbation          best only: seeded noise, as a fraction of the relevance spread, added to
                          relevance so that nearly-equal experts share the work (0 disables it).
    """

    size: int
    fields: tuple[str, ...] = ()
    min_per_field: int = 1
    coverage: str = "any"
    region_bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    min_full_senior_share: float = 0.0
    max_per_institution: int | None = None
    mode: str = "best"
    max_probability: float | None = None
    backups: int = 0
    seed: int = 0
    time_limit_s: float = 30.0
    relevance_threshold: float = 0.0
    perturbation: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        # defensive copy: the caller's dict is never shared or mutated
        object.__setattr__(self, "region_bounds",
                           {str(k): (float(v[0]), float(v[1])) for k, v in dict(self.region_bounds).items()})
        problems: list[str] = []
        if not isinstance(self.size, int) or self.size < 1:
            problems.append(f"size 必须是正整数（现为 {self.size!r}）")
        unknown = [f for f in self.fields if f not in taxonomy.FIELDS]
        if unknown:
            problems.append(f"fields 含未知领域：{'、'.join(unknown)}")
        if len(set(self.fields)) != len(self.fields):
            problems.append("fields 有重复")
        if not isinstance(self.min_per_field, int) or self.min_per_field < 0:
            problems.append(f"min_per_field 必须是非负整数（现为 {self.min_per_field!r}）")
        if self.coverage not in COVERAGE_MODES:
            problems.append(f"coverage 必须是 {'/'.join(COVERAGE_MODES)}（现为 {self.coverage!r}）")
        for region, (lo, hi) in self.region_bounds.items():
            if region not in taxonomy.REGIONS:
                problems.append(f"region_bounds 含未知地区「{region}」")
            if not (0.0 <= lo <= hi <= 1.0):
                problems.append(f"region_bounds[{region}] 需满足 0 ≤ lo ≤ hi ≤ 1（现为 {lo}, {hi}）")
        if not (0.0 <= self.min_full_senior_share <= 1.0):
            problems.append(f"min_full_senior_share 必须在 0..1 之间（现为 {self.min_full_senior_share}）")
        if self.max_per_institution is not None and (
                not isinstance(self.max_per_institution, int) or self.max_per_institution < 1):
            problems.append(f"max_per_institution 必须是正整数或 None（现为 {self.max_per_institution!r}）")
        if self.max_probability is not None and not (0.0 < self.max_probability <= 1.0):
            problems.append(f"max_probability 必须在 (0, 1] 之间（现为 {self.max_probability}）")
        if not isinstance(self.backups, int) or self.backups < 0:
            problems.append(f"backups 必须是非负整数（现为 {self.backups!r}）")
        if not (self.time_limit_s > 0):
            problems.append(f"time_limit_s 必须为正（现为 {self.time_limit_s}）")
        if not (self.perturbation >= 0):
            problems.append(f"perturbation 必须非负（现为 {self.perturbation}）")
        if not isinstance(self.seed, int):
            problems.append(f"seed 必须是整数（现为 {self.seed!r}）")
        if problems:
            raise InputError("评审专家组规则有误：" + "；".join(problems))

    def covered_fields(self, candidate: Candidate) -> tuple[str, ...]:
        """The required fields `candidate` counts for under these rules."""
        return tuple(f for f in candidate.covers(self.coverage) if f in self.fields)
