"""Benchmark of the exact panel solver (prints figures; no timed asserts).

    python bench/bench_panel.py            full run (several minutes)
    python bench/bench_panel.py --quick    short run

1. A synthetic 32,000-candidate pool (regions 55/45, 11 uneven fields with 1–3 each, >90% senior,
   ~60 institutions with skewed sizes, some forbidden pairs): `best` and `lottery` for a
   15-member panel covering all 11 fields, each region 40–60%, ≥ 60% 正高级, ≤ 1 per institution.
2. Side by side with the PyPI package `sortition-algorithms` on the same quotas
   (region × primary field × title; no conflicts, relevance or institution cap): its `legacy`
   on 30,000 and its `maximin` on 1,000 and 3,000, each time-boxed in a subprocess, vs our
   `lottery` on the same pools.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expertpool.domain import taxonomy  # noqa: E402
from expertpool.domain.panel import STRATEGIES, PanelRules, check_panel  # noqa: E402
from expertpool.synthetic.candidates import COMPARE_RULES, MAIN_RULES, synthetic_pool  # noqa: E402

def timed(fn, runs: int):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# --- sortition-algorithms, run in a child process so it can be time-boxed -------------------------
def _sortition_child(algorithm: str, n: int, queue) -> None:
    import io
    import logging

    logging.disable(logging.CRITICAL)
    from sortition_algorithms import Settings, read_in_features, read_in_people
    from sortition_algorithms.committee_generation import find_distribution_maximin, find_random_sample_legacy
    from sortition_algorithms.utils import set_random_provider

    pool, _ = synthetic_pool(n)
    size = COMPARE_RULES["size"]
    rows = []
    for f in taxonomy.FIELDS:
        rows.append({"feature": "field", "value": f, "min": "1", "max": str(size)})
    for r in ("四川", "重庆"):
        rows.append({"feature": "region", "value": r, "min": str(math.ceil(0.4 * size - 1e-9)),
                     "max": str(math.floor(0.6 * size + 1e-9))})
    rows.append({"feature": "title", "value": "正高级", "min": str(math.ceil(0.6 * size - 1e-9)), "max": str(size)})
    rows.append({"feature": "title", "value": "其他", "min": "0", "max": str(size)})
    features, _, _ = read_in_features(["feature", "value", "min", "max"], rows, size)
    settings = Settings(id_column="id", columns_to_keep=[], random_number_seed=7, selection_algorithm=algorithm)
    body = [{"id": c.id, "field": c.fields[0], "region": c.region,
             "title": "正高级" if c.title == "正高级" else "其他"} for c in pool]
    people, _ = read_in_people(["id", "field", "region", "title"], body, features, settings)
    set_random_provider(7)
    started = time.perf_counter()
    sys.stdout = io.StringIO()
    if algorithm == "legacy":
        committees, _ = find_random_sample_legacy(people, features, size, [], max_attempts=100)
        probabilities = None
    else:
        committees, probabilities, _ = find_distribution_maximin(features, people, size, [])
    elapsed = time.perf_counter() - started
    rules = PanelRules(**COMPARE_RULES)
    met = all(not check_panel(sorted(c), pool, rules) for c in committees)
    min_p = None
    if probabilities is not None:
        per = dict.fromkeys((c.id for c in pool), 0.0)
        for committee, p in zip(committees, probabilities):
            for person in committee:
                per[person] += p
        min_p = min(per.values())
    queue.put((elapsed, met, min_p, len(committees)))


def run_sortition(algorithm: str, n: int, limit: float):
    # a fresh interpreter: sortition's HiGHS (highspy) clashes with the HiGHS symbols that
    # OR-Tools loads, so the child must not inherit this process's modules
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_sortition_child, args=(algorithm, n, queue))
    started = time.perf_counter()
    child.start()
    child.join(limit)
    if child.is_alive():
        child.terminate()
        child.join()
        return "timeout", time.perf_counter() - started
    try:
        return queue.get(timeout=5), time.perf_counter() - started
    except Exception:  # the child died without a result
        return f"error (exit code {child.exitcode})", time.perf_counter() - started


def ours_lottery(n: int, limit: float):
    pool, _ = synthetic_pool(n)
    rules = PanelRules(mode="lottery", **COMPARE_RULES)
    started = time.perf_counter()
    result = STRATEGIES["lottery"](pool, rules, [], seed=7, time_limit_s=limit)
    elapsed = time.perf_counter() - started
    met = not check_panel(result.members, pool, rules)
    return elapsed, result, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run: fewer repetitions, smaller time boxes")
    parser.add_argument("--part", choices=("all", "main", "compare", "ours"), default="all",
                        help="which tables to print (ours: the comparison's rows for our lottery only)")
    args = parser.parse_args()
    quick = args.quick
    runs = 1 if quick else 5
    lottery_limit = 60.0 if quick else 600.0
    box = 60.0 if quick else 600.0

    if args.part in ("all", "main"):
        main_table(runs, lottery_limit, quick)
    if args.part in ("all", "compare", "ours"):
        compare_table(box, sortition=args.part != "ours")


def main_table(runs: int, lottery_limit: float, quick: bool) -> None:
    print("## Synthetic pool, 15 members, all 11 fields, regions 40–60%, ≥60% 正高级, ≤1 per institution\n")
    started = time.perf_counter()
    pool, pairs = synthetic_pool(32_000)
    print(f"pool: {len(pool)} candidates, {len({c.institution for c in pool})} institutions, "
          f"{len(pairs)} forbidden pairs, generated in {time.perf_counter() - started:.1f}s\n")
    print("| strategy | runs | median time (s) | status | objective | types | columns | checker |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, reps, limit in (("best", runs, 60.0), ("lottery", 1 if quick else 3, lottery_limit)):
        rules = PanelRules(mode=mode, **MAIN_RULES)
        median, result = timed(lambda: STRATEGIES[mode](pool, rules, pairs, seed=11, time_limit_s=limit), reps)
        ok = "ok" if result.status.has_panel and not check_panel(result.members, pool, rules, pairs) else "—"
        objective = (f"{result.objective:.4f}" if mode == "best" else
                     f"min p {result.objective:.3g} (bound {result.bound:.3g}, gap {result.gap:.1%})") \
            if result.objective is not None else "—"
        print(f"| {mode} | {reps} | {median:.2f} | {result.status.value} | {objective} | "
              f"{result.stats.types or '—'} | {result.stats.columns or '—'} | {ok} |")
        sys.stdout.flush()



def compare_table(box: float, sortition: bool = True) -> None:
    print("\n## Against sortition-algorithms 0.12.15 (region × primary field × title; no conflicts/relevance/cap)\n")
    print("| pool | algorithm | time (s) | quotas met | min selection probability |")
    print("|---|---|---|---|---|")
    cases = [("legacy", 30_000), ("maximin", 1_000), ("maximin", 3_000)] if sortition else []
    for algorithm, n in cases:
        outcome, wall = run_sortition(algorithm, n, box)
        if outcome == "timeout":
            print(f"| {n:,} | sortition `{algorithm}` | > {box:.0f} | did not finish | — |")
        elif isinstance(outcome, str):
            print(f"| {n:,} | sortition `{algorithm}` | {wall:.2f} | {outcome} | — |")
        else:
            elapsed, met, min_p, _ = outcome
            shown = "n/a (no distribution)" if min_p is None else f"{min_p:.5f}"
            print(f"| {n:,} | sortition `{algorithm}` | {elapsed:.2f} | {'yes' if met else 'NO'} | {shown} |")
        sys.stdout.flush()
    for n in (1_000, 3_000, 30_000):
        elapsed, result, met = ours_lottery(n, box)
        print(f"| {n:,} | ours `lottery` ({result.status.value}) | {elapsed:.2f} | {'yes' if met else 'NO'} | "
              f"{result.probability_min:.5f} (bound {result.bound:.5f}) |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
