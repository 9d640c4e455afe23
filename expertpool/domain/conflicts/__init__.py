"""Conflicts of interest, in three parts:

    policy  which rules apply, hard or soft, and their windows (`ConflictPolicy`; data, validated)
    graph   the pool as a graph of experts, outside people, legal units and projects (`PoolGraph`)
    rules   the rule engine: `ConflictGraph` (the graph with `check` and `panel_pairs`), `Conflict`

All pure: records, an institution table, a policy and a review date in; conflicts out.
"""
from expertpool.domain.conflicts.graph import AffiliationRow, PersonRef, PoolGraph, RelationRow, UnknownReference
from expertpool.domain.conflicts.policy import (
    DEFAULT_PAIR_RULES,
    PAIR_RULE_CHOICES,
    RULE_LABELS,
    RULES,
    ConflictPolicy,
    PolicyError,
    RuleSetting,
    RuleSpec,
    in_window,
    policy_key,
    years_before,
)
from expertpool.domain.conflicts.rules import Conflict, ConflictGraph, PanelPair, evidence_text

__all__ = [
    "policy_key",
    "AffiliationRow", "PersonRef", "RelationRow",
    "DEFAULT_PAIR_RULES", "PAIR_RULE_CHOICES", "RULES", "RULE_LABELS", "Conflict", "ConflictGraph",
    "ConflictPolicy", "PanelPair", "PolicyError", "PoolGraph", "RuleSetting", "RuleSpec", "UnknownReference",
    "evidence_text", "in_window", "years_before",
]
