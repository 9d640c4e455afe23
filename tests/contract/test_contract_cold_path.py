"""Cold-path correctness, on both stores: an import between two draws changes the conflict graph,
and the next draw sees it, whether the import prepared the caches of the new data (the default)
or left them to the draw."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from expertpool.cache.snapshot import cached_snapshot, rank_index_cached
from expertpool.services.access import actor_for
from expertpool.services.importing import import_files
from expertpool.services.panels import build_panel, load_spec
from tests.helpers import write_csv

SAMPLES = Path(__file__).resolve().parent.parent.parent / "data" / "samples"
POOL = ["sichuan_experts.csv", "chongqing_experts.xlsx", "affiliations.csv", "relations.csv", "history.csv",
        "projects.jsonl"]
PROJECT = "2026YFG0001"
RELATION_HEADERS = ["专家编号", "关联专家编号", "关联人姓名", "关联人单位", "关系类型", "起始年份", "结束年份", "备注"]


def _spec():
    return load_spec(SAMPLES / "panel.toml", {"projects": (PROJECT,), "mode": "best", "seed": 7, "size": 5,
                                              "fields": ["新材料", "人工智能"], "backups": 0})


@pytest.mark.parametrize("prepare", [True, False], ids=["import-prepares", "draw-builds"])
def test_an_import_between_two_draws_reaches_the_next_draw(store, tmp_path, prepare):
    admin = actor_for(store, "admin")
    report = import_files(store, [SAMPLES / f for f in POOL], admin)
    assert not report.failed, report.to_json()
    version = store.data_version()
    assert cached_snapshot(version) is not None          # the import prepared the draw's caches
    assert rank_index_cached(version) == (store.backend == "sqlite")

    first = build_panel(store, admin, _spec(), save=False).record
    assert first.members
    seated = first.members[0].id
    assert seated not in first.excluded_ids.get("与申报项目有利益冲突", [])

    project = json.loads(next(line for line in (SAMPLES / "projects.jsonl").read_text(encoding="utf-8").splitlines()
                              if json.loads(line)["id"] == PROJECT))
    applicant = project["applicant"]
    relation = write_csv(tmp_path / "family.csv", [
        {"专家编号": seated, "关联专家编号": applicant.get("expert_id") or "", "关联人姓名": applicant["name"],
         "关联人单位": applicant.get("institution") or project.get("institution") or "", "关系类型": "亲属",
         "备注": "配偶"}], headers=RELATION_HEADERS)
    changed = import_files(store, [relation], admin, prepare=prepare)
    assert not changed.failed and changed.files[0].imported == 1, changed.to_json()
    after = store.data_version()
    assert after != version
    assert (cached_snapshot(after) is not None) == prepare

    second = build_panel(store, admin, _spec(), save=False).record
    assert seated in second.excluded_ids["与申报项目有利益冲突"]
    assert seated not in second.member_ids()
    assert any("亲属·配偶" in line and applicant["name"] in line for line in second.evidence(seated))
