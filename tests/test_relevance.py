"""Project relevance for panels (services/relevance.py): title and keywords lead, boilerplate
never counts, a field in common is needed — and only qualified experts ever take a seat.

The 新材料 panel is the case seen on real data: breeders whose profiles repeat the application
template (成渝地区, 关键技术, 产业 …) reached relevance 0.62 to a materials project, became
qualified, headed the members' substitute lists, and `panel replace` seated one."""
from __future__ import annotations

import pytest

from expertpool.domain.models import Person, Project
from expertpool.errors import ExpertPoolError
from expertpool.services.access import actor_for
from expertpool.services.panels import build_panel, load_panel, load_spec, prepare_draw, replace_member
from expertpool.services.relevance import learned_stopwords, project_queries, curated_stopwords
from expertpool.services.sessions import load_session_spec, plan_session, replace_session_member
from expertpool.stores.sqlite import SQLiteStore
from tests.factories import make_expert
from tests.helpers import write_jsonl

BOILERPLATE = "围绕成渝地区双城经济圈产业高质量发展，突破关键技术，形成一批自主知识产权成果，开展应用验证与示范"

MATERIALS = [
    ("SC-200001", "四川大学", "四川", ["钒钛新材料", "高温合金"], "钒钛基高温合金的组织与性能调控"),
    ("SC-200002", "电子科技大学", "四川", ["电磁屏蔽材料", "复合材料"], "轻质电磁屏蔽复合材料的制备"),
    ("SC-200003", "西南交通大学", "四川", ["高分子材料", "复合材料"], "高分子基复合材料的界面设计"),
    ("CQ-200004", "重庆大学", "重庆", ["镁合金", "轻量化材料"], "高强镁合金及其轻量化应用"),
    ("CQ-200005", "西南大学", "重庆", ["纳米材料", "功能涂层"], "纳米功能涂层材料"),
    ("CQ-200006", "重庆邮电大学", "重庆", ["先进陶瓷", "电子材料"], "电子陶瓷材料的低温烧结"),
]
BREEDERS = [
    ("SC-200101", "四川农业大学", "四川", ["茶树育种", "玉米育种"], "茶树与玉米新品种选育。" + BOILERPLATE),
    ("CQ-200102", "重庆市农业科学院", "重庆", ["水稻育种", "生猪养殖"], "水稻育种与生猪健康养殖。" + BOILERPLATE),
]


def _expert(id, institution, region, keywords, research, fields):
    sub = "成都" if region == "四川" else "沙坪坝区"
    return make_expert(id, name=f"专家{id[-3:]}", region=region, sub_region=sub, institution=institution,
                       department=None, fields=fields, keywords=keywords, research=research, discipline=None,
                       honours=[], title="正高级", phone=None, email=None)


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "pool.sqlite3")
    s.upsert_experts([_expert(*row, ["新材料"]) for row in MATERIALS] + [_expert(*row, ["现代农业"]) for row in BREEDERS])
    yield s
    s.close()


def _project():
    return {"id": "2026-XCL-001", "title": "高性能轻量化复合材料关键技术研究及产业化示范",
            "abstract": "本项目面向成渝地区双城经济圈新材料产业高质量发展的重大需求，针对复合材料界面结合弱等问题，"
                        "研究高分子基与金属基复合材料的制备，突破关键技术，形成一批自主知识产权成果，开展应用验证与示范。",
            "keywords": ["复合材料", "轻量化材料", "高分子材料"], "fields": ["新材料"], "institution": "成都大学",
            "applicant": {"name": "申请人", "institution": "成都大学"}, "team": [], "avoid": []}


def _spec(tmp_path, **overrides):
    projects = write_jsonl(tmp_path / "projects.jsonl", [_project()])
    data = dict(name="新材料组", review_date="2026-12-01", size=2, fields=["新材料"], min_per_field=1,
                regions={"四川": [0.0, 1.0], "重庆": [0.0, 1.0]}, min_full_senior_share=0.0, max_per_institution=1,
                projects=str(projects), backups=3, mode="best", seed=1, relevance_threshold=0.3)
    data.update(overrides)
    return load_spec(None, data)


def test_boilerplate_qualifies_no_breeder(store, tmp_path):
    inputs = prepare_draw(store, _spec(tmp_path))
    relevance = {c.id: c.relevance for c in inputs.candidates}
    assert all(relevance[b[0]] == 0.0 for b in BREEDERS)
    assert max(relevance[m[0]] for m in MATERIALS) == 1.0


def test_not_even_without_the_field_rule(store, tmp_path):
    """The stop words alone keep them out: their only words in common are the template's."""
    inputs = prepare_draw(store, _spec(tmp_path, require_common_field=False))
    relevance = {c.id: c.relevance for c in inputs.candidates}
    assert all(relevance[b[0]] < 0.3 for b in BREEDERS)


@pytest.mark.parametrize("mode", ["best", "lottery"])
def test_members_backups_and_replacements_are_all_qualified(store, tmp_path, mode):
    admin = actor_for(store, "admin")
    record = build_panel(store, admin, _spec(tmp_path, mode=mode)).record
    breeders = {b[0] for b in BREEDERS}
    seated = set(record.member_ids()) | {b.id for b in record.backups}
    seated |= {r for rs in record.replacements.values() for r in rs}
    assert record.member_ids() and not seated & breeders
    # replace every member in turn: the seat always goes to a materials expert, never a breeder
    for member in list(record.member_ids()):
        try:
            record = replace_member(store, admin, record.id, member, "回避")
        except ExpertPoolError as exc:  # no qualified expert left: a clear refusal, never a breeder
            assert "没有能替换" in str(exc)
            break
        assert record.replaced[-1].in_ not in breeders


@pytest.mark.parametrize("mode", ["best", "lottery"])
def test_a_session_group_seats_and_replaces_only_the_qualified(store, tmp_path, mode):
    """The same rule in a review session: the group's relevance (services/relevance.py), its
    backups and substitutes, and `session replace` (panels.find_replacement)."""
    admin = actor_for(store, "admin")
    projects = write_jsonl(tmp_path / "projects.jsonl", [_project()])
    spec = load_session_spec(None, dict(
        name="新材料评审会", review_date="2026-12-01", projects=str(projects), groups=1, mode=mode, seed=1,
        size=2, fields=["新材料"], regions={"四川": [0.0, 1.0], "重庆": [0.0, 1.0]}, min_full_senior_share=0.0,
        max_per_institution=1, backups=6, relevance_threshold=0.3))  # more than the qualified left
    outcome = plan_session(store, admin, spec)
    [group] = outcome.record.groups
    breeders = {b[0] for b in BREEDERS}
    seated = set(group.member_ids()) | {b.id for b in group.backups}
    seated |= {r for rs in group.replacements.values() for r in rs}
    assert group.member_ids() and not seated & breeders
    # replace a member again and again until the qualified run out: then a clear refusal, never a
    # breeder (the materials experts are 6, so this ends within 6 rounds)
    member = group.member_ids()[0]
    for _ in range(len(MATERIALS) + 1):
        try:
            record = replace_session_member(store, admin, outcome.session_id, member, "回避")
        except ExpertPoolError as exc:
            assert "没有能替换" in str(exc)
            break
        assert record.replaced[-1].in_ not in breeders
        member = record.replaced[-1].in_
    else:
        pytest.fail("the seat was filled more times than there are materials experts")


def test_learned_boilerplate_is_spread_over_fields_and_topics_are_not():
    def project(i, field, topic):
        return Project(id=f"P{i}", title=f"{topic}关键技术研究", abstract=f"面向成渝地区{topic}产业的重大需求，开展{topic}研究。",
                       keywords=[topic], fields=[field], applicant=Person(name="甲"))
    fields = ["新材料", "生物医药", "现代农业", "新能源", "人工智能"]
    topics = ["钙钛矿", "肿瘤免疫", "水稻育种", "氢能", "知识图谱"]
    projects = [project(i, fields[i % 5], topics[i % 5]) for i in range(20)]
    projects += [project(20 + i, "新材料", "石墨烯") for i in range(8)]   # a popular topic of this call
    learned = learned_stopwords(projects)
    assert "成渝地区" in learned or "成渝地区" in curated_stopwords()
    assert "石墨烯" not in learned  # in 8 of 28 projects, but all of one field
    query = project_queries(projects[-1], curated_stopwords() | learned)
    assert [t.word for t in query.focus.terms] == ["石墨烯"]


@pytest.mark.parametrize("require_common_field", [True, False])
def test_the_automatic_refill_after_a_decline_never_seats_an_unqualified_expert(store, tmp_path, require_common_field):
    """The 补抽 after a decline goes through the same rule as `panel replace`
    (`relevance.qualified_ids`): every decline is refilled from the materials experts, and once
    none is left the seat stays open (无法补齐) rather than going to a breeder whose profile only
    repeats the template — with the field rule or without it (then the breeders are eligible
    candidates with a little relevance, just not qualified)."""
    import datetime as dt

    from expertpool.domain.panel import invitations as states
    from expertpool.services.invitations import invite_panel, respond

    admin = actor_for(store, "admin")
    drawn_at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    spec = _spec(tmp_path, require_common_field=require_common_field, place="成都")
    inputs = prepare_draw(store, spec)
    breeders = {b[0] for b in BREEDERS}
    assert breeders <= {c.id for c in inputs.candidates}  # eligible: only the qualification keeps them out
    panel_id = build_panel(store, admin, spec, now=drawn_at).panel_id
    invite_panel(store, admin, panel_id, now=drawn_at)
    seated_by_refill, outcome = [], None
    for minute in range(1, 20):
        record = load_panel(store, admin, panel_id)
        declining = next((m for m in record.member_ids() if m not in seated_by_refill), None)
        if declining is None:
            declining = record.member_ids()[0]
        outcome = respond(store, admin, panel_id, declining, "拒绝", now=drawn_at + dt.timedelta(minutes=minute))
        if not outcome.replaced:
            break
        seated_by_refill.append(outcome.record.replaced[-1].in_)
        assert outcome.record.replaced[-1].automatic
    assert seated_by_refill and not set(seated_by_refill) & breeders
    assert outcome is not None and not outcome.replaced  # the materials experts ran out …
    assert outcome.state.label == states.CANNOT_REFILL and "没有能替换" in outcome.unfilled
    assert not set(load_panel(store, admin, panel_id).member_ids()) & breeders  # … and no breeder sat down


def test_a_second_draw_for_the_same_projects_builds_the_same_queries_without_the_segmenter(monkeypatch):
    from expertpool import segment
    from expertpool.services import relevance

    projects = [Project(id=f"P{i}", title=f"{topic}的关键技术研究", abstract=f"开展{topic}与{other}的应用研究。",
                        keywords=[topic], fields=["新材料"], applicant=Person(name="甲"))
                for i, (topic, other) in enumerate([("钙钛矿太阳能电池", "柔性器件"), ("高温合金", "增材制造")])]
    stop = curated_stopwords()
    direct = [project_queries(p, stop) for p in projects]          # segmented here and now
    texts = [*(relevance.project_text(p) for p in projects), *(relevance.focus_text(p) for p in projects),
             *(p.abstract for p in projects)]
    relevance.segmented(texts)                                     # remembered on disk
    monkeypatch.setattr(segment, "query_terms", lambda text, engine=None: pytest.fail(f"segmented again: {text}"))
    known = relevance.segmented(texts)
    assert [project_queries(p, stop, known=known) for p in projects] == direct
    assert learned_stopwords(projects, known) == frozenset()       # two projects: nothing learned, no segmenter


def test_the_segmenter_fingerprint_follows_every_dictionary(tmp_path, monkeypatch):
    from expertpool import segment
    from expertpool.cache import snapshot as snap

    for name in ("userdict.txt", "synonyms.txt", "stopwords.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "dictionaries").mkdir()
    (tmp_path / "dictionaries" / "a.txt").write_text("钙钛矿 10 n\n", encoding="utf-8")
    monkeypatch.setattr(segment, "INDEXES_DIR", tmp_path)
    before = snap.segmenter_fingerprint()
    (tmp_path / "dictionaries" / "a.txt").write_text("钙钛矿 10 n\n柔性器件 10 n\n", encoding="utf-8")
    after_words = snap.segmenter_fingerprint()
    (tmp_path / "stopwords.txt").write_text("研究\n", encoding="utf-8")
    after_stop = snap.segmenter_fingerprint()
    assert len({before, after_words, after_stop}) == 3
