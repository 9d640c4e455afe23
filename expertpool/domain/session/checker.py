"""An independent checker of a drawn session: every rule of every group (`panel.checker`, which
shares no code with the encoders) and that no expert sits in two groups."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from expertpool.domain.panel.checker import check_panel
from expertpool.domain.session.spec import SessionGroup


def check_session(members: Mapping[str, Sequence[str]], groups: Sequence[SessionGroup], *,
                  qualified_only: bool = False) -> list[str]:
    """The violated rules (Chinese, each naming its group); empty when the session is valid.
    `members`: group name → member ids. `qualified_only`: members must reach their group's
    relevance threshold (a lottery draws only among the qualified)."""
    problems: list[str] = []
    by_name = {g.name: g for g in groups}
    for name in sorted(set(members) - set(by_name)):
        problems.append(f"未知的分组「{name}」")
    for group in groups:
        chosen = list(members.get(group.name, ()))
        pool = group.qualified() if qualified_only else group.candidates
        problems.extend(f"{group.name}：{p}" for p in check_panel(chosen, pool, group.rules, group.pairs))
    seats = Counter(m for chosen in members.values() for m in set(chosen))
    for expert_id, k in sorted(seats.items()):
        if k > 1:
            where = [name for name, chosen in members.items() if expert_id in chosen]
            problems.append(f"专家 {expert_id} 同时在 {'、'.join(where)} 中")
    return problems
