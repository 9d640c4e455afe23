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
