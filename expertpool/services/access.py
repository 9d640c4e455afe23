"""Roles, permissions, and the audited actor.

The CLI check is a convenience, not the security boundary: with Elasticsearch the same roles
map to server-side privileges (docs/roles-and-privileges.md).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from expertpool.domain.text import mask_personal
from expertpool.errors import InputError, PermissionDenied
from expertpool.stores.base import AuditDraft, ExpertStore

ROLES: dict[str, str] = {
    "administrator": "管理员",
    "program_officer": "项目主管",
    "reviewer": "诚信审核员",
    "supervisor": "监督人",
}
ROLE_ALIASES: dict[str, str] = {
    "admin": "administrator", "管理员": "administrator",
    "officer": "program_officer", "program-officer": "program_officer", "项目主管": "program_officer",
    "诚信审核员": "reviewer", "审核员": "reviewer",
    "监督人": "supervisor", "监督": "supervisor",
}

#: permission → roles that hold it (administrator holds every permission).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"program_officer", "reviewer"}),           # search, show, stats
    "import": frozenset(),                                         # bulk import, index rebuild
    "panel": frozenset({"program_officer"}),                       # build, replace, invite, respond, evaluate
    "panel.read": frozenset({"program_officer", "supervisor"}),    # show, list, export panels
    # 监督人: witnesses a draw (confirm), unseals a sealed result early, and sees the call list of
    # a sealed panel's members that e-mail could not reach (each use audited)
    "panel.supervise": frozenset({"supervisor"}),
    "coi": frozenset({"program_officer", "reviewer"}),
    "integrity.read": frozenset({"program_officer", "reviewer"}),
    "integrity.write": frozenset({"reviewer"}),
    "audit.read": frozenset({"reviewer"}),
    "roles": frozenset(),
    # Personal data, split by need (docs/roles-and-privileges.md): program officers phone and
    # e-mail the experts they invite to a panel; the integrity office matches a decision's named
    # person to an expert by the identity number's last 4. Administrators see both.
    "personal_data": frozenset({"program_officer"}),               # unmasked phone and e-mail
    "identity": frozenset({"reviewer"}),                           # unmasked identity last-4
}


def normalise_role(value: str) -> str:
    role = ROLE_ALIASES.get(value.strip().lower(), value.strip().lower())
    if role not in ROLES:
        raise InputError(f"未知的角色「{value}」；可选：{', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Actor:
    user: str
    roles: frozenset[str]

    @property
    def role(self) -> str:
        """The most privileged role held, for the audit trail."""
        for role in ROLES:
            if role in self.roles:
                return role
        return "none"

    def may(self, permission: str) -> bool:
        if "administrator" in self.roles:
            return True
        return bool(self.roles & PERMISSIONS.get(permission, frozenset()))

    def readable(self, text: str | None) -> str | None:
        """Free text people typed (a reason, a note) as this actor may read it: an identity number
        never in full, a phone number only for a role that sees personal data (`mask_personal`,
        the masking of every message and report file)."""
        return mask_personal(text, phones=not self.may("personal_data")) if text else text


def acting_user(authenticated: str | None, claimed: str | None, login: str) -> str:
    """Who is acting. Where the store authenticates the credentials in use (Elasticsearch with
    security on), the user it names is the actor, and a different `EXPERTPOOL_USER` (`claimed`)
    is refused: nobody acts as someone else by setting a variable. Elsewhere (SQLite, or a
    cluster without security) the claim stands, else the login name; there the store file's
    permissions, not this name, are what protects the data (docs/roles-and-privileges.md)."""
    if authenticated is None:
        return claimed or login
    if claimed is not None and claimed != authenticated:
        raise PermissionDenied(f"EXPERTPOOL_USER={claimed} 与 Elasticsearch 为当前凭据认证的用户 {authenticated} 不符："
                               f"请使用本人的凭据（EXPERTPOOL_ES_API_KEY 或 EXPERTPOOL_ES_USER/EXPERTPOOL_ES_PASSWORD），"
                               f"或不设 EXPERTPOOL_USER")
    return authenticated


def actor_for(store: ExpertStore, user: str) -> Actor:
    """The acting user with their roles. On a store nobody has used yet, the first user becomes its
    administrator (whoever creates a store administers it)."""
    roles = store.get_roles()
    if not roles:
        with store.batch():
            roles = store.get_roles()
            # Two first users at once: the store's atomic claim picks one (Elasticsearch batches
            # do not isolate, so re-reading the roles would not).
            if not roles and store.claim_meta("created_by", user):
                store.set_roles(user, ["administrator"])
                first = Actor(user, frozenset({"administrator"}))
                audit(store, first, "roles.bootstrap", target=user, reason="新建数据库的创建者成为首位管理员",
                      before={"user": user, "roles": []}, after={"user": user, "roles": ["administrator"]})
                roles = {user: {"administrator"}}
    return Actor(user, frozenset(roles.get(user, set())))


def check(actor: Actor, permission: str, what: str) -> Actor:
    """`actor`, if they hold `permission`; else PermissionDenied naming what was refused and the
    roles that would allow it. Services call this too, so a library caller meets the same rule."""
    if not actor.may(permission):
        held = "、".join(ROLES[r] for r in sorted(actor.roles)) or "无角色"
        needed = "、".join(ROLES[r] for r in ROLES if r == "administrator" or r in PERMISSIONS.get(permission, ()))
        raise PermissionDenied(f"用户 {actor.user}（{held}）无权{what}；需要角色：{needed}。"
                               f"请管理员执行 expertpool roles grant {actor.user} <角色>")
    return actor


def require(store: ExpertStore, user: str, permission: str, what: str) -> Actor:
    """The actor, if they hold `permission`; else PermissionDenied naming what was refused."""
    return check(actor_for(store, user), permission, what)


def audit(store: ExpertStore, actor: Actor, action: str, *, target: str | None = None,
          reason: str | None = None, before: dict | None = None, after: dict | None = None,
          records: dict[str, dict[str, str]] | None = None, now: dt.datetime | None = None):
    """Append one entry to the hash-chained audit trail. `records`: the digests of the expert and
    integrity record versions the change wrote (see `AuditEntry.records`), which `audit verify`
    compares with the store."""
    at = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return store.append_audit(AuditDraft(at=at, user=actor.user, role=actor.role, action=action,
                                         target=target, reason=reason, before=before, after=after,
                                         records=records))
