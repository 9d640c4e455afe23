"""domain/panel/record.py: the saved panel as a typed record; old documents read, unknown keys kept."""
from __future__ import annotations

import pytest

from expertpool.domain.panel.record import SCHEMA_VERSION, PanelRecord, PanelSummary
from expertpool.errors import ExpertPoolError
from expertpool.services.access import actor_for
from expertpool.services.panels import get_panel, list_panels


def member(id: str, region: str, fields: list[str], probability: float | None = None) -> dict:
    view = {"id": id, "name": f"专家{id[-1]}", "region": region, "sub_region": None, "institution": "四川大学",
            "legal_unit": "四川大学", "title": "正高级", "fields": fields, "high_level": False, "relevance": 0.5}
    if probability is not None:
        view["probability"] = probability
    return view


def version_one() -> dict:
    """A panel as saved before PanelRecord (no schema_version, no alternates), replaced once."""
    return {
        "id": "PNL-20261201-7-abcdef12", "name": "综合组", "status": "optimal", "strategy": "lottery", "seed": 7,
        "spec": {"name": "综合组", "review_date": "2026-12-01", "size": 3, "fields": ["人工智能", "新材料"],
                 "coverage": "any", "backups": 1},
        "members": [member("SC-1", "四川", ["人工智能", "新材料"], 0.25), member("CQ-2", "重庆", ["新材料"], 0.25),
                    member("CQ-4", "重庆", ["航空航天"], 0.25)],
        "backups": [member("SC-3", "四川", ["人工智能"], 0.2)],
        "replacements": {"SC-1": ["SC-3"]},
        "probability_min": 0.2, "probability_max": 0.25, "objective": 0.2, "bound": 0.2, "gap": 0.0,
        "exclusions": {"状态非在库": 1}, "excluded_ids": {"状态非在库": ["SC-9"]}, "conflict_evidence": {},
        "pool": {"experts": 5, "eligible": 4, "qualified": 4, "forbidden_pairs": 0, "types": 3, "columns": 2},
        "projects": ["P1"], "diagnosis": None, "timings": {"solve": 0.1},
        "replaced": [{"out": "SC-0", "in": "CQ-4", "reason": "本人回避", "by": "officer",
                      "at": "2026-11-01T00:00:00+00:00", "method": "backup"}],
        "drawn_members": [member("SC-0", "四川", ["航空航天"], 0.25)],
        "created_by": "officer", "created_at": "2026-10-01T00:00:00+00:00",
    }


def test_a_version_one_document_reads_and_saves_back_unchanged_but_for_the_version():
    old = version_one()
    record = PanelRecord.from_document(old)
    assert record.schema_version == SCHEMA_VERSION == 3
    assert record.replaced[0].in_ == "CQ-4" and record.drawn_member_ids() == ["SC-0"]
    assert record.alternates == [] and record.lottery
    expected = {k: v for k, v in old.items() if k != "conflict_evidence"}   # empty: not written again
    assert record.to_document() == {**expected, "schema_version": SCHEMA_VERSION, "alternates": [], "conflicts": []}


def test_a_version_two_document_keeps_its_three_evidence_lines_per_expert():
    lines = ["SC-9 —任职 至今— 四川大学 —所在单位— 张三 (申报人, 四川大学)", "SC-9 —合著 2024— 张三 (申报人, 四川大学)"]
    old = {**version_one(), "schema_version": 2, "conflict_evidence": {"SC-9": lines}}
    record = PanelRecord.from_document(old)
    assert record.evidence("SC-9") == lines and record.evidence("SC-1") == []
    assert record.to_document()["conflict_evidence"] == {"SC-9": lines}


def test_conflicts_are_grouped_by_shared_evidence_and_every_line_comes_back():
    from expertpool.domain.conflicts import Conflict
    from expertpool.domain.conflicts.rules import evidence_text
    from expertpool.domain.panel.record import group_conflicts

    def conflict(project, expert, rule, *path):
        full = [expert, *path]
        return Conflict(project, expert, rule, evidence_text(full), True, full)

    tail = ("四川大学", "所在单位", "张三 (申报人, 四川大学)")
    conflicts = [conflict("P1", f"SC-{i}", "same_unit", "任职 至今", *tail) for i in range(5)]
    conflicts += [conflict("P1", "SC-7", "same_unit", "任职 2019–至今", *tail),
                  conflict("P2", "SC-1", "same_unit", "任职 至今", *tail),
                  conflict("P1", "SC-1", "coauthor", "合著 2024（作者 5 人）", "张三 (申报人, 四川大学)"),
                  conflict("P1", "SC-2", "same_person", "本人", "李四 (项目成员, 四川大学, SC-2)")]
    groups = group_conflicts(conflicts)
    assert len(groups) == 4 and groups[0].experts == {"任职 至今": [f"SC-{i}" for i in range(5)],
                                                      "任职 2019–至今": ["SC-7"]}
    record = PanelRecord.from_document({**version_one(), "conflicts": [g.model_dump() for g in groups]})
    for expert in {c.expert_id for c in conflicts}:
        assert sorted(record.evidence(expert)) == sorted(c.evidence for c in conflicts if c.expert_id == expert)
    assert PanelRecord.from_document(record.to_document()) == record


def test_keys_a_newer_version_added_are_kept():
    record = PanelRecord.from_document({**version_one(), "audit_anchor": {"seq": 12, "hash": "ab" * 32}})
    assert record.to_document()["audit_anchor"] == {"seq": 12, "hash": "ab" * 32}


def test_whether_conflicts_were_checked_and_the_anchors_read_from_any_version():
    """Panels saved before `conflicts_checked` count as checked when they had projects; a draw
    without projects says False; a saved panel and each replacement carry their audit anchors."""
    old = version_one()
    assert PanelRecord.from_document(old).checked_for_conflicts is True
    assert PanelRecord.from_document({**old, "projects": []}).checked_for_conflicts is False
    anchored = {**old, "conflicts_checked": False, "audit_anchor": {"seq": 3, "hash": "cd" * 32},
                "replaced": [{**old["replaced"][0], "audit_anchor": {"seq": 4, "hash": "ef" * 32}}]}
    record = PanelRecord.from_document(anchored)
    assert record.checked_for_conflicts is False and record.audit_anchor.seq == 3
    assert record.replaced[0].audit_anchor.seq == 4
    expected = {k: v for k, v in anchored.items() if k != "conflict_evidence"}   # empty: not written again
    assert record.to_document() == {**expected, "schema_version": SCHEMA_VERSION, "alternates": [], "conflicts": []}


def test_best_mode_views_have_no_probability_key_and_unsaved_panels_no_id():
    doc = version_one()
    for key in ("id", "created_by", "created_at", "drawn_members"):
        doc.pop(key)
    doc["members"] = [{k: v for k, v in m.items() if k != "probability"} for m in doc["members"]]
    saved = PanelRecord.from_document(doc).to_document()
    assert "probability" not in saved["members"][0]
    assert not {"id", "created_by", "created_at", "drawn_members"} & set(saved)


def test_coverage_is_counted_by_the_spec_s_mode():
    record = PanelRecord.from_document(version_one())
    assert record.coverage() == {"人工智能": {"四川": 1, "重庆": 0}, "新材料": {"四川": 1, "重庆": 1}}
    primary = PanelRecord.from_document({**version_one(), "spec": {**version_one()["spec"], "coverage": "primary"}})
    assert primary.coverage() == {"人工智能": {"四川": 1, "重庆": 0}, "新材料": {"四川": 0, "重庆": 1}}


def test_a_replacement_is_a_new_record():
    record = PanelRecord.from_document(version_one())
    after = record.with_replacement("SC-1", record.backups[0], record.replaced[0].model_copy(update={"out": "SC-1"}))
    assert after.member_ids() == ["SC-3", "CQ-2", "CQ-4"] and after.backups == []
    assert record.member_ids() == ["SC-1", "CQ-2", "CQ-4"]   # the original is untouched
    assert after.drawn_member_ids() == ["SC-0"]              # kept from the first replacement


def test_the_service_reads_stored_panels_and_names_a_damaged_or_newer_one(store):
    admin = actor_for(store, "admin")
    store.save_panel("PNL-OLD", version_one())
    store.save_panel("PNL-NEW", {**version_one(), "id": "PNL-NEW", "schema_version": SCHEMA_VERSION + 1})
    store.save_panel("PNL-BAD", {**version_one(), "id": "PNL-BAD", "members": "not a list"})
    assert get_panel(store, admin, "PNL-OLD").member_ids() == ["SC-1", "CQ-2", "CQ-4"]
    with pytest.raises(ExpertPoolError, match="PNL-NEW.*升级"):
        get_panel(store, admin, "PNL-NEW")
    with pytest.raises(ExpertPoolError, match="PNL-BAD.*members"):
        get_panel(store, admin, "PNL-BAD")
    store.save_panel("PNL-BAD", {**version_one(), "id": "PNL-BAD"})
    store.save_panel("PNL-NEW", {**version_one(), "id": "PNL-NEW"})
    summaries = list_panels(store, admin)
    assert [s.id for s in summaries] == ["PNL-BAD", "PNL-NEW", "PNL-20261201-7-abcdef12"]  # by stored key
    assert summaries[2] == PanelSummary(id="PNL-20261201-7-abcdef12", name="综合组", review_date="2026-12-01",
                                        mode="lottery", seed=7, members=3, created_by="officer",
                                        created_at="2026-10-01T00:00:00+00:00")
