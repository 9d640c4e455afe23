"""Relevance on real research text, a small fast version of bench/bench_relevance.py: the CSL
papers (data/csl, committed) as experts beside generated ones, ranked by the SQLite store and by
the plugin-less baselines in the same process. The figures of the full benchmark are in
bench/README.md; here the ranking must at least hold its own against the bigram baseline."""
from __future__ import annotations

import statistics

import pytest

from expertpool.evaluation.baselines import baseline
from expertpool.evaluation.csl import build_pool, load_papers
from expertpool.evaluation.generated import generated_experts
from expertpool.evaluation.metrics import precision_at, reciprocal_rank
from expertpool.stores.base import SearchFilters
from expertpool.stores.sqlite import SQLiteStore
from expertpool.stores.textindex import query_for


@pytest.fixture(scope="module")
def pool():
    return build_pool(seed=1)


@pytest.fixture(scope="module")
def ranked(pool, tmp_path_factory):
    """ExpertPool's and the baselines' rankings of every judged query, among 8,000 generated experts
    (fewer generated experts favour the unigram baseline: with 3,000 it ties ours on discipline
    precision; with 32,000, bench/README.md, ours leads both)."""
    experts, _ = generated_experts(8000, seed=2)
    everyone = experts + pool.experts
    store = SQLiteStore(tmp_path_factory.mktemp("csl") / "csl.sqlite3")
    store.upsert_experts(everyone)
    assert store.rank_index() is not None

    def ours(text, k):
        return [h.expert.id for h in store.search(query_for(text, SearchFilters(), k))]

    systems = {"ours": ours, "bigram": baseline(everyone, "bigram"), "unigram": baseline(everyone, "unigram")}
    out = {}
    for name, search in systems.items():
        out[name] = {"known": [search(q.text, 100) for q in pool.known_items],
                     "discipline": [search(q.text, 10) for q in pool.discipline_queries]}
    store.close()
    return out


def mrr(pool, rankings):
    return statistics.mean(reciprocal_rank(r, q.expert_id) for r, q in zip(rankings, pool.known_items))


def p10(pool, rankings):
    return statistics.mean(precision_at(r, q.relevant, 10) for r, q in zip(rankings, pool.discipline_queries))


def test_the_committed_papers_are_the_csl_dev_split():
    papers = load_papers()
    assert len(papers) == 1000 and len({p.discipline for p in papers}) == 67
    assert all(p.title and p.abstract and p.keywords for p in papers)


def test_the_pool_pairs_papers_of_one_discipline(pool):
    assert len(pool.experts) > 350 and len(pool.discipline_queries) > 200
    for expert in pool.experts:
        a, b = pool.papers[expert.id]
        assert a.discipline == b.discipline and a.n != b.n
    held = {p.n for p in pool.held_out}
    assert not held & {p.n for pair in pool.papers.values() for p in pair}


@pytest.mark.slow
def test_known_items_are_found_at_least_as_well_as_by_bigrams(pool, ranked):
    ours, bigram = mrr(pool, ranked["ours"]["known"]), mrr(pool, ranked["bigram"]["known"])
    print(f"\nknown-item MRR: ours {ours:.3f}, bigram {bigram:.3f}, unigram {mrr(pool, ranked['unigram']['known']):.3f}")
    assert ours >= bigram - 0.005 and ours > 0.95


@pytest.mark.slow
def test_discipline_precision_beats_both_baselines(pool, ranked):
    ours, bigram, unigram = (p10(pool, ranked[s]["discipline"]) for s in ("ours", "bigram", "unigram"))
    print(f"\ndiscipline P@10: ours {ours:.3f}, bigram {bigram:.3f}, unigram {unigram:.3f}")
    assert ours > bigram and ours > unigram
