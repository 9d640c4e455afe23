"""Benchmark: import a whole generated pool (both lists and every related file) into the embedded
store, printing the time of each file, the total and the process's peak memory (issue 11: a
100,000-expert pool must import). Prints figures; asserts nothing about time.

    python bench/bench_import_pool.py --count 100000 --seed 1
    python bench/bench_import_pool.py --count 32000 --seed 3       # a seed whose pool once crashed

The pool is generated (and cached under bench/out/) with `generate_pool`, then imported with
one `import_files` call over all files, in the order `expertpool generate` prints.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from expertpool.services.access import actor_for  # noqa: E402
from expertpool.synthetic.generate import IMPORT_ORDER, generate_pool  # noqa: E402
from expertpool.services.importing import import_files  # noqa: E402
from expertpool.stores.sqlite import SQLiteStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=200)
    args = parser.parse_args()

    out = ROOT / "bench" / "out" / f"pool-{args.count}-{args.seed}-{args.projects}"
    if not (out / "projects.jsonl").exists():
        t = time.perf_counter()
        generate_pool(args.count, args.seed, out, projects=args.projects, write_truth=False)
        print(f"generated {args.count} experts in {time.perf_counter() - t:.1f} s → {out}", file=sys.stderr)
    files = [out / name for name in (
        "sichuan_experts.csv", "chongqing_experts.xlsx", "affiliations.csv", "relations.csv", "integrity.csv",
        "history.csv", "projects.jsonl")]
    assert len(files) == len(IMPORT_ORDER)
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared with other work)")
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "pool.sqlite3")
        actor = actor_for(store, "bench")
        # one run, as `expertpool import` with every file (and the command `generate` prints) does
        total = time.perf_counter()
        report = import_files(store, files, actor, rejects_dir=Path(tmp))
        elapsed = time.perf_counter() - total
        for f in report.files:
            print(f"{Path(f.file).name:24} rows {f.rows_read:>7}  imported {f.imported:>7}  merged {f.merged:>5}  "
                  f"rejected {f.rejected:>3}  warnings {sum(w.count for w in f.warnings)}"
                  + (f"  ERROR {f.error}" if f.error else ""))
        experts = store.count_experts()
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"total {elapsed:.1f} s for {experts} experts; peak memory (max RSS) {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
