"""The synthetic pool generator: deterministic, realistic in shape, valid against the vocabularies."""
from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from expertpool.domain import taxonomy
from expertpool.io.datafiles import load_honours
from expertpool.domain.models import INTEGRITY_CATEGORIES, RELATION_KINDS, Expert
from expertpool.domain.text import (normalise_email, normalise_id_number, normalise_phone, parse_date, parse_year,
                                    split_multi)
from expertpool.segment import INDEXES_DIR, load_synonyms, load_user_dictionary
from expertpool.stores.sqlite import SQLiteStore
from expertpool.synthetic import vocabulary
from expertpool.synthetic.generate import (EXPERT_HEADERS, EXPERT_JSON_KEYS, FILE_NAMES, GROUND_TRUTH_HEADER,
                                           REFERENCE_DATE, add_years,
                                          generate_experts, generate_pool, write_broken_experts,
                                          write_jsonl_experts)

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 2000


def read_lists(out: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The Sichuan CSV (GB18030) and the Chongqing XLSX as lists of header → cell text."""
    text = (out / FILE_NAMES["sichuan"]).read_bytes().decode("gb18030")
    sichuan = list(csv.DictReader(io.StringIO(text)))
    sheet = load_workbook(out / FILE_NAMES["chongqing"], read_only=True).active
    rows = sheet.iter_rows(values_only=True)
    headers = next(rows)
    chongqing = [dict(zip(headers, ("" if v is None else str(v) for v in row))) for row in rows]
    return sichuan, chongqing


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def normalised(row: dict[str, str]) -> Expert:
    """Build the domain model from a raw row, the way an importer must (aliases resolved)."""
    region = taxonomy.normalise_region(row["所在地区"])
    _, sub_region = taxonomy.normalise_subregion(row["市州/区县"], region)
    id_number = row["证件号码"]
    if id_number:
        id_number = normalise_id_number(id_number)
    if row["邮箱"]:
        normalise_email(row["邮箱"])
    normalise_phone(row["手机"])
    return Expert(
        id=row["专家编号"], name=row["姓名"], gender=taxonomy.normalise_gender(row["性别"]),
        birth_year=parse_year(row["出生年份"]), region=region, sub_region=sub_region,
        institution=row["工作单位"], department=row["部门"] or None, title=taxonomy.normalise_title(row["职称"]),
        honours=[taxonomy.normalise_honour(h, load_honours()) for h in split_multi(row["人才称号"])],
        fields=[taxonomy.normalise_field(f) for f in split_multi(row["专业领域"])],
        discipline=row["学科"], research=row["研究方向"], keywords=split_multi(row["关键词"]),
        phone=row["手机"], email=row["邮箱"] or None, id_last4=id_number[-4:] if id_number else None,
        status=taxonomy.normalise_status(row["状态"]),
    )


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    out = tmp_path_factory.mktemp("pool")
    report = generate_pool(PEOPLE, 3, out, projects=40)
    sichuan, chongqing = read_lists(out)
    return report, out, sichuan, chongqing


@pytest.fixture(scope="module")
def experts(pool):
    _, _, sichuan, chongqing = pool
    return [(row, normalised(row)) for row in sichuan + chongqing]


@pytest.fixture(scope="module")
def people(experts):
    """One expert per person (rows of the same identity number counted once)."""
    seen: set[str] = set()
    out = []
    for row, expert in experts:
        key = row["证件号码"] or row["专家编号"]
        if key not in seen:
            seen.add(key)
            out.append(expert)
    return out


def test_same_seed_gives_identical_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_pool(150, 11, a, projects=5)
    generate_pool(150, 11, b, projects=5)
    generate_pool(150, 12, c, projects=5)
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    assert set(names) >= {FILE_NAMES[k] for k in ("sichuan", "chongqing", "affiliations", "relations", "integrity",
                                                  "history", "projects", "truth")}
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / FILE_NAMES["sichuan"]).read_bytes() != (c / FILE_NAMES["sichuan"]).read_bytes()


def test_report_counts_match_files(pool):
    report, out, sichuan, chongqing = pool
    assert report.counts["people"] == PEOPLE
    assert report.counts["sichuan_rows"] == len(sichuan)
    assert report.counts["chongqing_rows"] == len(chongqing)
    assert len(sichuan) + len(chongqing) == PEOPLE + report.counts["listed_twice"]
    assert all(path.exists() for path in report.paths.values())
    assert all(row["专家编号"].startswith("SC-") for row in sichuan)
    assert all(row["专家编号"].startswith("CQ-") for row in chongqing)
    assert re.fullmatch(r"SC-\d{6}", sichuan[0]["专家编号"])
    assert list(sichuan[0]) == list(EXPERT_HEADERS) == list(chongqing[0])


def test_every_row_is_valid_against_the_vocabularies(experts):
    ids = [row["专家编号"] for row, _ in experts]
    assert len(ids) == len(set(ids))
    for row, expert in experts:
        assert 1955 <= expert.birth_year <= 1990
        assert 1 <= len(expert.fields) <= 3
        if row["证件号码"]:
            number = normalise_id_number(row["证件号码"])
            assert int(number[6:10]) == expert.birth_year
            assert number[:2] == ("51" if expert.region == "四川" else "50")
            assert int(number[16]) % 2 == (1 if expert.gender == "男" else 0)
        assert re.fullmatch(r"1[3-9]\d{9}", expert.phone)
    assert any(not row["证件号码"] for row, _ in experts), "a few rows have no identity number"


def test_raw_cells_use_realistic_aliases(experts):
    raw_titles = collections.Counter(row["职称"] for row, _ in experts)
    assert {"教授", "副教授", "研究员", "高级工程师", "主任医师"} <= set(raw_titles)
    separators = collections.Counter(sep for row, _ in experts for sep in "；、" if sep in row["关键词"])
    assert separators["；"] and separators["、"]
    assert any(row["市州/区县"].endswith("市") for row, _ in experts)
    assert any(row["工作单位"] == "四川大学华西医院" for row, _ in experts) or \
        any("医院" in row["工作单位"] and "大学" in row["工作单位"] for row, _ in experts)


def test_region_split_is_about_55_45(people):
    share = sum(1 for e in people if e.region == "四川") / len(people)
    assert 0.51 <= share <= 0.59


def test_subregions_of_both_regions(people):
    subs = collections.Counter((e.region, e.sub_region) for e in people)
    assert len({s for r, s in subs if r == "四川"}) >= 12
    assert len({s for r, s in subs if r == "重庆"}) >= 12


def test_all_eleven_fields_with_uneven_sizes(people):
    sizes = collections.Counter(e.primary_field for e in people)
    assert set(sizes) == set(taxonomy.FIELDS)
    ranked = [f for f, _ in sizes.most_common()]
    assert "生物医药" in ranked[:2] and "新一代信息技术" in ranked[:3]
    assert {"仪器仪表", "航空航天"} <= set(ranked[-3:])
    assert sizes.most_common()[0][1] >= 6 * sizes.most_common()[-1][1]


def test_over_90_percent_senior_titles(people):
    senior = sum(1 for e in people if e.title in taxonomy.SENIOR_TITLES) / len(people)
    assert senior > 0.90


def test_about_7_5_percent_high_level_talents(people):
    share = sum(1 for e in people if load_honours().is_high_level(e.honours)) / len(people)
    assert 0.055 <= share <= 0.095
    honours = collections.Counter(h for e in people for h in e.honours)
    assert any(not h.high_level and honours[h.name] for h in load_honours().honours)


def test_some_people_listed_in_both_provinces(pool):
    report, _, sichuan, chongqing = pool
    sc = {row["证件号码"]: row for row in sichuan if row["证件号码"]}
    cq = {row["证件号码"]: row for row in chongqing if row["证件号码"]}
    shared = set(sc) & set(cq)
    assert 0.01 * PEOPLE <= len(shared) <= 0.035 * PEOPLE
    assert len(shared) == report.counts["listed_twice"]
    for number in shared:
        assert sc[number]["姓名"] == cq[number]["姓名"]
        assert sc[number]["出生年份"].removesuffix("年") == cq[number]["出生年份"].removesuffix("年")


def test_gender_and_status_mix(people):
    women = sum(1 for e in people if e.gender == "女") / len(people)
    assert 0.25 <= women <= 0.35
    status = collections.Counter(e.status for e in people)
    assert status["在库"] / len(people) > 0.85 and status["暂停"] and status["出库"]


def all_ids(pool) -> set[str]:
    _, _, sichuan, chongqing = pool
    return {row["专家编号"] for row in sichuan + chongqing}


def test_relations(pool):
    _, out, _, _ = pool
    ids = all_ids(pool)
    rows = read_csv(out / FILE_NAMES["relations"])
    kinds = collections.Counter(r["关系类型"] for r in rows)
    assert {"合著", "项目合作", "师生", "亲属"} <= set(kinds) <= set(RELATION_KINDS)
    for r in rows:
        assert r["专家编号"] in ids
        assert (r["关联专家编号"] in ids) if r["关联专家编号"] else (r["关联人姓名"] and r["关联人单位"])
        if r["起始年份"] and r["结束年份"]:
            assert int(r["起始年份"]) <= int(r["结束年份"])
        if r["关系类型"] == "合著":
            assert 2015 <= int(r["起始年份"]) <= 2026
            assert re.fullmatch(r"作者数=\d+", r["备注"])
        if r["关系类型"] == "师生":
            assert r["备注"] in ("博士", "硕士", "博士后")
        if r["关系类型"] == "亲属":
            assert r["备注"] in ("配偶", "父子", "父女", "母子", "母女", "兄弟姐妹")
    counts = [int(r["备注"][4:]) for r in rows if r["关系类型"] == "合著"]
    assert any(n > 50 for n in counts), "some big-consortium papers"
    assert any(r["关系类型"] == "合著" and not r["关联专家编号"] for r in rows), "outside co-authors"
    keys = [(r["专家编号"], r["关联专家编号"] or r["关联人姓名"] + r["关联人单位"], r["关系类型"], r["起始年份"],
             r["结束年份"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_advisors_are_older(pool, experts):
    _, out, _, _ = pool
    born = {expert.id: expert.birth_year for _, expert in experts}
    pairs = [r for r in read_csv(out / FILE_NAMES["relations"]) if r["关系类型"] == "师生" and r["关联专家编号"]]
    assert pairs
    assert all(born[r["专家编号"]] + 12 <= born[r["关联专家编号"]] for r in pairs)


def test_affiliations(pool):
    _, out, _, _ = pool
    rows = read_csv(out / FILE_NAMES["affiliations"])
    current = collections.Counter(r["专家编号"] for r in rows if not r["结束年份"])
    assert set(current.values()) == {1} and len(current) == PEOPLE
    assert all(int(r["起始年份"]) < int(r["结束年份"]) for r in rows if r["结束年份"])
    former = collections.Counter(r["专家编号"] for r in rows if r["结束年份"])
    assert max(former.values()) == 2 and 0.3 * PEOPLE <= len(former) <= 0.6 * PEOPLE


def test_integrity_records(pool):
    _, out, _, _ = pool
    ids = all_ids(pool)
    rows = read_csv(out / FILE_NAMES["integrity"])
    assert 0.01 * PEOPLE <= len(rows) <= 0.02 * PEOPLE
    ends = []
    for r in rows:
        assert r["专家编号"] in ids
        assert r["失信行为类型"] in INTEGRITY_CATEGORIES
        assert r["严重程度"] in ("一般", "较重", "严重")
        assert r["状态"] in ("active", "revoked", "expired")
        start = parse_date(r["处理开始日期"])
        assert parse_date(r["决定日期"]) <= start
        end = parse_date(r["处理结束日期"]) if r["处理结束日期"] else None
        assert end is None or end >= start
        ends.append(end)
        assert r["处理措施"] and r["处理机构"] and r["文号"].endswith("号")
    assert any(e is None for e in ends)
    assert any(e is not None and e < REFERENCE_DATE for e in ends)
    assert any(e is not None and e >= REFERENCE_DATE for e in ends)
    assert len({r["记录编号"] for r in rows}) == len(rows)


def test_review_history_is_skewed(pool):
    _, out, _, _ = pool
    ids = all_ids(pool)
    rows = read_csv(out / FILE_NAMES["history"])
    per_year = collections.Counter()
    for r in rows:
        assert r["专家编号"] in ids
        day = parse_date(r["评审日期"])
        assert dt.date(2024, 1, 1) <= day < REFERENCE_DATE
        per_year[(r["专家编号"], day.year)] += 1
    busiest: dict[str, int] = collections.defaultdict(int)
    for (expert_id, _), n in per_year.items():
        busiest[expert_id] = max(busiest[expert_id], n)
    heavy = sum(1 for n in busiest.values() if n > 10) / PEOPLE
    assert 0.005 <= heavy <= 0.06
    assert sum(1 for n in busiest.values() if n <= 3) > len(busiest) / 3


def test_projects_reference_existing_experts(pool):
    report, out, _, _ = pool
    ids = all_ids(pool)
    lines = (out / FILE_NAMES["projects"]).read_text(encoding="utf-8").splitlines()
    projects = [json.loads(line) for line in lines]
    assert len(projects) == 40 == len(report.project_truth)
    assert len({p["id"] for p in projects}) == 40
    in_pool = 0
    for p in projects:
        assert set(p) == {"id", "title", "abstract", "keywords", "fields", "institution", "region", "applicant",
                          "team", "avoid"}
        assert p["title"] and p["abstract"] and p["keywords"]
        assert all(f in taxonomy.FIELDS for f in p["fields"])
        assert p["region"] in taxonomy.REGIONS
        people = [p["applicant"], *p["team"]]
        for person in people:
            assert person["name"] and person["institution"]
            if "expert_id" in person:
                assert person["expert_id"] in ids
        in_pool += "expert_id" in p["applicant"]
        assert all(expert_id in ids for expert_id in p["avoid"])
        assert not set(p["avoid"]) & {x.get("expert_id") for x in people}
    assert 0.4 * len(projects) <= in_pool < len(projects)
    assert any(p["avoid"] for p in projects)
    assert any("expert_id" not in m for p in projects for m in p["team"])


def test_truth_matches_the_research_text(pool, experts):
    report, out, _, _ = pool
    known = {t for topics in vocabulary.field_topics().values() for t in topics}
    assert set(report.truth) == {expert.id for _, expert in experts}
    for _, expert in experts:
        topics = report.truth[expert.id]
        assert 2 <= len(topics) <= 4 and set(topics) <= known
        assert all(t in expert.research for t in topics)
        assert set(topics) <= set(expert.keywords)
    lines = (out / FILE_NAMES["truth"]).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0] == GROUND_TRUTH_HEADER and "kind" not in records[0]
    assert sum(r.get("kind") == "expert" for r in records) == PEOPLE
    assert sum(r.get("kind") == "project" for r in records) == 40


def test_experts_differ(experts):
    research = collections.Counter(expert.research for _, expert in experts)
    assert len(research) > 0.9 * len(experts) - 1
    topic_sets = collections.Counter(frozenset(expert.keywords) for _, expert in experts)
    assert topic_sets.most_common(1)[0][1] < 10


def test_jsonl_experts(tmp_path):
    experts = generate_experts(20, 5, first_number=100001)
    path = tmp_path / "extra.jsonl"
    assert write_jsonl_experts(experts, path) == 20
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(tuple(r) == EXPERT_JSON_KEYS for r in records)
    assert {r["id"][:3] for r in records} == {"SC-", "CQ-"}
    assert min(int(r["id"][3:]) for r in records) == 100001
    for r in records:
        Expert(id=r["id"], name=r["name"], gender=r["gender"], birth_year=r["birth_year"], region=r["region"],
               sub_region=r["sub_region"], institution=r["institution"], title=r["title"], honours=r["honours"],
               fields=r["fields"], status=r["status"])


def test_broken_file_has_one_problem_per_bad_row(tmp_path):
    path = tmp_path / "broken.csv"
    problems = dict(write_broken_experts(path))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == 10 and len(problems) == 8
    failing = set()
    for number, row in enumerate(rows, start=2):
        try:
            if not row["姓名"]:
                raise ValueError("missing name")
            normalised(row)
        except ValueError:
            failing.add(number)
    ids = [row["专家编号"] for row in rows]
    duplicates = {n for n, i in enumerate(ids, start=2) if ids.index(i) + 2 != n}
    assert failing | duplicates == set(problems)
    assert len(failing) == 7 and len(duplicates) == 1


def test_vocabulary_is_in_the_segmentation_dictionaries():
    words = {w.word for w in load_user_dictionary()}
    missing = [w for w in vocabulary.dictionary_words() if w not in words]
    assert not missing
    for user_word in load_user_dictionary():
        assert user_word.tag, f"{user_word.word} has no tag"
    synonyms = load_synonyms()
    for group in vocabulary.SYNONYM_GROUPS:
        assert set(synonyms[group[0]]) >= set(group)
    per_field = {f: len(t) for f, t in vocabulary.TOPICS.items()}
    assert set(per_field) == set(taxonomy.FIELDS) and all(30 <= n <= 60 for n in per_field.values())
    text = (INDEXES_DIR / "userdict.txt").read_text(encoding="utf-8")
    assert "钒钛新材料 3000 n" in text and "钒钛 3000 n" in text


def test_committed_samples_are_reproducible(tmp_path):
    samples = ROOT / "data" / "samples"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make-samples"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    made = sorted(p.name for p in tmp_path.iterdir())
    # panel.toml and session.toml are hand-written specs; *.rejects.csv are what a local import leaves behind.
    generated = sorted(p.name for p in samples.iterdir()
                       if p.name not in ("panel.toml", "session.toml") and not p.name.endswith(".rejects.csv"))
    assert made == generated
    for name in made:
        assert (tmp_path / name).read_bytes() == (samples / name).read_bytes(), f"{name}: run scripts/make-samples"
    assert (samples / "chongqing_experts.xlsx").stat().st_size < 60_000


@pytest.mark.slow
def test_full_size_pool(tmp_path):
    # Its speed is measured by bench/bench_store.py (which generates this pool), not asserted here.
    report = generate_pool(32000, 1, tmp_path)
    assert report.counts["people"] == 32000


def test_add_years_handles_every_day_including_29_february():
    day = dt.date(2015, 1, 1)
    while day < dt.date(2030, 1, 1):
        for years in (1, 2, 3, 5):
            later = add_years(day, years)
            assert later.year == day.year + years
            assert (later.month, later.day) == ((day.month, day.day) if (day.month, day.day) != (2, 29)
                                                else (2, 29 if later.year % 4 == 0 else 28))
        day += dt.timedelta(days=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(10, 300), seed=st.integers(0, 2**32 - 1))
@example(count=40, seed=51)  # its integrity record started on 29 February 2020 and crashed
def test_any_seed_and_size_generates(tmp_path_factory, count, seed):
    """Every record kind is drawn for every person (integrity_share=1), so rare dates come up."""
    out = tmp_path_factory.mktemp("pool")
    report = generate_pool(count, seed, out, projects=3, integrity_share=1.0)
    assert report.counts["people"] == count
    assert all(path.exists() for path in report.paths.values())
    assert report.counts["integrity"] == count


def test_ground_truth_is_kept_out_of_the_import_directory(tmp_path):
    report = generate_pool(40, 2, tmp_path, projects=3)
    top = {p.name for p in tmp_path.iterdir() if p.is_file()}
    assert top == {path.name for path in report.import_files()}
    assert report.paths["truth"].parent != tmp_path
    summary = report.summary()
    assert summary["import_command"].startswith("expertpool import --create ")
    assert summary["import_command"].index("sichuan_experts.csv") < summary["import_command"].index("history.csv")
    assert "truth" not in json.dumps(summary["counts"]) and len(json.dumps(summary)) < 5000


@pytest.mark.parametrize("store_exists", [False, True])
def test_the_printed_import_command_works_as_printed(tmp_path, store_exists):
    """`expertpool generate` ends with the import command to run next; run exactly that (only the
    program name replaced by this interpreter's module) into a store at EXPERTPOOL_DB, where a store
    is made only with --create — and again into one that exists."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXPERTPOOL_DB": str(tmp_path / "new" / "pool.sqlite3"),
           "EXPERTPOOL_USER": "lin", "NO_COLOR": "1", "COLUMNS": "100"}
    cli = [sys.executable, "-m", "expertpool.cli.main"]
    out = tmp_path / "pool dir"  # a space: the printed paths must be quoted
    generated = subprocess.run([*cli, "generate", "--count", "40", "--seed", "3", "--projects", "3", "--out", str(out)],
                               env=env, capture_output=True, text=True, timeout=600)
    assert generated.returncode == 0, generated.stderr
    lines = generated.stdout.splitlines()
    printed = lines[lines.index("导入（专家名单在前）：") + 1].strip()
    words = shlex.split(printed)
    assert words[:3] == ["expertpool", "import", "--create"]
    for _ in range(2 if store_exists else 1):
        imported = subprocess.run([*cli, *words[1:]], env=env, capture_output=True, text=True, timeout=600)
        assert imported.returncode == 0, imported.stdout + imported.stderr
    store = SQLiteStore(tmp_path / "new" / "pool.sqlite3")
    try:
        assert store.count_experts() > 0 and next(store.iter_records("history"), None) is not None
    finally:
        store.close()
