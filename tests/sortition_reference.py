"""sortition-algorithms' example files as our quotas, and its `maximin` run on them in a child
process (its HiGHS clashes with the HiGHS that OR-Tools loads, so never in this process).

The example files (`tests/fixtures/candidates.csv` and `features.csv`: 150 invented people with
four features, and the quotas of a 22-member panel) belong to that package (GPL-3.0), so we do
not ship copies: `example_files()` fetches the pinned source distribution with pip into
`.cache/sortition-algorithms/` (checked against its SHA-256) and extracts just those two files.
When it cannot be fetched, `SortitionFixturesUnavailable` says why and how to fix it; the tests
fail on it, they never skip.

Used by `test_sortition_reference.py` and `bench/bench_sortition.py`.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

from expertpool.domain.panel import Candidate, PanelRules
from expertpool.domain.panel.spec import Quota

REPO = Path(__file__).resolve().parent.parent
#: the version pyproject.toml pins (its `maximin` is what we compare against)
VERSION = "0.12.15"
SDIST = f"sortition_algorithms-{VERSION}.tar.gz"
SDIST_SHA256 = "a00d3ae9b8d8af71cc44d8e2f31b5dc13c2a6a0d0aea66909b411cf1d5f5f3f9"
#: the example files inside the sdist
MEMBERS = {"candidates.csv": f"sortition_algorithms-{VERSION}/tests/fixtures/candidates.csv",
           "features.csv": f"sortition_algorithms-{VERSION}/tests/fixtures/features.csv"}
CACHE = REPO / ".cache" / "sortition-algorithms"
FEATURES = ("Gender", "age_bracket", "geo_bucket", "edu_level")
ID_COLUMN = "nationbuilder_id"
PANEL_SIZE = 22


class SortitionFixturesUnavailable(RuntimeError):
    """The example files could not be fetched or extracted (the message says why)."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_sdist(cache: Path) -> Path:
    """The pinned sdist in `cache`, downloaded with pip when not already there (or not intact)."""
    sdist = cache / SDIST
    if sdist.exists() and _sha256(sdist) == SDIST_SHA256:
        return sdist
    sdist.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               f"sortition-algorithms=={VERSION}", "-d", str(cache)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SortitionFixturesUnavailable(f"`{' '.join(command)}` did not run: {exc}") from None
    if done.returncode != 0 or not sdist.exists():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise SortitionFixturesUnavailable(
            f"could not download {SDIST} (exit {done.returncode}) with `{' '.join(command)}`:\n{tail}\n"
            f"The comparison with sortition-algorithms needs its example files from that source "
            f"distribution (not shipped: GPL-3.0). Give this machine access to PyPI, or put {SDIST} "
            f"(sha256 {SDIST_SHA256}) in {cache}.")
    found = _sha256(sdist)
    if found != SDIST_SHA256:
        raise SortitionFixturesUnavailable(f"{sdist}: sha256 {found}, expected {SDIST_SHA256} (not the pinned "
                                           f"sortition-algorithms {VERSION}); delete it and run again")
    return sdist


def example_files(cache: Path = CACHE) -> dict[str, Path]:
    """{"candidates.csv": path, "features.csv": path}: sortition-algorithms' example files,
    extracted from its pinned sdist into `cache/fixtures/` (fetched once, then reused).
    Raises SortitionFixturesUnavailable when they cannot be had."""
    target = cache / "fixtures"
    paths = {name: target / name for name in MEMBERS}
    if all(p.exists() for p in paths.values()):
        return paths
    cache.mkdir(parents=True, exist_ok=True)
    sdist = _fetch_sdist(cache)
    target.mkdir(exist_ok=True)
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            for name, member in MEMBERS.items():
                source = archive.extractfile(member)  # only these regular files: nothing else is unpacked
                if source is None:
                    raise KeyError(member)
                partial = paths[name].with_name(f"{name}.{os.getpid()}.part")
                partial.write_bytes(source.read())
                partial.replace(paths[name])  # whole or not at all (runs side by side share the cache)
    except (KeyError, tarfile.TarError, OSError) as exc:
        raise SortitionFixturesUnavailable(f"{sdist}: cannot extract {', '.join(MEMBERS.values())} ({exc})") from None
    return paths


def read_people(path: Path | None = None) -> list[dict[str, str]]:
    """The example's people: their id and the four features (the placeholder name, e-mail and
    address columns are not read)."""
    with (path or example_files()["candidates.csv"]).open(encoding="utf-8") as fh:
        return [{ID_COLUMN: row[ID_COLUMN], **{f: row[f] for f in FEATURES}} for row in csv.DictReader(fh)]


def read_features(path: Path | None = None) -> list[dict[str, str]]:
    with (path or example_files()["features.csv"]).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def scaled(people: list[dict[str, str]], features: list[dict[str, str]], n: int, panel_size: int,
           seed: int = 42) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A pool of `n` people drawn (with replacement, as templates) from `people`, and quotas for
    a panel of `panel_size` around each value's share of it (± 2), the way the package's own
    benchmark scales its example."""
    rng = random.Random(seed)
    pool = []
    for i in range(n):
        template = rng.choice(people)
        pool.append({"nationbuilder_id": f"gen_{i}", **{f: template[f] for f in FEATURES}})
    rows = []
    for row in features:
        count = sum(1 for p in pool if p[row["feature"]] == row["value"])
        target = round(count / n * panel_size)
        lo, hi = max(0, target - 2), target + 2
        rows.append({"feature": row["feature"], "value": row["value"], "min": str(lo), "max": str(hi),
                     "min_flex": "0", "max_flex": str(hi + 2)})
    return pool, rows


def our_instance(people: list[dict[str, str]], features: list[dict[str, str]], size: int,
                 mode: str = "lottery", time_limit_s: float = 120.0) -> tuple[list[Candidate], PanelRules]:
    """The people as candidates (one attribute per feature; no fields, regions or institutions
    in play) and the features' quotas as head counts."""
    candidates = [Candidate(id=p["nationbuilder_id"], name=p["nationbuilder_id"], region="四川", fields=("人工智能",),
                            title="正高级", institution=f"单位-{p['nationbuilder_id']}", relevance=1.0,
                            attributes={f: p[f] for f in FEATURES})
                  for p in people]
    quotas = tuple(Quota(row["feature"], (row["value"],), min=int(row["min"]), max=int(row["max"]))
                   for row in features)
    return candidates, PanelRules(size=size, quotas=quotas, mode=mode, time_limit_s=time_limit_s)


_CHILD = textwrap.dedent("""
    import io, json, logging, sys, time
    logging.disable(logging.CRITICAL)
    from sortition_algorithms import Settings, read_in_features, read_in_people
    from sortition_algorithms.committee_generation import find_distribution_maximin
    job = json.load(sys.stdin)
    features, _, _ = read_in_features(list(job["features"][0]), job["features"], job["size"])
    settings = Settings(id_column="nationbuilder_id", columns_to_keep=[], random_number_seed=7,
                        selection_algorithm="maximin")
    people, _ = read_in_people(list(job["people"][0]), job["people"], features, settings)
    out, sys.stdout = sys.stdout, io.StringIO()
    started = time.perf_counter()
    committees, probabilities, _ = find_distribution_maximin(features, people, job["size"], [])
    elapsed = time.perf_counter() - started
    sys.stdout = out
    per = {p["nationbuilder_id"]: 0.0 for p in job["people"]}
    for committee, weight in zip(committees, probabilities):
        for person in committee:
            per[person] += weight
    print(json.dumps({"probabilities": per, "committees": [sorted(c) for c in committees], "seconds": elapsed}))
""")


def their_maximin(people: list[dict[str, str]], features: list[dict[str, str]], size: int,
                  timeout: float = 900.0) -> dict:
    """sortition-algorithms' `find_distribution_maximin` on these people and quotas, in a child
    process: {"probabilities": id → probability, "committees": [...], "seconds": float}.
    Raises subprocess.TimeoutExpired when it does not finish in `timeout` seconds."""
    job = json.dumps({"people": people, "features": features, "size": size})
    done = subprocess.run([sys.executable, "-c", _CHILD], input=job, capture_output=True, text=True,
                          timeout=timeout, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])
