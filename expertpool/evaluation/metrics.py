"""Ranking metrics over a ranked list of ids and the judged relevant ones."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def reciprocal_rank(ranked: Sequence[str], relevant: str | set[str], depth: int = 100) -> float:
    """1 / rank of the first relevant id within `depth`, else 0."""
    wanted = {relevant} if isinstance(relevant, str) else relevant
    for i, item in enumerate(ranked[:depth], 1):
        if item in wanted:
            return 1.0 / i
    return 0.0


def recall_at(ranked: Sequence[str], relevant: str | set[str], k: int) -> float:
    wanted = {relevant} if isinstance(relevant, str) else relevant
    if not wanted:
        return 0.0
    return len(wanted & set(ranked[:k])) / min(len(wanted), k)


def precision_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the first `k` places held by relevant ids (an empty place counts as not relevant)."""
    return sum(1 for item in ranked[:k] if item in relevant) / k


def ndcg_at(ranked: Sequence[str], gains: Mapping[str, float], k: int) -> float:
    dcg = sum(gains.get(item, 0.0) / math.log2(i + 2) for i, item in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0
