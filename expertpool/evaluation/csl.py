"""A judged pool of real research text: CSL papers (data/csl/, Apache-2.0) as experts.

Each expert is two papers of one discipline: their titles are the expert's 研究方向 and the
authors' keywords the expert's 关键词 (the 学科 column is left empty, so a discipline query
cannot match the discipline's own name). Two kinds of judged queries:

- known item: a pooled paper's abstract; the relevant expert is the one holding that paper;
- discipline: a held-out paper's title and keywords; every expert of its discipline is relevant.

The experts get names, regions, institutions and titles from the synthetic generator (seeded),
so they sit among generated experts like any other; their 专业领域 comes from their discipline
(`DISCIPLINE_FIELDS`; disciplines outside the 11 fields get one chosen by a stable hash, and
`CslPool.mapped` says which experts have a real mapping).
"""
from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from expertpool.domain import taxonomy
from expertpool.domain.models import Expert
from expertpool.synthetic.generate import generate_experts

DATA = Path(__file__).resolve().parents[2] / "data" / "csl" / "csl_dev.tsv"

#: CSL discipline → the 11 fields it belongs to (primary first). Disciplines of the humanities,
#: social sciences, mathematics and physics have no field among the 11 and are not listed.
DISCIPLINE_FIELDS: dict[str, tuple[str, ...]] = {
    "中医学/中药学": ("生物医药",), "基础医学/临床医学": ("生物医药",), "药学": ("生物医药",),
    "口腔医学": ("生物医药",), "公共卫生与预防医学": ("生物医药",), "生物学/生物科学与工程": ("生物医药",),
    "食品科学与工程": ("现代农业",), "园艺学": ("现代农业",), "水产": ("现代农业",), "农业工程": ("现代农业",),
    "农林经济管理": ("现代农业",), "作物学": ("现代农业",), "农业资源利用": ("现代农业",),
    "畜牧学/兽医学": ("现代农业",), "林学/林业工程": ("现代农业",), "植物保护": ("现代农业",),
    "材料科学与工程": ("新材料",), "化学/化学工程与技术": ("新材料",), "纺织科学与工程": ("新材料",),
    "冶金工程": ("新材料",),
    "环境科学与工程": ("资源环境",), "地质学/地质资源与地质工程": ("资源环境",), "石油与天然气工程": ("资源环境", "新能源"),
    "地理学": ("资源环境",), "大气科学": ("资源环境",), "矿业工程": ("资源环境",), "海洋科学": ("资源环境",),
    "测绘科学与技术": ("资源环境",), "水利工程": ("资源环境",), "地球物理学": ("资源环境",),
    "计算机科学与技术": ("人工智能", "新一代信息技术"), "信息与通信工程": ("新一代信息技术",),
    "电子科学与技术": ("新一代信息技术",), "控制科学与工程": ("人工智能", "仪器仪表"),
    "光学工程": ("仪器仪表",),
    "交通运输工程": ("汽车摩托车",),
    "土木工程": ("先进制造",), "机械工程": ("先进制造",), "力学": ("先进制造", "航空航天"),
    "船舶与海洋工程": ("先进制造",), "兵器科学与技术": ("先进制造",),
    "电气工程": ("新能源",), "动力工程及工程热物理": ("新能源",), "核科学与技术": ("新能源",),
    "航空宇航科学与技术": ("航空航天",),
}


@dataclass(frozen=True)
class Paper:
    n: int                      # line number in the data file (1-based), a stable id
    discipline: str
    category: str
    title: str
    keywords: tuple[str, ...]
    abstract: str

    @property
    def discipline_query(self) -> str:
        """What a discipline query searches with: the title and the keywords."""
        return " ".join([self.title, *self.keywords])


@dataclass(frozen=True)
class KnownItem:
    text: str                   # a paper's abstract
    expert_id: str              # the expert holding that paper
    paper: int


@dataclass(frozen=True)
class DisciplineQuery:
    text: str                   # a held-out paper's title and keywords
    discipline: str
    relevant: frozenset[str]    # every expert of that discipline
    paper: int


@dataclass
class CslPool:
    experts: list[Expert]
    papers: dict[str, tuple[Paper, Paper]]          # expert id → its two papers
    known_items: list[KnownItem]
    discipline_queries: list[DisciplineQuery]
    held_out: list[Paper]
    mapped: set[str] = field(default_factory=set)   # experts whose discipline maps to the 11 fields

    def discipline_of(self, expert_id: str) -> str | None:
        pair = self.papers.get(expert_id)
        return pair[0].discipline if pair else None


def load_papers(path: Path | None = None) -> list[Paper]:
    path = path or DATA
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    if header != ["n", "discipline", "category", "title", "keywords", "abstract"]:
        raise ValueError(f"{path}: unexpected header {header}")
    papers = []
    for line in lines[1:]:
        n, discipline, category, title, keywords, abstract = line.split("\t")
        papers.append(Paper(int(n), discipline, category, title,
                            tuple(k.strip() for k in keywords.split("_") if k.strip()), abstract))
    return papers


def fields_for(discipline: str) -> tuple[tuple[str, ...], bool]:
    """The discipline's fields and whether they come from the mapping (else a stable pick)."""
    mapped = DISCIPLINE_FIELDS.get(discipline)
    if mapped:
        return mapped, True
    digest = int(hashlib.sha1(discipline.encode()).hexdigest(), 16)
    return (taxonomy.FIELDS[digest % len(taxonomy.FIELDS)],), False


def build_pool(papers: list[Paper] | None = None, seed: int = 1, hold_out: float = 0.2,
               id_prefix: str = "CSL") -> CslPool:
    """Pair the papers of each discipline into experts, holding out about `hold_out` of each
    discipline (at least one, where it has 3 papers or more) as discipline queries."""
    papers = load_papers() if papers is None else papers
    rng = random.Random(seed)
    by_discipline: dict[str, list[Paper]] = defaultdict(list)
    for p in papers:
        by_discipline[p.discipline].append(p)
    pairs: list[tuple[Paper, Paper]] = []
    held: list[Paper] = []
    for discipline in sorted(by_discipline):
        group = sorted(by_discipline[discipline], key=lambda p: p.n)
        rng.shuffle(group)
        if len(group) < 3:
            continue  # one expert and nothing to ask, or nothing at all
        n_hold = max(1, round(hold_out * len(group)))
        if (len(group) - n_hold) % 2:
            n_hold += 1
        held.extend(group[:n_hold])
        rest = group[n_hold:]
        pairs.extend((rest[i], rest[i + 1]) for i in range(0, len(rest), 2))
    people = generate_experts(len(pairs), seed + 7919, first_number=900001)
    experts: list[Expert] = []
    owner: dict[str, tuple[Paper, Paper]] = {}
    mapped: set[str] = set()
    for i, ((a, b), person) in enumerate(zip(pairs, people), 1):
        expert_id = f"{id_prefix}-{i:04d}"
        fields, is_mapped = fields_for(a.discipline)
        experts.append(Expert(
            id=expert_id, source_ids={person.region: expert_id}, name=person.name, gender=person.gender,
            birth_year=person.birth_year, region=person.region, sub_region=person.sub_region,
            institution=person.institution, department=person.department or None, title=person.title,
            honours=list(person.honours), fields=list(fields), discipline=None,
            research="；".join([a.title, b.title]),
            keywords=list(dict.fromkeys([*a.keywords, *b.keywords])), status="在库"))
        owner[expert_id] = (a, b)
        if is_mapped:
            mapped.add(expert_id)
    members: dict[str, set[str]] = defaultdict(set)
    for expert_id, (a, _) in owner.items():
        members[a.discipline].add(expert_id)
    known = [KnownItem(p.abstract, expert_id, p.n) for expert_id, pair in owner.items() for p in pair]
    queries = [DisciplineQuery(p.discipline_query, p.discipline, frozenset(members[p.discipline]), p.n)
               for p in held if members[p.discipline]]
    return CslPool(experts, owner, known, queries, held, mapped)
