"""A review session at scale (issue 15 goal: 200 projects in 12 groups of 9–15 on 32,000 experts
≤ 10 s end to end, proven optimal or with a reported gap).

    python bench/bench_session.py --count 32000 --seed 1 --runs 3
    python bench/bench_session.py --count 100000 --seed 1 --runs 2

Uses the generated pool imported into an embedded store (cached under bench/out/, as
bench_panel_e2e.py does), 200 projects split by field into 12 groups; each group's size is 9, 11,
13 or 15 by its number of projects. Every group: its projects' fields, both regions 40–60 %,
正高级 ≥ 60 %, one per legal unit, at least one expert from a 企业 (a quota), relevance threshold
0.3 in lottery mode. The first run of each mode starts with an empty snapshot cache (COLD); the
rest find it (WARM). Times are inside one process, from `plan_session` to the finished record;
every draw is checked by the independent session checker.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_panel_e2e import prepared_store  # noqa: E402

from expertpool.domain.ledger import Ledger  # noqa: E402
from expertpool.domain.models import Project  # noqa: E402
from expertpool.domain.session import check_session, split_by_field  # noqa: E402
from expertpool.services.access import actor_for  # noqa: E402
from expertpool.services.sessions import load_session_spec, plan_session, prepare_session  # noqa: E402

SIZES = (9, 11, 13, 15)


def session_spec(out: Path, projects: int, groups: int, mode: str, seed: int, time_limit: float):
    rows = [json.loads(line) for line in (out / "projects.jsonl").read_text(encoding="utf-8").splitlines()[:projects]]
    split = split_by_field([Project(id=r["id"], title=r["title"], fields=r.get("fields", []),
                                    applicant={"name": "x"}) for r in rows], groups)
    by_count = sorted(range(len(split)), key=lambda k: len(split[k][1]))
    size = {k: SIZES[min(len(SIZES) - 1, rank * len(SIZES) // len(split))] for rank, k in enumerate(by_count)}
    tables = [{"name": name, "projects": [p.id for p in ps], "size": size[k]} for k, (name, ps) in enumerate(split)]
    return load_session_spec(None, {
        "name": "基准评审会", "review_date": "2026-12-01", "projects": str(out / "projects.jsonl"), "group": tables,
        "mode": mode, "seed": seed, "time_limit_s": time_limit, "fields": "projects",
        "regions": {"四川": [0.4, 0.6], "重庆": [0.4, 0.6]}, "min_full_senior_share": 0.6, "max_per_institution": 1,
        "relevance_threshold": 0.3, "backups": 3, "quota": [{"attribute": "单位类型", "value": "企业", "min": 1}]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--groups", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--modes", default="best,lottery")
    parser.add_argument("--no-check", action="store_true", help="skip the independent check (it re-reads the inputs)")
    args = parser.parse_args()
    store, out = prepared_store(args.count, args.seed)
    actor = actor_for(store, "bench")
    cache = ROOT / "bench" / "out" / "cache"
    os.environ["EXPERTPOOL_CACHE_DIR"] = str(cache)
    print(f"\n### Review session — {store.count_experts()} experts, {args.projects} projects in {args.groups} groups "
          f"of {'/'.join(map(str, SIZES))}, load average {os.getloadavg()[0]:.1f}\n")
    print("| mode | run | wall (s) | CPU (s) | load | eligibility | candidates | solve | status | gap | seats | "
          "types | columns | eligible | qualified | min prob | max prob | checker |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        shutil.rmtree(cache, ignore_errors=True)
        walls = []
        for run in range(args.runs):
            spec = session_spec(out, args.projects, args.groups, mode, 20261201 + run, args.time_limit)
            t, c = time.perf_counter(), time.process_time()
            outcome = plan_session(store, actor, spec, save=False, ledger=Ledger())
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            walls.append(wall)
            record = outcome.record
            checked = "–"
            if not args.no_check and outcome.has_panel:
                groups = [g.solver_group() for g in prepare_session(store, spec, ledger=Ledger()).groups]
                problems = check_session({g.name: g.member_ids() for g in record.groups}, groups,
                                         qualified_only=mode == "lottery")
                checked = "ok" if not problems else f"{len(problems)} problems"
            tm = record.timings
            pmin = f"{record.probability_min:.4f}" if record.probability_min is not None else "–"
            pmax = f"{record.probability_max:.4f}" if record.probability_max is not None else "–"
            gap = f"{record.gap:.2%}" if record.gap is not None else "–"
            print(f"| {mode} | {'cold' if run == 0 else 'warm'} | {wall:.2f} | {cpu:.2f} | {tm['load']:.2f} | "
                  f"{tm['eligibility']:.2f} | {tm['candidates']:.2f} | {tm['solve']:.2f} | {record.status} | {gap} | "
                  f"{sum(len(g.members) for g in record.groups)} | {record.pool.types} | {record.pool.columns} | {record.pool.eligible} | {record.pool.qualified} | "
                  f"{pmin} | {pmax} | {checked} |", flush=True)
            if record.diagnosis:
                print("  diagnosis:", "；".join(record.diagnosis.messages))
        warm = walls[1:] or walls
        print(f"\n{mode}: warm median {statistics.median(warm):.2f} s, cold {walls[0]:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS of this process): {peak:.0f} MiB; load average now {os.getloadavg()[0]:.1f}")
    store.close()


if __name__ == "__main__":
    main()
