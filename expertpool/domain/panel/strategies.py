"""One registry of draw strategies. Every strategy has the same signature and result type."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from expertpool.errors import InputError
from expertpool.domain.panel.best import draw_best
from expertpool.domain.panel.lottery import SolutionMemo, draw_lottery
from expertpool.domain.panel.result import DrawResult
from expertpool.domain.panel.spec import Candidate, PanelRules


class Strategy(Protocol):
    """`memo`: where the strategy may keep what it solved for the next draw of the same inputs
    (`lottery.SolutionMemo`); a strategy with nothing worth keeping ignores it."""

    def __call__(self, candidates: Sequence[Candidate], rules: PanelRules,
                 forbidden_pairs: Iterable[tuple[str, str]], *, seed: int, time_limit_s: float,
                 memo: SolutionMemo | None = None) -> DrawResult: ...


STRATEGIES: dict[str, Callable[..., DrawResult]] = {"best": draw_best, "lottery": draw_lottery}
def get_strategy(name: str) -> Strategy:
    """The strategy called `name`; an unknown name is an error listing the choices (no fallback)."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InputError(f"未知的抽取方式「{name}」；可选：{'、'.join(STRATEGIES)}") from None


def draw(candidates: Sequence[Candidate], rules: PanelRules,
         forbidden_pairs: Iterable[tuple[str, str]] = ()) -> DrawResult:
    """Draw with `rules.mode`, `rules.seed` and `rules.time_limit_s`."""
    return get_strategy(rules.mode)(candidates, rules, forbidden_pairs, seed=rules.seed,
                                    time_limit_s=rules.time_limit_s)
