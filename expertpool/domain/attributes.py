"""An expert's attributes for panel quotas (see `domain.panel.spec.ATTRIBUTES`), derived on the
review date. Pure: the sector comes from the caller (the legal unit's kind in the alias table).

    gender      性别 as recorded (男/女); none when not recorded
    age         年龄 on the review date in whole calendar years (as `Expert.age_on`); none when
                the birth year is unknown, so an age quota never counts such an expert
    sector      单位类型 of the legal unit (高校/科研院所/企业/医院/政府机关/其他)
    sub_region  市州/区县
    honour      人才称号, every one the expert holds

Region, title, fields, legal unit and high-level talent are the candidate's own fields.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Protocol


class Attributed(Protocol):
    gender: str | None
    sub_region: str | None
    honours: Sequence[str]

    def age_on(self, day: dt.date) -> int | None: ...


DERIVED: tuple[str, ...] = ("age", "gender", "honour", "sector", "sub_region")


def quota_attributes(expert: Attributed, sector: str, day: dt.date,
                     wanted: Collection[str] = DERIVED) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The derived attributes of `expert` on `day` that are `wanted`, as sorted (name, values)
    pairs (`Candidate.attributes`); attributes without a value are left out."""
    out: list[tuple[str, tuple[str, ...]]] = []
    if "age" in wanted:
        age = expert.age_on(day)
        if age is not None:
            out.append(("age", (str(age),)))
    if "gender" in wanted and expert.gender:
        out.append(("gender", (expert.gender,)))
    if "honour" in wanted and expert.honours:
        out.append(("honour", tuple(expert.honours)))
    if "sector" in wanted:
        out.append(("sector", (sector,)))
    if "sub_region" in wanted and expert.sub_region:
        out.append(("sub_region", (expert.sub_region,)))
    return tuple(out)
