"""One registry of session strategies, with the same names as the panel's (`panel.strategies`)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from expertpool.domain.session.best import draw_session_best
from expertpool.domain.session.lottery import draw_session_lottery
from expertpool.domain.session.result import SessionResult
from expertpool.domain.session.spec import SessionGroup, SessionRules
from expertpool.errors import InputError

SESSION_STRATEGIES: dict[str, Callable[[Sequence[SessionGroup], SessionRules], SessionResult]] = {
    "best": draw_session_best, "lottery": draw_session_lottery}


def draw_session(groups: Sequence[SessionGroup], rules: SessionRules) -> SessionResult:
    """Draw every group of the session at once with `rules.mode` (no fallback for an unknown one)."""
    try:
        strategy = SESSION_STRATEGIES[rules.mode]
    except KeyError:
        raise InputError(f"未知的抽取方式「{rules.mode}」；可选：{'、'.join(SESSION_STRATEGIES)}") from None
    return strategy(groups, rules)
