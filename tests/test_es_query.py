"""The Elasticsearch query translation (no server needed) and the index mappings it relies on."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expertpool import segment
from expertpool.segment import QueryTerm
from expertpool.stores import es_query
from expertpool.stores.base import SearchFilters, SearchQuery
from expertpool.stores.es import SIMPLE_INDICES, mapping_path, parse_hosts, record_doc_id
from expertpool.stores.textindex import GRAM_WEIGHT, NAME_SCORE


def terms(*words: str) -> tuple[QueryTerm, ...]:
    return tuple(QueryTerm(w, (w,)) for w in words)


class TestTextQuery:
    def test_each_alternative_once_in_order(self):
        ts = (QueryTerm("ai", ("ai", "人工智能")), QueryTerm("人工智能", ("人工智能", "ai")), QueryTerm("x", (" ",)))
        assert es_query.alternatives(ts) == ["ai", "人工智能"]

    def test_words_grams_and_names_are_the_parts_any_of_which_matches(self):
        q = es_query.query_clause(SearchQuery(terms=(QueryTerm("ai", ("ai", "人工智能")), *terms("芯片")),
                                              grams=("芯片",), names=("芯片",)))
        should = q["bool"]["should"]
        assert should == [{"match": {"idx.words": {"query": "ai 人工智能 芯片"}}},
                          {"match": {"idx.grams": {"query": "芯片", "boost": GRAM_WEIGHT}}},
                          {"constant_score": {"filter": {"terms": {"name_key": ["芯片"]}}, "boost": NAME_SCORE}}]
        assert q["bool"]["minimum_should_match"] == 1
        assert "filter" not in q["bool"] and "must_not" not in q["bool"]

    def test_an_alternative_of_several_tokens_is_a_phrase(self):
        should = es_query.query_clause(SearchQuery(terms=(QueryTerm("锂电", ("锂电", "锂离子 电池")),)))["bool"]["should"]
        assert should == [{"match": {"idx.words": {"query": "锂电"}}},
                          {"match_phrase": {"idx.words": "锂离子 电池"}}]

    def test_operator_characters_stay_text(self):
        should = es_query.query_clause(SearchQuery(terms=terms('a"', "*")))["bool"]["should"]
        assert should[0]["match"]["idx.words"]["query"] == 'a" *'  # match has no query syntax

    def test_blank_terms_match_nothing(self):
        q = es_query.query_clause(SearchQuery(terms=(QueryTerm(" ", (" ",)),)))
        assert q == {"bool": {"must_not": [{"match_all": {}}]}}

    def test_term_counts_aggregate_over_the_whole_index(self):
        aggs = es_query.count_aggregations(["页岩气", "锂离子 电池"], ["压裂"])
        assert aggs == {"counts": {"filters": {"filters": {
            "w0": {"term": {"idx.words": "页岩气"}}, "w1": {"match_phrase": {"idx.words": "锂离子 电池"}},
            "g0": {"term": {"idx.grams": "压裂"}}}}}}


class TestFilters:
    def test_no_filters(self):
        assert es_query.filter_clauses(SearchFilters()) == ([], [])
        assert es_query.query_clause(SearchQuery()) == {"match_all": {}}

    def test_and_across_or_within(self):
        f = SearchFilters(fields=("新材料", "新能源"), regions=("重庆",), titles=("正高级",), honours=("长江学者",),
                          institutions=("重庆大学",), statuses=("在库",), exclude_ids=frozenset({"B", "A"}))
        filters, must_not = es_query.filter_clauses(f)
        assert filters == [{"terms": {"fields": ["新材料", "新能源"]}}, {"terms": {"region": ["重庆"]}},
                           {"terms": {"title": ["正高级"]}}, {"terms": {"honours": ["长江学者"]}},
                           {"terms": {"institution": ["重庆大学"]}}, {"terms": {"status": ["在库"]}}]
        assert must_not == [{"terms": {"id": ["A", "B"]}}]

    def test_filters_do_not_score(self):
        q = es_query.query_clause(SearchQuery(terms=terms("芯片"), filters=SearchFilters(regions=("四川",))))
        assert q["bool"]["filter"] == [{"terms": {"region": ["四川"]}}]
        assert len(q["bool"]["should"]) == 1

    def test_filters_only(self):
        q = es_query.query_clause(SearchQuery(filters=SearchFilters(exclude_ids=frozenset({"X"}))))
        assert q == {"bool": {"must_not": [{"terms": {"id": ["X"]}}]}}


class TestBody:
    def test_ranked_body(self):
        body = es_query.search_body(SearchQuery(terms=terms("芯片"), limit=10, offset=20))
        assert body["sort"] == [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
        assert (body["from"], body["size"]) == (20, 10)
        assert body["_source"] == ["doc", "idx.*", "name_key"]

    def test_listing_is_by_id(self):
        assert es_query.search_body(SearchQuery())["sort"] == [{"id": {"order": "asc"}}]

    def test_deep_pages_are_left_to_search_after(self):
        body = es_query.search_body(SearchQuery(limit=5_000, offset=6_000))
        assert "from" not in body and "size" not in body

    @given(st.lists(st.text(min_size=1, max_size=8), max_size=6), st.integers(0, 20_000), st.integers(0, 20_000))
    def test_body_is_always_json(self, words, limit, offset):
        body = es_query.search_body(SearchQuery(terms=terms(*words), limit=limit, offset=offset))
        assert json.loads(json.dumps(body, ensure_ascii=False)) == body
        if words and any(w.strip() for w in words):
            should = body["query"]["bool"]["should"]
            assert len(should) == len(es_query.word_clauses(es_query.alternatives(terms(*words))))

    def test_real_query_terms(self):
        body = es_query.search_body(SearchQuery(terms=tuple(segment.query_terms("人工智能芯片"))))
        words = body["query"]["bool"]["should"][0]["match"]["idx.words"]["query"].split()
        assert "ai" in words and "人工智能" in words  # the synonym group travels as alternatives


class TestMappings:
    """The JSON under indexes/es/ agrees with what the translation and the store expect."""

    def load(self, name):
        return json.loads(mapping_path(name).read_text(encoding="utf-8"))

    def test_every_index_has_a_mapping_file(self):
        for name in ("experts", *SIMPLE_INDICES):
            body = self.load(name)
            assert body["mappings"]["dynamic"] == "strict"
            assert body["settings"]["index"]["number_of_shards"] == 1

    def test_text_columns_use_whitespace_over_our_tokens(self):
        props = self.load("experts")["mappings"]["properties"]
        assert set(props[es_query.TEXT_PREFIX]["properties"]) == {"words", "grams"}
        assert props[es_query.NAME_FIELD] == {"type": "keyword"}
        for spec in props[es_query.TEXT_PREFIX]["properties"].values():
            assert spec == {"type": "text", "analyzer": "whitespace"}
        assert props[es_query.BASELINE_FIELD]["analyzer"] == "standard"
        assert props["doc"] == {"type": "object", "enabled": False}
        similarity = self.load("experts")["settings"]["index"]["similarity"]["default"]
        assert similarity == {"type": "BM25", "k1": 1.2, "b": 0.75}  # FTS5's bm25() constants

    def test_filter_fields_are_keywords(self):
        props = self.load("experts")["mappings"]["properties"]
        for field in [*es_query.FILTER_FIELDS.values(), es_query.ID_FIELD, "source_ids"]:
            assert props[field]["type"] == "keyword", field

    def test_only_core_analysers(self):
        text = mapping_path("experts").read_text(encoding="utf-8")
        for name in ("ik_", "smartcn", "icu_", "char_filter", "tokenizer"):
            assert name not in text


class TestConnection:
    def test_hosts_get_scheme_and_port_and_lose_credentials(self):
        hosts, auth = parse_hosts(" es1:9201, https://user:s3cret@es2.example.cn ,http://[::1]:9250/")
        assert hosts == ["http://es1:9201", "https://es2.example.cn:9200", "http://[::1]:9250"]
        assert auth == ("user", "s3cret")

    def test_https_by_default_with_a_ca(self):
        assert parse_hosts("es1", ca_certs="/etc/ca.pem")[0] == ["https://es1:9200"]

    def test_an_empty_url_is_an_input_error(self):
        from expertpool.errors import InputError

        with pytest.raises(InputError):
            parse_hosts(" , ")

    def test_record_ids_stay_under_the_limit(self):
        assert record_doc_id("relation", "a|b") == "relation|a|b"
        long = record_doc_id("relation", "长" * 300)
        assert long.startswith("relation|sha1:") and len(long.encode()) < 512
