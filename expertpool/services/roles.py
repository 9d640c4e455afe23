"""Who holds which role: list, grant, revoke. Only administrators change roles; every change is
audited; the last administrator cannot be removed (the store would have nobody to run it).

Roles live in the store, beside the records they guard. With Elasticsearch the same roles must
also be enforced by the server (docs/roles-and-privileges.md): this check is a convenience for
honest users, not the security boundary.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from expertpool.domain.models import AuditEntry
from expertpool.domain.text import clean
from expertpool.errors import InputError
from expertpool.services.access import PERMISSIONS, ROLES, Actor, audit, check, normalise_role
from expertpool.stores.base import ExpertStore

_USER_RE = re.compile(r"^[^\s/\\]{1,64}$")


@dataclass
class RoleChange:
    user: str
    role: str
    changed: bool                 # False: the user already held (grant) the role; nothing written
    roles: list[str]              # the user's roles afterwards
    audit: AuditEntry | None = None

    def to_json(self) -> dict:
        return {"user": self.user, "role": self.role, "changed": self.changed, "roles": self.roles,
                "audit_seq": self.audit.seq if self.audit else None}


def _ordered(roles) -> list[str]:
    return [r for r in ROLES if r in roles]


def _user(value: str) -> str:
    user = clean(value)
    if not _USER_RE.match(user):
        raise InputError(f"USER: 用户名「{value}」无效（不可为空、不可含空白或斜杠，最长 64 个字符）")
    return user


def list_roles(store: ExpertStore, actor: Actor) -> dict[str, list[str]]:
    """user → roles held, users in name order, roles in `ROLES` order."""
    check(actor, "read", "查看角色")
    return {user: _ordered(roles) for user, roles in sorted(store.get_roles().items()) if roles}


def role_permissions() -> dict[str, list[str]]:
    """role → permissions it holds (administrator: all of them)."""
    out = {role: [] for role in ROLES}
    for permission, holders in PERMISSIONS.items():
        for role in ROLES:
            if role == "administrator" or role in holders:
                out[role].append(permission)
    return out


def grant_role(store: ExpertStore, actor: Actor, user: str, role: str, *, reason: str | None = None,
               now: dt.datetime | None = None) -> RoleChange:
    """Give `user` the role. Granting a role already held changes nothing (changed=False)."""
    check(actor, "roles", "授予角色")
    name, wanted = _user(user), normalise_role(role)
    with store.batch():
        before = set(store.get_roles().get(name, set()))
        if wanted in before:
            return RoleChange(name, wanted, False, _ordered(before))
        after = before | {wanted}
        store.set_roles(name, _ordered(after))
        entry = audit(store, actor, "roles.grant", target=name, reason=clean(reason) or None, now=now,
                      before={"user": name, "roles": _ordered(before)},
                      after={"user": name, "roles": _ordered(after)})
    return RoleChange(name, wanted, True, _ordered(after), entry)


def revoke_role(store: ExpertStore, actor: Actor, user: str, role: str, *, reason: str | None = None,
                now: dt.datetime | None = None) -> RoleChange:
    """Take the role from `user`. Refused when the user does not hold it, or when it would leave
    the store without an administrator."""
    check(actor, "roles", "撤销角色")
    name, wanted = _user(user), normalise_role(role)
    with store.batch():
        everyone = store.get_roles()
        before = set(everyone.get(name, set()))
        if wanted not in before:
            held = "、".join(ROLES[r] for r in _ordered(before)) or "无角色"
            raise InputError(f"用户 {name} 没有角色 {wanted}（{ROLES[wanted]}），现有：{held}")
        if wanted == "administrator":
            admins = {u for u, roles in everyone.items() if "administrator" in roles}
            if admins <= {name}:
                raise InputError(f"不能撤销 {name} 的管理员角色：这是最后一位管理员。"
                                 "请先用 expertpool roles grant <用户> administrator 指定另一位管理员")
        after = before - {wanted}
        store.set_roles(name, _ordered(after))
        entry = audit(store, actor, "roles.revoke", target=name, reason=clean(reason) or None, now=now,
                      before={"user": name, "roles": _ordered(before)},
                      after={"user": name, "roles": _ordered(after)})
    return RoleChange(name, wanted, True, _ordered(after), entry)
