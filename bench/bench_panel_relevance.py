"""Panel relevance (issue 14, item 5): who qualifies for a project, on generated projects and on
CSL papers used as applications.

    python bench/bench_panel_relevance.py --count 32000 --seed 1

The pool is bench_relevance.py's (the generated experts imported from their files, plus the CSL
experts), SQLite. Projects: the generated pool's 200 projects (with their fields), and the
held-out CSL papers of disciplines that map to the 11 fields (`csl.DISCIPLINE_FIELDS`) as
applications (title, keywords, abstract, fields of the discipline). Qualified: relevance ≥ 0.3 of
the project's best, among experts 在库. Reported: the share of qualified (expert, project) pairs
with no field in common, under

- *whole text*: one query of title + keywords + abstract, no stop list, no field rule (how the
  draw ranked before);
- *relevance, no field rule*: services/relevance.py with `require_common_field` off (the stop
  lists and weighting alone);
- *relevance*: services/relevance.py as a draw runs it (a field in common required).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_store import open_backend, pool_dir  # noqa: E402

from expertpool import segment  # noqa: E402
from expertpool.domain.models import Person, Project  # noqa: E402
from expertpool.evaluation import csl as csl_eval  # noqa: E402
from expertpool.services.access import actor_for  # noqa: E402
from expertpool.services.importing import import_files  # noqa: E402
from expertpool.services.relevance import RELEVANCE_DEPTH, rank_projects, relevance_by_project  # noqa: E402
from expertpool.stores.base import SearchFilters, SearchQuery  # noqa: E402

THRESHOLD = 0.3


def csl_applications(pool: csl_eval.CslPool) -> list[Project]:
    return [Project(id=f"CSL-P{p.n:04d}", title=p.title, abstract=p.abstract, keywords=list(p.keywords),
                    fields=list(csl_eval.DISCIPLINE_FIELDS[p.discipline]), applicant=Person(name="申请人"))
            for p in pool.held_out if p.discipline in csl_eval.DISCIPLINE_FIELDS]


def whole_text(store, projects: list[Project], index) -> list[list[tuple[str, float]]]:
    queries = [SearchQuery(tuple(segment.query_terms(" ".join([p.title, *p.keywords, p.abstract]))),
                           SearchFilters(statuses=("在库",)), RELEVANCE_DEPTH) for p in projects]
    return store.rank_many(queries, index=index)


def shares(projects, per_project, fields) -> tuple[float, float]:
    """(share of qualified pairs with no field in common, mean qualified per project)."""
    pairs = no_common = 0
    counts = []
    for project, scores in zip(projects, per_project):
        qualified = [e for e, r in scores.items() if r >= THRESHOLD]
        counts.append(len(qualified))
        for e in qualified:
            pairs += 1
            no_common += not set(project.fields) & set(fields[e])
    return (no_common / pairs if pairs else 0.0), statistics.mean(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=200)
    args = parser.parse_args()
    out = pool_dir(args.count, args.seed, args.projects)
    pool = csl_eval.build_pool(seed=args.seed)
    generated = [Project.model_validate(json.loads(line))
                 for line in (out / "projects.jsonl").read_text(encoding="utf-8").splitlines()]
    sets = {"generated projects": generated, "CSL papers as applications": csl_applications(pool)}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["EXPERTPOOL_CACHE_DIR"] = tmp
        store = open_backend("sqlite", Path(tmp))
        import_files(store, [out / "sichuan_experts.csv", out / "chongqing_experts.xlsx"], actor_for(store, "bench"))
        store.upsert_experts(pool.experts)
        fields = {e.id: e.fields for e in store.iter_experts() if e.status == "在库"}
        index = store.rank_index()
        print(f"\n### Panel relevance — {len(fields)} experts 在库; qualified: relevance ≥ {THRESHOLD}\n")
        print("| projects | n | method | qualified per project | qualified pairs with no field in common | time (s) |")
        print("|---|---|---|---|---|---|")
        for name, projects in sets.items():
            t = time.perf_counter()
            rankings = whole_text(store, projects, index)
            per_project = []
            for ranked in rankings:
                top = max((s for _, s in ranked), default=0.0)
                per_project.append({e: s / top for e, s in ranked if e in fields} if top > 0 else {})
            share, mean = shares(projects, per_project, fields)
            print(f"| {name} | {len(projects)} | whole text | {mean:.1f} | {share:.1%} | {time.perf_counter() - t:.1f} |")
            t = time.perf_counter()
            queries, rankings = rank_projects(store, projects, generated, store.data_version())
            elapsed = time.perf_counter() - t
            for label, rule in (("relevance, no field rule", False), ("relevance", True)):
                share, mean = shares(projects, relevance_by_project(queries, rankings, fields, rule), fields)
                print(f"| {name} | {len(projects)} | {label} | {mean:.1f} | {share:.1%} | {elapsed:.1f} |")
        store.close()


if __name__ == "__main__":
    main()
