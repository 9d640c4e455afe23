"""An independent checker of a panel against the rules.

Deliberately shares no code with the encoder or the models: it reads the candidates and the
rules directly, so a bug in the encoding cannot hide itself. Tests run it on every panel and
every backup substitution a strategy returns.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from expertpool.domain.panel.spec import Candidate, PanelRules

_EPS = 1e-9


def check_panel(members: Sequence[str], candidates: Iterable[Candidate], rules: PanelRules,
                forbidden_pairs: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Return the violated rules (Chinese messages); an empty list means the panel is valid."""
    by_id = {c.id: c for c in candidates}
    problems: list[str] = []
    if len(set(members)) != len(members):
        dupes = sorted(m for m, k in Counter(members).items() if k > 1)
        problems.append(f"成员重复：{'、'.join(dupes)}")
    unknown = [m for m in members if m not in by_id]
    if unknown:
        problems.append(f"成员不在候选名单中：{'、'.join(unknown)}")
    panel = [by_id[m] for m in dict.fromkeys(members) if m in by_id]
    size = rules.size
    if len(members) != size:
        problems.append(f"人数为 {len(members)}，应为 {size}")
    for field in rules.fields:
        covering = [c for c in panel if field in (c.fields if rules.coverage == "any" else c.fields[:1])]
        if len(covering) < rules.min_per_field:
            problems.append(f"领域「{field}」只有 {len(covering)} 人，至少需要 {rules.min_per_field} 人")
    for region, (lo, hi) in rules.region_bounds.items():
        count = sum(1 for c in panel if c.region == region)
        low = math.ceil(lo * size - _EPS)
        high = math.floor(hi * size + _EPS)
        if count < low or count > high:
            problems.append(f"{region}专家 {count} 人，应在 {low}–{high} 人之间")
    need = math.ceil(rules.min_full_senior_share * size - _EPS)
    seniors = sum(1 for c in panel if c.title == "正高级")
    if seniors < need:
        problems.append(f"正高级 {seniors} 人，至少需要 {need} 人")
    if rules.max_per_institution is not None:
        for inst, count in sorted(Counter(c.institution for c in panel).items()):
            if count > rules.max_per_institution:
                problems.append(f"单位「{inst}」有 {count} 人，上限 {rules.max_per_institution} 人")
    for quota in rules.quotas:
        problems.extend(_quota_problems(quota, panel, size))
    chosen = {c.id for c in panel}
    clashing = {tuple(sorted((a, b))) for a, b in forbidden_pairs if a != b and a in chosen and b in chosen}
    for a, b in sorted(clashing):
        problems.append(f"{a} 与 {b} 存在回避关系，不能同组")
    return problems


def _quota_problems(quota, panel: list[Candidate], size: int) -> list[str]:
    """A quota's violations, read from the members' attribute values directly."""
    low = quota.min or 0
    if quota.min_share is not None:
        low = max(low, math.ceil(quota.min_share * size - _EPS))
    high = size if quota.max is None else quota.max
    if quota.max_share is not None:
        high = min(high, math.floor(quota.max_share * size + _EPS))
    if quota.values:
        counts = {quota.label: sum(1 for c in panel if set(c.values(quota.attribute)) & set(quota.values))}
    elif quota.at_least is not None or quota.at_most is not None:
        lo_age = -math.inf if quota.at_least is None else quota.at_least
        hi_age = math.inf if quota.at_most is None else quota.at_most
        counts = {quota.label: sum(1 for c in panel if any(
            v.lstrip("-").isdigit() and lo_age <= int(v) <= hi_age for v in c.values(quota.attribute)))}
    else:
        per_value: Counter = Counter(v for c in panel for v in set(c.values(quota.attribute)))
        counts = {f"{quota.label}（{value}）": k for value, k in sorted(per_value.items())}
    return [f"{label} {count} 人，应在 {low}–{high} 人之间" for label, count in counts.items()
            if count < low or count > high]
