"""Contract: store metadata."""
from __future__ import annotations


class TestMeta:
    def test_get_set_replace(self, store, harness):
        assert store.get_meta("salt") is None
        store.set_meta("salt", "8f1c2d")
        store.set_meta("salt", "9a7b")
        assert store.get_meta("salt") == "9a7b"
        assert harness.open().get_meta("salt") == "9a7b"

    def test_the_schema_version_is_recorded(self, store):
        assert store.get_meta("schema_version") is not None
