"""A realistic, deterministic synthetic expert pool, written as the files a real user imports.

`generate_pool(count, seed, out_dir)` writes, into `out_dir` (see `FILE_NAMES`):

- ``sichuan_experts.csv`` (GB18030) and ``chongqing_experts.xlsx``: the two provinces' lists with
  the Chinese headers of DESIGN.md; about 2% of the people appear in both lists (same identity
  number, different 专家编号);
- ``affiliations.csv``, ``relations.csv``, ``integrity.csv`` (UTF-8 with BOM, as Excel saves
  it), ``history.csv`` (UTF-8), ``projects.jsonl``;
- ``ground-truth/truth.jsonl`` (unless ``write_truth=False``): each expert's and project's true
  research topics, for search-quality benchmarks. It is not an import file: it lives in a
  sub-directory, so the import files are everything directly in `out_dir`, and its first line
  (`GROUND_TRUTH_HEADER`) makes `expertpool import` refuse it by name.

Everything comes from one `random.Random(seed)` and fixed data (`vocabulary`,
`indexes/institutions.toml`); no clock, no global random state, so the same seed gives
byte-identical files (the XLSX is re-zipped with fixed timestamps). Nothing is printed.
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
import shlex
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import accumulate, combinations
from pathlib import Path

from expertpool.domain import taxonomy
from expertpool.domain.models import INTEGRITY_CATEGORIES
from expertpool.domain.text import id_check_char
from expertpool.errors import InputError
from expertpool.io.datafiles import load_honours
from expertpool.io.files import output_directory
from expertpool.segment import INDEXES_DIR
from expertpool.synthetic import vocabulary as V
from expertpool.synthetic.files import write_csv, write_jsonl, write_xlsx

#: "Today" for the generated data: integrity sanctions are past, current or permanent against it.
REFERENCE_DATE = dt.date(2026, 12, 1)

EXPERT_HEADERS: tuple[str, ...] = (
    "专家编号", "姓名", "性别", "出生年份", "所在地区", "市州/区县", "工作单位", "部门", "职称", "人才称号",
    "专业领域", "学科", "研究方向", "关键词", "手机", "邮箱", "证件号码", "状态",
)
EXPERT_JSON_KEYS: tuple[str, ...] = (
    "id", "name", "gender", "birth_year", "region", "sub_region", "institution", "department", "title",
    "honours", "fields", "discipline", "research", "keywords", "phone", "email", "id_number", "status",
)
AFFILIATION_HEADERS = ("专家编号", "工作单位", "起始年份", "结束年份")
RELATION_HEADERS = ("专家编号", "关联专家编号", "关联人姓名", "关联人单位", "关系类型", "起始年份", "结束年份", "备注")
INTEGRITY_HEADERS = ("记录编号", "专家编号", "失信行为类型", "严重程度", "决定日期", "处理开始日期", "处理结束日期",
                     "处理措施", "处理机构", "文号", "状态")
HISTORY_HEADERS = ("专家编号", "评审活动", "评审日期")

FILE_NAMES: dict[str, str] = {
    "sichuan": "sichuan_experts.csv",
    "chongqing": "chongqing_experts.xlsx",
    "affiliations": "affiliations.csv",
    "relations": "relations.csv",
    "integrity": "integrity.csv",
    "history": "history.csv",
    "projects": "projects.jsonl",
    "truth": "ground-truth/truth.jsonl",
    "experts_jsonl": "experts.jsonl",
}

#: The first line of the ground-truth file: what it is, so the importer can refuse it clearly.
GROUND_TRUTH_HEADER = {"expertpool": "ground-truth",
                       "note": "expertpool generate 写出的评测真值（每位专家、每个项目的真实研究主题），不是导入文件"}
#: The import files in the order `expertpool import` needs them (expert lists first).
IMPORT_ORDER: tuple[str, ...] = ("sichuan", "chongqing", "affiliations", "relations", "integrity", "history",
                                 "projects")

_PREFIX = {"四川": "SC", "重庆": "CQ"}
_OTHER = {"四川": "重庆", "重庆": "四川"}
_PROVINCE_BODY = {"四川": "四川省科学技术厅", "重庆": "重庆市科学技术局"}


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 28 February in a common year (a sanction
    decided on a leap day runs to the end of February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February → a year without one
        return day.replace(year=day.year + years, day=28)


# ---- records ------------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class SyntheticExpert:
    """One row of an expert list: canonical values, plus the raw cells as the file writes them."""
    id: str
    name: str
    gender: str
    birth_year: int
    region: str
    sub_region: str
    institution: str            # the legal unit
    workplace: str              # the 工作单位 cell: the legal unit, a sub-unit or an alias
    department: str
    title: str                  # canonical (正高级 …)
    honours: list[str]          # canonical names
    fields: list[str]           # canonical, primary first
    discipline: str
    topics: list[str]           # the true research topics (ground truth)
    keywords: list[str]
    research: str
    phone: str
    email: str
    id_number: str              # "" when the row has none
    status: str
    also: str | None = None     # the other list's 专家编号 for people listed in both
    # raw cells (aliases, separators, suffixes) as the province's list writes them
    title_raw: str = ""
    honours_raw: list[str] = field(default_factory=list)
    fields_raw: list[str] = field(default_factory=list)
    region_raw: str = ""
    sub_region_raw: str = ""
    birth_raw: str = ""
    status_raw: str = ""
    sep: str = "；"
    # generation helpers
    kind: str = ""
    surname: str = ""
    list_region: str = ""       # the list (四川/重庆) the row belongs to
    group: int = -1

    def cells(self) -> list[str]:
        """The row under EXPERT_HEADERS."""
        sep = self.sep
        return [
            self.id, self.name, self.gender, self.birth_raw or str(self.birth_year),
            self.region_raw or self.region, self.sub_region_raw or self.sub_region, self.workplace,
            self.department, self.title_raw or self.title, sep.join(self.honours_raw or self.honours),
            sep.join(self.fields_raw or self.fields), self.discipline, self.research, sep.join(self.keywords),
            self.phone, self.email, self.id_number, self.status_raw or self.status,
        ]

    def record(self) -> dict[str, object]:
        """The row as a JSON object with English keys (canonical values)."""
        return {
            "id": self.id, "name": self.name, "gender": self.gender, "birth_year": self.birth_year,
            "region": self.region, "sub_region": self.sub_region, "institution": self.workplace,
            "department": self.department or None, "title": self.title, "honours": list(self.honours),
            "fields": list(self.fields), "discipline": self.discipline, "research": self.research,
            "keywords": list(self.keywords), "phone": self.phone or None, "email": self.email or None,
            "id_number": self.id_number or None, "status": self.status,
        }


@dataclass
class GenerateReport:
    """What `generate_pool` wrote. `truth` maps every 专家编号 (both ids of a person listed twice)
    to the expert's true research topics; `project_truth` maps project ids to theirs."""
    out_dir: Path
    paths: dict[str, Path]
    counts: dict[str, int]
    truth: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    project_truth: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def import_files(self) -> list[Path]:
        """The files to import, in the order the importer needs them."""
        return [self.paths[kind] for kind in IMPORT_ORDER]

    def summary(self) -> dict[str, object]:
        """What a person needs after generating: where the files are, how many rows, what to run
        next (never the ground truth itself, which is large)."""
        files = [str(p) for p in self.import_files()]
        return {
            "out_dir": str(self.out_dir),
            "import_files": files,
            "other_files": {kind: str(path) for kind, path in self.paths.items() if kind not in IMPORT_ORDER},
            "counts": dict(self.counts),
            # --create: the store is made only when asked (on Elasticsearch, or at a --db path), and
            # the flag does nothing to a store that exists, so the command works as printed anywhere
            "import_command": "expertpool import --create " + " ".join(shlex.quote(f) for f in files),
        }


@dataclass(frozen=True)
class _Institution:
    name: str
    region: str
    sub_region: str
    kind: str
    weight: float
    fields: tuple[str, ...]
    units: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    former: tuple[str, ...] = ()
    domain: str | None = None


@dataclass
class _Outsider:
    name: str
    institution: str
    gender: str


# ---- fixed data ---------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _institutions(path: Path | None = None) -> tuple[_Institution, ...]:
    """The toml's legal units plus the smaller local units, local ones scaled to ~20% per region."""
    path = path or INDEXES_DIR / "institutions.toml"
    with open(path, "rb") as handle:
        entries = tomllib.load(handle)["institution"]
    out: list[_Institution] = []
    for entry in entries:
        name = entry["name"]
        out.append(_Institution(
            name=name, region=entry["region"], sub_region=entry["sub_region"], kind=entry.get("kind", "高校"),
            weight=float(entry.get("weight", 1)), fields=V.INSTITUTION_FIELDS.get(name, taxonomy.FIELDS),
            units=tuple(entry.get("units", ())), aliases=tuple(a for a in entry.get("aliases", ()) if not a.isascii()),
            former=tuple(entry.get("former", ())), domain=V.EMAIL_DOMAINS.get(name),
        ))
    for region in taxonomy.REGIONS:
        main = sum(i.weight for i in out if i.region == region)
        local = sum(u[4] for u in V.LOCAL_UNITS if u[1] == region)
        scale = 0.25 * main / local if local else 0.0
        for name, reg, sub, kind, weight, fields in V.LOCAL_UNITS:
            if reg == region:
                out.append(_Institution(name, reg, sub, kind, weight * scale, fields, domain=V.EMAIL_DOMAINS.get(name)))
    return tuple(out)


_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "新一代信息技术": ("电子信息", "信息技术", "新一代信息技术领域"),
    "人工智能": ("AI", "人工智能领域"),
    "航空航天": ("航空", "航天"),
    "先进制造": ("智能制造", "高端装备"),
    "汽车摩托车": ("汽车", "汽摩"),
    "仪器仪表": ("仪器仪表领域",),
    "生物医药": ("医药卫生", "生物医药领域"),
    "现代农业": ("农业",),
    "资源环境": ("生态环境", "节能环保"),
    "新能源": ("清洁能源",),
    "新材料": ("先进材料", "材料"),
}
# (canonical title, institution kind) → raw spellings with weights
_TITLE_RAW: dict[tuple[str, str], tuple[tuple[str, int], ...]] = {
    ("正高级", "高校"): (("教授", 8), ("研究员", 1), ("正高级", 1)),
    ("正高级", "科研院所"): (("研究员", 6), ("正高级工程师", 3), ("教授级高级工程师", 1)),
    ("正高级", "农业"): (("研究员", 6), ("农业技术推广研究员", 2), ("正高", 1)),
    ("正高级", "医院"): (("主任医师", 7), ("主任药师", 1), ("教授", 2)),
    ("正高级", "企业"): (("正高级工程师", 6), ("教授级高工", 2), ("教授级高级工程师", 2)),
    ("副高级", "高校"): (("副教授", 8), ("副研究员", 1), ("副高级", 1)),
    ("副高级", "科研院所"): (("副研究员", 5), ("高级工程师", 4), ("高工", 1)),
    ("副高级", "农业"): (("副研究员", 4), ("高级农艺师", 4), ("副高", 1)),
    ("副高级", "医院"): (("副主任医师", 7), ("副主任药师", 1), ("副教授", 1)),
    ("副高级", "企业"): (("高级工程师", 8), ("高工", 2)),
    ("中级", "高校"): (("讲师", 3), ("助理研究员", 1)),
    ("中级", "科研院所"): (("助理研究员", 2), ("工程师", 2)),
    ("中级", "农业"): (("农艺师", 2), ("助理研究员", 1)),
    ("中级", "医院"): (("主治医师", 1),),
    ("中级", "企业"): (("工程师", 1),),
}
# name, earliest birth year, latest birth year, weight
_HIGH_HONOURS: tuple[tuple[str, int, int, float], ...] = (
    ("中国科学院院士", 1900, 1966, 1.5), ("中国工程院院士", 1900, 1966, 2.0), ("长江学者", 1900, 1984, 14),
    ("国家杰出青年科学基金获得者", 1900, 1986, 14), ("国家万人计划", 1900, 1990, 24),
    ("百千万人才工程国家级人选", 1900, 1978, 16), ("国家优秀青年科学基金获得者", 1975, 1990, 18),
)
_HONOUR_ALIASES = {h.name: h.aliases for h in load_honours().honours}
_WEBMAIL_WEIGHTS = (30, 15, 25, 10, 8, 5)
_STATUS_YOUNGER = (("在库", 94), ("暂停", 3.5), ("出库", 2.5))
_STATUS_OLDER = (("在库", 84), ("暂停", 4), ("出库", 12))
_PHONE_SECOND = (("3", 5), ("5", 4), ("8", 4), ("7", 1), ("9", 2), ("4", 0.5), ("6", 0.3))
_CATEGORY_WEIGHTS = (20, 15, 12, 15, 5, 15, 10, 8)
_PROBLEMS = ("精度不足、成本偏高", "可靠性不足、寿命短", "作用机理不清", "效率低、能耗高", "缺乏系统评价方法",
             "关键核心技术受制于人", "数据分散、共享困难", "适应性差、推广难")


def _choice(rng: random.Random, items: Sequence):
    """`rng.choice` without its rejection loop (several times faster); deterministic per seed."""
    return items[int(rng.random() * len(items))]


def _randint(rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo + 1))


def _randrange(rng: random.Random, lo: int, hi: int | None = None) -> int:
    if hi is None:
        lo, hi = 0, lo
    return lo + int(rng.random() * (hi - lo))


def _sample(rng: random.Random, items: Sequence, k: int) -> list:
    """k distinct items (partial Fisher–Yates on a copy)."""
    pool = list(items)
    n = len(pool)
    if not 0 <= k <= n:
        raise ValueError("sample larger than population")
    for i in range(k):
        j = i + int(rng.random() * (n - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def _cum(weights: Iterable[float]) -> list[float]:
    return list(accumulate(weights))


def _pick(rng: random.Random, items: Sequence, cum: list[float]):
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


_WEIGHTED_CACHE: dict[int, tuple[Sequence, list[float], list[str]]] = {}


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    """A weighted choice among (value, weight) pairs; `pairs` should be a constant tuple."""
    cached = _WEIGHTED_CACHE.get(id(pairs))
    if cached is None or cached[0] is not pairs:
        cached = (pairs, _cum(p[1] for p in pairs), [p[0] for p in pairs])
        _WEIGHTED_CACHE[id(pairs)] = cached
    return _pick(rng, cached[2], cached[1])


# ---- people -------------------------------------------------------------------------------------

class _Builder:
    """Draws people, with every random choice taken from one `random.Random`."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.institutions = _institutions()
        self.by_region: dict[str, list[_Institution]] = defaultdict(list)
        for inst in self.institutions:
            self.by_region[inst.region].append(inst)
        self.by_name = {inst.name: inst for inst in self.institutions}
        self._unit_kinds: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {}
        self._inst_cum: dict[tuple[str, str], list[float]] = {}
        self._surnames = V.SURNAMES
        self._surname_cum = _cum(s[2] for s in V.SURNAMES)
        self._field_cum = {
            region: _cum(V.FIELD_WEIGHTS[f] * V.REGION_FIELD_SKEW.get(region, {}).get(f, 1.0) for f in taxonomy.FIELDS)
            for region in taxonomy.REGIONS
        }
        self._years = list(range(1955, 1991))
        self._year_cum = _cum(1 if y < 1960 else 2.5 if y < 1965 else 4 if y < 1985 else 2 for y in self._years)
        self._areas = {region: [a for sub in taxonomy.SUBREGIONS[region] for a in V.ID_AREAS[sub]
                                for _ in range(3 if sub == "成都" else 1)] for region in taxonomy.REGIONS}
        self._webmail_cum = _cum(_WEBMAIL_WEIGHTS)
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()

    # names
    def name(self, gender: str) -> tuple[str, str, list[str], str]:
        rng = self.rng
        surname, surname_py, _ = _pick(rng, self._surnames, self._surname_cum)
        pool = V.GIVEN_MALE if gender == "男" else V.GIVEN_FEMALE
        given = [_choice(rng, pool)]
        if rng.random() < 0.62:
            second = _choice(rng, pool)
            while second is given[0]:
                second = _choice(rng, pool)
            given.append(second)
        return surname + "".join(g[0] for g in given), surname_py, [g[1] for g in given], surname

    def outsider(self, institution: str) -> _Outsider:
        gender = "男" if self.rng.random() < 0.62 else "女"
        return _Outsider(self.name(gender)[0], institution, gender)

    def institution(self, region: str, field_name: str) -> _Institution:
        key = (region, field_name)
        insts = self.by_region[region]
        if key not in self._inst_cum:
            self._inst_cum[key] = _cum(i.weight * (1.0 if field_name in i.fields else 0.008) for i in insts)
        return _pick(self.rng, insts, self._inst_cum[key])

    def field_name(self, region: str) -> str:
        return _pick(self.rng, taxonomy.FIELDS, self._field_cum[region])

    def id_number(self, region: str, sub_region: str, birth: dt.date, gender: str) -> str:
        rng = self.rng
        while True:
            area = _choice(rng, V.ID_AREAS[sub_region]) if rng.random() < 0.4 else _choice(rng, self._areas[region])
            seq = _randrange(rng, 0, 100) * 10 + _choice(rng, (1, 3, 5, 7, 9) if gender == "男" else (0, 2, 4, 6, 8))
            first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
            number = first17 + id_check_char(first17)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def phone(self) -> str:
        rng = self.rng
        while True:
            second = _weighted(rng, _PHONE_SECOND)
            number = f"1{second}{_randrange(rng, 1_000_000_000):09d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def email(self, surname_py: str, given_py: list[str], birth_year: int, domain: str | None, phone: str) -> str:
        rng = self.rng
        if domain is None or rng.random() < 0.4:
            domain = _pick(rng, V.WEBMAIL_DOMAINS, self._webmail_cum)
        if domain == "qq.com" and rng.random() < 0.8:
            local = str(_randrange(rng, 10_000_000, 3_000_000_000))
        elif domain == "139.com":
            local = phone
        else:
            style = rng.random()
            if style < 0.45:
                local = surname_py + "".join(given_py)
            elif style < 0.7:
                local = "".join(given_py) + "." + surname_py
            else:
                local = surname_py + "".join(g[0] for g in given_py)
            if not domain.endswith(".edu.cn") and rng.random() < 0.6:
                local += str(birth_year % 100) if rng.random() < 0.5 else str(_randrange(rng, 1, 999))
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{_randrange(rng, 2, 99)}@{domain}"
        self.used_emails.add(email)
        return email

    # one person
    def person(self, region: str) -> SyntheticExpert:
        rng = self.rng
        primary = self.field_name(region)
        inst = self.institution(region, primary)
        n_fields = 1 if rng.random() < 0.55 else (2 if rng.random() < 0.78 else 3)
        fields = [primary]
        related = V.RELATED_FIELDS[primary]
        while len(fields) < n_fields:
            cand = _choice(rng, related) if rng.random() < 0.92 else _choice(rng, taxonomy.FIELDS)
            if cand not in fields:
                fields.append(cand)
        gender = "男" if rng.random() < 0.70 else "女"
        name, surname_py, given_py, surname = self.name(gender)
        birth_year = _pick(rng, self._years, self._year_cum)
        birth = dt.date(birth_year, 1, 1) + dt.timedelta(days=_randrange(rng, 365))

        # title: senior for over 90%, full senior more likely with age
        p_full = 0.78 if birth_year <= 1965 else 0.55 if birth_year <= 1975 else 0.32 if birth_year <= 1982 else 0.12
        p_junior = 0.02 if birth_year <= 1975 else 0.05 if birth_year <= 1982 else 0.16
        if rng.random() < p_junior:
            title = "中级" if rng.random() < 0.85 else "其他"
        else:
            title = "正高级" if rng.random() < p_full else "副高级"
        kind = "农业" if (inst.kind == "科研院所" and primary == "现代农业") else inst.kind
        workplace, department, kind = self._workplace(inst, primary, kind)
        if title == "其他":
            title_raw = _choice(rng, ("初级", "助理工程师"))
        else:
            title_raw = _weighted(rng, _TITLE_RAW.get((title, kind)) or _TITLE_RAW[(title, "科研院所")])

        honours = self._honours(region, title, birth_year)
        status = _weighted(rng, _STATUS_YOUNGER if birth_year > 1960 else _STATUS_OLDER)
        phone = self.phone()
        email = self.email(surname_py, given_py, birth_year, inst.domain, phone) if rng.random() < 0.97 else ""
        id_number = self.id_number(region, inst.sub_region, birth, gender) if rng.random() > 0.015 else ""
        discipline = self._discipline(primary, kind)
        return SyntheticExpert(
            id="", name=name, gender=gender, birth_year=birth_year, region=region, sub_region=inst.sub_region,
            institution=inst.name, workplace=workplace, department=department, title=title, honours=honours,
            fields=fields, discipline=discipline, topics=[], keywords=[], research="", phone=phone, email=email,
            id_number=id_number, status=status, title_raw=title_raw, kind=kind, surname=surname,
            list_region=region,
        )

    def _workplace(self, inst: _Institution, primary: str, kind: str) -> tuple[str, str, str]:
        rng = self.rng
        hospitals, schools, campuses, others = self._units(inst)
        if primary == "生物医药" and hospitals and rng.random() < 0.6:
            return _choice(rng, hospitals), _choice(rng, V.HOSPITAL_DEPARTMENTS), "医院"
        if primary == "生物医药" and schools and rng.random() < 0.15:
            return _choice(rng, schools), "", kind
        if kind == "医院":
            department = _choice(rng, V.HOSPITAL_DEPARTMENTS)
        elif kind == "高校":
            department = _choice(rng, V.COLLEGES[primary])
        elif kind == "农业":
            department = _choice(rng, V.AGRI_DEPARTMENTS)
        elif kind == "企业":
            department = _choice(rng, V.ENTERPRISE_DEPARTMENTS)
        else:
            department = _choice(rng, V.INSTITUTE_DEPARTMENTS)
        if others and rng.random() < 0.25:
            return _choice(rng, others), department, kind
        if campuses and rng.random() < 0.03:
            return _choice(rng, campuses), department, kind
        if inst.aliases and rng.random() < 0.02:
            return _choice(rng, inst.aliases), department, kind
        return inst.name, department, kind

    def _units(self, inst: _Institution) -> tuple[list[str], list[str], list[str], list[str]]:
        """An institution's sub-units by type: hospitals, (medical) schools, campuses, others."""
        cached = self._unit_kinds.get(inst.name)
        if cached is None:
            hospitals = [u for u in inst.units if "医院" in u]
            schools = [u for u in inst.units if u.endswith("学院")]
            campuses = [u for u in inst.units if u.endswith("区")]          # 校区, 重庆大学A区
            others = [u for u in inst.units if u not in hospitals and u not in schools and u not in campuses]
            cached = self._unit_kinds[inst.name] = (hospitals, schools, campuses, others)
        return cached

    def _discipline(self, primary: str, kind: str) -> str:
        if primary == "生物医药" and kind == "医院" and self.rng.random() < 0.8:
            return "临床医学"
        return _choice(self.rng, V.DISCIPLINES[primary])

    def _honours(self, region: str, title: str, birth_year: int) -> list[str]:
        rng = self.rng
        honours: list[str] = []
        p_high = 0.15 if title == "正高级" else 0.02 if title == "副高级" else 0.0
        if rng.random() < p_high:
            options = [(name, w) for name, lo, hi, w in _HIGH_HONOURS if lo <= birth_year <= hi]
            honours.append(_weighted(rng, options))
            if rng.random() < 0.18:
                second = _weighted(rng, options)
                if second not in honours:
                    honours.append(second)
        if title == "正高级" and birth_year <= 1970 and rng.random() < 0.12:
            honours.append("享受国务院政府特殊津贴专家")
        if title in taxonomy.SENIOR_TITLES and rng.random() < 0.11:
            local = ("四川省学术和技术带头人", "天府学者") if region == "四川" else ("重庆英才", "巴渝学者")
            honours.append(local[0] if rng.random() < 0.7 else local[1])
        return honours


# ---- the pool -----------------------------------------------------------------------------------

def _topic_sentence(rng: random.Random, e: SyntheticExpert) -> str:
    primary = e.fields[0]
    topics = e.topics
    listed = "、".join(topics)
    first = _choice(rng, (
        f"主要从事{listed}等方面的研究。",
        f"研究方向为{listed}。",
        f"长期从事{listed}研究。",
        f"主要研究领域包括{listed}。",
    ))
    own = V.field_topics()[primary]
    focus = _choice(rng, [t for t in topics if t in own] or topics)
    ctx = _choice(rng, V.CONTEXTS[primary])
    aspect = _choice(rng, V.ASPECTS[primary])
    second = _choice(rng, (
        f"近年来重点开展{focus}{aspect}研究，以及{focus}在{ctx}中的应用研究。",
        f"围绕{ctx}需求，开展{focus}{aspect}研究。",
        f"在{focus}方向主持国家和省部级科研项目多项。",
        f"面向{ctx}，开展{focus}的{aspect}研究。",
        "",
    ))
    return first + second


def _assign_topics(rng: random.Random, e: SyntheticExpert, core: Sequence[str] = ()) -> None:
    topics = V.field_topics()
    chosen: list[str] = []
    if core:
        chosen.extend(_sample(rng, list(core), min(len(core), 1 if rng.random() < 0.5 else 2)))
    target = _choice(rng, (2, 3, 3, 4)) if not core else len(chosen) + _choice(rng, (1, 1, 2))
    target = max(2, min(4, target))
    while len(chosen) < target:
        field_name = e.fields[0] if (len(e.fields) == 1 or not chosen or rng.random() < 0.75) \
            else _choice(rng, e.fields[1:])
        topic = _choice(rng, topics[field_name])
        if topic not in chosen:
            chosen.append(topic)
    e.topics = chosen
    keywords = list(chosen)
    rng.shuffle(keywords)
    if rng.random() < 0.35:
        method = _choice(rng, V.field_methods()[e.fields[0]])
        if method not in keywords:
            keywords.append(method)
    e.keywords = keywords
    e.research = _topic_sentence(rng, e)


def _raw_cells(rng: random.Random, e: SyntheticExpert) -> None:
    """Fill the raw cells: aliases and suffixes as real lists write them."""
    if e.list_region == "四川":
        e.sep = "；" if rng.random() < 0.7 else "、"
    else:
        e.sep = _weighted(rng, (("、", 6), ("；", 3), ("，", 1)))
    e.fields_raw = [_choice(rng, _FIELD_ALIASES[f]) if rng.random() < 0.12 else f for f in e.fields]
    e.honours_raw = [_choice(rng, _HONOUR_ALIASES[h]) if _HONOUR_ALIASES[h] and rng.random() < 0.3 else h
                     for h in e.honours]
    e.region_raw = e.region + ("省" if e.region == "四川" else "市") if rng.random() < 0.15 else e.region
    sub = e.sub_region
    if e.region == "四川":
        suffix = "州" if sub in ("阿坝", "甘孜", "凉山") else "市"
        e.sub_region_raw = sub + suffix if rng.random() < 0.3 else sub
    else:
        bare = sub.removesuffix("区").removesuffix("县")
        e.sub_region_raw = bare if (sub.endswith(("区", "县")) and "新区" not in sub and "高新" not in sub
                                    and "经开" not in sub and len(bare) >= 2 and rng.random() < 0.1) else sub
    e.birth_raw = f"{e.birth_year}年" if rng.random() < 0.03 else str(e.birth_year)
    e.status_raw = "正常" if (e.list_region == "重庆" and e.status == "在库" and rng.random() < 0.3) else e.status


class _Pool:
    def __init__(self, count: int, seed: int, n_projects: int, integrity_share: float = 0.015):
        self.rng = random.Random(seed)
        self.integrity_share = integrity_share
        self.count = count
        self.n_projects = n_projects
        self.b = _Builder(self.rng)
        self.people: list[SyntheticExpert] = []          # one per person (their primary row)
        self.rows: dict[str, list[SyntheticExpert]] = {"四川": [], "重庆": []}
        self.by_id: dict[str, SyntheticExpert] = {}
        self.groups: list[list[SyntheticExpert]] = []
        self.group_outsiders: list[list[_Outsider]] = []
        self.relations: list[tuple] = []
        self._relation_keys: set[tuple] = set()

    # people and lists
    def build_people(self) -> None:
        rng = self.rng
        for _ in range(self.count):
            region = "四川" if rng.random() < 0.55 else "重庆"
            self.people.append(self.b.person(region))
        # about 2% are in both lists: same identity number, another 专家编号
        alt_rows: list[tuple[SyntheticExpert, SyntheticExpert]] = []
        for person in self.people:
            if person.id_number and rng.random() < 0.02:
                other = replace(person, list_region=_OTHER[person.list_region], honours=list(person.honours),
                                fields=list(person.fields))
                roll = rng.random()
                if roll < 0.3:
                    other.department = ""
                elif roll < 0.6 and person.kind == "高校":
                    other.department = _choice(rng, V.COLLEGES[person.fields[0]])
                elif roll < 0.75:
                    other.workplace = person.institution
                alt_rows.append((person, other))
        for person in self.people:
            self.rows[person.list_region].append(person)
        for _, other in alt_rows:
            self.rows[other.list_region].append(other)
        for region, rows in self.rows.items():
            order = list(range(len(rows)))
            rng.shuffle(order)
            for number, index in enumerate(order, start=1):
                rows[index].id = f"{_PREFIX[region]}-{number:06d}"
            rows.sort(key=lambda e: e.id)
        for person, other in alt_rows:
            person.also, other.also = other.id, person.id
        self.alt_rows = alt_rows
        self.alt_by_id = {other.id: other for _, other in alt_rows}
        self.by_id = {e.id: e for e in self.people}

    def build_groups(self) -> None:
        """Research groups: same primary field, mostly the same institution; they share topics."""
        rng = self.rng
        by_field: dict[str, list[SyntheticExpert]] = defaultdict(list)
        for e in self.people:
            by_field[e.fields[0]].append(e)
        topics = V.field_topics()
        for field_name in taxonomy.FIELDS:
            members = by_field.get(field_name, [])
            buckets: dict[str, list[SyntheticExpert]] = defaultdict(list)
            for e in members:
                if rng.random() > 0.15:              # ~15% work alone
                    buckets[e.institution].append(e)
            leftovers: list[SyntheticExpert] = []
            for bucket in buckets.values():          # groups inside one institution
                i = 0
                while i < len(bucket):
                    size = _randint(rng, 3, 10)
                    chunk = bucket[i:i + size]
                    i += size
                    if len(chunk) < 3:
                        leftovers.extend(chunk)
                    else:
                        self._group(chunk, topics[field_name])
            keys = {id(e): rng.random() for e in leftovers}
            leftovers.sort(key=lambda e: (e.region, keys[id(e)]))
            i = 0
            while i < len(leftovers):                # small cross-institution groups
                size = _randint(rng, 2, 6)
                chunk = leftovers[i:i + size]
                i += size
                if len(chunk) >= 2:
                    self._group(chunk, topics[field_name])
            for e in members:
                if not e.topics:
                    _assign_topics(rng, e)
        # the other-list row of a person carries the same research (keywords in another order)
        for person, other in self.alt_rows:
            other.topics, other.research = list(person.topics), person.research
            other.keywords = list(person.keywords)
            if rng.random() < 0.5:
                rng.shuffle(other.keywords)
            other.group = person.group

    def _group(self, chunk: list[SyntheticExpert], field_topics: Sequence[str]) -> None:
        core = _sample(self.rng, field_topics, 3)
        gid = len(self.groups)
        for e in chunk:
            e.group = gid
            _assign_topics(self.rng, e, core)
        self.groups.append(chunk)

    # relations
    def _rel(self, eid: str, other_id: str, other_name: str, other_inst: str, kind: str,
             start: int | None, end: int | None, note: str) -> None:
        key = (eid, other_id or f"{other_name}@{other_inst}", kind, start, end)
        if key in self._relation_keys:
            return
        self._relation_keys.add(key)
        self.relations.append((eid, other_id, other_name, other_inst, kind,
                               "" if start is None else str(start), "" if end is None else str(end), note))

    def _rel_people(self, a: SyntheticExpert, b: SyntheticExpert, kind: str, start, end, note: str) -> None:
        if a.id > b.id and kind not in ("师生",):
            a, b = b, a
        self._rel(a.id, b.id, b.name, b.workplace, kind, start, end, note)

    def build_relations(self) -> None:
        rng = self.rng
        people = self.people
        by_field: dict[str, list[SyntheticExpert]] = defaultdict(list)
        for e in people:
            by_field[e.fields[0]].append(e)
        regional = [i.name for i in self.b.institutions if i.weight >= 2]

        # co-authorship inside research groups, over 2015–2026
        for gid, members in enumerate(self.groups):
            home = members[0].institution
            outsiders = []
            for _ in range(_randint(rng, 1, 5)):      # students, staff and colleagues outside the pool
                if rng.random() < 0.6:
                    place = home
                else:
                    place = _choice(rng, V.OUTSIDE_INSTITUTIONS if rng.random() < 0.6 else regional)
                outsiders.append(self.b.outsider(place))
            self.group_outsiders.append(outsiders)
            external: list[SyntheticExpert] = []
            if rng.random() < 0.25:
                pool = by_field[members[0].fields[0]]
                for _ in range(_randint(rng, 1, 2)):
                    cand = _choice(rng, pool)
                    if cand.group != gid and cand not in external:
                        external.append(cand)
            pairs: dict[tuple[str, str], list[int]] = {}
            outside_pairs: dict[tuple[str, int], list[int]] = {}
            leader = max(members, key=lambda e: (e.title == "正高级", -e.birth_year))
            for _ in range(_randint(rng, 2, 3 + len(members) // 2)):
                year = _randint(rng, 2015, 2026)
                k = _randint(rng, 2, min(len(members), 6))
                authors = _sample(rng, members, k)
                if leader not in authors and rng.random() < 0.7:
                    authors[0] = leader
                authors.extend(x for x in external if rng.random() < 0.3)
                outs = [i for i in range(len(outsiders)) if rng.random() < 0.3]
                total = len(set(a.id for a in authors)) + len(outs) + _randint(rng, 0, 4)
                ids = sorted({a.id for a in authors})
                for x, y in combinations(ids, 2):
                    span = pairs.setdefault((x, y), [year, year, total])
                    span[0], span[1], span[2] = min(span[0], year), max(span[1], year), min(span[2], total)
                for a in ids:
                    for o in outs:
                        span = outside_pairs.setdefault((a, o), [year, year, total])
                        span[0], span[1], span[2] = min(span[0], year), max(span[1], year), min(span[2], total)
            for (x, y), (start, end, total) in sorted(pairs.items()):
                other = self.by_id[y]
                self._rel(x, y, other.name, other.workplace, "合著", start, end, f"作者数={total}")
            for (a, o), (start, end, total) in sorted(outside_pairs.items()):
                out = outsiders[o]
                self._rel(a, "", out.name, out.institution, "合著", start, end, f"作者数={total}")
            # advisor–advisee inside the group
            if leader.title == "正高级":
                for m in members:
                    if m is not leader and m.birth_year >= leader.birth_year + 12 and rng.random() < 0.25:
                        self._advisor(leader, m)
                if rng.random() < 0.3:
                    for _ in range(_randint(rng, 1, 3)):
                        student = self.b.outsider(leader.workplace)
                        start = _randint(rng, 2016, 2024)
                        degree = _choice(rng, ("博士", "博士", "硕士"))
                        end = start + (3 if degree == "硕士" else _choice(rng, (4, 5)))
                        self._rel(leader.id, "", student.name, student.institution, "师生", start,
                                  end if end <= 2026 else None, degree)

        # big-consortium papers (作者数 > 50)
        for _ in range(max(1, self.count // 2500)):
            field_name = _weighted(rng, (("生物医药", 4), ("资源环境", 2), ("新能源", 2), ("新一代信息技术", 1),
                                         ("航空航天", 1)))
            pool = by_field.get(field_name) or people
            authors = _sample(rng, pool, min(len(pool), _randint(rng, 4, 12)))
            total = _randint(rng, 55, 400)
            year = _randint(rng, 2016, 2026)
            for a, b in combinations(sorted(authors, key=lambda e: e.id), 2):
                self._rel(a.id, b.id, b.name, b.workplace, "合著", year, year, f"作者数={total}")

        # advisors at other institutions (where the expert studied)
        seniors: dict[str, list[SyntheticExpert]] = defaultdict(list)
        for e in people:
            if e.title == "正高级":
                seniors[e.fields[0]].append(e)
        for e in people:
            if e.birth_year >= 1972 and rng.random() < 0.06 and seniors[e.fields[0]]:
                for _ in range(10):
                    adv = _choice(rng, seniors[e.fields[0]])
                    if adv.birth_year <= e.birth_year - 12 and adv is not e:
                        self._advisor(adv, e)
                        break

        self._family()

        # project co-investigators, often across the two regions
        for _ in range(round(self.count * 0.04)):
            a = _choice(rng, people)
            pool = by_field[a.fields[0]]
            for _ in range(10):
                b = _choice(rng, pool)
                if b.institution != a.institution and (b.region != a.region or rng.random() < 0.65):
                    start = _randint(rng, 2015, 2025)
                    end = min(start + _randint(rng, 2, 4), 2028)
                    self._rel_people(a, b, "项目合作", start, end, _choice(rng, V.PROJECT_COOPERATION_NOTES))
                    break
        for _ in range(round(self.count * 0.004)):
            a, b = _sample(rng, people, 2)
            start = _randint(rng, 2016, 2025)
            self._rel_people(a, b, "其他", start, None if rng.random() < 0.5 else start + 3,
                             _choice(rng, V.OTHER_RELATION_NOTES))

    def _advisor(self, adv: SyntheticExpert, student: SyntheticExpert) -> None:
        rng = self.rng
        degree = _weighted(self.rng, (("博士", 6), ("硕士", 2.5), ("博士后", 1.5)))
        start = student.birth_year + {"硕士": 22, "博士": 25, "博士后": 29}[degree] + _randint(rng, 0, 2)
        end = start + {"硕士": 3, "博士": 4, "博士后": 2}[degree]
        if start < adv.birth_year + 28 or end > 2026:
            return
        self._rel(adv.id, student.id, student.name, student.workplace, "师生", start, end, degree)

    def _family(self) -> None:
        rng = self.rng
        people = self.people
        by_place: dict[tuple[str, str], list[SyntheticExpert]] = defaultdict(list)
        by_surname: dict[str, list[SyntheticExpert]] = defaultdict(list)
        for e in people:
            by_place[(e.sub_region, e.gender)].append(e)
            by_surname[e.surname].append(e)
        for _ in range(round(self.count * 0.003)):      # spouses in the pool
            a = _choice(rng, people)
            pool = by_place[(a.sub_region, "女" if a.gender == "男" else "男")]
            for _ in range(12):
                if not pool:
                    break
                b = _choice(rng, pool)
                if abs(a.birth_year - b.birth_year) <= 5:
                    self._rel_people(a, b, "亲属", None, None, "配偶")
                    break
        for _ in range(max(1, round(self.count * 0.002))):   # parent and child
            child = _choice(rng, people)
            for _ in range(40):
                parent = _choice(rng, by_surname[child.surname])
                gap = child.birth_year - parent.birth_year
                if 24 <= gap <= 36 and parent.gender == "男":
                    note = "父子" if child.gender == "男" else "父女"
                    self._rel(parent.id, child.id, child.name, child.workplace, "亲属", None, None, note)
                    break
        for _ in range(max(1, round(self.count * 0.001))):   # siblings
            a = _choice(rng, people)
            for _ in range(12):
                b = _choice(rng, by_surname[a.surname])
                if b is not a and abs(a.birth_year - b.birth_year) <= 8 and b.region == a.region:
                    self._rel_people(a, b, "亲属", None, None, "兄弟姐妹")
                    break
        regional = [i for i in self.b.institutions if i.weight >= 2]
        for _ in range(round(self.count * 0.003)):      # spouse outside the pool
            a = _choice(rng, people)
            inst = _choice(rng, [i for i in regional if i.region == a.region])
            spouse = self.b.outsider(inst.name)
            self._rel(a.id, "", spouse.name, spouse.institution, "亲属", None, None, "配偶")

    # affiliations
    def affiliations(self) -> list[tuple[str, str, str, str]]:
        rng = self.rng
        regional = [i for i in self.b.institutions if i.weight >= 1]
        rows: list[tuple[str, str, str, str]] = []
        for e in self.people:
            career = max(1978, e.birth_year + _randint(rng, 23, 30))
            n_former = _weighted(rng, (("0", 55), ("1", 33), ("2", 12)))
            n_former = int(n_former)
            latest = 2026
            if career + 2 * n_former + 2 > latest:
                n_former = 0
            switches = sorted(_sample(rng, range(career + 2, latest), n_former)) if n_former else []
            starts = [career] + switches
            inst = self.b.by_name[e.institution] if n_former else None
            for k in range(n_former):
                start, end = starts[k], starts[k + 1]
                roll = rng.random()
                if inst and inst.former and end <= 2000 and roll < 0.5:
                    name = _choice(rng, inst.former)
                elif roll < 0.55:
                    name = _choice(rng, V.OUTSIDE_INSTITUTIONS)
                else:
                    name = _choice(rng, regional).name
                if name == e.institution:
                    name = _choice(rng, V.OUTSIDE_INSTITUTIONS)
                rows.append((e.id, name, str(start), str(end)))
            rows.append((e.id, e.workplace, str(starts[-1]), ""))
        return rows

    # integrity records
    def integrity(self) -> list[tuple[str, ...]]:
        rng = self.rng
        chosen = _sample(rng, self.people, min(self.count, max(1, round(self.count * self.integrity_share))))
        rows: list[tuple[str, ...]] = []
        seq: dict[int, int] = defaultdict(int)
        span = (dt.date(2026, 11, 25) - dt.date(2018, 1, 1)).days
        for e in chosen:
            decision = dt.date(2018, 1, 1) + dt.timedelta(days=_randrange(rng, span))
            start = decision + dt.timedelta(days=_choice(rng, (0, 0, 0, 7, 15, 30)))
            category = _pick(rng, INTEGRITY_CATEGORIES, _cum(_CATEGORY_WEIGHTS))
            severity = _weighted(rng, (("一般", 45), ("较重", 35), ("严重", 20)))
            end: dt.date | None
            if rng.random() < {"严重": 0.6, "较重": 0.1, "一般": 0.0}[severity]:
                end = None
            else:
                years = _weighted(rng, (("1", 30), ("2", 30), ("3", 25), ("5", 15)))
                end = add_years(start, int(years)) - dt.timedelta(days=1)
            if severity == "一般":
                measures = _choice(rng, (["书面警告"], ["通报批评"], ["暂停评审专家资格", "通报批评"],
                                       ["暂停评审专家资格"]))
            elif severity == "较重":
                measures = [_choice(rng, ("暂停评审专家资格", "取消评审专家资格")), "通报批评"]
                if rng.random() < 0.4:
                    measures.append("追回项目经费")
            else:
                measures = ["取消评审专家资格", "撤销项目立项", "追回项目经费"]
                if rng.random() < 0.3:
                    measures.append("取消专家库入库资格")
            roll = rng.random()
            expert_id = e.id
            y = decision.year
            n = _randint(rng, 3, 80)
            if roll < 0.15:
                issuer, doc = "科技部", f"国科监〔{y}〕{n}号"
            elif roll < 0.7:
                body_region = e.region if roll < 0.6 else _OTHER[e.region]
                issuer = _PROVINCE_BODY[body_region]
                doc = f"川科监〔{y}〕{n}号" if body_region == "四川" else f"渝科局发〔{y}〕{n}号"
                if e.also and e.also.startswith(_PREFIX[body_region]):
                    expert_id = e.also     # the other province recorded it under its own number
            else:
                inst = self.b.by_name[e.institution]
                issuer = inst.name
                short = inst.aliases[0] if inst.aliases else inst.name
                doc = f"{short}发〔{y}〕{n}号"
            if rng.random() < 0.06:
                status = "revoked"
            elif end is not None and end < REFERENCE_DATE:
                status = "expired" if rng.random() < 0.75 else "active"
            else:
                status = "active"
            if status == "active" and severity == "严重" and rng.random() < 0.5:
                e.status = _choice(rng, ("暂停", "出库"))
                if e.also:
                    self.alt_by_id[e.also].status = e.status
            seq[y] += 1
            rows.append((
                f"CX-{y}-{seq[y]:04d}", expert_id, category, severity, self._date(decision), self._date(start),
                self._date(end) if end else "", "；".join(measures), issuer, doc, status,
            ))
        rows.sort(key=lambda r: r[0])
        return rows

    def _date(self, day: dt.date) -> str:
        roll = self.rng.random()
        if roll < 0.85:
            return day.isoformat()
        if roll < 0.95:
            return f"{day.year}/{day.month}/{day.day}"
        return f"{day.year}年{day.month}月{day.day}日"

    # review history
    def history(self) -> list[tuple[str, str, str]]:
        rng = self.rng
        rows: list[tuple[str, str, str]] = []
        activities = V.REVIEW_ACTIVITIES
        names: dict[tuple[int, int, str], str] = {}
        days_of = {year: [dt.date(year, 1, 1) + dt.timedelta(days=d) for d in range(365)]
                   for year in (2024, 2025, 2026)}
        iso_of = {year: [d.isoformat() for d in days] for year, days in days_of.items()}
        for e in self.people:
            if rng.random() < 0.35:
                continue
            rate = min(30.0, 1.1 * rng.paretovariate(1.5))
            if e.status != "在库":
                rate *= 0.3
            seen: set[tuple[str, str]] = set()
            for year in (2024, 2025, 2026):
                days = 334 if year == 2026 else 365
                expected = rate * days / 365
                n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
                for _ in range(n):
                    which = _randrange(rng, len(activities))
                    organiser = activities[which][1]
                    field_name = e.fields[0] if rng.random() < 0.85 else _choice(rng, e.fields)
                    activity = names.get((which, year, field_name))
                    if activity is None:
                        activity = names[(which, year, field_name)] = activities[which][0].format(
                            year=year, field=field_name)
                    offset = _randrange(rng, days)
                    iso = iso_of[year][offset]
                    expert_id = e.id
                    if e.also and organiser in _PREFIX and e.also.startswith(_PREFIX[organiser]):
                        expert_id = e.also
                    key = (activity, iso)
                    if key in seen:
                        continue
                    seen.add(key)
                    roll = rng.random()
                    if roll < 0.93:
                        text = iso
                    else:
                        day = days_of[year][offset]
                        text = (f"{day.year}/{day.month}/{day.day}" if roll < 0.98
                                else f"{day.year}年{day.month}月{day.day}日")
                    rows.append((expert_id, activity, text))
        return rows

    # projects
    def projects(self) -> tuple[list[dict], dict[str, tuple[str, ...]]]:
        rng = self.rng
        by_rf: dict[tuple[str, str], list[SyntheticExpert]] = defaultdict(list)
        by_field: dict[str, list[SyntheticExpert]] = defaultdict(list)
        for e in self.people:
            by_rf[(e.region, e.fields[0])].append(e)
            by_field[e.fields[0]].append(e)
        group_of = {id(e): e.group for e in self.people}
        out: list[dict] = []
        truth: dict[str, tuple[str, ...]] = {}
        numbers = {"四川": 0, "重庆": 0}
        topics_of = V.field_topics()
        field_cum = _cum(V.FIELD_WEIGHTS[f] for f in taxonomy.FIELDS)
        for _ in range(self.n_projects):
            field_name = _pick(rng, taxonomy.FIELDS, field_cum)
            region = "四川" if rng.random() < 0.55 else "重庆"
            candidates = by_rf.get((region, field_name)) or by_field.get(field_name) or self.people
            team: list[dict] = []
            members: set[str] = set()
            if rng.random() < 0.65:
                app = _choice(rng, candidates)
                region = app.region
                applicant = {"name": app.name, "institution": app.workplace, "expert_id": app.id}
                members.add(app.id)
                topics = _sample(rng, app.topics, min(len(app.topics), _choice(rng, (1, 2, 2))))
                institution = app.workplace
                gid = group_of[id(app)]
                if gid >= 0:
                    mates = [m for m in self.groups[gid] if m is not app]
                    for m in _sample(rng, mates, min(len(mates), _randint(rng, 1, 3))):
                        team.append({"name": m.name, "institution": m.workplace, "expert_id": m.id})
                        members.add(m.id)
                    outs = self.group_outsiders[gid] if gid < len(self.group_outsiders) else []
                    for o in _sample(rng, outs, min(len(outs), _randint(rng, 0, 2))):
                        team.append({"name": o.name, "institution": o.institution})
            else:
                inst = self.b.institution(region, field_name)
                gid = _randrange(rng, len(self.groups)) if self.groups and rng.random() < 0.4 else -1
                if gid >= 0 and self.group_outsiders[gid]:
                    person = _choice(rng, self.group_outsiders[gid])
                else:
                    person = self.b.outsider(inst.name)
                applicant = {"name": person.name, "institution": person.institution}
                institution = person.institution
                topics = _sample(rng, topics_of[field_name], _choice(rng, (2, 2, 3)))
                for _ in range(_randint(rng, 1, 3)):
                    o = self.b.outsider(institution)
                    team.append({"name": o.name, "institution": o.institution})
            for _ in range(_randint(rng, 0, 2)):
                partner = _choice(rng, by_field.get(field_name) or self.people)
                if partner.id not in members:
                    team.append({"name": partner.name, "institution": partner.workplace, "expert_id": partner.id})
                    members.add(partner.id)
            while len(topics) < 2:
                extra = _choice(rng, topics_of[field_name])
                if extra not in topics:
                    topics.append(extra)
            fields = [field_name]
            if rng.random() < 0.25:
                second = _choice(rng, V.RELATED_FIELDS[field_name])
                fields.append(second)
            ctx = _choice(rng, V.CONTEXTS[field_name])
            t1, t2 = topics[0], topics[1]
            title = _choice(rng, V.PROJECT_TITLES).format(t1=t1, t2=t2, ctx=ctx,
                                                        aspect=_choice(rng, V.ASPECTS[field_name]))
            abstract = (
                f"本项目面向{ctx}的重大需求，针对{t1}中存在的{_choice(rng, _PROBLEMS)}等问题，"
                f"围绕{'、'.join(topics)}开展研究。拟建立{t1}{_choice(rng, V.ASPECTS[field_name])}体系，"
                f"突破{t2}关键技术，并在{_choice(rng, V.CONTEXTS[field_name])}开展应用验证。"
                f"项目实施将形成一批自主知识产权成果，支撑成渝地区双城经济圈{field_name}产业高质量发展。"
            )
            keywords = list(topics)
            if rng.random() < 0.3:
                keywords.append(_choice(rng, V.field_methods()[field_name]))
            avoid: list[str] = []
            if rng.random() < 0.3:
                rivals = [e for e in by_field.get(field_name, []) if e.id not in members
                          and set(e.topics) & set(topics)]
                for rival in _sample(rng, rivals, min(len(rivals), _randint(rng, 1, 2))):
                    avoid.append(rival.id)
            numbers[region] += 1
            n = numbers[region]
            pid = f"2026YFG{n:04d}" if region == "四川" else f"CSTB2026TIAD-KPX{n:04d}"
            out.append({
                "id": pid, "title": title, "abstract": abstract, "keywords": keywords, "fields": fields,
                "institution": institution, "region": region, "applicant": applicant, "team": team,
                "avoid": avoid,
            })
            truth[pid] = tuple(topics)
        return out, truth

    def finish_cells(self) -> None:
        for region in taxonomy.REGIONS:
            for e in self.rows[region]:
                _raw_cells(self.rng, e)


# ---- the experts in each format ---------------------------------------------------------------

def _xlsx_cells(e: SyntheticExpert) -> list[object]:
    cells: list[object] = e.cells()
    if cells[3].isdigit():
        cells[3] = int(cells[3])        # 出生年份 as a number, as Excel users type it
    return cells


def write_jsonl_experts(experts: Iterable[SyntheticExpert], path: Path) -> int:
    """Write experts as JSONL with English keys (EXPERT_JSON_KEYS); returns the number of lines."""
    return write_jsonl(Path(path), (e.record() for e in experts))


def write_experts_csv(experts: Iterable[SyntheticExpert], path: Path, encoding: str = "gb18030") -> int:
    """Write experts as a CSV with the Chinese headers; returns the number of rows."""
    rows = [e.cells() for e in experts]
    write_csv(Path(path), EXPERT_HEADERS, rows, encoding)
    return len(rows)


def write_experts_xlsx(experts: Iterable[SyntheticExpert], path: Path) -> int:
    """Write experts as an XLSX sheet with the Chinese headers; returns the number of rows."""
    rows = [_xlsx_cells(e) for e in experts]
    write_xlsx(Path(path), EXPERT_HEADERS, rows, "专家名单")
    return len(rows)


# ---- public API ---------------------------------------------------------------------------------

def generate_experts(count: int, seed: int, *, first_number: int = 1) -> list[SyntheticExpert]:
    """`count` stand-alone experts of both regions (no groups or relations), numbered from
    `first_number` per region (``SC-100001`` …), e.g. newly added experts for an update file."""
    rng = random.Random(seed)
    builder = _Builder(rng)
    out: list[SyntheticExpert] = []
    numbers = {"四川": first_number, "重庆": first_number}
    for _ in range(count):
        region = "四川" if rng.random() < 0.55 else "重庆"
        e = builder.person(region)
        e.id = f"{_PREFIX[region]}-{numbers[region]:06d}"
        numbers[region] += 1
        _assign_topics(rng, e)
        _raw_cells(rng, e)
        out.append(e)
    return out


#: Far beyond any real pool (about 32,000 experts); a larger number is a typing error, not a wish
#: to fill the disk.
MAX_GENERATED_EXPERTS = 1_000_000
MAX_GENERATED_PROJECTS = 100_000


def generate_pool(count: int, seed: int, out_dir: Path, projects: int = 40, *,
                  write_truth: bool = True, jsonl_experts: bool = False,
                  integrity_share: float = 0.015) -> GenerateReport:
    """Generate `count` people (about 2% of them listed in both provinces' lists) and write the
    import files into `out_dir` (created if missing). Same `seed` → byte-identical files.

    `write_truth` writes ``truth.jsonl`` (ground-truth topics); `jsonl_experts` also writes every
    list row to ``experts.jsonl`` with English keys; `integrity_share` is the share of people
    with an integrity record (1.5% by default; small sample sets use more so every case shows)."""
    if not 1 <= count <= MAX_GENERATED_EXPERTS:
        raise InputError(f"--count 应为 1 到 {MAX_GENERATED_EXPERTS} 之间的整数（现为 {count}）")
    if not -(2**63) <= seed < 2**63:
        raise InputError(f"--seed 应为 64 位整数（现为 {seed}）")
    if not 0 <= projects <= MAX_GENERATED_PROJECTS:
        raise InputError(f"--projects 应为 0 到 {MAX_GENERATED_PROJECTS} 之间的整数（现为 {projects}）")

    out_dir = output_directory(out_dir, "输出目录（--out）")
    pool = _Pool(count, seed, projects, integrity_share)
    pool.build_people()
    pool.build_groups()
    pool.build_relations()
    affiliations = pool.affiliations()
    integrity = pool.integrity()
    history = pool.history()
    project_rows, project_truth = pool.projects()
    pool.finish_cells()

    paths = {kind: out_dir / name for kind, name in FILE_NAMES.items()}
    write_experts_csv(pool.rows["四川"], paths["sichuan"], "gb18030")
    write_experts_xlsx(pool.rows["重庆"], paths["chongqing"])
    write_csv(paths["affiliations"], AFFILIATION_HEADERS, affiliations, "utf-8")
    relations = sorted(pool.relations, key=lambda r: (r[0], r[4], r[1], r[2], r[5]))
    write_csv(paths["relations"], RELATION_HEADERS, relations, "utf-8")
    write_csv(paths["integrity"], INTEGRITY_HEADERS, integrity, "utf-8-sig")
    history.sort(key=lambda r: (r[0], r[2], r[1]))
    write_csv(paths["history"], HISTORY_HEADERS, history, "utf-8")
    write_jsonl(paths["projects"], project_rows)

    truth: dict[str, tuple[str, ...]] = {}
    for rows in pool.rows.values():
        for e in rows:
            truth[e.id] = tuple(e.topics)
    if write_truth:
        records: list[dict] = []
        for e in sorted(pool.people, key=lambda e: e.id):
            records.append({"kind": "expert", "id": e.id, "also": e.also, "fields": e.fields,
                            "institution": e.institution, "region": e.region, "group": e.group,
                            "topics": e.topics})
        for pid, topics in project_truth.items():
            records.append({"kind": "project", "id": pid, "topics": list(topics)})
        paths["truth"].parent.mkdir(exist_ok=True)
        write_jsonl(paths["truth"], [GROUND_TRUTH_HEADER, *records])
    else:
        paths.pop("truth")
    if jsonl_experts:
        write_jsonl_experts([e for region in taxonomy.REGIONS for e in pool.rows[region]], paths["experts_jsonl"])
    else:
        paths.pop("experts_jsonl")

    counts = {
        "people": len(pool.people),
        "sichuan_rows": len(pool.rows["四川"]),
        "chongqing_rows": len(pool.rows["重庆"]),
        "listed_twice": len(pool.alt_rows),
        "high_level": sum(1 for e in pool.people if load_honours().is_high_level(e.honours)),
        "senior": sum(1 for e in pool.people if e.title in taxonomy.SENIOR_TITLES),
        "affiliations": len(affiliations),
        "relations": len(relations),
        "integrity": len(integrity),
        "history": len(history),
        "projects": len(project_rows),
    }
    return GenerateReport(out_dir=out_dir, paths=paths, counts=counts, truth=truth, project_truth=project_truth)


def write_broken_experts(path: Path, seed: int = 9) -> list[tuple[int, str]]:
    """A small UTF-8 expert CSV with good rows and one planted problem per bad row, to show the
    importer's reject report. Returns (row number as a spreadsheet shows it, problem) pairs."""
    experts = [e for e in generate_experts(30, seed, first_number=900001) if e.id_number and e.email][:10]
    rows = [e.cells() for e in experts]
    col = {h: i for i, h in enumerate(EXPERT_HEADERS)}
    problems: list[tuple[int, str]] = []

    def plant(index: int, header: str, value: str, problem: str) -> None:
        rows[index][col[header]] = value
        problems.append((index + 2, problem))

    plant(1, "专业领域", "量子玄学", "未知的专业领域「量子玄学」")
    number = rows[2][col["证件号码"]]
    wrong = "0" if number[-1] != "0" else "1"
    plant(2, "证件号码", number[:-1] + wrong, "证件号码校验位错误")
    plant(3, "姓名", "", "缺少姓名")
    plant(4, "职称", "特级大师", "未知的职称「特级大师」")
    plant(5, "出生年份", "19x0", "出生年份「19x0」不是四位数字")
    plant(6, "专家编号", rows[0][col["专家编号"]], f"专家编号 {rows[0][col['专家编号']]} 在文件中重复")
    rows[7][col["所在地区"]] = "重庆"
    plant(7, "市州/区县", "绵阳", "市州/区县「绵阳」不属于重庆")
    plant(8, "邮箱", "wang.at.scu.edu.cn", "邮箱格式不正确")
    write_csv(Path(path), EXPERT_HEADERS, rows, "utf-8")
    return problems
