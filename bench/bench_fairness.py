"""How the work spreads: `lottery` against `best` on the generated 32,000-expert pool (issue 6).

    python bench/bench_fairness.py --count 32000 --seed 1 --projects 20 --draws 1000 --best-draws 200

The same spec as bench_panel_e2e.py (15 members, all 11 fields, both regions 0.4–0.6, 正高级 ≥ 0.6,
1 per legal unit, 20 projects under review). Candidates are prepared once. Then:

- lottery: the maximin distribution is solved once and `--draws` panels are sampled from it with
  seeds 0, 1, …; each qualified expert's draw frequency is compared with the probability the
  draw reports (z = (frequency − p) / sampling σ);
- best: `--best-draws` panels with seeds 0, 1, … (the seeded perturbation is all that varies).

Prints, for each mode, how many distinct experts sat on some panel, the most seats one expert took,
the share of all seats held by the 20 busiest experts, and the Gini coefficient of seats over the
qualified experts (0 = everyone equally often; 1 = one expert always).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_panel_e2e import prepared_store  # noqa: E402

from expertpool.domain.panel import STRATEGIES, LotteryDistribution, lottery_distribution  # noqa: E402
from expertpool.services.panels import load_spec, prepare_draw  # noqa: E402


def gini(values: list[int]) -> float:
    values = sorted(values)
    n, total = len(values), sum(values)
    if not n or not total:
        return 0.0
    return sum((2 * k - n - 1) * v for k, v in enumerate(values, 1)) / (n * total)


def spread(counts: Counter, everyone: list[str], draws: int, size: int) -> str:
    seats = draws * size
    top = sum(c for _, c in counts.most_common(20))
    return (f"{len(counts):,} | {max(counts.values())} of {draws} | {top / seats:.1%} | "
            f"{gini([counts[i] for i in everyone]):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--best-draws", type=int, default=200)
    args = parser.parse_args()
    store, out = prepared_store(args.count, args.seed)
    os.environ.setdefault("EXPERTPOOL_CACHE_DIR", str(ROOT / "bench" / "out" / "cache"))
    project_ids = [json.loads(line)["id"] for line in
                   (out / "projects.jsonl").read_text(encoding="utf-8").splitlines()[: args.projects]]
    spec = load_spec(None, {"name": "bench", "review_date": "2026-12-01", "size": 15, "fields": "all",
                            "regions": {"四川": [0.4, 0.6], "重庆": [0.4, 0.6]}, "min_full_senior_share": 0.6,
                            "max_per_institution": 1, "projects": tuple(project_ids), "mode": "lottery",
                            "max_probability": 0.5, "seed": 0, "backups": 5})
    inputs = prepare_draw(store, spec)
    candidates, rules = inputs.candidates, inputs.rules
    pairs = list(inputs.eligibility.forbidden_pairs)
    qualified = sorted(c.id for c in candidates if c.relevance >= rules.relevance_threshold)

    started = time.perf_counter()
    dist = lottery_distribution(candidates, rules, pairs, time_limit_s=60)
    solved = time.perf_counter() - started
    assert isinstance(dist, LotteryDistribution), dist
    lottery_counts: Counter = Counter()
    for seed in range(args.draws):
        lottery_counts.update(dist.sample(seed))
    sigma_misses, worst = 0, 0.0
    for cid in qualified:
        p = dist.probabilities[cid]
        sigma = math.sqrt(max(p * (1 - p), 1e-12) / args.draws)
        z = (lottery_counts[cid] / args.draws - p) / sigma
        worst = max(worst, abs(z))
        sigma_misses += abs(z) > 3
    probs = [dist.probabilities[c] for c in qualified]

    best_rules = dataclasses.replace(rules, mode="best", max_probability=None)
    best_counts: Counter = Counter()
    started = time.perf_counter()
    for seed in range(args.best_draws):
        best_counts.update(STRATEGIES["best"](candidates, best_rules, pairs, seed=seed, time_limit_s=30).members)
    best_time = (time.perf_counter() - started) / args.best_draws

    print(f"\n### Spreading the work — {len(candidates):,} eligible, {len(qualified):,} qualified "
          f"(relevance ≥ {rules.relevance_threshold}), 15 members\n")
    print(f"lottery distribution solved in {solved:.2f} s: {len(dist.columns)} panels, probabilities "
          f"{min(probs):.4f}–{max(probs):.4f}; {args.draws} draws sampled from it. "
          f"Empirical frequency vs reported probability over the {len(qualified):,} qualified experts: "
          f"largest |z| = {worst:.2f}, {sigma_misses} beyond 3σ (≈ {0.0027 * len(qualified):.1f} expected "
          f"by chance).\n")
    print(f"best: {args.best_draws} draws, seeds 0–{args.best_draws - 1}, {best_time:.3f} s per draw "
          f"(candidates prepared once).\n")
    print("| mode | draws | distinct experts seated | most seats for one expert | seats held by the busiest 20 "
          "| Gini over qualified |")
    print("|---|---|---|---|---|---|")
    print(f"| lottery | {args.draws} | {spread(lottery_counts, qualified, args.draws, 15)} |")
    print(f"| best | {args.best_draws} | {spread(best_counts, qualified, args.best_draws, 15)} |")
    store.close()


if __name__ == "__main__":
    main()
