"""The panel service (services/panels.py) on the committed sample pool: eligibility, draw, save,
replace, export. The commands: test_cli_panel.py."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from expertpool.domain.panel import Candidate, PanelRules, check_panel
from expertpool.errors import InputError, PermissionDenied
from expertpool.services.access import actor_for
from expertpool.services.panels import REASONS, build_panel, export_panel, load_spec, replace_member
from expertpool.services.roles import grant_role
from tests.sample_pool import admin, spec, store, template  # noqa: F401 (fixtures)


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
    found = panel_exclusions(graph, read_projects(loaded.projects[0], graph), loaded.review_date).excluded
    record = PanelRecord.from_document(doc)
    conflicted = doc["excluded_ids"]["与申报项目有利益冲突"]
    assert conflicted and all(sorted(record.evidence(e)) == sorted(c.evidence for c in found[e]) for e in conflicted)
    assert all(0 < m["probability"] <= 0.5 + 1e-9 for m in doc["members"])
    assert doc["probability_min"] <= min(m["probability"] for m in doc["members"])
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


def test_export_csv_and_xlsx(store, admin, tmp_path):
    doc = build_panel(store, admin, spec()).document
    out = export_panel(store, admin, doc["id"], tmp_path / "panel.csv")
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    n_replacements = sum(len(r) for r in doc["replacements"].values())
    assert n_replacements > 0
    assert rows[0][:3] == ["角色", "序号", "专家编号"] and rows[0][-1] == "替补对象"
    assert len(rows) == 1 + len(doc["members"]) + len(doc["backups"]) + n_replacements
    member = doc["members"][0]
    first = doc["replacements"][member["id"]][0]
    assert ["替补", "1", first] == rows[1 + len(doc["members"]) + len(doc["backups"])][:3]
    assert rows[1 + len(doc["members"]) + len(doc["backups"])][-1].startswith(member["id"])
    from openpyxl import load_workbook

    ws = load_workbook(export_panel(store, admin, doc["id"], tmp_path / "panel.xlsx")).active
    assert ws.max_row == 2 + len(doc["members"]) + len(doc["backups"]) + n_replacements
    with pytest.raises(InputError, match=".pdf"):
        export_panel(store, admin, doc["id"], tmp_path / "panel.pdf")


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
    leaving, first_choice = next((m, r[0]) for m, r in doc["replacements"].items() if r)
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
