"""Synthetic candidate pools for exercising the panel solver (its benchmarks and slow tests).

Not the realistic generated pool of `expertpool generate` (files to import, with relations,
history and projects): these are `Candidate` lists straight for the solver, at any size, with
the shape that makes panels hard — uneven fields (航空航天 and 仪器仪表 rare), skewed
institution sizes, half 正高级, random forbidden pairs.
"""
from __future__ import annotations

import random

from expertpool.domain import taxonomy
from expertpool.domain.panel import Candidate

FIELD_WEIGHTS = (22, 12, 4, 14, 6, 4, 14, 8, 6, 5, 5)   # uneven: 航空航天 and 仪器仪表 are rare


def synthetic_pool(n: int, seed: int = 1, n_inst: int = 60, pairs: int = 300
                   ) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """`n` candidates (ids E00000…) over `n_inst` institutions, and `pairs` random forbidden pairs."""
    rng = random.Random(seed)
    insts = [(f"单位{k:02d}", "四川" if k % 20 < 11 else "重庆") for k in range(n_inst)]
    weight = [1.0 / (k + 1) ** 0.9 for k in range(n_inst)]          # skewed institution sizes
    by_region = {r: [k for k, (_, reg) in enumerate(insts) if reg == r] for r in ("四川", "重庆")}
    out = []
    for i in range(n):
        region = "四川" if rng.random() < 0.55 else "重庆"
        inst = insts[rng.choices(by_region[region], weights=[weight[k] for k in by_region[region]])[0]][0]
        k = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
        fields: list[str] = []
        while len(fields) < k:
            f = rng.choices(taxonomy.FIELDS, weights=FIELD_WEIGHTS)[0]
            if f not in fields:
                fields.append(f)
        t = rng.random()
        title = "正高级" if t < 0.5 else "副高级" if t < 0.93 else "中级" if t < 0.98 else "其他"
        out.append(Candidate(f"E{i:05d}", f"专家{i}", region, tuple(fields), title, inst,
                             round(rng.lognormvariate(0, 0.5), 4)))
    ids = [c.id for c in out]
    return out, [tuple(rng.sample(ids, 2)) for _ in range(pairs)]


#: 15 members, all 11 fields, both regions 40–60 %, ≥ 60 % 正高级, ≤ 1 per institution
MAIN_RULES = dict(size=15, fields=taxonomy.FIELDS, min_per_field=1, coverage="any",
                  region_bounds={"四川": (0.4, 0.6), "重庆": (0.4, 0.6)}, min_full_senior_share=0.6,
                  max_per_institution=1, backups=5)
# the quotas sortition-algorithms can express: one value per feature
COMPARE_RULES = dict(size=15, fields=taxonomy.FIELDS, min_per_field=1, coverage="primary",
                     region_bounds={"四川": (0.4, 0.6), "重庆": (0.4, 0.6)}, min_full_senior_share=0.6,
                     max_per_institution=None)
