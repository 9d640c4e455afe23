"""Relevance on real research text (CSL papers) and on the generated pool, per store, against
plugin-less baselines run in the same process on the same experts.

    python bench/bench_relevance.py --count 32000 --seed 1 --backends sqlite,elasticsearch

The pool: the generated experts (`expertpool generate --count N --seed S`, imported from its
files) plus the CSL pool of `expertpool.evaluation.csl` (each expert two real papers of one
discipline). Judged queries:

- CSL known item: a pooled paper's abstract → the expert holding it (MRR, recall@10);
- CSL discipline: a held-out paper's title + keywords → every expert of its discipline
  (precision@10, nDCG@10; "condensed" P@10 also, over CSL experts only, since generated experts
  are unjudged for CSL disciplines);
- generated topic / project queries as in bench_store.py (nDCG@10, recall@50).

Baselines: BM25 (Lucene's formula) over character bigrams (Elasticsearch's `cjk` analyser) and
single characters (its `standard` analyser) of each expert's whole text. Latency: the search use
case (`search_experts`, word report included) for short queries (1–3 generated topics) and
project-length ones (300 characters of a CSL abstract). Parity: top-10 overlap between the stores.
Elasticsearch needs EXPERTPOOL_ES_URL (scripts/es-local start).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_store import generated_judged, open_backend, percentile, pool_dir  # noqa: E402

from expertpool.evaluation import csl as csl_eval  # noqa: E402
from expertpool.evaluation.baselines import baseline  # noqa: E402
from expertpool.evaluation.metrics import ndcg_at, precision_at, recall_at, reciprocal_rank  # noqa: E402
from expertpool.services.access import actor_for  # noqa: E402
from expertpool.services.importing import import_files  # noqa: E402
from expertpool.services.search import SearchRequest, search_experts  # noqa: E402
from expertpool.stores.base import SearchFilters  # noqa: E402
from expertpool.stores.textindex import query_for  # noqa: E402

ALL = ("全部",)


def evaluate(search, pool: csl_eval.CslPool, judged: dict) -> dict[str, float]:
    """`search(text, k)` → ranked ids. Every metric of the module docstring."""
    known = [search(q.text, 100) for q in pool.known_items]
    disc = [search(q.text, 300) for q in pool.discipline_queries]
    out = {
        "ki_mrr": statistics.mean(reciprocal_rank(r, q.expert_id) for r, q in zip(known, pool.known_items)),
        "ki_r10": statistics.mean(recall_at(r, q.expert_id, 10) for r, q in zip(known, pool.known_items)),
        "disc_p10": statistics.mean(precision_at(r, q.relevant, 10) for r, q in zip(disc, pool.discipline_queries)),
        "disc_ndcg10": statistics.mean(ndcg_at(r, dict.fromkeys(q.relevant, 1.0), 10)
                                       for r, q in zip(disc, pool.discipline_queries)),
        "disc_p10_condensed": statistics.mean(
            precision_at([e for e in r if e in pool.papers], q.relevant, 10) for r, q in zip(disc, pool.discipline_queries)),
    }
    for name, queries in judged.items():
        ndcg, recall = [], []
        for text, gains in queries:
            ranked = search(text, 50)
            ndcg.append(ndcg_at(ranked, gains, 10))
            recall.append(len(set(gains) & set(ranked[:50])) / min(len(gains), 50))
        out[f"{name}_ndcg10"] = statistics.mean(ndcg)
        out[f"{name}_r50"] = statistics.mean(recall)
    return out


def store_search(store):
    def search(text: str, k: int) -> list[str]:
        return [h.expert.id for h in store.search(query_for(text, SearchFilters(), k))]
    return search


def latencies(store, texts: list[str], warm: int = 20) -> tuple[float, float]:
    for text in texts[:warm]:
        search_experts(store, SearchRequest(text, statuses=ALL, limit=20))
    times = []
    for text in texts:
        t = time.perf_counter()
        search_experts(store, SearchRequest(text, statuses=ALL, limit=20))
        times.append((time.perf_counter() - t) * 1000)
    return percentile(times, 0.5), percentile(times, 0.99)


def short_queries(expert_truth, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    topics = sorted({t for ts in expert_truth.values() for t in ts})
    return [" ".join(rng.sample(topics, rng.choice([1, 1, 2, 3]))) for _ in range(n)]


def project_queries(pool: csl_eval.CslPool, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    papers = [p for pair in pool.papers.values() for p in pair]
    return [(p.title + " " + " ".join(p.keywords) + " " + p.abstract)[:300] for p in rng.sample(papers, min(n, len(papers)))]


def run_backend(backend: str, workdir: Path, out: Path, pool, judged, args, expert_truth) -> dict:
    store = open_backend(backend, workdir)
    try:
        t = time.perf_counter()
        import_files(store, [out / "sichuan_experts.csv", out / "chongqing_experts.xlsx"], actor_for(store, "bench"))
        store.upsert_experts(pool.experts)
        load_s = time.perf_counter() - t
        row: dict = {"backend": backend, "experts": store.count_experts(), "load_s": load_s}
        t = time.perf_counter()
        # a long-running process keeps the SQLite rank index of its data (built once; None on Elasticsearch)
        row["index_s"] = time.perf_counter() - t if store.rank_index() is not None else None
        row["quality"] = evaluate(store_search(store), pool, judged)
        row["short_ms"] = latencies(store, short_queries(expert_truth, args.queries, args.seed))
        row["project_ms"] = latencies(store, project_queries(pool, min(args.queries, 300), args.seed))
        sample = random.Random(args.seed).sample(pool.known_items, min(100, len(pool.known_items)))
        search = store_search(store)
        row["top10"] = {
            "CSL discipline": [search(q.text, 10) for q in pool.discipline_queries],
            "CSL known item": [search(q.text, 10) for q in sample],
            "generated topic": [search(text, 10) for text, _ in judged["topic"]],
            "generated project": [search(text, 10) for text, _ in judged["project"]],
        }
        if backend == "sqlite":
            experts = list(store.iter_experts())
            row["baselines"] = {name: evaluate(baseline(experts, name), pool, judged) for name in ("bigram", "unigram")}
    finally:
        if backend == "elasticsearch":
            store.delete_indices()
        store.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--queries", type=int, default=500, help="latency queries per kind")
    parser.add_argument("--judged-topics", type=int, default=200)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()

    out = pool_dir(args.count, args.seed, args.projects)
    expert_truth, judged = generated_judged(out, args.judged_topics, args.seed)
    pool = csl_eval.build_pool(seed=args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            rows.append(run_backend(backend.strip(), Path(tmp), out, pool, judged, args, expert_truth))
            print(f"{backend}: done", file=sys.stderr, flush=True)

    print(f"\n### Relevance — {rows[0]['experts']} experts ({args.count} generated, seed {args.seed}, "
          f"+ {len(pool.experts)} CSL experts); {len(pool.known_items)} known-item and "
          f"{len(pool.discipline_queries)} discipline queries; {len(judged['topic'])} generated topic and "
          f"{len(judged['project'])} project queries\n")
    print("| system | CSL known-item MRR | recall@10 | CSL discipline P@10 | nDCG@10 | P@10 condensed "
          "| generated topic nDCG@10 | recall@50 | project nDCG@10 | recall@50 |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    def line(name, q):
        print(f"| {name} | {q['ki_mrr']:.3f} | {q['ki_r10']:.3f} | {q['disc_p10']:.3f} | {q['disc_ndcg10']:.3f} | "
              f"{q['disc_p10_condensed']:.3f} | {q['topic_ndcg10']:.3f} | {q['topic_r50']:.3f} | "
              f"{q['project_ndcg10']:.3f} | {q['project_r50']:.3f} |")
    for r in rows:
        line(f"ExpertPool, {r['backend']}", r["quality"])
    for r in rows:
        for name, q in r.get("baselines", {}).items():
            line(f"BM25 over character {name}s (in process)", q)
    base = next((r["baselines"]["bigram"] for r in rows if "baselines" in r), None)
    if base:
        for r in rows:
            q = r["quality"]
            print(f"\n{r['backend']}: discipline P@10 {q['disc_p10'] / base['disc_p10']:.2f}× the bigram baseline "
                  f"(goal ≥ 1.15×); known-item MRR {q['ki_mrr']:.3f} vs {base['ki_mrr']:.3f} (goal ≥)")
    print("\n| store | load (import + CSL experts, s) | rank index (s) | short query p50 (ms) | p99 "
          "| 300-character query p50 (ms) | p99 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        index = f"{r['index_s']:.1f}" if r["index_s"] is not None else "–"
        print(f"| {r['backend']} | {r['load_s']:.1f} | {index} | {r['short_ms'][0]:.1f} | {r['short_ms'][1]:.1f} | "
              f"{r['project_ms'][0]:.1f} | {r['project_ms'][1]:.1f} |")
    if len(rows) > 1:
        a, b = rows[0]["top10"], rows[1]["top10"]
        print(f"\nTop-10 overlap {rows[0]['backend']} vs {rows[1]['backend']}:\n")
        print("| queries | n | mean | min |")
        print("|---|---|---|---|")
        for kind in a:
            overlaps = [len(set(x) & set(y)) / max(len(x), 1) for x, y in zip(a[kind], b[kind]) if x or y]
            print(f"| {kind} | {len(overlaps)} | {statistics.mean(overlaps):.3f} | {min(overlaps):.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
