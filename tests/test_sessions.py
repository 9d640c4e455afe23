"""The session service (services/sessions.py) on the committed sample pool: plan in both modes
with every group checked independently, the ledger across two sessions on one date, reproduce,
replace, export, spec errors. The commands: test_cli_session.py."""
import csv
import json

import pytest

from expertpool.domain.session import check_session
from expertpool.errors import InputError, NotFound
from expertpool.services.panels import build_panel
from expertpool.services.sessions import (export_session, get_session, list_sessions, load_session_spec,
                                          plan_session, prepare_session, replace_session_member, reproduce_session)
from tests.sample_pool import SAMPLES, admin, spec, store, template  # noqa: F401 (fixtures)

SESSION_SPEC = SAMPLES / "session.toml"
BOOKED = "同日已入选其他评审专家组"


def session_spec(**overrides):
    return load_session_spec(SESSION_SPEC, overrides)


def ids(views):
    return [v["id"] if isinstance(v, dict) else v.id for v in views]


def groups_of(store, s, ledger=None):
    """The groups as the solver saw them, read again through the service (for the checker)."""
    return [g.solver_group() for g in prepare_session(store, s, ledger=ledger).groups]


@pytest.mark.parametrize("mode", ["best", "lottery"])
def test_plan_meets_every_rule_of_every_group_and_seats_no_one_twice(store, admin, mode):
    s = session_spec(mode=mode, seed=11)
    outcome = plan_session(store, admin, s)
    doc = outcome.document
    assert outcome.has_panel and doc["status"] == "optimal"
    assert [g["name"] for g in doc["groups"]] == ["新一代信息技术、先进制造组", "生物医药组", "新材料组"]
    members = {g["name"]: ids(g["members"]) for g in doc["groups"]}
    assert all(len(m) == 5 for m in members.values())
    from expertpool.domain.ledger import Ledger
    groups = groups_of(store, s, ledger=Ledger())
    assert check_session(members, groups, qualified_only=mode == "lottery") == []
    seated = [m for ms in members.values() for m in ms]
    assert len(seated) == len(set(seated)) == 15
    for g in doc["groups"]:                           # the JSON shape of the issue
        assert {"name", "projects", "members", "status"} <= set(g)
        assert not set(ids(g["backups"])) & set(seated)
    every_project = [json.loads(line)["id"] for line in (SAMPLES / "projects.jsonl").read_text().splitlines() if line]
    assert sorted(p for g in doc["groups"] for p in g["projects"]) == sorted(every_project)
    if mode == "lottery":
        assert 0 < doc["probability_min"] <= doc["probability_max"] <= 1
    for g in doc["groups"]:                           # session.toml: at least one expert aged ≤ 50
        [young] = g["quota_counts"]
        assert young["label"] == "年龄≤50岁" and young["count"] >= 1
    saved = get_session(store, admin, outcome.session_id)
    assert [g.member_ids() for g in saved.groups] == list(members.values())
    assert [e.action for e in store.iter_audit()][-1] == "session.plan"
    assert [x.id for x in list_sessions(store, admin)] == [outcome.session_id]


def test_each_group_avoids_only_its_own_projects(store, admin):
    s = session_spec(mode="best")
    inputs = prepare_session(store, s)
    conflicted = {g.name: g.excluded["conflict"] for g in inputs.groups}
    assert len(set(conflicted.values())) == 3          # each group's own projects, own conflicts
    eligible = {g.name: {c.id for c in g.candidates} for g in inputs.groups}
    # someone barred from one group by its projects may sit in another
    assert any(eligible[a] - eligible[b] for a in eligible for b in eligible if a != b)


def test_two_sessions_on_one_date_share_no_expert_and_count_toward_the_cap(store, admin):
    first = plan_session(store, admin, session_spec(mode="best", seed=1)).document
    second = plan_session(store, admin, session_spec(mode="best", seed=1, name="第二场")).document
    seated_first = {m for g in first["groups"] for m in ids(g["members"])}
    seated_second = {m for g in second["groups"] for m in ids(g["members"])}
    assert not seated_first & seated_second
    assert set(second["excluded_ids"][BOOKED]) == seated_first
    # a panel on the same day refuses both sessions' members; with --allow-same-day it warns
    panel = build_panel(store, admin, spec(mode="best", seed=3), save=False).document
    assert seated_first | seated_second <= set(panel["excluded_ids"][BOOKED])
    # a session on a later date counts both toward the yearly cap
    later = plan_session(store, admin, session_spec(mode="best", review_date="2027-02-01", max_reviews_per_year=1),
                         save=False).document
    # (each expert is counted under the first rule that excludes them: someone past the age
    # limit by then is counted there, before the cap)
    over_age = set(later["excluded_ids"].get("超过年龄上限", []))
    assert (seated_first | seated_second) - over_age <= set(later["excluded_ids"]["评审次数已达年度上限"])
    assert len((seated_first | seated_second) - over_age) >= 25


def test_allow_same_day_warns_for_members_seated_elsewhere(store, admin):
    first = plan_session(store, admin, session_spec(mode="best", seed=1)).document
    again = plan_session(store, admin, session_spec(mode="best", seed=1, same_day="warn"), save=False).document
    assert [ids(g["members"]) for g in again["groups"]] == [ids(g["members"]) for g in first["groups"]]
    assert len(again["warnings"]) == 15 and all(first["id"] in w for w in again["warnings"])


def test_reproduce_gives_the_same_session_after_later_draws(store, admin):
    outcome = plan_session(store, admin, session_spec(mode="lottery", seed=5))
    plan_session(store, admin, session_spec(mode="best", seed=9, name="后来的一场"))
    saved, redrawn, same = reproduce_session(store, admin, outcome.session_id)
    assert same, ([g.member_ids() for g in saved.groups], [g.member_ids() for g in redrawn.groups])


def test_replace_keeps_the_group_rules_and_the_session_disjoint(store, admin):
    outcome = plan_session(store, admin, session_spec(mode="best", seed=2))
    doc = outcome.document
    group = next(g for g in doc["groups"] if g["backups"] or any(g["replacements"].values()))
    leaving = next(m for m in ids(group["members"]) if group["backups"] or group["replacements"].get(m))
    with pytest.raises(InputError, match="理由"):
        replace_session_member(store, admin, outcome.session_id, leaving, " ")
    with pytest.raises(NotFound):
        replace_session_member(store, admin, outcome.session_id, "SC-999999", "回避")
    outsider = next(e.id for e in store.iter_experts() if e.id not in {m for g in doc["groups"] for m in ids(g["members"])})
    with pytest.raises(InputError, match="不是评审会"):
        replace_session_member(store, admin, outcome.session_id, outsider, "回避")
    record = replace_session_member(store, admin, outcome.session_id, leaving, "本人回避")
    last = record.replaced[-1]
    assert last.group == group["name"] and last.out == leaving
    members = {g.name: g.member_ids() for g in record.groups}
    assert leaving not in members[group["name"]] and last.in_ in members[group["name"]]
    from expertpool.domain.ledger import Ledger
    assert check_session(members, groups_of(store, session_spec(mode="best", seed=2), ledger=Ledger())) == []
    assert record.group(group["name"]).drawn_member_ids() == ids(group["members"])
    entry = list(store.iter_audit())[-1]
    assert entry.action == "session.replace" and entry.reason == "本人回避"
    # the replacement counts in the ledger: a panel that day does not draw the new member
    panel = build_panel(store, admin, spec(mode="best"), save=False).document
    assert last.in_ in panel["excluded_ids"][BOOKED] and leaving not in panel["excluded_ids"][BOOKED]


def test_export_has_an_overview_and_a_sheet_per_group_in_chinese(store, admin, tmp_path):
    outcome = plan_session(store, admin, session_spec(mode="lottery", seed=3,
                                                      name="=HYPERLINK(\"http://x\",\"点我\")"))
    from openpyxl import load_workbook

    path = export_session(store, admin, outcome.session_id, tmp_path / "评审会.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["总览", "新一代信息技术、先进制造组", "生物医药组", "新材料组"]
    overview = [[c.value for c in row] for row in book["总览"].iter_rows()]
    assert overview[2][:4] == ["分组", "申报项目数", "申报项目", "专家人数"]
    entry = list(store.iter_audit())[-1]
    assert entry.action == "session.export" and f"{entry.seq}:{entry.hash}" in overview[1][0]
    assert overview[0][0].startswith("'=HYPERLINK")          # inert text, not a formula
    assert "抽取方式 随机抽取" in overview[0][0]
    for row in book.worksheets[1].iter_rows():
        for cell in row:
            assert cell.value is None or cell.data_type == "s"
    text = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert not any(word in text for word in ("lottery", "optimal", "best", "backup"))
    csv_path = export_session(store, admin, outcome.session_id, tmp_path / "s.csv")
    rows = list(csv.reader(csv_path.open(encoding="utf-8-sig")))
    # no personal data on the sheets, even for an officer (who may see it on screen): they are printed
    seated = [e for e in store.iter_experts() if e.id in {m.id for g in outcome.record.groups for m in g.members}]
    secrets = [v for e in seated for v in (e.phone, e.email) if v]
    assert len(secrets) >= 15
    for exported in (text, csv_path.read_text(encoding="utf-8-sig")):
        assert not [v for v in secrets if v in exported]
    # each group's table is the panel record sheet's substitute table, members first
    assert rows[2][:3] == ["分组", "类别", "序号"] and "审计锚点" in rows[1][0]
    assert {r[1] for r in rows[3:]} <= {"成员", "备选", "专属替补"}
    assert sum(1 for r in rows[3:] if r[1] == "成员") == 15
    with pytest.raises(InputError, match="xlsx"):
        export_session(store, admin, outcome.session_id, tmp_path / "s.pdf")


def test_group_tables_with_their_own_rules(tmp_path, store, admin):
    path = tmp_path / "groups.toml"
    path.write_text(f'''
name = "分组评审会"
review_date = 2026-12-01
projects = "{(SAMPLES / "projects.jsonl").as_posix()}"
mode = "best"
size = 3
regions = {{ 四川 = [0.0, 1.0] }}
min_full_senior_share = 0.0

[[group]]
name = "医药组"
projects = ["2026YFG0001", "2026YFG0003"]
size = 5
fields = ["生物医药"]
min_per_field = 3

[[group]]
name = "材料组"
projects = ["2026YFG0002"]
''', encoding="utf-8")
    doc = plan_session(store, admin, load_session_spec(path), save=False).document
    a, b = doc["groups"]
    assert (a["name"], len(a["members"]), b["name"], len(b["members"])) == ("医药组", 5, "材料组", 3)
    assert sum("生物医药" in m["fields"] for m in a["members"]) >= 3
    assert b["fields"] == ["新材料"]          # fields = "projects" by default: the group's projects'


@pytest.mark.parametrize("text, message", [
    ('review_date = 2026-12-01\nprojects = "p.jsonl"\ngroups = 3\nsizes = 5\n', "未知的规则项 sizes"),
    ('review_date = 2026-12-01\nprojects = "p.jsonl"\ngroups = 3\ngroup_by = "region"\n', "group_by"),
    ('review_date = 2026-12-01\nprojects = "p.jsonl"\ngroups = 0\n', "groups 必须是正整数"),
    ('review_date = 2026-12-01\nprojects = "p.jsonl"\n[[group]]\nname = "甲"\nprojects = ["P1"]\nsize = 0\n'
     '[[group]]\nname = "乙"\nprojects = ["P2"]\n', r"group\[1\]（甲）.*size"),
    ('review_date = 2026-12-01\nprojects = "p.jsonl"\n[[group]]\nname = "甲"\n[[group]]\nname = "甲"\n', "分组名称重复"),
    ('review_date = 2026-12-01\ngroups = 2\n', "缺少申报项目"),
    ('review_date = 2026-12-01\nprojects = "p.jsonl"\ngroups = 2\n[[quota]]\nattribute = "星座"\nmin = 1\n', "星座"),
])
def test_spec_errors_name_the_file_group_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_session_spec(path)


def test_too_many_groups_for_the_projects_is_an_error(store, admin):
    with pytest.raises(InputError, match="多于申报项目数"):
        plan_session(store, admin, session_spec(groups=20), save=False)


def test_an_infeasible_session_names_the_group_and_is_not_saved(store, admin):
    outcome = plan_session(store, admin, session_spec(mode="best", size=40), save=True)
    assert not outcome.has_panel and outcome.session_id is None
    diagnosis = outcome.document["diagnosis"]
    # every group can be formed alone (40 of its ~150–250 candidates), not all three at once
    assert any("各自都能组成专家组，但不能同时组成" in m for m in diagnosis["messages"]), diagnosis["messages"]
    assert any(c["rule"] == "max_per_institution" and c["have"] < c["need"] for c in diagnosis["clashes"])
    fix = diagnosis["relaxations"][0]
    assert fix["message"].startswith("各组同时") and fix["message"].endswith("即可组成整场评审会")
    # confirmed on the whole session: the relaxed spec draws
    relaxed = {"max_per_institution": fix["to"]} if fix["rule"] == "max_per_institution" else {"size": fix["to"]}
    assert plan_session(store, admin, session_spec(mode="best", size=40, **relaxed), save=False).has_panel
    assert list_sessions(store, admin) == []


def test_audit_verify_checks_saved_sessions_and_their_anchors(store, admin):
    from expertpool.services.audit import verify_audit

    outcome = plan_session(store, admin, session_spec(mode="best", seed=2))
    doc = outcome.document
    group = next(g for g in doc["groups"] if g["backups"] or any(g["replacements"].values()))
    leaving = next(m for m in ids(group["members"]) if group["backups"] or group["replacements"].get(m))
    replace_session_member(store, admin, outcome.session_id, leaving, "本人回避")
    assert verify_audit(store).ok
    saved = store.get_session(outcome.session_id)
    assert saved["audit_anchor"]["seq"] > 0 and saved["replaced"][-1]["audit_anchor"]["seq"] > saved["audit_anchor"]["seq"]
    # a member swapped behind the tool's back is named
    saved["groups"][0]["members"][0]["id"] = "SC-999999"
    store.save_session(outcome.session_id, saved)
    result = verify_audit(store)
    assert not result.ok and outcome.session_id in result.problem


def test_replace_takes_the_number_the_user_knows(store, admin):
    """session replace resolves the expert like every command: a list's number, qualified or not."""
    outcome = plan_session(store, admin, session_spec(mode="best", seed=2))
    group = next(g for g in outcome.document["groups"] if g["backups"] or any(g["replacements"].values()))
    member = next(m for m in ids(group["members"]) if group["backups"] or group["replacements"].get(m))
    region, number = next(iter(store.get_expert(member).source_ids.items()))
    record = replace_session_member(store, admin, outcome.session_id, f"{region}:{number.lower()}", "本人回避")
    assert record.replaced[-1].out == member and member not in record.group(group["name"]).member_ids()


def test_a_session_checks_its_projects_conflicts_once_per_data_version(store, admin, tmp_path, monkeypatch):
    """Plan, reproduction and a replacement in one group read the session's conflicts from the
    remembered check (as panels do, `pool_conflicts`); each group still avoids only its own
    projects' conflicts, the same as a direct check of that group's projects."""
    from expertpool.cache.snapshot import pool_snapshot
    from expertpool.services import panels

    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "cache"))
    checks = []
    real = panels.excluded_by_conflicts
    monkeypatch.setattr(panels, "excluded_by_conflicts", lambda *a, **kw: checks.append(1) or real(*a, **kw))
    s = session_spec(mode="best", seed=4)
    outcome = plan_session(store, admin, s)
    assert reproduce_session(store, admin, outcome.session_id)[2]
    group = outcome.record.groups[0]
    replace_session_member(store, admin, outcome.session_id, group.member_ids()[0], "本人回避")
    assert len(checks) == 1
    graph = pool_snapshot(store).graph
    for g in prepare_session(store, s).groups:
        direct = set().union(*real(graph, g.projects, s.review_date, s.policy).values())
        assert not direct & {c.id for c in g.candidates}
        assert len(checks) == 1
    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "empty"))
    cold = prepare_session(store, s)
    assert len(checks) == 2
    assert [g.excluded for g in cold.groups] == [g.excluded for g in prepare_session(store, s).groups]


def test_a_session_beside_a_sealed_panel_neither_seats_nor_names_its_members(store, admin):
    from tests.sealing_helpers import seal_one

    probes = [session_spec(mode="best", seed=1, same_day=same_day) for same_day in ("refuse", "warn")]
    probes.append(session_spec(mode="best", seed=1, review_date="2026-12-02", max_reviews_per_year=1))
    before = [plan_session(store, admin, s, save=False).document for s in probes]
    hidden = seal_one(store, admin)
    for probe, earlier in zip(probes, before):
        doc = plan_session(store, admin, probe, save=False).document
        assert not hidden & {i for g in doc["groups"] for i in ids(g["members"])}
        # names and counts nothing the seal would change
        assert doc["excluded_ids"] == earlier["excluded_ids"] and doc["exclusions"] == earlier["exclusions"]
        assert doc["pool"]["eligible"] == earlier["pool"]["eligible"]
        assert [g["exclusions"] for g in doc["groups"]] == [g["exclusions"] for g in earlier["groups"]]
        assert [g["pool"]["eligible"] for g in doc["groups"]] == [g["pool"]["eligible"] for g in earlier["groups"]]
        assert not doc.get("warnings")


def test_replacing_in_a_session_whose_members_a_later_sealed_panel_seats_names_nobody(store, admin, monkeypatch):
    """As for a panel (test_ledger): a sealed panel on an earlier day may push a session group's
    members over the workload cap; a replacement in that group must neither refuse them as "no
    longer eligible" (naming sealed members) nor seat a sealed member."""
    from tests.sealing_helpers import replace_one_of, seal_until_one_of

    outcome = plan_session(store, admin, session_spec(mode="best", seed=2, review_date="2027-03-01",
                                                      max_reviews_per_year=1))
    seated = {m: g["name"] for g in outcome.document["groups"] for m in ids(g["members"])}
    hidden = seal_until_one_of(store, admin, monkeypatch, set(seated))
    hit = next(m for m in seated if m in hidden)
    group = seated[hit]
    record = replace_one_of(sorted(m for m, g in seated.items() if g == group and m not in hidden),
                            lambda m: replace_session_member(store, admin, outcome.session_id, m, "因病"), hidden)
    assert record.replaced[-1].in_ not in hidden and hit in record.group(group).member_ids()
