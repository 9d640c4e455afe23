"""The exact panel solver (pure domain code: no store, no files, no clock beyond time limits).

Public API:
    Candidate, PanelRules                 inputs (frozen dataclasses)
    DrawResult, DrawStats, Diagnosis,
    SolveStatus                           outputs (every strategy returns a DrawResult)
    STRATEGIES, get_strategy, draw        the strategy registry ("best", "lottery")
    MODE_LABELS, mode_label, status_label,
    method_label                          the Chinese names of modes, solve statuses, replacement methods (labels)
    check_panel                           independent rule checker
    diagnose, feasible                    infeasibility explanation and smallest relaxations
    lottery_distribution                  the maximin distribution itself (preview, many samples)
    SolutionMemo                          where a caller keeps solved distributions between draws

Every strategy has the signature
    (candidates, rules, forbidden_pairs, *, seed, time_limit_s, memo=None) -> DrawResult
and never mutates its inputs.
"""
from expertpool.domain.panel.checker import check_panel
from expertpool.domain.panel.diagnosis import diagnose, feasible
from expertpool.domain.panel.lottery import LotteryDistribution, SolutionMemo, lottery_distribution
from expertpool.domain.panel.result import Diagnosis, DrawResult, DrawStats, SolveStatus
from expertpool.domain.panel.spec import COVERAGE_MODES, Candidate, PanelRules
from expertpool.domain.panel.labels import MODE_LABELS, method_label, mode_label, status_label
from expertpool.domain.panel.strategies import STRATEGIES, Strategy, draw, get_strategy

__all__ = [
    "COVERAGE_MODES", "Candidate", "Diagnosis", "LotteryDistribution", "lottery_distribution", "DrawResult", "DrawStats", "PanelRules", "STRATEGIES",
    "SolutionMemo", "SolveStatus", "Strategy", "check_panel", "diagnose", "draw", "feasible", "get_strategy", "MODE_LABELS",
    "method_label", "mode_label", "status_label",
]
