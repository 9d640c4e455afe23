"""Contract: who holds which roles."""
from __future__ import annotations


class TestRoles:
    def test_set_replaces_a_users_roles(self, store):
        assert store.get_roles() == {}
        store.set_roles("lin", ["admin", "officer"])
        store.set_roles("wang", ["integrity"])
        store.set_roles("lin", ["officer"])
        assert store.get_roles() == {"lin": {"officer"}, "wang": {"integrity"}}

    def test_no_roles_removes_the_user(self, store):
        store.set_roles("lin", ["admin"])
        store.set_roles("lin", [])
        assert store.get_roles() == {}

    def test_roles_are_shared_between_connections(self, store, harness):
        store.set_roles("张三", ("officer",))
        assert harness.open().get_roles() == {"张三": {"officer"}}

    def test_a_store_without_its_own_authentication_names_nobody(self, store):
        """SQLite and a cluster without security: the acting user is the caller's claim."""
        assert store.authenticated_user() is None

    def test_two_first_users_at_once_make_one_administrator(self, harness):
        """Two processes open a store nobody has used and ask for their roles at the same moment."""
        import multiprocessing

        from tests.access_helpers import bootstrap_after_barrier

        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(2), ctx.Queue()
        children = [ctx.Process(target=bootstrap_after_barrier, args=(harness.spec(), user, barrier, results))
                    for user in ("lin", "wang")]
        for child in children:
            child.start()
        outcomes = dict(results.get(timeout=180) for _ in children)
        for child in children:
            child.join(timeout=60)
        assert sorted(outcomes.values()) == [[], ["administrator"]], outcomes
        store = harness.open()
        winner = next(user for user, roles in outcomes.items() if roles)
        assert store.get_roles() == {winner: {"administrator"}}
        assert store.get_meta("created_by") == winner
        assert [e.action for e in store.iter_audit()] == ["roles.bootstrap"]
