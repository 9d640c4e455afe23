"""Translate a `SearchQuery` into an Elasticsearch query body (no server needed; see test_es_query.py).

The experts index (``indexes/es/experts.json``) holds the text of `textindex.index_text` as
pre-segmented tokens on whitespace-analysed fields — ``idx.words`` (dictionary words) and
``idx.grams`` (character bigrams) — the whole name as the keyword ``name_key``, and the filterable
attributes as keyword fields. The query mirrors the SQLite store's SQL part by part, so the two
rank alike (top-10 overlap checked in the contract suite):

- words: one BM25 ``match`` over the word alternatives (an alternative of several tokens is a
  phrase, as in FTS5);
- grams: one BM25 ``match`` over the bigrams, boosted by `textindex.GRAM_WEIGHT`;
- name: ``constant_score`` `textindex.NAME_SCORE` when ``name_key`` is one of the query's names.

An expert matches when any part does (``bool.should`` with ``minimum_should_match: 1``); filters
never score (``bool.filter``/``must_not``). The remaining differences from FTS5's bm25 are
Lucene's idf (ln(1 + N/n) rather than ln(N/n)) and its one-byte encoding of field lengths.
"""
from __future__ import annotations

from collections.abc import Sequence

from expertpool.stores.base import SearchFilters, SearchQuery
from expertpool.stores.textindex import GRAM_WEIGHT, NAME_SCORE, word_alternatives

#: Object under which the pre-segmented text is indexed: ``idx.words``, ``idx.grams``
TEXT_PREFIX = "idx"
WORDS_FIELD = f"{TEXT_PREFIX}.words"
GRAMS_FIELD = f"{TEXT_PREFIX}.grams"
NAME_FIELD = "name_key"
#: Raw text of the expert under the `standard` analyser (CJK character unigrams): a baseline for
#: measuring what our segmentation adds; not used by `search`.
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


def alternatives(terms) -> list[str]:
    """Every alternative of every term, once, in order (blank ones dropped)."""
    return word_alternatives(terms)


def word_clauses(words: Sequence[str]) -> list[dict]:
    """BM25 clauses for the word alternatives: single tokens in one ``match``, each alternative of
    several tokens a ``match_phrase`` (FTS5 reads a quoted string of several tokens as a phrase)."""
    single = [w for w in words if len(w.split()) == 1]
    clauses: list[dict] = []
    if single:
        clauses.append({"match": {WORDS_FIELD: {"query": " ".join(single)}}})
    clauses += [{"match_phrase": {WORDS_FIELD: w}} for w in words if len(w.split()) > 1]
    return clauses


def gram_clause(grams: Sequence[str]) -> dict:
    return {"match": {GRAMS_FIELD: {"query": " ".join(grams), "boost": GRAM_WEIGHT}}}


def name_clause(names: Sequence[str]) -> dict:
    return {"constant_score": {"filter": {"terms": {NAME_FIELD: list(names)}}, "boost": NAME_SCORE}}


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


def query_clause(query: SearchQuery) -> dict:
    """The ``query`` part of the search body."""
    filters, must_not = filter_clauses(query.filters)
    boolean: dict = {}
    if query.ranked:
        words = alternatives(query.terms)
        grams = list(dict.fromkeys(g for g in query.grams if g.strip()))
        should = word_clauses(words)
        if grams:
            should.append(gram_clause(grams))
        if query.names:
            should.append(name_clause(query.names))
        if not should:
            # Terms were given but all are blank: nothing can match (the SQLite store finds nothing too).
            return {"bool": {"must_not": [{"match_all": {}}]}}
        boolean["should"] = should
        boolean["minimum_should_match"] = 1
    if filters:
        boolean["filter"] = filters
    if must_not:
        boolean["must_not"] = must_not
    if not boolean:
        return {"match_all": {}}
    return {"bool": boolean}


def sort_clause(query: SearchQuery) -> list:
    """Relevance then id; id alone when the query does not rank."""
    if query.ranked:
        return [{"_score": {"order": "desc"}}, {ID_FIELD: {"order": "asc"}}]
    return [{ID_FIELD: {"order": "asc"}}]


def search_body(query: SearchQuery, source: Sequence[str] = ("doc", f"{TEXT_PREFIX}.*", NAME_FIELD)) -> dict:
    """A complete body for the search API. Pages past `MAX_WINDOW` are the caller's (search_after)."""
    body: dict = {
        "query": query_clause(query),
        "sort": sort_clause(query),
        "_source": list(source),
        "track_total_hits": False,
    }
    if query.offset + query.limit <= MAX_WINDOW:
        body["from"] = query.offset
        body["size"] = query.limit
    return body


def count_aggregations(words: Sequence[str], grams: Sequence[str]) -> dict:
    """Aggregations counting the experts holding each word (``w<i>``) and bigram (``g<i>``) over
    the whole index (`ExpertStore.term_counts`)."""
    word_filters = {f"w{i}": ({"match_phrase": {WORDS_FIELD: w}} if len(w.split()) > 1 else {"term": {WORDS_FIELD: w}})
                    for i, w in enumerate(words)}
    gram_filters = {f"g{i}": {"term": {GRAMS_FIELD: g}} for i, g in enumerate(grams)}
    return {"counts": {"filters": {"filters": {**word_filters, **gram_filters}}}}
