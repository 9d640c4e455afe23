"""Contract: saved panels and review sessions are JSON documents by id, listed in id order,
optionally with only some top-level keys."""
from __future__ import annotations

import pytest

PANEL = {"id": "PN-2024-007", "spec": {"size": 5, "seed": 42, "fields": {"新材料": 2}, "review_date": "2026-12-01"},
         "members": [{"id": "SC-000001"}, {"id": "CQ-000002"}], "backups": [],
         "excluded": {"SC-000003": ["合著 2023"]}, "status": "OPTIMAL", "score": 12.5, "draft": True, "note": None,
         "名称": "评审组"}

KINDS = [("save_panel", "get_panel", "iter_panels"), ("save_session", "get_session", "iter_sessions")]


@pytest.mark.parametrize("save, get, iterate", KINDS)
class TestDocuments:
    def test_save_get_replace(self, store, save, get, iterate):
        assert getattr(store, get)("PN-2024-007") is None
        getattr(store, save)("PN-2024-007", PANEL)
        assert getattr(store, get)("PN-2024-007") == PANEL
        getattr(store, save)("PN-2024-007", {**PANEL, "members": ["SC-000009"]})
        assert getattr(store, get)("PN-2024-007")["members"] == ["SC-000009"]

    def test_iter_in_id_order(self, store, save, get, iterate):
        for pid in ("PN-3", "PN-1", "PN-2"):
            getattr(store, save)(pid, {"id": pid})
        assert [p["id"] for p in getattr(store, iterate)()] == ["PN-1", "PN-2", "PN-3"]

    def test_iter_with_some_keys(self, store, save, get, iterate):
        getattr(store, save)("PN-2", {**PANEL, "id": "PN-2"})
        getattr(store, save)("PN-1", {"id": "PN-1", "spec": {"size": 3}})
        got = list(getattr(store, iterate)(keys=["id", "spec", "members", "名称", "absent"]))
        assert got == [{"id": "PN-1", "spec": {"size": 3}},
                       {"id": "PN-2", "spec": PANEL["spec"], "members": PANEL["members"], "名称": "评审组"}]


def test_panels_and_sessions_are_apart(store):
    store.save_panel("X-1", {"id": "X-1", "kind": "panel"})
    store.save_session("X-1", {"id": "X-1", "kind": "session"})
    assert store.get_panel("X-1")["kind"] == "panel" and store.get_session("X-1")["kind"] == "session"
    assert [d["kind"] for d in store.iter_sessions()] == ["session"]
