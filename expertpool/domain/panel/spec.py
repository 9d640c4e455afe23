"""Inputs of the panel solver: candidates and the rules a panel must satisfy.

All are frozen dataclasses; the solver never mutates them (it copies what it keeps).
Shares are turned into head counts with a tolerance of 1e-9, so that 0.4 × 15 is 6, not 7:
a region's count must lie in ceil(lo·size)..floor(hi·size), the 正高级 count must reach
ceil(share·size).

Quotas (`Quota`) bound the members having a value of any attribute (sortition-algorithms'
features and targets): "at least a third from 企业", "at most 3 from one 市州", "at least 2
aged ≤ 45". A candidate's attributes are its own fields (region, title, fields, legal unit,
high-level talent) plus what the caller derives (`Candidate.attributes`: sector, gender, age on
the review date, sub-region, honours); `ATTRIBUTES` names them all.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from expertpool.domain import taxonomy
from expertpool.errors import InputError

COVERAGE_MODES: tuple[str, ...] = ("any", "primary")
#: attribute → its Chinese name: the first six are read from the candidate's own fields, the rest
#: from `Candidate.attributes`, which the caller derives (an attribute not given has no value).
#: The solver takes any attribute name (sortition-algorithms' files name their own features);
#: the panel spec admits only these, the ones an expert record gives.
ATTRIBUTES: dict[str, str] = {
    "region": "所在地区",
    "title": "职称",
    "field": "专业领域",
    "primary_field": "第一专业领域",
    "institution": "法人单位",
    "high_level": "高层次人才",
    "sub_region": "市州/区县",
    "gender": "性别",
    "sector": "单位类型",
    "age": "年龄",
    "honour": "人才称号",
}
#: attributes whose value is a whole number, bounded by a range in a quota
NUMERIC_ATTRIBUTES = frozenset({"age"})
YES, NO = "是", "否"
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
    #: derived attributes (see ATTRIBUTES) as (name, values) pairs; a Mapping is accepted
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise InputError("候选专家缺少编号")
        attributes = self.attributes
        if not (isinstance(attributes, tuple) and all(type(v) is tuple for _, v in attributes)):
            # a Mapping (or loose pairs): normalised to sorted (name, values) pairs
            given = dict(attributes)
            object.__setattr__(self, "attributes", tuple(sorted(
                (str(k), (v,) if isinstance(v, str) else tuple(str(x) for x in v)) for k, v in given.items())))
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

    def with_relevance(self, relevance: float) -> "Candidate":
        """This candidate with another relevance (one expert in several groups of a session):
        only the new value is checked, the rest was when this one was made."""
        if not (isinstance(relevance, (int, float)) and math.isfinite(relevance) and relevance >= 0):
            raise InputError(f"候选专家 {self.id} 的相关度 {relevance!r} 必须是非负有限数")
        clone = object.__new__(Candidate)
        clone.__dict__.update(self.__dict__)
        object.__setattr__(clone, "relevance", float(relevance))
        return clone

    def covers(self, coverage: str) -> tuple[str, ...]:
        """The fields this candidate counts for under a coverage mode."""
        return self.fields if coverage == "any" else self.fields[:1]

    def values(self, attribute: str) -> tuple[str, ...]:
        """The candidate's values of `attribute` (several for fields and honours; none when unknown)."""
        if attribute == "region":
            return (self.region,)
        if attribute == "title":
            return (self.title,)
        if attribute == "field":
            return self.fields
        if attribute == "primary_field":
            return self.fields[:1]
        if attribute == "institution":
            return (self.institution,)
        if attribute == "high_level":
            return (YES if self.high_level else NO,)
        for name, values in self.attributes:
            if name == attribute:
                return values
        return ()


@dataclass(frozen=True)
class Quota:
    """At least `min` and at most `max` members with a value of `attribute`.

    Which members count: those having one of `values`; for a numeric attribute (age), those
    whose value lies in `at_least`..`at_most`; with neither, the bounds apply to EACH value of
    the attribute separately (a cap per sub-region: only an upper bound makes sense then).
    Bounds are head counts (`min`, `max`) or shares of the panel size (`min_share`,
    `max_share`: ceil and floor as for regions); when both are given the tighter one holds.
    `label` names the quota in messages (made from the rest when empty).
    """

    attribute: str
    values: tuple[str, ...] = ()
    at_least: int | None = None
    at_most: int | None = None
    min: int | None = None
    max: int | None = None
    min_share: float | None = None
    max_share: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(str(v) for v in self.values))
        where = f"quota（{self.attribute}）"
        problems: list[str] = []
        if not isinstance(self.attribute, str) or not self.attribute:
            problems.append("attribute 不能为空")
        ranged = self.at_least is not None or self.at_most is not None
        if ranged and self.attribute not in NUMERIC_ATTRIBUTES:
            problems.append(f"只有{'、'.join(ATTRIBUTES[a] for a in sorted(NUMERIC_ATTRIBUTES))}可以给出数值范围（at_least/at_most）")
        if ranged and self.values:
            problems.append("values 与数值范围只能给出一种")
        for name in ("at_least", "at_most", "min", "max"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                problems.append(f"{name} 必须是非负整数（现为 {value!r}）")
        for name in ("min_share", "max_share"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                problems.append(f"{name} 必须在 0..1 之间（现为 {value!r}）")
        if all(getattr(self, n) is None for n in ("min", "max", "min_share", "max_share")):
            problems.append("至少给出 min、max、min_share、max_share 之一")
        if self.each and (self.min or self.min_share):
            problems.append("未指定取值时只能给出上限（max 或 max_share），表示每个取值各自的上限")
        if problems:
            raise InputError(f"{where}：" + "；".join(problems))
        if not self.label:
            object.__setattr__(self, "label", self.describe())

    @property
    def each(self) -> bool:
        """The bounds apply to each value of the attribute separately."""
        return not self.values and self.at_least is None and self.at_most is None

    def describe(self, value: str | None = None) -> str:
        name = ATTRIBUTES.get(self.attribute, self.attribute)
        if value is not None:
            return f"{name}「{value}」"
        if self.values:
            return f"{name}「{'/'.join(self.values)}」"
        if self.at_least is not None or self.at_most is not None:
            lo = "" if self.at_least is None else f"{self.at_least}–"
            hi = "" if self.at_most is None else f"{self.at_most}"
            return f"{name}{lo}{hi}岁" if lo and hi else (f"{name}≤{hi}岁" if hi else f"{name}≥{self.at_least}岁")
        return f"每个{name}"

    def matches(self, values: tuple[str, ...]) -> bool:
        """Whether a candidate with these values of the attribute counts (not for `each` quotas)."""
        if self.values:
            return any(v in self.values for v in values)
        for v in values:
            try:
                number = int(v)
            except ValueError:
                continue
            if (self.at_least is None or number >= self.at_least) and (self.at_most is None or number <= self.at_most):
                return True
        return False

    def head_counts(self, size: int) -> tuple[int, int]:
        """(lowest, highest) number of members allowed on a panel of `size`."""
        lo = 0 if self.min is None else self.min
        if self.min_share is not None:
            lo = max(lo, share_ceil(self.min_share, size))
        hi = size if self.max is None else min(size, self.max)
        if self.max_share is not None:
            hi = min(hi, share_floor(self.max_share, size))
        return lo, hi

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in
                (("attribute", self.attribute), ("values", self.values), ("at_least", self.at_least),
                 ("at_most", self.at_most), ("min", self.min), ("max", self.max), ("min_share", self.min_share),
                 ("max_share", self.max_share)) if v not in (None, ())}


@dataclass(frozen=True)
class PanelRules:
    """What a panel must satisfy, and how to draw it.

    size                  number of members.
    quotas                attribute quotas (`Quota`), each a lower and/or upper bound.
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
    quotas: tuple[Quota, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "quotas", tuple(self.quotas))
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
        for quota in self.quotas:
            if not isinstance(quota, Quota):
                problems.append(f"quotas 只能包含 Quota（现有 {quota!r}）")
            elif quota.head_counts(self.size if isinstance(self.size, int) else 0)[0] > self.size:
                problems.append(f"{quota.label} 至少 {quota.head_counts(self.size)[0]} 人，超过专家组人数 {self.size}")
        if problems:
            raise InputError("评审专家组规则有误：" + "；".join(problems))

    def covered_fields(self, candidate: Candidate) -> tuple[str, ...]:
        """The required fields `candidate` counts for under these rules."""
        return tuple(f for f in candidate.covers(self.coverage) if f in self.fields)


def quota_counts(members: Sequence[Candidate], rules: PanelRules) -> list[tuple[str, int, int, int]]:
    """(label, members counted, lowest allowed, highest allowed) for each quota of `rules` (for an
    `each` quota: the value with most members), for showing a drawn panel against its quotas."""
    out = []
    for quota in rules.quotas:
        lo, hi = quota.head_counts(rules.size)
        if quota.each:
            per: dict[str, int] = {}
            for c in members:
                for value in set(c.values(quota.attribute)):
                    per[value] = per.get(value, 0) + 1
            out.append((f"{quota.label}（人数最多者）", max(per.values(), default=0), lo, hi))
        else:
            out.append((quota.label, sum(1 for c in members if quota.matches(c.values(quota.attribute))), lo, hi))
    return out
