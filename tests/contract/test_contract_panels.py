"""Contract: saved panels are JSON documents by id."""
from __future__ import annotations

PANEL = {"id": "PN-2024-007", "spec": {"size": 5, "seed": 42, "fields": {"新材料": 2}},
         "members": ["SC-000001", "CQ-000002"], "backups": [], "excluded": {"SC-000003": ["合著 2023"]},
         "status": "OPTIMAL", "score": 12.5, "draft": True, "note": None}


class TestPanels:
    def test_save_get_replace(self, store):
        assert store.get_panel("PN-2024-007") is None
        store.save_panel("PN-2024-007", PANEL)
        assert store.get_panel("PN-2024-007") == PANEL
        store.save_panel("PN-2024-007", {**PANEL, "members": ["SC-000009"]})
        assert store.get_panel("PN-2024-007")["members"] == ["SC-000009"]

    def test_iter_in_id_order(self, store):
        for pid in ("PN-3", "PN-1", "PN-2"):
            store.save_panel(pid, {"id": pid})
        assert [p["id"] for p in store.iter_panels()] == ["PN-1", "PN-2", "PN-3"]
