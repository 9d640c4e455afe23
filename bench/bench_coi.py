"""Benchmark: the conflict graph of a generated pool, and project checks against it.

Prints figures; asserts nothing about time. Goals (issue 4): build the graph of the 32,000-expert
pool in ≤ 3 s; check a project with up to 10 team members in ≤ 100 ms once the graph is built.

    python bench/bench_coi.py                      # 32,000 experts, 100 projects of 10 team members
    python bench/bench_coi.py --count 5000 --projects 20
    python bench/bench_coi.py --keep /tmp/coi-bench # keep the generated files and the SQLite store

Steps: generate the pool (synthetic.generate.generate_pool) into a temporary directory, import it
into a temporary SQLite store with the importer, then time
  - reading the records back from the store,
  - building the graph from those records (ConflictGraph.build) — the figure the 3 s goal is about,
  - checking each project (graph.check), and `panel_exclusions` over all of them.
"""
from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REVIEW_DATE = "2026-06-01"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _calibrate() -> str:
    import timeit

    best = min(timeit.repeat("sum(range(10**6))", number=1, repeat=7))
    return _ms(best)


def _load() -> str:
    try:
        import os

        return " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"
    except (OSError, AttributeError):
        return "unknown"


def synthetic_projects(rng: random.Random, experts, relations, n: int, team_size: int):
    """`n` projects whose applicant and team are drawn from the pool's experts and the outside people
    named in its relations (so checks meet real edges), `team_size` members each."""
    from expertpool.domain.models import Person, Project

    outsiders = [r.other for r in relations if r.other.expert_id is None and r.other.institution]
    in_pool = [Person(name=e.name, institution=e.institution, expert_id=e.id) for e in experts]

    def someone() -> Person:
        return rng.choice(outsiders) if outsiders and rng.random() < 0.6 else rng.choice(in_pool)

    projects = []
    for i in range(n):
        applicant = someone()
        team = [someone() for _ in range(team_size)]
        avoid = [rng.choice(in_pool).expert_id for _ in range(rng.randint(0, 2))]
        projects.append(Project(id=f"BENCH-{i + 1:03d}", title="基准测试项目", applicant=applicant, team=team,
                                institution=applicant.institution, avoid=avoid))
    return projects


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--team", type=int, default=10, help="team members per project")
    parser.add_argument("--keep", type=Path, default=None, help="directory for the files and store (kept)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --keep: reuse the store already there (skip generating and importing)")
    args = parser.parse_args(argv)

    from expertpool.domain.conflicts import ConflictGraph
    from expertpool.services.access import actor_for
    from expertpool.cache.snapshot import load_conflict_graph
    from expertpool.io.datafiles import load_institutions, load_policy
    from expertpool.services.conflicts import panel_exclusions
    from expertpool.synthetic.generate import FILE_NAMES, generate_pool
    from expertpool.services.importing import import_file
    from expertpool.stores.sqlite import SQLiteStore

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="coi-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    files = workdir / "files"
    print(f"pool: {args.count} experts, seed {args.seed}; files and store in {workdir}")
    print(f"machine: {_calibrate()} for sum(range(10**6)) (an idle 2023 laptop: ~10 ms); "
          f"load average {_load()}")

    db = workdir / "pool.sqlite3"
    if args.reuse and db.exists():
        print("reusing the generated files and store")
        store = SQLiteStore(db)
    else:
        t = time.perf_counter()
        generate_pool(args.count, args.seed, files, projects=40, write_truth=False)
        print(f"generate                         {time.perf_counter() - t:7.2f} s")
        if db.exists():
            db.unlink()
        store = SQLiteStore(db)
        actor = actor_for(store, "bench")
        t = time.perf_counter()
        rows_read = rejected = 0
        for kind, source in (("sichuan", "四川"), ("chongqing", "重庆"), ("affiliations", None),
                             ("relations", None), ("projects", None)):
            report = import_file(store, files / FILE_NAMES[kind], actor, source=source)
            rows_read += report.rows_read
            rejected += report.rejected
        print(f"import (5 files)                 {time.perf_counter() - t:7.2f} s   "
              f"rows {rows_read}, rejected {rejected}")

    # the use cases (`coi check`, a panel draw) run with the cyclic collector paused
    # (expertpool.gcpause); so do these measurements, which call the library below them
    gc.disable()
    table = load_institutions()
    policy = load_policy()
    t = time.perf_counter()
    experts = list(store.iter_experts())
    relations = list(store.iter_records("relation"))
    affiliations = list(store.iter_records("affiliation"))
    stored_projects = list(store.iter_records("project"))
    read_s = time.perf_counter() - t
    print(f"read records from SQLite         {read_s:7.2f} s   experts {len(experts)}, relations {len(relations)}, "
          f"affiliations {len(affiliations)}, projects {len(stored_projects)}")

    builds, cpus = [], []
    for _ in range(3):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        graph = ConflictGraph.build(experts, relations, affiliations, stored_projects, table)
        builds.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    stats = graph.stats()
    print(f"build graph (best of 3)          {min(builds):7.2f} s   CPU {min(cpus):.2f} s  (goal ≤ 3 s; runs: "
          f"{', '.join(f'{b:.2f}' for b in builds)})")
    print(f"  nodes: {stats['experts']} experts, {stats['people']} outside people, {stats['units']} units, "
          f"{stats['projects']} projects; {stats['edges']} edges carrying {stats['facts']} relations/affiliations")

    rng = random.Random(args.seed)
    projects = synthetic_projects(rng, experts, relations, args.projects, args.team)
    import datetime as dt

    day = dt.date.fromisoformat(REVIEW_DATE)
    for label, batch in ((f"{len(projects)} synthetic projects, {args.team} team members each", projects),
                         (f"{len(stored_projects)} generated projects (projects.jsonl)", stored_projects)):
        if not batch:
            continue
        gc.collect()
        times, cpu, hard, soft = [], 0.0, [], []
        for p in batch:
            t, c = time.perf_counter(), time.process_time()
            conflicts = graph.check(p, day, policy)
            times.append(time.perf_counter() - t)
            cpu += time.process_time() - c
            hard.append(len({c.expert_id for c in conflicts if c.hard}))
            soft.append(len({c.expert_id for c in conflicts if not c.hard}))
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"check {label}:")
        print(f"  per project: mean {_ms(statistics.mean(times))}, median {_ms(statistics.median(times))}, "
              f"p95 {_ms(p95)}, max {_ms(times[-1])}; CPU mean {_ms(cpu / len(batch))}   (goal ≤ 100 ms)")
        print(f"  experts excluded per project: mean {statistics.mean(hard):.0f}, max {max(hard)}; "
              f"soft-flagged: mean {statistics.mean(soft):.0f}, max {max(soft)}")

    gc.collect()
    t = time.perf_counter()
    load_conflict_graph(store, table)
    print(f"load_conflict_graph(store)       {time.perf_counter() - t:7.2f} s   (read + build, as the CLI does)")

    gc.collect()
    t = time.perf_counter()
    ex = panel_exclusions(graph, projects, day, policy)
    total = time.perf_counter() - t
    print(f"panel_exclusions over the {len(projects)} synthetic projects {total:6.2f} s   excluded {len(ex.excluded)} experts, "
          f"soft {len(ex.soft)}, forbidden pairs {len(ex.forbidden_pairs)}")
    print("  excluded by rule: " + ", ".join(f"{r} {n}" for r, n in ex.counts().most_common()))
    del ex
    if stored_projects:
        gc.collect()
        t = time.perf_counter()
        ex = panel_exclusions(graph, stored_projects, day, policy)
        print(f"panel_exclusions over the {len(stored_projects)} generated projects {time.perf_counter() - t:6.2f} s   "
              f"excluded {len(ex.excluded)} experts, soft {len(ex.soft)}")
        del ex
    gc.collect()
    t = time.perf_counter()
    pairs = graph.panel_pairs(policy, day)
    print(f"forbidden pairs, whole pool      {_ms(time.perf_counter() - t)}   {len(pairs)} pairs")
    sample = rng.sample(graph.expert_ids(), min(200, len(graph.expert_ids())))
    t = time.perf_counter()
    among = graph.panel_pairs(policy, day, sample)
    print(f"forbidden pairs, 200 candidates  {_ms(time.perf_counter() - t)}   {len(among)} pairs")
    store.close()


if __name__ == "__main__":
    main()
