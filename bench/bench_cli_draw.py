"""One panel from a new CLI process, warm and cold, for one or more source trees side by side.

    git archive main | tar -x -C /tmp/main-src         # another tree to compare with, if wanted
    python bench/bench_cli_draw.py --count 32000 --trees branch=.,main=/tmp/main-src --rounds 3

Uses the store `bench_panel_e2e.py` imports (bench/out/pool-N-1-200/store.sqlite3) and the spec
of `bench_scale.py` (20 projects, 15 members, all fields, both regions). Each round runs, for
every tree in turn, `expertpool panel build --spec S --mode M --seed N --dry-run --json` with
the tree on PYTHONPATH: first with an empty cache directory (cold: the draw reads the store and
builds its caches), then `--warm` more times with that tree's caches (warm). Alternating the
trees in each round puts them in the same window of a shared, loaded machine. Prints wall and
CPU (user + system) medians per tree and mode; CPU moves far less than wall under load.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import write_spec  # noqa: E402


def run(tree: Path, env: dict[str, str], spec: Path, mode: str, seed: int) -> tuple[float, float]:
    with tempfile.NamedTemporaryFile(suffix=".time") as timing:
        command = ["/usr/bin/time", "-f", "%U %S", "-o", timing.name, sys.executable, "-m", "expertpool.cli.main",
                   "panel", "build", "--spec", str(spec), "--mode", mode, "--seed", str(seed), "--dry-run", "--json"]
        t = time.perf_counter()
        proc = subprocess.run(command, env={**os.environ, **env, "PYTHONPATH": str(tree)}, capture_output=True,
                              cwd=tree)
        wall = time.perf_counter() - t
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{tree}: panel build failed: {proc.stderr.decode()[-2000:]}")
        user, system = Path(timing.name).read_text().split()[-2:]
    return wall, float(user) + float(system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=32000)
    parser.add_argument("--trees", default="branch=.", help="name=path,… (source trees to compare)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=2, help="warm draws per tree, mode and round")
    parser.add_argument("--modes", default="lottery,best")
    args = parser.parse_args()
    store = ROOT / "bench" / "out" / f"pool-{args.count}-1-200" / "store.sqlite3"
    if not store.exists():
        raise SystemExit(f"{store}: import it first (python bench/bench_panel_e2e.py --count {args.count})")
    trees = {name: Path(path).resolve() for name, path in (item.split("=", 1) for item in args.trees.split(","))}
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    spec = write_spec(work, store.parent, 20)
    env = {"EXPERTPOOL_DB": str(store), "EXPERTPOOL_USER": "bench", "EXPERTPOOL_BACKEND": "sqlite"}
    results: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    load_before = os.getloadavg()[0]
    try:
        for rnd in range(args.rounds):
            for name, tree in trees.items():
                for mode in args.modes.split(","):
                    cache = work / f"cache-{name}-{mode}-{rnd}"
                    shutil.rmtree(cache, ignore_errors=True)
                    tree_env = {**env, "EXPERTPOOL_CACHE_DIR": str(cache)}
                    results.setdefault((name, mode, "cold"), []).append(run(tree, tree_env, spec, mode, 1))
                    for seed in range(2, 2 + args.warm):
                        results.setdefault((name, mode, "warm"), []).append(run(tree, tree_env, spec, mode, seed))
                    shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n<!-- {time.strftime('%Y-%m-%d %H:%M')} load average {load_before:.1f} → {os.getloadavg()[0]:.1f}; "
          f"{args.rounds} rounds, {args.warm} warm draws per round -->")
    print("\n| tree | mode | cold wall median (s) | cold CPU median (s) | warm wall median (s) | warm CPU median (s) | "
          "warm wall runs (s) |\n|---|---|---|---|---|---|---|")
    for name in trees:
        for mode in args.modes.split(","):
            cold, warm = results[(name, mode, "cold")], results[(name, mode, "warm")]
            print(f"| {name} | {mode} | {statistics.median(w for w, _ in cold):.2f} | "
                  f"{statistics.median(c for _, c in cold):.2f} | {statistics.median(w for w, _ in warm):.2f} | "
                  f"{statistics.median(c for _, c in warm):.2f} | {' / '.join(f'{w:.2f}' for w, _ in warm)} |")


if __name__ == "__main__":
    main()
