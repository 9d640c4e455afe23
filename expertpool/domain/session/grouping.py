"""Projects split into a session's groups by field (`group_by = "field"`).

Projects go by their first field (those without one under 未分领域). With at least as many groups
as fields, every field gets a group and the rest go, one at a time, to the field with the most
projects per group (D'Hondt), its projects then split in that many near-equal runs, ordered by
their other fields and id so that related projects stay together (人工智能一组, 人工智能二组 …).
With fewer groups than fields, fields are merged: the largest first, each into the group with
the fewest projects so far (航空航天、仪器仪表组). The same projects give the same groups.
"""
from __future__ import annotations

from collections.abc import Sequence

from expertpool.domain import taxonomy
from expertpool.domain.models import Project
from expertpool.errors import InputError

UNFIELDED = "未分领域"
_NUMERALS = "一二三四五六七八九十"


def _numeral(k: int) -> str:
    if k <= 10:
        return _NUMERALS[k - 1]
    tens, ones = divmod(k, 10)
    return (_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (_NUMERALS[ones - 1] if ones else "")


def _order(field: str) -> int:
    return taxonomy.FIELDS.index(field) if field in taxonomy.FIELDS else len(taxonomy.FIELDS)


def split_by_field(projects: Sequence[Project], groups: int) -> list[tuple[str, list[Project]]]:
    """(group name, its projects) for `groups` groups; an error when there are fewer projects."""
    if groups < 1:
        raise InputError(f"groups 必须是正整数（现为 {groups}）")
    if len(projects) < groups:
        raise InputError(f"分组数 {groups} 多于申报项目数 {len(projects)}：每组至少要有一个项目")
    by_field: dict[str, list[Project]] = {}
    for p in projects:
        by_field.setdefault(p.fields[0] if p.fields else UNFIELDED, []).append(p)
    fields = sorted(by_field, key=_order)
    for field in fields:
        by_field[field].sort(key=lambda p: (tuple(p.fields[1:]), p.id))
    if groups < len(fields):
        return _merged(by_field, fields, groups)
    count = {f: 1 for f in fields}
    for _ in range(groups - len(fields)):
        open_fields = [f for f in fields if count[f] < len(by_field[f])]
        pick = max(open_fields, key=lambda f: (len(by_field[f]) / count[f], -_order(f)))
        count[pick] += 1
    out: list[tuple[str, list[Project]]] = []
    for field in fields:
        items, k = by_field[field], count[field]
        base, extra = divmod(len(items), k)
        at = 0
        for i in range(k):
            n = base + (1 if i < extra else 0)
            name = f"{field}组" if k == 1 else f"{field}{_numeral(i + 1)}组"
            out.append((name, items[at:at + n]))
            at += n
    return out


def _merged(by_field: dict[str, list[Project]], fields: list[str], groups: int) -> list[tuple[str, list[Project]]]:
    bins: list[list[str]] = [[] for _ in range(groups)]
    load = [0] * groups
    for field in sorted(fields, key=lambda f: (-len(by_field[f]), _order(f))):
        k = min(range(groups), key=lambda i: (load[i], i))
        bins[k].append(field)
        load[k] += len(by_field[field])
    out = []
    for chosen in sorted(bins, key=lambda b: min(_order(f) for f in b)):
        chosen.sort(key=_order)
        out.append(("、".join(chosen) + "组", [p for f in chosen for p in by_field[f]]))
    return out
