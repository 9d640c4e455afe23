"""sortition-algorithms' example files as our quotas, and its `maximin` run on them in a child
process (its HiGHS clashes with the HiGHS that OR-Tools loads, so never in this process).

Used by `test_sortition_reference.py` and `bench/bench_sortition.py`.
"""
from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

from expertpool.domain.panel import Candidate, PanelRules
from expertpool.domain.panel.spec import Quota

DATA = Path(__file__).parent / "data" / "sortition"
FEATURES = ("Gender", "age_bracket", "geo_bucket", "edu_level")
PANEL_SIZE = 22


def read_people(path: Path = DATA / "candidates.csv") -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_features(path: Path = DATA / "features.csv") -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
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
