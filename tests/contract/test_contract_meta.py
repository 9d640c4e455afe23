"""Contract: store metadata."""
from __future__ import annotations


class TestMeta:
    def test_get_set_replace(self, store, harness):
        assert store.get_meta("salt") is None
        store.set_meta("salt", "8f1c2d")
        store.set_meta("salt", "9a7b")
        assert store.get_meta("salt") == "9a7b"
        assert harness.open().get_meta("salt") == "9a7b"

    def test_delete_removes_a_key_and_a_failed_batch_puts_it_back(self, store, harness):
        store.set_meta("legacy", "abc")
        store.delete_meta("legacy")
        store.delete_meta("never-set")  # absent: no error
        assert harness.open().get_meta("legacy") is None
        store.set_meta("legacy", "abc")

        class Boom(Exception):
            pass

        try:
            with store.batch():
                store.delete_meta("legacy")
                raise Boom
        except Boom:
            pass
        assert harness.open().get_meta("legacy") == "abc"

    def test_the_schema_version_is_recorded(self, store):
        assert store.get_meta("schema_version") is not None

    def test_a_claim_sets_a_key_only_once(self, store, harness):
        other = harness.open()
        assert store.claim_meta("created_by", "lin") is True
        assert other.claim_meta("created_by", "wang") is False
        assert store.claim_meta("created_by", "lin") is False
        assert other.get_meta("created_by") == "lin" and store.get_meta("created_by") == "lin"

    def test_a_claim_in_a_failed_batch_is_undone(self, store, harness):
        class Boom(Exception):
            pass

        try:
            with store.batch():
                assert store.claim_meta("created_by", "lin")
                raise Boom
        except Boom:
            pass
        assert harness.open().get_meta("created_by") is None
        assert harness.open().claim_meta("created_by", "wang") is True

    def test_simultaneous_claims_have_one_winner(self, harness):
        import threading

        stores = [harness.open() for _ in range(6)]
        barrier = threading.Barrier(len(stores))
        won: list[bool] = [False] * len(stores)

        def claim(k: int) -> None:
            barrier.wait(timeout=30)
            won[k] = stores[k].claim_meta("created_by", f"user{k}")

        threads = [threading.Thread(target=claim, args=(k,)) for k in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(won) == 1
        assert stores[0].get_meta("created_by") == f"user{won.index(True)}"
