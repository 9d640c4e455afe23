"""Translate a `SearchQuery` into an Elasticsearch query body (no server needed; see test_es_query.py).

The experts index (``indexes/es/experts.json``) holds each column of `textindex.TEXT_COLUMNS`
as pre-segmented tokens under ``idx.<column>`` (whitespace analyser), and the filterable
attributes as keyword fields. Matching follows the SQLite store: an expert matches when at
least one alternative of one query term occurs in its indexed text (``bool.should`` with
``minimum_should_match: 1``); filters never score (``bool.filter``/``must_not``).

Scoring modes:
- ``bm25f`` (default): one ``combined_fields`` clause per alternative, with the column weights as
  field boosts. This is BM25F — term frequencies weighted per column, one document length —
  the same family as FTS5's ``bm25()`` with column weights, so the two stores rank alike.
- ``most_fields``: one ``multi_match`` (type ``most_fields``) per alternative: a separate BM25
  per column, boosted and summed.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchFilters, SearchQuery
from expertpool.stores.textindex import COLUMN_WEIGHTS, TEXT_COLUMNS

Mode = Literal["bm25f", "most_fields"]
MODES: tuple[str, ...] = ("bm25f", "most_fields")

#: Object under which the pre-segmented columns are indexed: ``idx.name``, ``idx.keywords`` …
TEXT_PREFIX = "idx"
#: Raw text of the indexed columns under the `standard` analyser (CJK character unigrams): a
#: baseline for measuring what our segmentation adds; not used by `search`.
BASELINE_FIELD = "all_text_std"

#: filter → keyword field of the experts index
FILTER_FIELDS: dict[str, str] = {
    "fields": "fields",
    "regions": "region",
    "titles": "title",
    "honours": "honours",
    "institutions": "institution",
    "statuses": "status",
}
ID_FIELD = "id"

#: Largest ``from + size`` a single request may ask for (the index's max_result_window);
#: deeper pages are read with search_after.
MAX_WINDOW = 10_000


def text_fields(weights: dict[str, float] | None = None) -> list[str]:
    """``idx.<column>^<weight>`` for every indexed column, in `TEXT_COLUMNS` order."""
    weights = weights or COLUMN_WEIGHTS
    return [f"{TEXT_PREFIX}.{c}^{_num(weights[c])}" for c in TEXT_COLUMNS]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def alternatives(terms: Sequence[QueryTerm]) -> list[str]:
    """Every alternative of every term, once, in order (blank ones dropped)."""
    return list(dict.fromkeys(a for t in terms for a in t.alternatives if a.strip()))


def alternative_clause(alternative: str, mode: Mode = "bm25f",
                       weights: dict[str, float] | None = None) -> dict:
    """The scoring clause for one alternative across the weighted columns.

    Tokens are indexed whitespace-separated, so an alternative that itself contains spaces
    must match all its tokens (``operator: and``), like an FTS5 string.
    """
    fields = text_fields(weights)
    if mode == "bm25f":
        return {"combined_fields": {"query": alternative, "fields": fields, "operator": "and"}}
    if mode == "most_fields":
        return {"multi_match": {"query": alternative, "type": "most_fields", "fields": fields,
                                "operator": "and"}}
    raise ValueError(f"unknown scoring mode {mode!r}; choose one of {MODES}")


def filter_clauses(filters: SearchFilters) -> tuple[list[dict], list[dict]]:
    """(filter, must_not) clauses: AND across filters, OR (``terms``) within one."""
    out: list[dict] = []
    for attr, field in FILTER_FIELDS.items():
        values = getattr(filters, attr)
        if values:
            out.append({"terms": {field: list(values)}})
    must_not: list[dict] = []
    if filters.exclude_ids:
        must_not.append({"terms": {ID_FIELD: sorted(filters.exclude_ids)}})
    return out, must_not


def query_clause(query: SearchQuery, mode: Mode = "bm25f", weights: dict[str, float] | None = None) -> dict:
    """The ``query`` part of the search body."""
    filters, must_not = filter_clauses(query.filters)
    boolean: dict = {}
    alts = alternatives(query.terms)
    if query.terms and not alts:
        # Terms were given but all are blank: nothing can match (the SQLite store finds nothing too).
        return {"bool": {"must_not": [{"match_all": {}}]}}
    if alts:
        boolean["should"] = [alternative_clause(a, mode, weights) for a in alts]
        boolean["minimum_should_match"] = 1
    if filters:
        boolean["filter"] = filters
    if must_not:
        boolean["must_not"] = must_not
    if not boolean:
        return {"match_all": {}}
    return {"bool": boolean}


def sort_clause(query: SearchQuery) -> list:
    """Relevance then id; id alone when there are no terms."""
    if query.terms:
        return [{"_score": {"order": "desc"}}, {ID_FIELD: {"order": "asc"}}]
    return [{ID_FIELD: {"order": "asc"}}]


def search_body(query: SearchQuery, mode: Mode = "bm25f", weights: dict[str, float] | None = None,
                source: Sequence[str] = ("doc", f"{TEXT_PREFIX}.*")) -> dict:
    """A complete body for the search API. Pages past `MAX_WINDOW` are the caller's (search_after)."""
    body: dict = {
        "query": query_clause(query, mode, weights),
        "sort": sort_clause(query),
        "_source": list(source),
        "track_total_hits": False,
    }
    if query.offset + query.limit <= MAX_WINDOW:
        body["from"] = query.offset
        body["size"] = query.limit
    return body
