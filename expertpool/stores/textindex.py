"""What text of an expert is indexed, and how much each part weighs. Shared by both stores."""
from __future__ import annotations

from expertpool import segment
from expertpool.domain.models import Expert

#: column → weight in ranking. Keywords and fields say most about expertise; the
#: free-text research description is longer and weighs less per term.
COLUMN_WEIGHTS: dict[str, float] = {
    "name": 10.0,
    "fields": 4.0,
    "keywords": 5.0,
    "research": 3.0,
    "discipline": 2.0,
    "institution": 1.0,
}
TEXT_COLUMNS: tuple[str, ...] = tuple(COLUMN_WEIGHTS)


def index_columns(expert: Expert) -> dict[str, str]:
    """Pre-segmented text per column: space-separated jieba (search-mode) tokens."""
    raw = {
        "name": expert.name,
        "fields": " ".join(expert.fields),
        "keywords": " ".join(expert.keywords),
        "research": expert.research,
        "discipline": expert.discipline or "",
        "institution": " ".join(filter(None, [expert.institution, expert.department])),
    }
    cols = {col: " ".join(segment.index_tokens(text)) for col, text in raw.items()}
    # The name is also indexed whole, so a search for a full name finds the person.
    cols["name"] = " ".join(dict.fromkeys([segment.normalise_token(expert.name), *cols["name"].split()]))
    return cols


def matched_words(terms, columns: dict[str, str]) -> tuple[str, ...]:
    """Which query words (any alternative) occur among an expert's indexed tokens."""
    tokens: set[str] = set()
    for text in columns.values():
        tokens.update(text.split())
    return tuple(t.word for t in terms if any(a in tokens for a in t.alternatives))
