"""The panel service (services/panels.py) on the committed sample pool: eligibility, draw, save,
replace, export. The commands: test_cli_panel.py."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from expertpool.domain.panel import Candidate, PanelRules, check_panel
from expertpool.errors import InputError, NotFound, PermissionDenied
from expertpool.services.access import actor_for
from expertpool.services.panels import REASONS, build_panel, load_spec, replace_member
from expertpool.services.record_sheet import export_record_sheet
from expertpool.services.roles import grant_role
from tests.sample_pool import SAMPLES, admin, spec, store, template  # noqa: F401 (fixtures)


def candidates_of(document) -> list[Candidate]:
    views = [*document["members"], *document["backups"], *document.get("alternates", [])]
    return [Candidate(id=v["id"], name=v["name"], region=v["region"], fields=tuple(v["fields"]), title=v["title"],
                      institution=v["legal_unit"], relevance=v["relevance"], high_level=v["high_level"])
            for v in views]


def rules_of(document) -> PanelRules:
    s = document["spec"]
    from expertpool.domain.taxonomy import FIELDS

    return PanelRules(size=s["size"], fields=FIELDS if s["fields"] == "all" else tuple(s["fields"]),
                      min_per_field=s["min_per_field"], coverage=s["coverage"],
                      region_bounds={k: tuple(v) for k, v in s["regions"].items()},
                      min_full_senior_share=s["min_full_senior_share"], max_per_institution=s["max_per_institution"])


def test_spec_file_accepts_the_template_with_bare_chinese_keys():
    loaded = spec()
    assert loaded.regions == {"四川": (0.4, 0.6), "重庆": (0.4, 0.6)}
    assert loaded.size == 15 and loaded.mode == "lottery" and str(loaded.review_date) == "2026-12-01"
    assert len(loaded.projects) == 1 and Path(loaded.projects[0]).is_absolute()
    assert Path(loaded.projects[0]).name == "projects.jsonl"


def test_spec_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('size = 15\nsizes = 3\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.toml.*sizes"):
        load_spec(bad)
    with pytest.raises(InputError, match="量子玄学"):
        load_spec(None, {"fields": ["量子玄学"]})
    with pytest.raises(InputError, match="抽取方式"):
        load_spec(None, {"mode": "roulette"})


@pytest.mark.parametrize("line, key, words", [
    ('size = "15"', "size", "应为整数"),
    ('min_full_senior_share = "0.6"', "min_full_senior_share", "应为数字"),
    ('max_age = "65"', "max_age", "应为整数"),
    ('max_reviews_per_year = "10"', "max_reviews_per_year", "应为整数"),
    ('relevance_threshold = "0.3"', "relevance_threshold", "应为数字"),
    ('time_limit_s = "30"', "time_limit_s", "应为数字"),
    ("size = true", "size", "应为整数"),
    ("seed = 1.5", "seed", "应为整数"),
    ("relevance_threshold = -1", "relevance_threshold", "应不小于 0"),
    ("max_probability = 0", "max_probability", "应大于 0"),
    ("size = 99999999999999999999", "size", "应不大于"),
    ("review_date = 0001-01-01", "review_date", "1900-01-01 至 2100-12-31"),
    ('review_date = "明天"', "review_date", "无法识别的日期"),
    ('regions = "四川"', "regions", "每个地区给出 [下限, 上限]"),
    ('regions = { 四川 = ["四成", "六成"] }', "regions", "每个地区给出 [下限, 上限]"),
    ("regions = { 四川 = [0.4] }", "regions", "每个地区给出 [下限, 上限]"),
    ("regions = { 四川 = [0.6, 0.4] }", "regions.四川", "下限大于上限"),
    ("regions = { 北京 = [0.4, 0.6] }", "regions", "北京"),
    ('fields = "any"', "fields", '"all"、"projects"（各申报项目的第一领域）或领域名称的列表'),
    ('coverage = "some"', "coverage", '"any" 或 "primary"'),
    ("projects = 3", "projects", "申报项目文件名"),
    ('name = ""', "name", "不可为空"),
])
def test_every_spec_entry_is_checked_with_a_message_naming_the_file_and_key(tmp_path, line, key, words):
    """Python's own words (TypeError, "could not convert string to float") never reach the user."""
    path = tmp_path / "spec.toml"
    path.write_text(f"{line}\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert f"spec.toml: {key}" in message and words in message, message


def test_spec_flags_are_named_in_messages_and_a_directory_is_bad_input(tmp_path):
    with pytest.raises(InputError, match=r"--review-date .*1900-01-01 至 2100-12-31"):
        load_spec(None, {"review_date": "0001-01-01"})
    with pytest.raises(InputError, match=r"--size 应不大于"):
        load_spec(None, {"size": 10**20})
    with pytest.raises(InputError, match=r"--max-probability 应为有限的数"):
        load_spec(None, {"max_probability": float("nan")})
    with pytest.raises(InputError, match="是目录"):
        load_spec(tmp_path)
    named = load_spec(None, {"name": "综合组\x00\x1b[2J"})
    assert named.name == "综合组[2J"


def test_lottery_panel_meets_every_rule_and_is_saved(store, admin):
    outcome = build_panel(store, admin, spec())
    doc = outcome.document
    assert outcome.has_panel and doc["status"] in ("optimal", "feasible")
    members = [m["id"] for m in doc["members"]]
    assert len(members) == 15
    assert check_panel(members, candidates_of(doc), rules_of(doc)) == []
    excluded = {i for ids in doc["excluded_ids"].values() for i in ids}
    assert not excluded & set(members)
    assert set(doc["exclusions"]) == set(REASONS.values())
    assert doc["exclusions"]["与申报项目有利益冲突"] > 0
    # every conflict of every expert excluded for one is in the record, with its evidence line
    from expertpool.cache.snapshot import pool_snapshot
    from expertpool.domain.panel.record import PanelRecord
    from expertpool.services.conflicts import panel_exclusions, read_projects

    graph = pool_snapshot(store).graph
    loaded = spec()
    found = panel_exclusions(graph, read_projects(loaded.projects[0], store), loaded.review_date).excluded
    record = PanelRecord.from_document(doc)
    conflicted = doc["excluded_ids"]["与申报项目有利益冲突"]
    assert conflicted and all(sorted(record.evidence(e)) == sorted(c.evidence for c in found[e]) for e in conflicted)
    assert all(0 < m["probability"] <= 0.5 + 1e-9 for m in doc["members"])
    # members' probabilities are shown rounded to 6 places
    assert doc["probability_min"] <= min(m["probability"] for m in doc["members"]) + 5e-7
    assert store.get_panel(outcome.panel_id)["members"] == doc["members"]
    assert [e.action for e in store.iter_audit()][-1] == "panel.build"


def test_best_mode_is_reproducible_from_the_seed(store, admin):
    first = build_panel(store, admin, spec(mode="best", seed=7), save=False).document
    again = build_panel(store, admin, spec(mode="best", seed=7), save=False).document
    assert [m["id"] for m in first["members"]] == [m["id"] for m in again["members"]]
    assert first["probability_min"] is None and "probability" not in first["members"][0]
    assert check_panel([m["id"] for m in first["members"]], candidates_of(first), rules_of(first)) == []


def test_infeasible_rules_are_diagnosed_not_raised(store, admin):
    outcome = build_panel(store, admin, spec(size=3, mode="best"))
    assert not outcome.has_panel and outcome.panel_id is None
    diagnosis = outcome.document["diagnosis"]
    assert outcome.document["status"] == "infeasible" and diagnosis["messages"]
    assert any("四川" in m and "3 人" in m for m in diagnosis["messages"])


def test_field_shortage_is_named_with_its_count(store, admin):
    outcome = build_panel(store, admin, spec(fields=["航空航天"], min_per_field=12, mode="best"), save=False)
    assert outcome.document["status"] == "infeasible"
    messages = outcome.document["diagnosis"]["messages"]
    assert any("航空航天" in m for m in messages), messages
    relaxations = outcome.document["diagnosis"]["relaxations"]
    assert relaxations and all(r.get("message") for r in relaxations)


def test_replace_swaps_in_a_valid_expert_and_records_why(store, admin):
    doc = build_panel(store, admin, spec(mode="best", seed=3)).document
    panel_id = doc["id"]
    with pytest.raises(InputError, match="理由"):
        replace_member(store, admin, panel_id, doc["members"][0]["id"], " ")
    # a member whose seat the draw found refillable: backups fit any seat, each member's own
    # replacements fit theirs (a crash in replace_member fails the test; nothing is skipped)
    member = next(m for m in doc["members"] if doc["backups"] or doc["replacements"].get(m["id"]))
    replaced = replace_member(store, admin, panel_id, member["id"], "本人回避").to_document()
    last = replaced["replaced"][-1]
    members = [m["id"] for m in replaced["members"]]
    assert last["out"] not in members and last["in"] in members and len(members) == 15
    pool = {c.id: c for c in candidates_of(doc)}
    for v in replaced["members"]:
        pool.setdefault(v["id"], Candidate(id=v["id"], name=v["name"], region=v["region"], fields=tuple(v["fields"]),
                                           title=v["title"], institution=v["legal_unit"]))
    assert check_panel(members, list(pool.values()), rules_of(doc)) == []
    entry = list(store.iter_audit())[-1]
    assert entry.action == "panel.replace" and entry.reason == "本人回避"


def test_replace_counts_high_level_talents_by_the_honour_vocabulary(store, admin, tmp_path, monkeypatch):
    """find_substitute (panel replace and the automatic 补抽) re-checks the other members with the
    age limit of 高层次人才 as the honour vocabulary decides it (issue 11): a programme an
    administrator mapped as high-level keeps a 68-year-old member seated; an honour kept as written
    but not mapped makes them no longer eligible."""
    from expertpool.io import datafiles
    from expertpool.services.panels import MembersNoLongerEligible

    vocabulary = tmp_path / "honours.toml"   # as an administrator edits indexes/honours.toml
    vocabulary.write_text(datafiles.default_honours_path().read_text(encoding="utf-8")
                          + '"天府青城计划" = "高层次人才"\n', encoding="utf-8")
    monkeypatch.setattr(datafiles, "default_honours_path", lambda: vocabulary)

    doc = build_panel(store, admin, spec(mode="best", seed=3)).document
    assert doc["spec"]["max_age"] < 68 <= doc["spec"]["max_age_high_level"]
    leaving = next(m for m, r in doc["replacements"].items() if r)  # has a qualified replacement
    staying = next(m["id"] for m in doc["members"] if m["id"] != leaving)

    def honour(expert_id: str, name: str) -> None:   # 68 on the review date (2026-12-01)
        store.upsert_experts([store.get_expert(expert_id).model_copy(update={"birth_year": 1958, "honours": [name]})])

    honour(staying, "天府青城计划")        # mapped as high-level above
    replaced = replace_member(store, admin, doc["id"], leaving, "本人回避")
    assert leaving not in replaced.member_ids() and staying in replaced.member_ids()
    honour(staying, "某市优秀专家")        # kept as written, not high-level
    other = next(m for m in replaced.member_ids() if m != staying)
    with pytest.raises(MembersNoLongerEligible, match=staying):
        replace_member(store, admin, doc["id"], other, "本人回避")


# ---- a panel without projects (no conflict check) must be asked for, and says so ----
def test_a_draw_without_projects_is_refused_unless_asked_for(store, admin, tmp_path):
    no_projects = tmp_path / "no_projects.toml"
    no_projects.write_text((SAMPLES / "panel.toml").read_text(encoding="utf-8").replace(
        'projects = "projects.jsonl"', "projects = []"), encoding="utf-8")
    for refused in (load_spec(no_projects), load_spec(None, {"review_date": "2026-12-01"})):
        with pytest.raises(InputError, match="--no-projects"):
            build_panel(store, admin, refused)
    with pytest.raises(InputError, match="--no-projects"):
        load_spec(SAMPLES / "panel.toml", {"no_projects": True})  # projects and "no projects" at once
    assert [e.action for e in store.iter_audit()][-1] != "panel.build"


def test_a_panel_drawn_without_projects_says_no_conflicts_were_checked(store, admin, tmp_path):
    drawn = build_panel(store, admin, spec(projects=[], no_projects=True, mode="best"))
    doc = drawn.document
    assert drawn.has_panel and doc["conflicts_checked"] is False and doc["projects"] == []
    assert doc["exclusions"]["与申报项目有利益冲突"] == 0
    assert store.get_panel(drawn.panel_id)["conflicts_checked"] is False
    assert list(store.iter_audit())[-1].after["conflicts_checked"] is False
    sheet = export_record_sheet(store, admin, drawn.panel_id, tmp_path / "p.csv").path
    assert any("未做利益冲突审查" in cell for row in csv.reader(sheet.open(encoding="utf-8-sig")) for cell in row)
    checked = build_panel(store, admin, spec(mode="best"), save=False).document
    assert checked["conflicts_checked"] is True


def test_roles(store, admin):
    grant_role(store, admin, "officer", "program_officer")
    grant_role(store, admin, "auditor", "reviewer")
    assert build_panel(store, actor_for(store, "officer"), spec(), save=False).has_panel
    with pytest.raises(PermissionDenied):
        build_panel(store, actor_for(store, "auditor"), spec(), save=False)


def test_replace_respects_relations_added_since_the_draw(store, admin, tmp_path):
    from expertpool.services.importing import import_file
    from tests.helpers import write_csv

    doc = build_panel(store, admin, spec(mode="best", seed=3)).document
    # a member with a second replacement, so the seat can still be filled once the first is related
    leaving, first_choice = next((m, r[0]) for m, r in doc["replacements"].items() if len(r) >= 2)
    relative = next(m["id"] for m in doc["members"] if m["id"] != leaving)
    relations = write_csv(tmp_path / "family.csv", [{"专家编号": first_choice, "关联专家编号": relative, "关系类型": "亲属",
                                                     "备注": "配偶"}],
                          headers=["专家编号", "关联专家编号", "关联人姓名", "关联人单位", "关系类型", "起始年份", "结束年份", "备注"])
    assert import_file(store, relations, admin).imported == 1
    replaced = replace_member(store, admin, doc["id"], leaving, "本人回避").to_document()
    assert replaced["replaced"][-1]["in"] != first_choice
    assert first_choice not in [m["id"] for m in replaced["members"]]


def test_a_sanction_recorded_after_the_snapshot_excludes_the_expert_at_once(store, admin):
    """Integrity records do not change the data version (the snapshot stays warm for reviewers'
    frequent edits), so a draw must read them fresh: a member sanctioned since is excluded."""
    import datetime as dt

    from expertpool.domain.models import IntegrityRecord
    from expertpool.cache.snapshot import pool_snapshot

    first = build_panel(store, admin, spec(mode="best", seed=7), save=False).document
    member = first["members"][0]["id"]
    version = store.data_version()
    store.put_integrity(IntegrityRecord(id="IR-NEW-1", expert_id=member, category="伪造篡改", severity="严重",
                                        start=dt.date(2026, 1, 1), document_no="川科诚〔2026〕9号"), None)
    assert store.data_version() == version and pool_snapshot(store).loaded_from_cache
    again = build_panel(store, admin, spec(mode="best", seed=7), save=False).document
    assert member not in [m["id"] for m in again["members"]]
    assert member in again["excluded_ids"]["科研诚信处理期内"]


def test_replace_takes_the_number_the_user_knows(store, admin):
    """panel replace resolves the expert like every command: a list's number, qualified or not."""
    doc = build_panel(store, admin, spec(mode="best", seed=3)).document
    # a member whose seat the draw found refillable (as in the test above)
    member = next(m for m in doc["members"] if doc["backups"] or doc["replacements"].get(m["id"]))
    region, number = next(iter(store.get_expert(member["id"]).source_ids.items()))
    replaced = replace_member(store, admin, doc["id"], f"{region}:{number.lower()}", "本人回避").to_document()
    assert replaced["replaced"][-1]["out"] == member["id"]
    with pytest.raises(NotFound):
        replace_member(store, admin, doc["id"], "四川:不存在的编号", "本人回避")


# ---- anchors: every saved panel and exported sheet carries the chain head it was made at ----
def delete_audit_from(path, seq: int) -> None:
    from tests.access_helpers import sql

    sql(path, "DELETE FROM audit WHERE seq >= ?", (seq,))


def test_a_saved_panel_carries_its_anchor_and_verify_checks_it(store, admin):
    from expertpool.services.audit import verify_audit

    drawn = build_panel(store, admin, spec(mode="best", seed=5))
    entry = list(store.iter_audit())[-1]
    assert entry.action == "panel.build" and drawn.document["audit_anchor"] == {"seq": entry.seq, "hash": entry.hash}
    assert store.get_panel(drawn.panel_id)["audit_anchor"] == drawn.document["audit_anchor"]
    result = verify_audit(store)
    assert result.ok and result.anchors_checked == 1, result
    # a member with a qualified replacement (only qualified experts may take a seat)
    leaving = next(m for m, r in drawn.document["replacements"].items() if r)
    replaced = replace_member(store, admin, drawn.panel_id, leaving, "本人回避")
    last = list(store.iter_audit())[-1]
    assert replaced.replaced[-1].audit_anchor.model_dump() == {"seq": last.seq, "hash": last.hash}
    assert verify_audit(store).anchors_checked == 2
    delete_audit_from(store.path, entry.seq)  # the log cut back to before the draw
    result = verify_audit(store)
    assert not result.ok and result.first_bad_seq == entry.seq
    assert f"锚点所指的第 {entry.seq} 条不存在" in result.problem and drawn.panel_id in result.problem


def test_panel_members_changed_in_the_store_are_named(store, admin):
    from expertpool.services.audit import verify_audit
    from tests.access_helpers import sql

    drawn = build_panel(store, admin, spec(mode="best", seed=5))
    outsider = next(e.id for e in store.iter_experts() if e.id not in {m["id"] for m in drawn.document["members"]})
    sql(store.path, "UPDATE panels SET doc = json_set(doc, '$.members[0].id', ?) WHERE id = ?", (outsider, drawn.panel_id))
    result = verify_audit(store)
    assert not result.ok and f"专家组 {drawn.panel_id} 的成员与审计日志第" in result.problem


class RecordedProgress:
    def __init__(self):
        self.started: list[str] = []

    def start(self, description, total):
        self.started.append(description)

    def advance(self, n=1):
        pass

    def finish(self):
        pass


def test_a_draw_that_finds_nothing_cached_shows_progress_and_the_next_one_does_not(store, admin, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "empty-cache"))   # another user's first draw
    cold = RecordedProgress()
    build_panel(store, admin, spec(mode="best"), progress=cold, save=False)
    assert any("首次抽取" in line for line in cold.started)
    warm = RecordedProgress()
    build_panel(store, admin, spec(mode="best", seed=3), progress=warm, save=False)
    assert not any("首次抽取" in line for line in warm.started) and warm.started   # only the solve


def test_an_import_that_changes_data_prepares_the_next_draw_with_progress(store, admin, tmp_path):
    from expertpool.cache.snapshot import cached_snapshot, rank_index_cached
    from expertpool.services.importing import import_files
    from tests.helpers import write_csv

    history = write_csv(tmp_path / "history.csv", [{"专家编号": "SC-000001", "评审活动": "项目评审",
                                                     "评审日期": "2026-03-01"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    shown = RecordedProgress()
    report = import_files(store, [history], admin, kind="history", progress=shown)
    assert report.files[0].imported == 1
    assert any("为抽取准备" in line for line in shown.started)
    version = store.data_version()
    assert cached_snapshot(version) is not None and rank_index_cached(version)
    again = RecordedProgress()
    assert import_files(store, [history], admin, kind="history", progress=again).files[0].unchanged == 1
    assert not any("为抽取准备" in line for line in again.started)   # nothing changed, nothing to prepare


def test_the_first_draw_after_an_import_loads_no_segmenter_for_stored_projects(store, admin, tmp_path, monkeypatch):
    """The import segments the stored projects (the draw learns boilerplate from all of them, and
    the sample spec reviews some of them), so the draw after it reads every query from the memo."""
    from expertpool import segment
    from expertpool.services.importing import import_files
    from tests.helpers import write_csv

    history = write_csv(tmp_path / "history.csv", [{"专家编号": "SC-000001", "评审活动": "项目评审",
                                                     "评审日期": "2026-03-02"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    assert import_files(store, [history], admin, kind="history").files[0].imported == 1
    with monkeypatch.context() as patched:
        patched.setattr(segment, "query_terms", lambda text, engine=None: pytest.fail(f"segmented in the draw: {text}"))
        drawn = build_panel(store, admin, spec(mode="best"), save=False).document
    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "another-cache"))   # everything segmented afresh
    expected = build_panel(store, admin, spec(mode="best"), save=False).document
    assert drawn["members"] and drawn["members"] == expected["members"]
    assert [m["relevance"] for m in drawn["members"]] == [m["relevance"] for m in expected["members"]]


def test_a_draw_ranks_its_projects_once_unless_validation_changed_what_ranking_reads(store, admin, monkeypatch):
    """The early read (for ranking) and the validated projects differ where validation resolves a
    team member's number: that must not rank everything a second time; a changed text must."""
    from expertpool.services import panels

    ranked = []
    real_rank, real_load = panels.rank_review, panels._load_projects
    monkeypatch.setattr(panels, "rank_review", lambda *a, **kw: ranked.append(1) or real_rank(*a, **kw))
    for change, expected in (({"team": []}, 1), ({"title": "另一个标题的项目"}, 2)):
        ranked.clear()
        monkeypatch.setattr(panels, "_load_projects", lambda *a, change=change: [
            p.model_copy(update=change) for p in real_load(*a)])
        panels.prepare_draw(store, spec(mode="best"))
        assert len(ranked) == expected, change


def test_the_pool_s_conflicts_are_remembered_per_data_projects_day_and_policy(store, admin, tmp_path, monkeypatch):
    from expertpool.services import panels

    checks = []
    real = panels.panel_exclusions
    monkeypatch.setattr(panels, "panel_exclusions", lambda *a, **kw: checks.append(1) or real(*a, **kw))
    first = build_panel(store, admin, spec(mode="best", seed=1), save=False).document
    second = build_panel(store, admin, spec(mode="best", seed=2), save=False).document
    assert len(checks) == 1                                     # the second draw reused the first's
    assert first["conflicts"] == second["conflicts"] and first["excluded_ids"] == second["excluded_ids"]
    build_panel(store, admin, spec(mode="best", review_date="2031-06-01"), save=False)
    assert len(checks) == 2                                     # another day
    policy = tmp_path / "policy.toml"
    policy.write_text("[former_unit]\nyears = 1\n", encoding="utf-8")
    build_panel(store, admin, spec(mode="best", policy=str(policy)), save=False)
    assert len(checks) == 3                                     # another policy
    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "empty"))
    fresh = build_panel(store, admin, spec(mode="best", seed=1), save=False).document
    assert len(checks) == 4 and fresh["conflicts"] == first["conflicts"]   # computed again: the same


def test_the_lottery_distribution_is_remembered_per_data_version_and_rules(store, admin, tmp_path, monkeypatch):
    """A second lottery draw of the same pool and rules (another seed, a reproduction) samples the
    remembered distribution: the very panel a fresh solve gives for its seed. Another data
    version or other rules are solved again."""
    from expertpool.domain.panel import lottery
    from tests.factories import make_expert

    solves = []
    real = lottery._solve
    monkeypatch.setattr(lottery, "_solve", lambda setup: solves.append(1) or real(setup))
    first = build_panel(store, admin, spec(mode="lottery", seed=1), save=False).document
    assert first["status"] == "optimal" and len(solves) == 1
    second = build_panel(store, admin, spec(mode="lottery", seed=2), save=False).document
    assert len(solves) == 1 and "remembered" in second["timings"]
    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "empty"))   # another user: solved afresh
    fresh = build_panel(store, admin, spec(mode="lottery", seed=2), save=False).document
    assert len(solves) == 2 and "remembered" not in fresh["timings"]
    for key in ("members", "backups", "replacements", "probability_min", "probability_max", "bound", "status"):
        assert second[key] == fresh[key], key
    build_panel(store, admin, spec(mode="lottery", seed=2, min_full_senior_share=0.5), save=False)
    assert len(solves) == 3                                      # other rules
    store.upsert_experts([make_expert("SC-000990", name="钱新", institution="四川大学")])
    build_panel(store, admin, spec(mode="lottery", seed=2), save=False)
    assert len(solves) == 4                                      # another data version


def test_rankings_are_remembered_per_data_version_and_projects(store, admin, tmp_path, monkeypatch):
    """Another draw for the same projects reads the remembered rankings (no rank index, no stored
    projects); other projects or another data version are ranked again, and a remembered ranking
    is the very ranking a fresh one gives."""
    from expertpool.services import panels
    from tests.factories import make_expert

    ranked = []
    real = panels.rank_projects
    monkeypatch.setattr(panels, "rank_projects", lambda *a, **kw: ranked.append(1) or real(*a, **kw))
    first = build_panel(store, admin, spec(mode="best", seed=1), save=False).document
    assert len(ranked) == 1
    again = build_panel(store, admin, spec(mode="best", seed=1), save=False).document
    assert len(ranked) == 1 and again["members"] == first["members"]
    assert [m["relevance"] for m in again["members"]] == [m["relevance"] for m in first["members"]]
    inputs = panels.prepare_draw(store, spec(mode="best"))
    monkeypatch.setenv("EXPERTPOOL_CACHE_DIR", str(tmp_path / "empty"))
    fresh = panels.prepare_draw(store, spec(mode="best"))
    assert len(ranked) == 2 and fresh.relevance == inputs.relevance and fresh.relevance
    store.upsert_experts([make_expert("SC-000991", name="周新", institution="四川大学")])
    panels.prepare_draw(store, spec(mode="best"))
    assert len(ranked) == 3                                      # another data version
    few = tmp_path / "few.jsonl"
    few.write_text((SAMPLES / "projects.jsonl").read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    panels.prepare_draw(store, spec(mode="best", projects=str(few)))
    assert len(ranked) == 4                                      # other projects
