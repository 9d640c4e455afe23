"""The saved review session: one typed record from `session plan` to `show`, `replace`, `export`
and `list` (and, later, invitations and the record sheet), beside the panel's `PanelRecord`.

Stored as the JSON of `SessionRecord.to_document()` with a `schema_version`; read through
`SessionRecord.from_document`, which refuses a newer version and keeps keys it does not know.
To add a field: give it a default; to change the shape of one, bump `SCHEMA_VERSION` and teach
`_upgrade` the step.

Conflict evidence is kept by reference, not copied: each group records how many experts its
projects' conflicts excluded, and `coi check` on the group's projects and the review date, on
the same data (`data_version`), gives every one of them with its evidence path. (A 32,000-expert
pool has some 20,000 conflict exclusions per 20 projects; a session of 200 projects would
otherwise carry tens of megabytes of evidence lines.)
"""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_serializer

from expertpool.domain.panel.record import (
    AuditAnchor,
    DiagnosisView,
    MemberView,
    PoolFigures,
    QuotaCount,
    Replacement,
    SeatedMembers,
    StoredDocument,
    StoredRecord,
    field_coverage,
    required_fields,
)
from expertpool.domain.panel.result import SolveStatus

SCHEMA_VERSION = 1
_ABSENT_WHEN_NONE = ("id", "created_by", "created_at", "audit_anchor")


class GroupReplacement(Replacement):
    """One `session replace`: the `Replacement` of a panel, naming the group."""
    group: str


class GroupRecord(SeatedMembers, StoredRecord):
    """One group of the session: its projects, rules, panel and what happened to it since."""
    name: str
    projects: list[str]
    #: the group's rules as `PanelSpec.to_json()` gives them (with the session's date, mode, seed)
    spec: dict[str, Any]
    #: the fields the group requires (its projects' first fields when spec fields = "projects")
    fields: list[str] = Field(default_factory=list)
    status: SolveStatus
    members: list[MemberView] = Field(default_factory=list)
    backups: list[MemberView] = Field(default_factory=list)
    replacements: dict[str, list[str]] = Field(default_factory=dict)
    alternates: list[MemberView] = Field(default_factory=list)
    #: reason → experts kept off this group by it (the session's reasons and its own conflicts)
    exclusions: dict[str, int] = Field(default_factory=dict)
    pool: PoolFigures
    relevance_sum: float = 0.0
    quota_counts: list[QuotaCount] = Field(default_factory=list)
    drawn_members: list[MemberView] | None = None

    @model_serializer(mode="wrap")
    def _without_absent_drawn(self, handler):
        data = handler(self)
        if data.get("drawn_members") is None:
            data.pop("drawn_members", None)
        if not data.get("quota_counts"):
            data.pop("quota_counts", None)
        return data

    def coverage(self) -> dict[str, dict[str, int]]:
        return field_coverage(self.members, required_fields(self.spec, self.fields), self.spec["coverage"])


class SessionRecord(StoredDocument):
    """A drawn review session: the spec and seed that reproduce it, every group, and what
    happened since (replacements)."""
    schema_version: int = SCHEMA_VERSION
    id: str | None = None
    name: str
    review_date: str
    #: the session spec as `SessionSpec.to_json()` gives it: with the seed, it reproduces the draw
    spec: dict[str, Any]
    status: SolveStatus
    strategy: str
    seed: int
    groups: list[GroupRecord]
    probability_min: float | None = None
    probability_max: float | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    #: reasons other than a conflict (the same for every group) → experts barred, and their ids
    exclusions: dict[str, int] = Field(default_factory=dict)
    excluded_ids: dict[str, list[str]] = Field(default_factory=dict)
    #: how each group's conflict exclusions are explained (by reference: see the module docstring)
    conflict_evidence: str = ""
    data_version: str | None = None
    pool: PoolFigures
    diagnosis: DiagnosisView | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    replaced: list[GroupReplacement] = Field(default_factory=list)
    created_by: str | None = None
    created_at: str | None = None
    #: the audit entry of the plan (`audit verify` checks it and the members it recorded)
    audit_anchor: AuditAnchor | None = None

    absent_when_none: ClassVar[tuple[str, ...]] = _ABSENT_WHEN_NONE
    absent_when_empty: ClassVar[tuple[str, ...]] = ("warnings",)

    @classmethod
    def upgrade(cls, document: dict[str, Any]) -> dict[str, Any]:
        return _upgrade(document)

    @property
    def lottery(self) -> bool:
        return self.probability_min is not None

    def group(self, name: str) -> GroupRecord | None:
        return next((g for g in self.groups if g.name == name), None)

    def group_of(self, expert_id: str) -> GroupRecord | None:
        """The group `expert_id` sits in now."""
        return next((g for g in self.groups if expert_id in g.member_ids()), None)

    def seated(self) -> set[str]:
        return {m for g in self.groups for m in g.member_ids()}

    def members_by_group(self) -> dict[str, list[str]]:
        """group name → member ids: what the audit entries of the plan and each replacement record."""
        return {g.name: g.member_ids() for g in self.groups}

    def with_replacement(self, group: str, leaving: str, entering: MemberView,
                         replacement: GroupReplacement) -> "SessionRecord":
        """A copy with `leaving` swapped for `entering` in `group`, the drawn members kept."""
        groups = []
        for g in self.groups:
            if g.name == group:
                g = g.model_copy(update={
                    "drawn_members": g.drawn_members if g.drawn_members is not None else g.members,
                    "members": [entering if m.id == leaving else m for m in g.members],
                    "backups": [b for b in g.backups if b.id != entering.id]})
            groups.append(g)
        return self.model_copy(update={"groups": groups, "replaced": [*self.replaced, replacement]})


class SessionSummary(StoredRecord):
    """One line of `session list`."""
    id: str | None
    name: str
    review_date: str
    mode: str
    seed: int
    groups: int
    members: int
    status: SolveStatus
    created_by: str | None = None
    created_at: str | None = None

    @classmethod
    def of(cls, record: SessionRecord) -> "SessionSummary":
        return cls(id=record.id, name=record.name, review_date=record.review_date, mode=record.strategy,
                   seed=record.seed, groups=len(record.groups), members=sum(len(g.members) for g in record.groups),
                   status=record.status, created_by=record.created_by, created_at=record.created_at)


def _upgrade(document: dict[str, Any]) -> dict[str, Any]:
    version = document.get("schema_version", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise ValueError(f"评审会记录的版本 {version} 比本程序（{SCHEMA_VERSION}）新；请升级 ExpertPool")
    return document
