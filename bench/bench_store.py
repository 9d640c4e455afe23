"""Import, re-import, search latency and search quality on the generated pool, per store.

    python bench/bench_store.py --count 32000 --seed 1 --backends sqlite,elasticsearch

Prints a markdown table per measurement. Elasticsearch needs EXPERTPOOL_ES_URL (scripts/es-local start).
Goals (issues 2 and 3): embedded import ≤ 10 s, ES import ≤ 20 s; search p50/p99 ≤ 10/50 ms embedded,
≤ 20/100 ms ES; `expertpool --help` cold start ≤ 0.5 s.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from expertpool.config import StoreConfig  # noqa: E402
from expertpool.services.access import actor_for  # noqa: E402
from expertpool.synthetic.generate import FILE_NAMES, generate_pool  # noqa: E402
from expertpool.services.importing import import_files  # noqa: E402
from expertpool.services.search import SearchRequest, search_experts  # noqa: E402
from expertpool.stores import open_store  # noqa: E402


#: the truth covers experts of every status: search them all (the CLI's default is 在库 only)
ALL = ("全部",)


def pool_dir(count: int, seed: int, projects: int) -> Path:
    out = ROOT / "bench" / "out" / f"pool-{count}-{seed}-{projects}"
    if not (out / FILE_NAMES["truth"]).exists():
        t = time.perf_counter()
        generate_pool(count, seed, out, projects=projects)
        print(f"generated {count} experts in {time.perf_counter() - t:.1f} s → {out}", file=sys.stderr)
    return out


def load_truth(out: Path):
    experts: dict[str, set[str]] = {}
    projects: dict[str, set[str]] = {}
    for line in (out / FILE_NAMES["truth"]).read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if "kind" not in rec:  # the header line saying what the file is
            continue
        if rec["kind"] == "expert":
            # A person in both lists is stored under the number of the list imported first (四川).
            ids = [rec["id"]] + ([rec["also"]] if rec.get("also") else [])
            canonical = next((i for i in ids if i.startswith("SC-")), ids[0])
            experts[canonical] = set(rec["topics"])
        else:
            projects[rec["id"]] = set(rec["topics"])
    return experts, projects


def open_backend(backend: str, workdir: Path):
    if backend == "sqlite":
        return open_store(StoreConfig(backend="sqlite", db_path=workdir / "bench.sqlite3"))
    url = os.environ.get("EXPERTPOOL_ES_URL")
    if not url:
        raise SystemExit("EXPERTPOOL_ES_URL is not set: run `export EXPERTPOOL_ES_URL=$(scripts/es-local start)`")
    return open_store(StoreConfig(backend="elasticsearch", es_url=url, es_index_prefix=f"bench-{uuid.uuid4().hex[:8]}"))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def generated_queries(truth: dict[str, set[str]], n: int, seed: int) -> list[SearchRequest]:
    """1–3 true topics per query; a third of the queries also filter by region or title."""
    rng = random.Random(seed)
    topics = sorted({t for ts in truth.values() for t in ts})
    out = []
    for _ in range(n):
        text = " ".join(rng.sample(topics, rng.choice([1, 1, 2, 3])))
        roll = rng.random()
        if roll < 0.15:
            out.append(SearchRequest(text, regions=(rng.choice(["四川", "重庆"]),), statuses=ALL, limit=20))
        elif roll < 0.3:
            out.append(SearchRequest(text, titles=("正高级",), statuses=ALL, limit=20))
        else:
            out.append(SearchRequest(text, statuses=ALL, limit=20))
    return out


def ndcg_at(ranked: list[str], gains: dict[str, float], k: int) -> float:
    dcg = sum(gains.get(e, 0.0) / math.log2(i + 2) for i, e in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def judged_sets(expert_truth, project_truth, project_texts, n_topics: int, seed: int):
    """Two judged sets: single-topic queries (relevant: experts holding that topic) and project
    texts (gain: number of topics the expert shares with the project)."""
    rng = random.Random(seed)
    by_topic: dict[str, set[str]] = {}
    for eid, topics in expert_truth.items():
        for t in topics:
            by_topic.setdefault(t, set()).add(eid)
    topic_queries = []
    for topic in rng.sample(sorted(by_topic), min(n_topics, len(by_topic))):
        topic_queries.append((topic, {e: 1.0 for e in by_topic[topic]}))
    project_queries = []
    for pid, topics in sorted(project_truth.items()):
        gains: dict[str, float] = {}
        for t in topics:
            for e in by_topic.get(t, ()):
                gains[e] = gains.get(e, 0.0) + 1.0
        if gains and pid in project_texts:
            project_queries.append((project_texts[pid], gains))
    return {"topic": topic_queries, "project": project_queries}


def generated_judged(out: Path, n_topics: int, seed: int):
    """The generated pool's truth (expert id → topics) and its judged query sets (`judged_sets`,
    projects asked by title and keywords)."""
    expert_truth, project_truth = load_truth(out)
    project_texts = {}
    for line in (out / "projects.jsonl").read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        project_texts[p["id"]] = " ".join([p["title"], *p.get("keywords", [])])
    return expert_truth, judged_sets(expert_truth, project_truth, project_texts, n_topics, seed)


def evaluate(search_fn, judged) -> dict[str, float]:
    ndcg, recall = [], []
    for text, gains in judged:
        ranked = search_fn(text)
        ndcg.append(ndcg_at(ranked, gains, 10))
        relevant = set(gains)
        recall.append(len(relevant & set(ranked[:50])) / min(len(relevant), 50))
    return {"ndcg@10": statistics.mean(ndcg), "recall@50": statistics.mean(recall)}


def es_baseline(store):
    """What a plugin-less server does by default: the raw text under the `standard` analyser
    (CJK character unigrams), no jieba."""
    from expertpool.stores.es_query import BASELINE_FIELD

    def search(text: str, limit: int) -> list[str]:
        resp = store._es.search(index=store.experts_alias, query={"match": {BASELINE_FIELD: text}},
                                size=limit, source=False, sort=["_score", {"id": "asc"}])
        return [hit["_id"] for hit in resp["hits"]["hits"]]
    return search


def bench_backend(backend: str, out: Path, workdir: Path, n_queries: int, seed: int, expert_truth, judged):
    store = open_backend(backend, workdir)
    actor = actor_for(store, "bench")
    files = [out / "sichuan_experts.csv", out / "chongqing_experts.xlsx"]
    row: dict[str, object] = {"backend": backend}
    try:
        t = time.perf_counter()
        report = import_files(store, files, actor)
        row["import_s"] = time.perf_counter() - t
        row["experts"] = store.count_experts()
        row["rejected"] = report.rejected
        t = time.perf_counter()
        again = import_files(store, files, actor)
        row["reimport_s"] = time.perf_counter() - t
        row["reimport_changed"] = sum(f.imported + f.updated + f.merged for f in again.files)
        queries = generated_queries(expert_truth, n_queries, seed)
        for q in queries[:20]:  # warm caches and the segmenter
            search_experts(store, q)
        latencies = []
        for q in queries:
            t = time.perf_counter()
            search_experts(store, q)
            latencies.append((time.perf_counter() - t) * 1000)
        row["p50_ms"] = percentile(latencies, 0.5)
        row["p99_ms"] = percentile(latencies, 0.99)
        # Search quality with jieba tokens; ids map back to the list number the truth uses.
        def jieba_search(text: str) -> list[str]:
            hits = search_experts(store, SearchRequest(text, statuses=ALL, limit=50)).hits
            return [h.expert.id for h in hits]
        quality = {name: evaluate(jieba_search, qs) for name, qs in judged.items()}
        row["quality"] = {"jieba": quality}
        baseline = es_baseline(store) if backend == "elasticsearch" else None
        if baseline is not None:
            row["quality"]["standard (char unigram)"] = {
                name: evaluate(lambda text: baseline(text, 50), qs) for name, qs in judged.items()}
        row["top10"] = {text: jieba_search(text)[:10] for text, _ in judged["topic"][:30]}
    finally:
        if backend == "elasticsearch":
            store.delete_indices()
        store.close()
    return row


def cold_start(runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "expertpool.cli.main", "--help"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--judged-topics", type=int, default=200)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()

    out = pool_dir(args.count, args.seed, args.projects)
    expert_truth, judged = generated_judged(out, args.judged_topics, args.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            rows.append(bench_backend(backend.strip(), out, Path(tmp), args.queries, args.seed, expert_truth, judged))

    print(f"\n### Import and search — {args.count} generated experts (seed {args.seed}), {args.queries} queries\n")
    print("| store | experts | import (s) | re-import, no change (s) | changed on re-import | search p50 (ms) | search p99 (ms) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['experts']} | {r['import_s']:.1f} | {r['reimport_s']:.1f} | "
              f"{r['reimport_changed']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |")
    print(f"\n### Search quality — {len(judged['topic'])} single-topic queries, {len(judged['project'])} project queries\n")
    print("| store | analysis | topic nDCG@10 | topic recall@50 | project nDCG@10 | project recall@50 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        for analysis, q in r["quality"].items():
            print(f"| {r['backend']} | {analysis} | {q['topic']['ndcg@10']:.3f} | {q['topic']['recall@50']:.3f} | "
                  f"{q['project']['ndcg@10']:.3f} | {q['project']['recall@50']:.3f} |")
    if len(rows) > 1:
        a, b = rows[0]["top10"], rows[1]["top10"]
        overlaps = [len(set(a[q]) & set(b[q])) / max(len(a[q]), 1) for q in a]
        print(f"\nTop-10 overlap {rows[0]['backend']} vs {rows[1]['backend']} over {len(overlaps)} topic queries: "
              f"mean {statistics.mean(overlaps):.2f}, min {min(overlaps):.2f}")
    print(f"\n`expertpool --help` cold start (median of 7): {cold_start():.2f} s")


if __name__ == "__main__":
    main()
