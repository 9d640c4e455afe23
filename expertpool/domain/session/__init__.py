"""Review sessions (评审会): many groups, each with its own panel, drawn jointly (pure domain code).

Public API:
    SessionGroup, SessionRules        inputs (frozen dataclasses)
    SessionResult, GroupDraw          outputs (every strategy returns a SessionResult)
    SESSION_STRATEGIES, draw_session  the registry ("best", "lottery")
    check_session                     independent checker: every group's rules, disjointness
    diagnose_session, session_feasible  which group and which clash, the smallest relaxations
    split_by_field                    projects into groups by field
"""
from expertpool.domain.session.checker import check_session
from expertpool.domain.session.diagnosis import diagnose_session, session_feasible
from expertpool.domain.session.grouping import split_by_field
from expertpool.domain.session.result import SessionResult
from expertpool.domain.session.spec import GroupDraw, SessionGroup, SessionRules
from expertpool.domain.session.strategies import SESSION_STRATEGIES, draw_session

__all__ = ["GroupDraw", "SESSION_STRATEGIES", "SessionGroup", "SessionResult", "SessionRules", "check_session",
           "diagnose_session", "draw_session", "session_feasible", "split_by_field"]
