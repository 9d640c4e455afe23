"""The conflict graph and rules (domain/conflicts/graph.py, rules.py) through the conflicts service:
every rule, every window edge, evidence paths, panel pairs. The policy: test_conflict_policy.py."""
from __future__ import annotations

import datetime as dt

import pytest

from expertpool.cache.snapshot import build_snapshot
from expertpool.domain.conflicts import ConflictGraph, ConflictPolicy, UnknownReference, evidence_text
from expertpool.domain.models import Affiliation, Person, Project, Relation
from expertpool.errors import InputError, NotFound
from expertpool.io.datafiles import load_institutions
from expertpool.services.access import actor_for
from expertpool.services.conflicts import check_projects, panel_exclusions
from expertpool.services.importing import import_files
from expertpool.stores.sqlite import SQLiteStore
from tests.factories import make_expert
from tests.sample_pool import SAMPLE_FILES, SAMPLES

DAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def table():
    return load_institutions()


def expert(id: str, name: str, institution: str, **kw):
    return make_expert(id, name=name, institution=institution, **kw)


def person(name: str, institution: str | None = None, expert_id: str | None = None) -> Person:
    return Person(name=name, institution=institution, expert_id=expert_id)


def rel(expert_id: str, other: Person, kind: str, start=None, end=None, note=None, authors=None) -> Relation:
    return Relation(expert_id=expert_id, other=other, kind=kind, start_year=start, end_year=end, note=note,
                    author_count=authors)


def project(applicant: Person, *team: Person, id: str = "P1", institution: str | None = None,
            avoid: list[str] | None = None) -> Project:
    return Project(id=id, title="钒钛新材料制备", applicant=applicant, team=list(team), institution=institution,
                   avoid=avoid or [])


def build(table, experts, relations=(), affiliations=(), projects=()):
    return ConflictGraph.build(experts, relations, affiliations, projects, table)


def rules_of(conflicts, expert_id: str) -> set[str]:
    return {c.rule for c in conflicts if c.expert_id == expert_id}


ZHANG = person("张三", "四川大学")  # an outside applicant


# ---- same person ----------------------------------------------------------------------------

def test_applicant_who_is_the_expert_by_any_source_id(table):
    merged = expert("SC-000001", "王伟", "电子科技大学", source_ids={"四川": "SC-000001", "重庆": "CQ-000077"})
    graph = build(table, [merged, expert("SC-000002", "李娜", "西南交通大学")])
    conflicts = graph.check(project(person("王伟", "电子科大", expert_id="CQ-000077")), DAY)
    [c] = [c for c in conflicts if c.rule == "same_person"]
    assert c.expert_id == "SC-000001" and c.hard
    assert c.evidence.startswith("SC-000001 —本人— 王伟 (申报人, 电子科技大学, SC-000001)")
    assert rules_of(conflicts, "SC-000002") == set()


def test_same_person_by_name_and_unit_only_when_unambiguous(table):
    graph = build(table, [expert("SC-000001", "王伟", "四川大学"), expert("SC-000002", "李娜", "重庆大学")])
    conflicts = graph.check(project(person("王伟", "川大")), DAY)
    assert rules_of(conflicts, "SC-000001") == {"same_person"}  # the unit rule skips the person themself
    assert "同名同单位" in next(c.evidence for c in conflicts if c.rule == "same_person")
    twins = build(table, [expert("SC-000001", "王伟", "四川大学"), expert("SC-000003", "王伟", "四川大学华西医院")])
    conflicts = twins.check(project(person("王伟", "四川大学")), DAY)
    assert not [c for c in conflicts if c.rule == "same_person"]
    assert rules_of(conflicts, "SC-000001") == rules_of(conflicts, "SC-000003") == {"same_unit"}


def test_unknown_expert_ids_are_errors(table):
    graph = build(table, [expert("SC-000001", "王伟", "四川大学")])
    with pytest.raises(UnknownReference) as err:
        graph.check(project(ZHANG, person("李四", expert_id="SC-999999")), DAY)
    assert err.value.where == "team[0]" and err.value.value == "SC-999999"
    with pytest.raises(InputError, match="SC-999999"):
        check_projects(graph, [project(ZHANG, avoid=["SC-999999"])], DAY)
    with pytest.raises(UnknownReference):
        build(table, [], [rel("SC-404", ZHANG, "合著", 2024)])
    with pytest.raises(NotFound, match="P-404"):
        panel_exclusions(graph, ["P-404"], DAY)


# ---- institutions ---------------------------------------------------------------------------

def test_sub_unit_is_the_same_legal_unit(table):
    graph = build(table, [expert("SC-000001", "王伟", "四川大学华西医院"), expert("SC-000002", "李娜", "电子科技大学")])
    [c] = graph.check(project(ZHANG), DAY)
    assert (c.expert_id, c.rule, c.hard) == ("SC-000001", "same_unit", True)
    assert c.evidence == "SC-000001 —任职 至今— 四川大学 —所在单位— 张三 (申报人, 四川大学)"
    assert c.path == ["SC-000001", "任职 至今", "四川大学", "所在单位", "张三 (申报人, 四川大学)"]


def test_short_name_alias(table):
    graph = build(table, [expert("SC-000001", "王伟", "四川大学")])
    assert rules_of(graph.check(project(person("张三", "川大")), DAY), "SC-000001") == {"same_unit"}


def test_applying_institution_counts_as_a_unit(table):
    graph = build(table, [expert("CQ-000001", "王伟", "重庆大学", region="重庆", sub_region="沙坪坝区")])
    conflicts = graph.check(project(person("张三"), institution="重大"), DAY)
    assert rules_of(conflicts, "CQ-000001") == {"same_unit"}
    assert "重庆大学 (申报单位)" in conflicts[0].evidence


def test_webmail_and_email_domains_never_merge(table):
    graph = build(table, [
        expert("SC-000001", "王伟", "qq.com", email="wangwei@qq.com"),
        expert("SC-000002", "李娜", "成都某某科技有限公司", email="lina@qq.com"),
        expert("SC-000003", "赵六", "成都大学", email="zhaoliu@scu.edu.cn"),
    ])
    for applicant in (person("张三", "qq.com"), person("张三", "zhangsan@qq.com"), person("张三", "163.com")):
        assert graph.check(project(applicant), DAY) == []
    # an scu.edu.cn address does not put 赵六 at 四川大学
    assert graph.check(project(ZHANG), DAY) == []


def test_unknown_institutions_match_only_themselves(table):
    graph = build(table, [expert("SC-000001", "王伟", "成都某某科技有限公司"),
                          expert("SC-000002", "李娜", "成都某某科技研究院")])
    conflicts = graph.check(project(person("张三", "成都某某科技有限公司")), DAY)
    assert rules_of(conflicts, "SC-000001") == {"same_unit"} and rules_of(conflicts, "SC-000002") == set()


# ---- former unit ----------------------------------------------------------------------------

def test_former_employer_window_edges(table):
    # left 四川大学 in 2021: in force through 2021-12-31
    graph = build(table, [expert("SC-000001", "王伟", "电子科技大学")],
                  affiliations=[Affiliation(expert_id="SC-000001", institution="四川大学华西医院",
                                            start_year=2010, end_year=2021)])
    on_last_day = graph.check(project(ZHANG), dt.date(2024, 12, 31))  # exactly three years
    [c] = on_last_day
    assert c.rule == "former_unit" and c.hard
    assert c.evidence == "SC-000001 —任职 2010–2021— 四川大学 —所在单位— 张三 (申报人, 四川大学)"
    # three years and one day after 2021-12-31: no conflict
    assert graph.check(project(ZHANG), dt.date(2025, 1, 1)) == []
    # a wider window from the review's policy
    wider = ConflictPolicy().apply({"former_unit.years": 4})
    assert [c.rule for c in graph.check(project(ZHANG), dt.date(2025, 1, 1), wider)] == ["former_unit"]


def test_former_unit_of_a_participant_who_is_an_expert(table):
    graph = build(table, [expert("SC-000001", "王伟", "电子科技大学"), expert("SC-000002", "李娜", "四川大学")],
                  affiliations=[Affiliation(expert_id="SC-000001", institution="四川大学", start_year=2015,
                                            end_year=2023)])
    conflicts = graph.check(project(person("王伟", expert_id="SC-000001")), DAY)
    assert rules_of(conflicts, "SC-000002") == {"former_unit"}
    assert "王伟 (申报人, 电子科技大学, SC-000001)" in next(c.evidence for c in conflicts if c.expert_id == "SC-000002")


def test_unit_joined_after_the_review_date_does_not_count(table):
    graph = build(table, [expert("SC-000001", "王伟", "电子科技大学")],
                  affiliations=[Affiliation(expert_id="SC-000001", institution="四川大学", start_year=2026)])
    assert graph.check(project(ZHANG), DAY) == []
    assert rules_of(graph.check(project(ZHANG), dt.date(2026, 3, 1)), "SC-000001") == {"same_unit"}


# ---- co-authorship and co-investigation -----------------------------------------------------

def coauthor_graph(table, year, authors=None, other=ZHANG):
    return build(table, [expert("CQ-000001", "王伟", "重庆大学", region="重庆", sub_region="沙坪坝区")],
                 [rel("CQ-000001", other, "合著", year, year, note=f"作者数={authors}" if authors else None,
                      authors=authors)])


def test_coauthorship_exactly_four_years_before_counts(table):
    graph = coauthor_graph(table, 2021, authors=6)
    [c] = graph.check(project(ZHANG), dt.date(2025, 6, 1))  # 2025 − 2021 = 4
    assert (c.rule, c.hard) == ("coauthor", True)
    assert c.evidence == "CQ-000001 —合著 2021（作者 6 人）— 张三 (申报人, 四川大学)"
    assert graph.check(project(ZHANG), dt.date(2025, 12, 31))
    assert graph.check(project(ZHANG), dt.date(2026, 1, 1)) == []  # five years
    narrow = ConflictPolicy().apply({"coauthor": {"years": 3}})
    assert graph.check(project(ZHANG), dt.date(2025, 6, 1), narrow) == []


def test_papers_with_more_than_50_authors_do_not_count(table):
    assert coauthor_graph(table, 2024, authors=51).check(project(ZHANG), DAY) == []
    assert [c.rule for c in coauthor_graph(table, 2024, authors=50).check(project(ZHANG), DAY)] == ["coauthor"]
    wide = ConflictPolicy().apply({"coauthor.max_authors": 100})
    assert [c.rule for c in coauthor_graph(table, 2024, authors=51).check(project(ZHANG), DAY, wide)] == ["coauthor"]


def test_a_shared_name_at_another_institution_is_another_person(table):
    graph = coauthor_graph(table, 2024)  # co-author 张三 of 四川大学
    assert graph.check(project(person("张三", "电子科技大学")), DAY) == []
    assert graph.check(project(person("张三")), DAY) == []  # no unit: never the same person
    assert [c.rule for c in graph.check(project(person("张三", "华西医科大学")), DAY)] == ["coauthor"]


def test_relation_without_year_counts_and_says_so(table):
    [c] = coauthor_graph(table, None).check(project(ZHANG), DAY)
    assert "合著 年份不详" in c.evidence


def test_coinvestigator_and_stored_projects(table):
    experts = [expert("SC-000001", "王伟", "电子科技大学"), expert("SC-000002", "李娜", "西南交通大学")]
    stored = project(person("李娜", expert_id="SC-000002"), person("张三", "四川大学"), id="P0")
    graph = build(table, experts, [rel("SC-000001", ZHANG, "项目合作", 2019, 2022)], projects=[stored])
    conflicts = graph.check(project(ZHANG), DAY)
    assert rules_of(conflicts, "SC-000001") == {"coinvestigator"}
    assert "项目合作 2019–2022" in next(c.evidence for c in conflicts if c.expert_id == "SC-000001")
    # 李娜 applied for P0 with 张三 on her team
    assert rules_of(conflicts, "SC-000002") == {"coinvestigator"}
    assert "P0" in next(c.evidence for c in conflicts if c.expert_id == "SC-000002")
    # checking the stored project itself does not count it as "another" project
    assert rules_of(graph.check(stored, DAY), "SC-000002") == {"same_person"}


# ---- life-long relations, declarations, avoid lists ------------------------------------------

def test_family_and_advisor_are_for_life(table):
    graph = build(table, [expert("SC-000001", "王伟", "电子科技大学"), expert("SC-000002", "李娜", "西南交通大学")],
                  [rel("SC-000001", ZHANG, "亲属", note="配偶"), rel("SC-000002", ZHANG, "师生", 1995, 2000, "博士")])
    conflicts = graph.check(project(ZHANG), dt.date(2040, 1, 1))
    assert rules_of(conflicts, "SC-000001") == {"family"} and rules_of(conflicts, "SC-000002") == {"advisor"}
    evidence = {c.expert_id: c.evidence for c in conflicts}
    assert evidence["SC-000001"] == "SC-000001 —亲属·配偶— 张三 (申报人, 四川大学)"
    assert evidence["SC-000002"] == "SC-000002 —师生·博士 1995–2000— 张三 (申报人, 四川大学)"


def test_declared_conflicts_and_avoid_list(table):
    graph = build(table, [expert("SC-000001", "王伟", "电子科技大学"), expert("SC-000002", "李娜", "西南交通大学"),
                          expert("SC-000003", "赵六", "成都大学")],
                  [rel("SC-000001", ZHANG, "其他", note="本人申请回避：曾有学术争议"),
                   rel("SC-000003", ZHANG, "其他", note="同学")])
    conflicts = graph.check(project(ZHANG, avoid=["SC-000002"]), DAY)
    assert rules_of(conflicts, "SC-000001") == {"declared"}
    assert rules_of(conflicts, "SC-000002") == {"avoid_list"}
    assert rules_of(conflicts, "SC-000003") == set()  # 其他 without the marker is not a conflict
    assert next(c for c in conflicts if c.expert_id == "SC-000002").evidence == \
        "SC-000002 —申请人要求回避— 张三 (申报人, 四川大学)"


def test_same_unit_relation_with_and_without_end(table):
    graph = build(table, [expert("SC-000001", "王伟", "电子科技大学"), expert("SC-000002", "李娜", "西南交通大学")],
                  [rel("SC-000001", ZHANG, "同单位"), rel("SC-000002", ZHANG, "同单位", 2000, 2010)])
    conflicts = graph.check(project(ZHANG), DAY)
    assert rules_of(conflicts, "SC-000001") == {"same_unit"} and rules_of(conflicts, "SC-000002") == set()


def test_relation_starting_after_the_review_date_does_not_count(table):
    graph = coauthor_graph(table, 2026)
    assert graph.check(project(ZHANG), DAY) == []


# ---- soft flags -----------------------------------------------------------------------------

def test_coauthor_of_coauthor_is_soft_unless_the_policy_says_so(table):
    graph = build(table, [expert("CQ-000001", "王伟", "重庆大学", region="重庆", sub_region="沙坪坝区"),
                          expert("SC-000002", "李娜", "西南交通大学")],
                  [rel("CQ-000001", person("李娜", expert_id="SC-000002"), "合著", 2023, authors=4),
                   rel("SC-000002", ZHANG, "合著", 2022, authors=8)])
    conflicts = graph.check(project(ZHANG), DAY)
    [soft] = [c for c in conflicts if c.expert_id == "CQ-000001"]
    assert (soft.rule, soft.hard) == ("coauthor_2hop", False)
    assert soft.evidence == ("CQ-000001 —合著 2023（作者 4 人）— 李娜 (SC-000002) —合著 2022（作者 8 人）— "
                             "张三 (申报人, 四川大学)")
    ex = panel_exclusions(graph, [project(ZHANG)], DAY)
    assert "CQ-000001" not in ex.excluded and "CQ-000001" in ex.soft and "SC-000002" in ex.excluded
    assert ex.soft_counts()["coauthor_2hop"] == 1
    strict = panel_exclusions(graph, [project(ZHANG)], DAY, {"coauthor_2hop": {"hard": True}})
    assert strict.excluded["CQ-000001"][0].rule == "coauthor_2hop"
    off = panel_exclusions(graph, [project(ZHANG)], DAY, {"coauthor_2hop.enabled": False})
    assert "CQ-000001" not in off.soft


def test_coauthor_of_coauthor_through_an_outside_person_and_window(table):
    graph = build(table, [expert("CQ-000001", "王伟", "重庆大学", region="重庆", sub_region="沙坪坝区"),
                          expert("SC-000002", "李娜", "西南交通大学")],
                  [rel("CQ-000001", person("李四", "西南大学"), "合著", 2023),
                   rel("SC-000002", person("李四", "西南大学"), "合著", 2015)])
    applicant = person("李四", "西南大学")
    conflicts = graph.check(project(person("赵九", "成都大学"), applicant), DAY)
    assert rules_of(conflicts, "CQ-000001") == {"coauthor"} and rules_of(conflicts, "SC-000002") == set()


def test_same_parent_is_soft_and_ignores_supervising_bodies(table):
    graph = build(table, [expert("SC-000001", "王伟", "中国电子科技集团公司第二十九研究所"),
                          expert("SC-000002", "李娜", "电子科技大学")])
    conflicts = graph.check(project(person("张三", "中电科24所")), DAY)
    [c] = conflicts
    assert (c.expert_id, c.rule, c.hard) == ("SC-000001", "same_parent", False)
    assert "同属 中国电子科技集团有限公司" in c.evidence
    # 四川大学 and 电子科技大学 are both under 教育部: not flagged
    assert graph.check(project(ZHANG), DAY) == []


def test_soft_flags_are_dropped_for_an_expert_already_excluded(table):
    graph = build(table, [expert("SC-000001", "王伟", "中国电子科技集团公司第二十九研究所")],
                  [rel("SC-000001", person("张三", "中电科24所"), "合著", 2024)])
    conflicts = graph.check(project(person("张三", "中电科24所")), DAY)
    assert [c.rule for c in conflicts] == ["coauthor"]


# ---- panel pairs ----------------------------------------------------------------------------

def pair_graph(table):
    experts = [expert(f"SC-00000{i}", n, u) for i, (n, u) in
               enumerate([("王伟", "四川大学"), ("李娜", "电子科技大学"), ("赵六", "西南交通大学"), ("钱七", "成都大学")], 1)]
    relations = [rel("SC-000001", person("李娜", expert_id="SC-000002"), "师生", note="硕士"),
                 rel("SC-000003", person("钱七", expert_id="SC-000004"), "亲属", note="配偶"),
                 rel("SC-000001", person("赵六", expert_id="SC-000003"), "合著", 2024)]
    return build(table, experts, relations)


def test_family_and_advisor_pairs_may_not_share_a_panel(table):
    graph = pair_graph(table)
    ex = panel_exclusions(graph, [project(person("路人甲", "重庆大学"))], DAY)
    assert ex.forbidden_pairs == {("SC-000001", "SC-000002"), ("SC-000003", "SC-000004")}
    assert ex.pair_evidence[("SC-000003", "SC-000004")][0].evidence == "SC-000003 —亲属·配偶— SC-000004"
    assert ex.pairs_for("SC-000002") == {"SC-000001"}
    assert ex.excluded == {}
    among = panel_exclusions(graph, [project(person("路人甲", "重庆大学"))], DAY,
                             candidates=["SC-000001", "SC-000002", "SC-000003"])
    assert among.forbidden_pairs == {("SC-000001", "SC-000002")}
    with_coauthors = panel_exclusions(graph, [], DAY, {"panel": {"pair_rules": ["family", "advisor", "coauthor"]}})
    assert ("SC-000001", "SC-000003") in with_coauthors.forbidden_pairs


def test_exclusions_across_projects_and_counts(table):
    graph = build(table, [expert("SC-000001", "王伟", "四川大学"), expert("SC-000002", "李娜", "电子科技大学"),
                          expert("SC-000003", "赵六", "西南交通大学")],
                  [rel("SC-000002", ZHANG, "合著", 2024)])
    projects = [project(ZHANG, id="P1"), project(person("孙八", "西南交大"), id="P2", avoid=["SC-000002"])]
    ex = panel_exclusions(graph, projects, "2025-06-01")
    assert set(ex.excluded) == {"SC-000001", "SC-000002", "SC-000003"}
    assert ex.counts() == {"same_unit": 2, "coauthor": 1, "avoid_list": 1}
    assert {c.project_id for c in ex.excluded["SC-000002"]} == {"P1", "P2"}
    assert ex.reasons("SC-000001")[0].startswith("同一法人单位：SC-000001 —任职 至今— 四川大学")
    data = ex.to_json()
    assert data["counts"]["same_unit"] == 2 and data["review_date"] == "2025-06-01"


def test_checking_leaves_the_graph_unchanged(table):
    graph = pair_graph(table)
    before = graph.stats()
    graph.check(project(person("新人", "新单位"), person("无名")), DAY)
    assert graph.stats() == before


def test_a_pickled_graph_checks_the_same_and_shows_as_networkx(table):
    """The graph is pickled into the pool snapshot; its adjacency is rebuilt node by node on use."""
    import pickle

    experts = [expert("SC-000001", "王伟", "电子科技大学"), expert("SC-000002", "李娜", "西南交通大学"),
               expert("SC-000003", "赵六", "四川大学")]
    stored = project(person("李娜", expert_id="SC-000002"), person("张三", "四川大学"), person("无名"), id="P0")
    relations = [rel("SC-000001", ZHANG, "项目合作", 2019, 2022), rel("SC-000001", person("无名"), "合著", 2024),
                 rel("SC-000003", ZHANG, "合著", 2023), rel("SC-000003", ZHANG, "合著", 2024),
                 rel("SC-000002", person("赵六", expert_id="SC-000003"), "亲属", note="配偶")]
    graph = build(table, experts, relations, projects=[stored])
    copy = pickle.loads(pickle.dumps(graph))
    for checked in (project(ZHANG), stored, project(person("赵六", expert_id="SC-000003"))):
        assert [c.to_json() for c in copy.check(checked, DAY)] == [c.to_json() for c in graph.check(checked, DAY)]
    assert copy.stats() == graph.stats() == {"experts": 3, "people": 3, "units": 3, "projects": 1, "edges": 10,
                                             "facts": 8}
    g = graph.networkx()
    assert list(g.nodes) == copy._adj.nodes and g.number_of_edges() == 10
    assert all(dict(g.adj[node]) == copy._adj[node] for node in g)
    assert g.nodes[("P", "张三", "四川大学")]["name"] == "张三"


def test_evidence_text():
    assert evidence_text(["E1", "合著 2024", "张三 (申报人)"]) == "E1 —合著 2024— 张三 (申报人)"
    assert evidence_text(["E1"]) == "E1"


def test_expert_filter(table):
    graph = pair_graph(table)
    conflicts = check_projects(graph, [project(ZHANG)], DAY, experts=["SC-000001", "SC-000002"])
    assert {c.expert_id for c in conflicts} == {"SC-000001"}
    with pytest.raises(InputError, match="SC-404"):
        check_projects(graph, [project(ZHANG)], DAY, experts=["SC-404"])


# ---- from the store -------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path):
    from expertpool.stores.sqlite import SQLiteStore

    s = SQLiteStore(tmp_path / "pool.sqlite3")
    yield s
    s.close()


def test_panel_exclusions_from_a_store(store):
    from expertpool.cache.snapshot import load_conflict_graph

    store.upsert_experts([
        expert("SC-000001", "王伟", "四川大学华西医院"),
        expert("SC-000002", "李娜", "电子科技大学"),
        expert("CQ-000003", "赵六", "重庆大学", region="重庆", sub_region="沙坪坝区"),
    ])
    store.upsert_records("relation", [rel("SC-000002", ZHANG, "合著", 2024, authors=3),
                                      rel("SC-000002", person("赵六", expert_id="CQ-000003"), "师生", note="博士")])
    store.upsert_records("affiliation", [Affiliation(expert_id="CQ-000003", institution="川大", start_year=2000,
                                                     end_year=2023)])
    store.upsert_records("project", [project(ZHANG, id="P1")])
    ex = panel_exclusions(store, ["P1"], "2025-06-01")
    assert set(ex.excluded) == {"SC-000001", "SC-000002", "CQ-000003"}
    assert ex.counts() == {"same_unit": 1, "coauthor": 1, "former_unit": 1}
    assert ex.forbidden_pairs == {("CQ-000003", "SC-000002")}
    graph = load_conflict_graph(store)
    assert graph.stats()["experts"] == 3 and graph.project("P1") is not None


@pytest.fixture(scope="module")
def sample_graph(tmp_path_factory):
    """The conflict graph of the committed sample pool (relations, affiliations, stored projects)."""
    store = SQLiteStore(tmp_path_factory.mktemp("sample") / "pool.sqlite3")
    import_files(store, [SAMPLES / f for f in SAMPLE_FILES], actor_for(store, "admin"))
    graph = build_snapshot(store).graph
    store.close()
    return graph


@pytest.mark.parametrize("overrides", [
    {},
    {"same_unit": {"hard": False}},                                 # an upgraded former unit is then soft
    {"former_unit": {"years": 10}, "coauthor_2hop": {"hard": True}},
    {"same_unit": {"enabled": False}, "coauthor": {"hard": False}},
])
def test_hard_excluded_is_what_check_finds_hard(sample_graph, overrides):
    """The session's fast path (ids only, no evidence) against the full check, under several
    policies and dates."""
    policy = ConflictPolicy().apply(overrides)
    projects = [sample_graph.project(i) for i in sample_graph.project_ids()]
    assert len(projects) >= 8
    for day in (DAY, dt.date(2026, 12, 1), dt.date(2030, 1, 1)):
        fast = sample_graph.hard_excluded(projects, day, policy)
        for p in projects:
            assert fast[p.id] == {c.expert_id for c in sample_graph.check(p, day, policy) if c.hard}, (p.id, day)
        assert any(fast.values())


def test_hard_excluded_when_a_former_unit_is_upgraded_to_the_current_one(table):
    """An expert who left a unit and came back: the current fact replaces the former one at that
    unit; with same_unit soft and former_unit hard the expert is flagged, not excluded."""
    back = expert("SC-000001", "王伟", "电子科技大学")    # its 四川大学 facts come from the affiliations
    graph = build(table, [back], affiliations=[
        Affiliation(expert_id="SC-000001", institution="四川大学", start_year=2018, end_year=2023),
        Affiliation(expert_id="SC-000001", institution="四川大学", start_year=2024)])
    policy = ConflictPolicy().apply({"same_unit": {"hard": False}})
    full = graph.check(project(ZHANG), DAY, policy)
    assert [(c.rule, c.hard) for c in full] == [("same_unit", False)]
    assert graph.unit_members(graph.unit_key("四川大学"))[0][2] == 2023   # the former fact comes first
    assert graph.hard_excluded([project(ZHANG)], DAY, policy) == {"P1": set()}
    assert graph.hard_excluded([project(ZHANG)], DAY) == {"P1": {"SC-000001"}}


def test_a_pickled_graph_checks_and_pairs_as_the_built_one(table):
    """A draw reads the pool's graph from a pickle, packed (pairs in arrays, the name index left
    out and derived again): every check, name match and panel pair must come out the same."""
    import pickle

    experts = [expert("SC-000001", "王伟", "四川大学"), expert("SC-000002", "李娜", "重庆大学"),
               expert("SC-000003", "王伟", "四川大学华西医院"), expert("SC-000004", "赵敏", "西南交通大学"),
               expert("SC-000005", "孙丽", "电子科技大学")]
    relations = [rel("SC-000001", person("李娜", expert_id="SC-000002"), "师生", start=2010),
                 rel("SC-000004", person("孙丽", expert_id="SC-000005"), "亲属", note="配偶"),
                 rel("SC-000002", person("赵敏", expert_id="SC-000004"), "合著", start=2023, end=2023, authors=3)]
    affiliations = [Affiliation(expert_id="SC-000005", institution="重庆大学", start_year=2024)]
    built = build(table, experts, relations, affiliations)
    loaded = pickle.loads(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
    assert loaded.__dict__["_by_name_unit"] is None                 # derived again on first use
    projects = [project(person("王伟", "四川大学华西医院")), project(person("孙丽", "重庆大学"), id="P2"),
                project(person("李娜", "重庆大学"), person("王伟", "四川大学"), id="P3")]
    for p in projects:
        assert list(loaded.check(p, DAY)) == list(built.check(p, DAY))
    matched = {c.expert_id for p in projects for c in built.check(p, DAY) if "同名同单位" in c.evidence}
    assert "SC-000005" in matched            # a name at a unit the expert joined by affiliation
    policy = ConflictPolicy().apply({"panel": {"pair_rules": ["family", "advisor", "coauthor"]}})
    for args in ((), (policy, DAY), (policy, DAY, ["SC-000001", "SC-000002", "SC-000004"])):
        assert loaded.panel_pairs(*args) == built.panel_pairs(*args) and built.panel_pairs(*args)
    again = pickle.loads(pickle.dumps(loaded))                      # a loaded graph pickles again
    assert list(again.check(projects[2], DAY)) == list(built.check(projects[2], DAY))
