"""FTS5 query translation (no database needed)."""
from __future__ import annotations

from expertpool.segment import QueryTerm
from expertpool.stores.base import SearchFilters
from expertpool.stores.fts_query import filter_sql, match_expression, quote


def test_tokens_are_quoted_so_operators_are_inert():
    assert quote('a"b') == '"a""b"'
    assert match_expression([QueryTerm("and", ("and",)), QueryTerm("near", ("near",))]) == '"and" OR "near"'


def test_alternatives_are_ored_and_deduplicated():
    terms = [QueryTerm("ai", ("ai", "人工智能")), QueryTerm("人工智能", ("人工智能", "ai"))]
    assert match_expression(terms) == '"ai" OR "人工智能"'


def test_no_filters_is_true():
    assert filter_sql(SearchFilters()) == ("1", [])


def test_filters_and_parameters():
    sql, params = filter_sql(SearchFilters(regions=("重庆",), fields=("新材料", "新能源"),
                                           exclude_ids=frozenset({"B", "A"})))
    assert sql == ("e.region IN (?) AND EXISTS (SELECT 1 FROM json_each(e.fields) j WHERE j.value IN (?, ?)) "
                   "AND NOT e.id IN (?, ?)")
    assert params == ["重庆", "新材料", "新能源", "A", "B"]
