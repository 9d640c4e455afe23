"""`audit verify` on the generated pool, per store: how long checking the chain and comparing every
expert and integrity record version with the digests the log vouches for takes, and how large
the import entries that carry those digests are.

    python bench/bench_audit.py --count 32000 --seed 1 --backends sqlite,elasticsearch

Elasticsearch needs EXPERTPOOL_ES_URL (scripts/es-local start). No goal is asserted; issue 12
asks that the cost stay reasonable on 32,000 experts.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_store import open_backend, pool_dir  # noqa: E402
from expertpool.services.access import actor_for  # noqa: E402
from expertpool.services.audit import verify_audit  # noqa: E402
from expertpool.services.importing import import_files  # noqa: E402

FILES = ("sichuan_experts.csv", "chongqing_experts.xlsx", "affiliations.csv", "relations.csv", "integrity.csv",
         "history.csv", "projects.jsonl")


def bench_backend(backend: str, out: Path, workdir: Path, runs: int) -> dict[str, object]:
    store = open_backend(backend, workdir)
    try:
        admin = actor_for(store, "bench")
        t = time.perf_counter()
        report = import_files(store, [out / name for name in FILES], admin)
        imported = time.perf_counter() - t
        assert not report.failed, report.to_json()
        entries = list(store.iter_audit())
        largest = max(len(e.model_dump_json()) for e in entries)
        times, result = [], None
        for _ in range(runs):
            t = time.perf_counter()
            result = verify_audit(store)
            times.append(time.perf_counter() - t)
        assert result is not None and result.ok, result
        return {"store": backend, "experts": store.count_experts(), "import_all_s": imported,
                "largest_entry_kb": largest / 1024, "verify_median_s": statistics.median(times),
                "verify_min_s": min(times), "records_checked": result.records_checked}
    finally:
        if backend == "elasticsearch":
            store.delete_indices()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()
    out = pool_dir(args.count, args.seed, args.projects)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            rows.append(bench_backend(backend, out, Path(tmp), args.runs))
    print(f"\n### audit verify — {args.count} experts, seed {args.seed}, {args.runs} runs\n")
    print("| store | experts | import, all files (s) | largest audit entry (KiB) | verify median (s) | verify min (s) "
          "| records compared |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['store']} | {r['experts']} | {r['import_all_s']:.1f} | {r['largest_entry_kb']:.0f} | "
              f"{r['verify_median_s']:.2f} | {r['verify_min_s']:.2f} | {r['records_checked']} |")


if __name__ == "__main__":
    main()
