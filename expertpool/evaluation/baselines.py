"""Plugin-less baselines, run in process on the same experts: BM25 (Lucene's formula, k1 1.2,
b 0.75) over the experts' whole text cut the way Elasticsearch's built-in analysers cut Chinese:

- ``bigram``: overlapping CJK character bigrams, a lone CJK character as itself, other words
  lower-cased (the `cjk` analyser);
- ``unigram``: every CJK character a token, other words lower-cased (the `standard` analyser).

Query text is cut the same way and every token counts as often as it occurs (a `match` query).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from expertpool.domain.models import Expert
from expertpool.domain.text import to_halfwidth

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKENS = re.compile(rf"[{_CJK}]+|[^\W{_CJK}_]+", re.UNICODE)


def cjk_bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run in _TOKENS.findall(to_halfwidth(text).lower()):
        if _is_cjk(run[0]):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def unigrams(text: str) -> list[str]:
    out: list[str] = []
    for run in _TOKENS.findall(to_halfwidth(text).lower()):
        if _is_cjk(run[0]):
            out.extend(run)
        else:
            out.append(run)
    return out


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


ANALYSERS: dict[str, Callable[[str], list[str]]] = {"bigram": cjk_bigrams, "unigram": unigrams}


def expert_text(expert: Expert) -> str:
    """Everything a plugin-less index would hold for the expert, in one field."""
    return " ".join(filter(None, [expert.name, " ".join(expert.fields), " ".join(expert.keywords), expert.research,
                                  expert.discipline or "", expert.institution, expert.department or ""]))


class BM25:
    """BM25 over token lists, Lucene's formula: idf = ln(1 + (N - n + 0.5) / (n + 0.5)),
    tf / (tf + k1 (1 - b + b dl / avgdl))."""

    def __init__(self, docs: Iterable[tuple[str, Sequence[str]]], k1: float = 1.2, b: float = 0.75):
        import numpy as np

        self.ids: list[str] = []
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths: list[int] = []
        for position, (doc_id, tokens) in enumerate(docs):
            self.ids.append(doc_id)
            lengths.append(len(tokens))
            for token, tf in Counter(tokens).items():
                entry = postings.get(token)
                if entry is None:
                    entry = postings[token] = ([], [])
                entry[0].append(position)
                entry[1].append(tf)
        n = len(self.ids)
        dl = np.asarray(lengths, dtype=np.float64)
        avgdl = dl.mean() if n else 1.0
        self._norm = k1 * (1 - b + b * dl / (avgdl or 1.0))
        self._postings = {t: (np.asarray(d, dtype=np.int64), np.asarray(f, dtype=np.float64))
                          for t, (d, f) in postings.items()}
        self._n = n

    def rank(self, tokens: Sequence[str], k: int = 10) -> list[str]:
        import numpy as np

        score = np.zeros(self._n)
        for token, qtf in Counter(tokens).items():
            entry = self._postings.get(token)
            if entry is None:
                continue
            docs, tf = entry
            idf = math.log(1 + (self._n - len(docs) + 0.5) / (len(docs) + 0.5))
            score[docs] += qtf * idf * tf / (tf + self._norm[docs])
        hits = np.flatnonzero(score > 0)
        if not len(hits):
            return []
        # by score, then id (as the stores break ties)
        order = sorted(hits.tolist(), key=lambda p: (-score[p], self.ids[p]))[:k]
        return [self.ids[p] for p in order]


def baseline(experts: Iterable[Expert], analyser: str) -> Callable[[str, int], list[str]]:
    """`search(text, k)` → ids, BM25 over the experts' whole text under `analyser`."""
    cut = ANALYSERS[analyser]
    index = BM25((e.id, cut(expert_text(e))) for e in experts)
    return lambda text, k: index.rank(cut(text), k)
