"""Roles: the first user administers a new store; administrators grant and revoke (audited); the
last administrator stays; each role holds exactly the permissions the docs promise."""
from __future__ import annotations

import multiprocessing

import pytest

from expertpool.errors import InputError, PermissionDenied
from expertpool.services.access import PERMISSIONS, ROLES, Actor, actor_for, check, normalise_role, require
from expertpool.services.roles import grant_role, list_roles, revoke_role, role_permissions
from expertpool.stores.sqlite import SQLiteStore
from tests.access_helpers import ADMIN, NOBODY, OFFICER, REVIEWER, bootstrap_after_barrier


def state(store):
    return store.get_roles(), [e.model_dump() for e in store.iter_audit()]


def test_the_first_user_of_a_new_store_is_its_administrator_and_that_is_audited(store):
    assert store.created
    first = actor_for(store, "lin")
    assert first.roles == {"administrator"} and first.role == "administrator"
    assert store.get_meta("created_by") == "lin"
    [entry] = list(store.iter_audit())
    assert (entry.action, entry.user, entry.target, entry.after) == (
        "roles.bootstrap", "lin", "lin", {"user": "lin", "roles": ["administrator"]})
    assert actor_for(store, "wang").roles == frozenset()   # later users get nothing by themselves
    assert store.get_roles() == {"lin": {"administrator"}} and len(list(store.iter_audit())) == 1


def test_two_first_users_at_once_make_one_administrator(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    spec = {"backend": "sqlite", "db_path": str(tmp_path / "fresh.sqlite3")}
    children = [ctx.Process(target=bootstrap_after_barrier, args=(spec, user, barrier, results))
                for user in ("lin", "wang")]
    for child in children:
        child.start()
    outcomes = dict(results.get(timeout=120) for _ in children)
    for child in children:
        child.join(timeout=60)
    assert sorted(outcomes.values()) == [[], ["administrator"]], outcomes
    store = SQLiteStore(tmp_path / "fresh.sqlite3")
    try:
        assert len(store.get_roles()) == 1
        assert [e.action for e in store.iter_audit()] == ["roles.bootstrap"]
    finally:
        store.close()


def test_grant_and_revoke_are_audited(store, actors):
    admin = actors[ADMIN]
    change = grant_role(store, admin, "zhao", "诚信审核员", reason="调入诚信办公室")
    assert (change.changed, change.roles) == (True, ["reviewer"])
    assert (change.audit.action, change.audit.target, change.audit.reason) == ("roles.grant", "zhao", "调入诚信办公室")
    assert change.audit.before == {"user": "zhao", "roles": []}
    change = grant_role(store, admin, "zhao", "officer")
    assert change.roles == ["program_officer", "reviewer"]
    assert actor_for(store, "zhao").roles == {"program_officer", "reviewer"}
    change = revoke_role(store, admin, "zhao", "reviewer", reason="调离")
    assert change.roles == ["program_officer"] and change.audit.action == "roles.revoke"
    assert change.audit.after == {"user": "zhao", "roles": ["program_officer"]}
    revoke_role(store, admin, "zhao", "program_officer")
    assert "zhao" not in store.get_roles()
    assert list_roles(store, admin) == {ADMIN: ["administrator"], OFFICER: ["program_officer"],
                                        REVIEWER: ["reviewer"]}


def test_granting_a_held_role_changes_nothing(store, actors):
    before = state(store)
    change = grant_role(store, actors[ADMIN], REVIEWER, "reviewer")
    assert not change.changed and change.audit is None and state(store) == before


@pytest.mark.parametrize("user, role, message", [
    (REVIEWER, "program_officer", "没有角色 program_officer"),
    (REVIEWER, "superuser", "未知的角色「superuser」"),
    ("", "reviewer", "用户名"),
    ("two words", "reviewer", "用户名"),
])
def test_bad_revocations_change_nothing(store, actors, user, role, message):
    before = state(store)
    with pytest.raises(InputError, match=message):
        revoke_role(store, actors[ADMIN], user, role)
    assert state(store) == before


def test_the_last_administrator_cannot_be_revoked(store, actors):
    before = state(store)
    with pytest.raises(InputError, match="最后一位管理员"):
        revoke_role(store, actors[ADMIN], ADMIN, "administrator")
    assert state(store) == before
    grant_role(store, actors[ADMIN], "deputy", "admin")
    revoke_role(store, actors[ADMIN], ADMIN, "administrator", reason="交接")
    assert actor_for(store, ADMIN).roles == frozenset()
    deputy = actor_for(store, "deputy")
    with pytest.raises(InputError, match="最后一位管理员"):
        revoke_role(store, deputy, "deputy", "administrator")


@pytest.mark.parametrize("who", [OFFICER, REVIEWER, NOBODY])
def test_only_administrators_change_roles(store, actors, who):
    before = state(store)
    with pytest.raises(PermissionDenied, match="授予角色"):
        grant_role(store, actors[who], who, "administrator")
    with pytest.raises(PermissionDenied, match="撤销角色"):
        revoke_role(store, actors[who], ADMIN, "administrator")
    assert state(store) == before


def test_list_needs_some_role(store, actors):
    assert ADMIN in list_roles(store, actors[REVIEWER])
    with pytest.raises(PermissionDenied):
        list_roles(store, actors[NOBODY])


@pytest.mark.parametrize("alias, role", [("admin", "administrator"), ("管理员", "administrator"),
                                         ("项目主管", "program_officer"), ("program-officer", "program_officer"),
                                         ("审核员", "reviewer"), (" Reviewer ", "reviewer")])
def test_role_aliases(alias, role):
    assert normalise_role(alias) == role


# The permission matrix of docs/roles-and-privileges.md; change both together.
MATRIX = {
    #                 administrator, program_officer, reviewer, supervisor
    "read":            (True, True, True, False),
    "import":          (True, False, False, False),
    "panel":           (True, True, False, False),
    "panel.read":      (True, True, False, True),
    "panel.supervise": (True, False, False, True),
    "coi":             (True, True, True, False),
    "integrity.read":  (True, True, True, False),
    "integrity.write": (True, False, True, False),
    "audit.read":      (True, False, True, False),
    "roles":           (True, False, False, False),
    "personal_data":   (True, True, False, False),
    "identity":        (True, False, True, False),
}


def test_permission_matrix_matches_the_docs():
    assert set(MATRIX) == set(PERMISSIONS)
    for permission, allowed in MATRIX.items():
        for role, expected in zip(ROLES, allowed):
            assert Actor("u", frozenset({role})).may(permission) is expected, (role, permission)
        assert not Actor("u", frozenset()).may(permission)
    assert role_permissions()["reviewer"] == [p for p, a in MATRIX.items() if a[2]]


def test_the_docs_show_the_same_matrix():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "roles-and-privileges.md").read_text(encoding="utf-8")
    for permission, allowed in MATRIX.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{permission}` "))
        cells = [c.strip() for c in row.strip("|").split("|")][1:5]
        assert cells == ["✓" if a else "—" for a in allowed], permission


@pytest.mark.parametrize("who, allowed", [(ADMIN, True), (OFFICER, True), (REVIEWER, False), (NOBODY, False)])
def test_panel_work_is_for_program_officers(store, actors, who, allowed):
    if allowed:
        assert require(store, who, "panel", "抽取评审专家组").user == who
    else:
        with pytest.raises(PermissionDenied, match="抽取评审专家组.*项目主管"):
            require(store, who, "panel", "抽取评审专家组")


def test_refusal_names_the_user_their_roles_and_the_fix(store, actors):
    with pytest.raises(PermissionDenied) as caught:
        check(actors[OFFICER], "audit.read", "校验审计日志")
    message = str(caught.value)
    assert "officer（项目主管）" in message and "校验审计日志" in message
    assert "管理员、诚信审核员" in message and "expertpool roles grant officer" in message
