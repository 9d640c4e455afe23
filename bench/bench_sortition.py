"""Our lottery against sortition-algorithms' `maximin` on that package's own example files and on
larger pools drawn from them (prints figures; no timed asserts).

    python bench/bench_sortition.py                      # 150 (the files), 500, 1000 people
    python bench/bench_sortition.py --sizes 150,500 --box 300

The example (the package's tests/fixtures: 150 people, four features, a 22-member panel; fetched
from its pinned sdist into .cache/sortition-algorithms/ by tests/sortition_reference.py, not
shipped) is used as it is; larger pools are drawn from its people with the package benchmark's own scaling (a panel of
15 % of the pool, each value's quota its share ± 2). Theirs runs in a child process, time-boxed
(`--box` seconds); ours in this one. "same min" compares the minimum selection probabilities
where theirs finished (theirs stops within 0.0005 of the optimum).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from expertpool.domain.panel import STRATEGIES, check_panel  # noqa: E402
from tests.sortition_reference import (PANEL_SIZE, SortitionFixturesUnavailable, our_instance,  # noqa: E402
                                       read_features, read_people, scaled, their_maximin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="150,500,1000", help="pool sizes (150 = the example files as they are)")
    parser.add_argument("--box", type=float, default=600.0, help="time box for sortition-algorithms, seconds")
    args = parser.parse_args()
    try:
        people, features = read_people(), read_features()
    except SortitionFixturesUnavailable as exc:
        sys.exit(f"bench_sortition: sortition-algorithms' example files are needed: {exc}")
    print(f"\n### Lottery vs sortition-algorithms maximin (load average {os.getloadavg()[0]:.1f})\n")
    print("| pool | panel | theirs (s) | their min | ours (s) | our status | our min | same min | types | columns |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        if n == len(people):
            pool, rows, size = people, features, PANEL_SIZE
        else:
            size = max(22, int(n * 0.15))
            pool, rows = scaled(people, features, n, size)
        candidates, rules = our_instance(pool, rows, size, time_limit_s=args.box)
        started = time.perf_counter()
        ours = STRATEGIES["lottery"](candidates, rules, [], seed=7, time_limit_s=args.box)
        our_time = time.perf_counter() - started
        assert check_panel(ours.members, candidates, rules) == []
        try:
            theirs = their_maximin(pool, rows, size, timeout=args.box)
            their_min = min(theirs["probabilities"].values())
            their_cell, their_time = f"{their_min:.5f}", f"{theirs['seconds']:.1f}"
            same = "yes" if abs((ours.probability_min or 0) - their_min) <= 5e-4 + 1e-7 else "NO"
        except subprocess.TimeoutExpired:
            their_cell, their_time, same = "—", f"> {args.box:.0f} (did not finish)", "—"
        our_min = f"{ours.probability_min:.5f}" if ours.probability_min is not None else "—"
        print(f"| {n} | {size} | {their_time} | {their_cell} | {our_time:.2f} | {ours.status} | {our_min} | {same} | "
              f"{ours.stats.types} | {ours.stats.columns} |", flush=True)


if __name__ == "__main__":
    main()
