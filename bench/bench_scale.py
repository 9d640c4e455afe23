"""Scale: import, search, one panel cold and warm, and peak memory, per store and pool size (issue 15).

    python bench/bench_scale.py --count 32000 --backends sqlite,elasticsearch
    python bench/bench_scale.py --count 100000 --backends sqlite,elasticsearch

For each store, into a new empty store: the generated pool's files are imported in-process
(`import_files` with `prepare=False`, then `prepare_draws` — what `expertpool import` does in one
go — timed apart), then searched, then panels are drawn by the CLI in NEW processes
(`expertpool panel build --spec S --mode M --seed N --dry-run --json`), as an officer would:

- after import: the first draw, finding the caches the import prepared;
- cold: the first draw with an empty cache directory (another user, or a deleted cache): it
  reads the whole store, builds the conflict graph and copies the rank index itself;
- warm: later draws (median of --runs), every one a new process, same spec, another seed (what
  the data version, the projects and the rules decide is remembered: conflicts, rankings, and for
  a lottery its proven-optimal distribution);
- warm, other rules: the same, each run with another max_probability, so a lottery solves its
  distribution again (the figure for a new lottery on a warm store);
- warm, other projects: each run reviews other projects, so rankings (the rank index) and
  conflicts are computed again.

The package's bytecode is compiled first, as a pip install does (this machine sets
PYTHONDONTWRITEBYTECODE, which would otherwise make every new process compile ~80 modules).

Peak memory is the largest resident set: of this process over import + prepare (it holds
nothing else by then; the pool is generated in a child process), and of each CLI draw.
Elasticsearch needs EXPERTPOOL_ES_URL (scripts/es-local start). Goals (issue 15): warm lottery
≤ 1.5 s, best ≤ 1 s, cold ≤ 3 s on 32,000 experts; on 100,000: embedded import ≤ 30 s, warm
panel ≤ 3 s, peak memory ≤ 2 GB.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import resource
import shutil
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
from expertpool.gcpause import gc_paused  # noqa: E402
from expertpool.services.access import actor_for  # noqa: E402
from expertpool.services.importing import import_files, prepare_draws  # noqa: E402
from expertpool.services.search import SearchRequest, search_experts  # noqa: E402
from expertpool.stores import open_store  # noqa: E402
from expertpool.synthetic.generate import FILE_NAMES  # noqa: E402

FILES = ["sichuan_experts.csv", "chongqing_experts.xlsx", "affiliations.csv", "relations.csv", "integrity.csv",
         "history.csv", "projects.jsonl"]
USER = "bench"
#: where `generate_pool` writes the ground truth (never beside the files an import reads)
TRUTH = FILE_NAMES["truth"]


def pool_dir(count: int, seed: int) -> Path:
    """The generated pool (cached under bench/out/), made in a child process so that its memory
    does not count in this one's peak."""
    out = ROOT / "bench" / "out" / f"pool-{count}-{seed}-200"
    if not (out / TRUTH).exists():
        code = (f"from pathlib import Path; from expertpool.synthetic.generate import generate_pool; "
                f"generate_pool({count}, {seed}, Path({str(out)!r}), projects=200)")
        subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return out


def store_env(backend: str, workdir: Path, prefix: str) -> dict[str, str]:
    env = {"EXPERTPOOL_BACKEND": backend, "EXPERTPOOL_USER": USER}
    if backend == "sqlite":
        env["EXPERTPOOL_DB"] = str(workdir / "store.sqlite3")
    else:
        env["EXPERTPOOL_ES_PREFIX"] = prefix
    return env


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cli_draw(env: dict[str, str], spec: Path, mode: str, seed: int) -> tuple[float, float, dict, float]:
    """(wall seconds, peak MB, the JSON document, CPU seconds) of one `panel build` in a new
    process (peak resident set and CPU time measured by GNU time)."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        command = ["/usr/bin/time", "-f", "%M %U %S", "-o", rss.name, sys.executable, "-m", "expertpool.cli.main",
                   "panel", "build", "--spec", str(spec), "--mode", mode, "--seed", str(seed), "--dry-run", "--json"]
        t = time.perf_counter()
        proc = subprocess.run(command, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, capture_output=True)
        wall = time.perf_counter() - t
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise SystemExit(f"panel build failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        kb, user, system = Path(rss.name).read_text().split()[-3:]
    return wall, int(kb) / 1024, json.loads(proc.stdout), float(user) + float(system)


def write_spec(workdir: Path, out: Path, projects: int, *, first: int = 0, max_probability: float = 0.5,
               name: str = "spec") -> Path:
    """A panel spec reviewing `projects` of the pool's projects from the `first`."""
    lines = (out / "projects.jsonl").read_text(encoding="utf-8").splitlines()[first:first + projects]
    (workdir / f"{name}-projects.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = workdir / f"{name}.toml"
    spec.write_text('name = "bench"\nreview_date = 2026-12-01\nsize = 15\nfields = "all"\n'
                    'regions = { 四川 = [0.4, 0.6], 重庆 = [0.4, 0.6] }\nmin_full_senior_share = 0.6\n'
                    f'max_per_institution = 1\nprojects = "{name}-projects.jsonl"\nbackups = 5\n'
                    f'max_probability = {max_probability}\ntime_limit_s = 30\n', encoding="utf-8")
    return spec


def search_latency(store, out: Path, n: int, seed: int) -> tuple[float, float]:
    rng = random.Random(seed)
    topics = sorted({t for line in (out / TRUTH).read_text(encoding="utf-8").splitlines()
                     for t in json.loads(line).get("topics", ())})  # the first line is a header
    times = []
    for _ in range(n):
        request = SearchRequest(" ".join(rng.sample(topics, rng.choice([1, 2, 3]))), limit=20)
        t = time.perf_counter()
        search_experts(store, request)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def run_backend(backend: str, count: int, out: Path, args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-scale-{backend}-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    env = store_env(backend, workdir, prefix)
    cache = workdir / "cache"
    os.environ["EXPERTPOOL_CACHE_DIR"] = str(cache)
    os.environ.update(env)
    config = StoreConfig.from_env(backend=backend, db=env.get("EXPERTPOOL_DB"))
    store = open_store(config)
    row: dict = {"store": backend, "experts": count}
    try:
        actor = actor_for(store, USER)
        with gc_paused():
            t, c = time.perf_counter(), time.process_time()
            report = import_files(store, [out / f for f in FILES], actor, prepare=False)
            row["import"], row["import_cpu"] = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            prepare_draws(store)
            row["prepare"], row["prepare_cpu"] = time.perf_counter() - t, time.process_time() - c
        row["import_peak_mb"] = peak_mb()
        row["rows"] = sum(f.rows_read for f in report.files)
        row["rejected"] = report.rejected
        row["stored"] = store.count_experts()
        row["search_p50"], row["search_p99"] = search_latency(store, out, args.queries, 1)
        spec = write_spec(workdir, out, args.projects)
        draws = {}
        for mode in ("lottery", "best"):
            after_import = cli_draw({**env, "EXPERTPOOL_CACHE_DIR": str(cache)}, spec, mode, 1)
            cold_cache = workdir / f"cold-{mode}"
            cold = cli_draw({**env, "EXPERTPOOL_CACHE_DIR": str(cold_cache)}, spec, mode, 1)
            shutil.rmtree(cold_cache, ignore_errors=True)
            warm = [cli_draw({**env, "EXPERTPOOL_CACHE_DIR": str(cache)}, spec, mode, seed)
                    for seed in range(2, 2 + args.runs)]
            other_rules = [cli_draw({**env, "EXPERTPOOL_CACHE_DIR": str(cache)},
                                    write_spec(workdir, out, args.projects, max_probability=0.49 - 0.01 * k,
                                               name=f"rules-{mode}-{k}"), mode, 1)[0] for k in range(args.runs)]
            other_projects = [cli_draw({**env, "EXPERTPOOL_CACHE_DIR": str(cache)},
                                       write_spec(workdir, out, args.projects, first=args.projects * (k + 1),
                                                  name=f"projects-{mode}-{k}"), mode, 1)[0] for k in range(args.runs)]
            draws[mode] = {"after_import": after_import[0], "cold": cold[0], "cold_peak_mb": cold[1],
                           "after_import_cpu": after_import[3], "cold_cpu": cold[3],
                           "warm_cpu": statistics.median(w[3] for w in warm),
                           "warm": [w[0] for w in warm], "warm_median": statistics.median(w[0] for w in warm),
                           "other_rules": statistics.median(other_rules),
                           "other_projects": statistics.median(other_projects),
                           "warm_peak_mb": max(w[1] for w in warm), "status": warm[0][2]["status"],
                           "eligible": warm[0][2]["pool"]["eligible"], "qualified": warm[0][2]["pool"]["qualified"],
                           "document_mb": len(json.dumps(warm[0][2], ensure_ascii=False).encode()) / 1e6}
        row["draws"] = draws
    finally:
        if backend == "elasticsearch":
            store.delete_indices()
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="sqlite,elasticsearch")
    parser.add_argument("--projects", type=int, default=20, help="projects under review in the panel spec")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="warm draws per mode")
    args = parser.parse_args()
    out = pool_dir(args.count, args.seed)
    compileall.compile_dir(str(ROOT / "expertpool"), quiet=1)   # as a pip install does
    load = os.getloadavg()[0]
    rows = []
    for backend in args.backends.split(","):
        # each store in its own process: peak memory is then this store's alone
        if len(args.backends.split(",")) > 1:
            code = subprocess.run([sys.executable, __file__, "--count", str(args.count), "--seed", str(args.seed),
                                   "--backends", backend, "--projects", str(args.projects), "--queries",
                                   str(args.queries), "--runs", str(args.runs), "--quiet-header"],
                                  env=os.environ, check=False)
            if code.returncode:
                raise SystemExit(code.returncode)
            continue
        rows.append(run_backend(backend, args.count, out, args))
    if not rows:
        return
    print(f"\n<!-- {time.strftime('%Y-%m-%d %H:%M')} load average {load:.1f} → {os.getloadavg()[0]:.1f} -->")
    for row in rows:
        print(f"\n| store | experts | rows | import (s) | prepare (s) | import + prepare (s) | CPU import / prepare (s) "
              f"| peak MB (import) | search p50 / p99 (ms) |\n|---|---|---|---|---|---|---|---|---|\n"
              f"| {row['store']} | {row['stored']:,} | {row['rows']:,} | {row['import']:.1f} | {row['prepare']:.1f} | "
              f"{row['import'] + row['prepare']:.1f} | {row['import_cpu']:.1f} / {row['prepare_cpu']:.1f} | "
              f"{row['import_peak_mb']:.0f} | {row['search_p50']:.1f} / {row['search_p99']:.1f} |")
        print("\n| store | mode | after import (s) | cold (s) | warm median (s) | warm runs (s) | warm, other rules (s) "
              "| warm, other projects (s) | CPU after import / cold / "
              "warm (s) | peak MB cold / warm | status | eligible | qualified | --json MB |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for mode, d in row["draws"].items():
            print(f"| {row['store']} | {mode} | {d['after_import']:.2f} | {d['cold']:.2f} | {d['warm_median']:.2f} | "
                  f"{' / '.join(f'{w:.2f}' for w in d['warm'])} | {d['other_rules']:.2f} | {d['other_projects']:.2f} | "
                  f"{d['after_import_cpu']:.2f} / {d['cold_cpu']:.2f} / "
                  f"{d['warm_cpu']:.2f} | {d['cold_peak_mb']:.0f} / {d['warm_peak_mb']:.0f} | "
                  f"{d['status']} | {d['eligible']:,} | {d['qualified']:,} | {d['document_mb']:.1f} |")


if __name__ == "__main__":
    if "--quiet-header" in sys.argv:
        sys.argv.remove("--quiet-header")
    main()
