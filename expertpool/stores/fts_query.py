"""Translate a `SearchQuery` into SQLite FTS5 MATCH syntax and SQL filter clauses."""
from __future__ import annotations

from collections.abc import Sequence

from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchFilters


def quote(token: str) -> str:
    """An FTS5 string literal: the token is matched as written, operators inside are inert."""
    return '"' + token.replace('"', '""') + '"'


def match_expression(terms: Sequence[QueryTerm]) -> str:
    """OR of every alternative of every term: any matching expert qualifies, bm25 ranks by how much."""
    alternatives = dict.fromkeys(alt for term in terms for alt in term.alternatives if alt.strip())
    return " OR ".join(quote(a) for a in alternatives)


def any_of(tokens: Sequence[str]) -> str:
    """OR of tokens (each quoted), once each in order: the MATCH expression for bigrams."""
    return " OR ".join(quote(t) for t in dict.fromkeys(t for t in tokens if t.strip()))


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join('?' * len(values))})"


def filter_sql(filters: SearchFilters, alias: str = "e") -> tuple[str, list]:
    """A WHERE fragment over the `experts` table (aliased) and its parameters; '1' when no filter."""
    clauses: list[str] = []
    params: list = []
    for column, values in (("region", filters.regions), ("title", filters.titles),
                           ("institution", filters.institutions), ("status", filters.statuses)):
        if values:
            clauses.append(_in(f"{alias}.{column}", values))
            params.extend(values)
    for column, values in (("fields", filters.fields), ("honours", filters.honours)):
        if values:
            clauses.append(f"EXISTS (SELECT 1 FROM json_each({alias}.{column}) j WHERE {_in('j.value', values)})")
            params.extend(values)
    if filters.exclude_ids:
        ids = sorted(filters.exclude_ids)
        clauses.append(f"NOT {_in(f'{alias}.id', ids)}")
        params.extend(ids)
    return (" AND ".join(clauses) or "1"), params
