"""The saved panel: one typed record from the draw to `panel show`, `replace`, `export` and `list`.

A panel is stored as the JSON of `PanelRecord.to_document()` with a `schema_version`; reading
goes through `PanelRecord.from_document`, which upgrades older documents (version 1: the untyped
dict saved before this record existed, without `schema_version`; version 2: conflict evidence as
at most three lines per expert in `conflict_evidence`, read as it is). To add a field: give it a
default here (old documents then read without it); to change the shape of one, bump
`SCHEMA_VERSION` and teach `_upgrade` the step. Keys this code does not know yet (written by a
newer version) are kept as they are and saved again, never dropped.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from expertpool.domain import taxonomy
from expertpool.domain.conflicts.rules import evidence_text
from expertpool.domain.panel.result import Diagnosis, SolveStatus

#: the shape of the stored document; 1 = the untyped dict saved before PanelRecord, 2 = evidence as
#: at most three lines per expert (`conflict_evidence`), 3 = every conflict, grouped (`conflicts`)
SCHEMA_VERSION = 3
#: keys a document leaves out while they have no value (an unsaved draw, no replacement yet)
_ABSENT_WHEN_NONE = ("id", "drawn_members", "created_by", "created_at", "audit_anchor", "conflicts_checked",
                     "required_fields", "witness", "seal")
#: keys a document leaves out while they hold their (empty) default: a panel nobody has invited yet,
#: a draw without warnings or quotas; conflict_evidence: only documents of schema ≤ 2 have it
_ABSENT_WHEN_EMPTY = ("warnings", "quota_counts", "invitations", "reply_codes", "unfilled", "refill_pending",
                      "revision", "conflict_evidence")


class StoredRecord(BaseModel):
    # unknown keys are kept (a newer writer's), and a record is changed by copying, not in place
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class MemberView(StoredRecord):
    """A member, backup or alternate as drawn: who, where, and how they scored."""
    id: str
    name: str
    region: str
    sub_region: str | None = None
    institution: str
    legal_unit: str
    title: str
    fields: list[str]
    high_level: bool = False
    relevance: float = 0.0
    probability: float | None = None   # lottery only

    @model_serializer(mode="wrap")
    def _without_absent_probability(self, handler):
        data = handler(self)
        if data.get("probability") is None:   # a best-mode draw has no probabilities: no key
            data.pop("probability", None)
        return data


class AuditAnchor(StoredRecord):
    """The audit chain head a saved panel (or a replacement) was made at: its own audit entry's
    sequence number and hash. `audit verify` checks every saved panel's anchors."""
    seq: int
    hash: str


class Replacement(StoredRecord):
    """One `panel replace`: who left, who came in, why, by whom, when, and how they were found."""
    out: str
    in_: str = Field(alias="in")
    reason: str
    by: str
    at: str
    method: str  # "backup" or "re-solve"
    automatic: bool = False  # the 补抽 after a decline, declared conflict or unanswered calls
    audit_anchor: AuditAnchor | None = None

    @model_serializer(mode="wrap")
    def _without_absent_anchor(self, handler):
        data = handler(self)
        if data.get("audit_anchor") is None:
            data.pop("audit_anchor", None)
        if not data.get("automatic"):
            data.pop("automatic", None)
        return data


class QuotaCount(StoredRecord):
    """A drawn panel against one quota: how many members it counts, and the bounds."""
    label: str
    count: int
    min: int
    max: int

    def text(self) -> str:
        return f"{self.label} {self.count} 人（应在 {self.min}–{self.max} 人）"


class InvitationEvent(StoredRecord):
    """One step of a member's invitation (see `domain.panel.invitations`): who, what, when, by whom."""
    expert_id: str
    action: str                   # one of invitations.ACTIONS
    at: str
    by: str
    channel: str | None = None    # 电子邮件 | 电话 (the call list)
    reason: str | None = None
    detail: str | None = None     # a send failure, the member a substitute replaces, …


class Witness(StoredRecord):
    """The supervisor's sign-off (`panel confirm`): who witnessed the draw, when."""
    by: str
    at: str
    note: str | None = None


class Seal(StoredRecord):
    """A sealed result: the member list (and everything naming members: backups, replacements,
    the invitation log, reply codes, the seed) is stored encrypted until `until` (ISO datetime),
    under the key whose fingerprint is kept here. `members`, `backups` and `state` are what may be
    shown meanwhile; `released_*` say when, by whom and why it was opened (early by a supervisor,
    or at the release time)."""
    until: str
    sealed_by: str
    sealed_at: str
    key_fingerprint: str
    members: int
    backups: int
    state: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    diagnosis: list[str] = Field(default_factory=list)
    released_at: str | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def released(self) -> bool:
        return self.released_at is not None


class PoolFigures(StoredRecord):
    experts: int
    eligible: int
    qualified: int
    forbidden_pairs: int
    types: int = 0
    columns: int = 0


class DiagnosisView(StoredRecord):
    """Why the rules cannot all hold, as stored (see `Diagnosis`)."""
    messages: list[str] = Field(default_factory=list)
    clashes: list[dict[str, Any]] = Field(default_factory=list)
    relaxations: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, diagnosis: Diagnosis | None) -> "DiagnosisView | None":
        if diagnosis is None:
            return None
        return cls(messages=list(diagnosis.messages), clashes=[_plain(c) for c in diagnosis.clashes],
                   relaxations=[_plain({k: v for k, v in r.items() if k != "rules"}) for r in diagnosis.relaxations])


def required_fields(spec: dict[str, Any], resolved: list[str] | None) -> list[str]:
    """The fields a saved spec requires: all 11, its list, or the ones resolved at the draw."""
    if resolved is not None:
        return list(resolved)
    if spec["fields"] == "all":
        return list(taxonomy.FIELDS)
    return [] if spec["fields"] == "projects" else list(spec["fields"])


def field_coverage(members: list[MemberView], fields: list[str], mode: str) -> dict[str, dict[str, int]]:
    """field → region → members covering it ("any": every field a member lists; "primary": their first)."""
    primary_only = mode != "any"
    return {f: {r: sum(1 for m in members if m.region == r and (m.fields[0] == f if primary_only else f in m.fields))
                for r in taxonomy.REGIONS}
            for f in fields}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class SeatedMembers:
    """What a saved panel and a session's group have in common: members (maybe replaced since
    the draw), backups and alternates."""
    members: list[MemberView]
    backups: list[MemberView]
    alternates: list[MemberView]
    drawn_members: list[MemberView] | None

    def member_ids(self) -> list[str]:
        return [m.id for m in self.members]

    def drawn_member_ids(self) -> list[str]:
        """The members as drawn, before any replacement."""
        return [m.id for m in (self.drawn_members if self.drawn_members is not None else self.members)]

    def views(self) -> dict[str, MemberView]:
        """Every drawn expert's view by id: members, backups and alternates."""
        return {v.id: v for v in (*self.alternates, *self.backups, *self.members)}


class StoredDocument(StoredRecord):
    """A record stored as a JSON document with a schema version (`PanelRecord`, the session's
    `SessionRecord`): read through `from_document`, which upgrades older documents (`upgrade`);
    written by `to_document`, leaving out the keys that have no value yet."""
    absent_when_none: ClassVar[tuple[str, ...]] = ()
    absent_when_empty: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _without_absent_keys(self, handler):
        data = handler(self)
        for key in self.absent_when_none:   # as documents have always been: no key until there is a value
            if data.get(key) is None:
                data.pop(key, None)
        for key in self.absent_when_empty:
            if not data.get(key):
                data.pop(key, None)
        return data

    @classmethod
    def upgrade(cls, document: dict[str, Any]) -> dict[str, Any]:
        """The document brought to this schema version (a newer one is refused)."""
        return document

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Self:
        """A stored document of any schema version, upgraded to this one."""
        return cls.model_validate(cls.upgrade(dict(document)))

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready dict that is stored and printed by `--json`."""
        return self.model_dump(mode="json", by_alias=True)


class ConflictGroup(StoredRecord):
    """Conflicts of one project under one rule that share their evidence path after each expert's
    own first edge: ``{expert} —{edge}— {via[0]} —{via[1]}— {via[2]} …``. A draw on 32,000 experts
    excludes ~24,000 of them by ~90,000 conflicts, nearly all "同一法人单位" through a handful of
    units: grouped, every one is kept (≈ 1 MB of ids) instead of 17 MB of evidence lines."""
    project: str
    rule: str
    hard: bool = True
    via: list[str]
    #: the expert's own edge (e.g. "任职 至今", "合著 2024") → the experts it joins to `via`
    experts: dict[str, list[str]]

    def lines(self, expert_id: str | None = None) -> list[str]:
        """The evidence lines of this group (of one expert when given), as `coi check` prints them."""
        return [evidence_text([e, edge, *self.via]) for edge, ids in self.experts.items() for e in ids
                if expert_id is None or e == expert_id]


def group_conflicts(conflicts: Iterable[Any]) -> list[ConflictGroup]:
    """`ConflictGroup`s of conflicts (objects with project_id, rule, hard and an evidence `path`
    [expert, edge, node, edge, node …]), in the order their groups first appear."""
    groups: dict[tuple, dict[str, list[str]]] = {}
    for c in conflicts:  # ~90,000 on a 32,000-expert pool: kept to dict look-ups
        path = c.path
        key = (c.project_id, c.rule, c.hard, *path[2:])
        by_edge = groups.get(key)
        if by_edge is None:
            by_edge = groups[key] = {}
        ids = by_edge.get(path[1])
        if ids is None:
            by_edge[path[1]] = [path[0]]
        else:
            ids.append(path[0])
    return [ConflictGroup(project=key[0], rule=key[1], hard=key[2], via=list(key[3:]), experts=e)
            for key, e in groups.items()]


class PanelRecord(SeatedMembers, StoredDocument):
    """A drawn panel: the spec that reproduces it, the outcome, and what happened to it since."""
    schema_version: int = SCHEMA_VERSION
    id: str | None = None
    name: str
    #: the spec as `PanelSpec.to_json()` gives it: with the seed, it reproduces the draw
    spec: dict[str, Any]
    status: SolveStatus
    strategy: str
    seed: int
    members: list[MemberView]
    backups: list[MemberView]
    #: member id → ids that can take that member's seat, in the order `panel replace` tries them
    replacements: dict[str, list[str]] = Field(default_factory=dict)
    #: everyone named in `replacements` who is neither a member nor a backup
    alternates: list[MemberView] = Field(default_factory=list)
    probability_min: float | None = None
    probability_max: float | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    #: reason → experts excluded by it (the first reason that applies), and their ids
    exclusions: dict[str, int] = Field(default_factory=dict)
    excluded_ids: dict[str, list[str]] = Field(default_factory=dict)
    #: every conflict of every expert excluded for a conflict, grouped by shared evidence
    conflicts: list[ConflictGroup] = Field(default_factory=list)
    #: schema ≤ 2 only: expert id → at most three evidence lines (kept as read)
    conflict_evidence: dict[str, list[str]] = Field(default_factory=dict)
    pool: PoolFigures
    projects: list[str] = Field(default_factory=list)
    #: False when drawn with --no-projects: nobody was checked for a conflict of interest. None
    #: (no key) on panels saved before it existed: see `checked_for_conflicts`
    conflicts_checked: bool | None = None
    diagnosis: DiagnosisView | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    #: e.g. members seated elsewhere on the same day (a spec with same_day = "warn")
    warnings: list[str] = Field(default_factory=list)
    replaced: list[Replacement] = Field(default_factory=list)
    #: the members as drawn, kept when the first replacement changes `members`
    drawn_members: list[MemberView] | None = None
    #: the fields required, when the spec names them by its projects (fields = "projects")
    required_fields: list[str] | None = None
    created_by: str | None = None
    created_at: str | None = None
    audit_anchor: AuditAnchor | None = None
    #: the invitation log, oldest first (`domain.panel.invitations`)
    invitations: list[InvitationEvent] = Field(default_factory=list)
    #: member id → the reply code (回执码) printed in their invitation; answers may quote it
    reply_codes: dict[str, str] = Field(default_factory=dict)
    #: member id → why their open seat could not be refilled (the panel is 无法补齐)
    unfilled: dict[str, str] = Field(default_factory=dict)
    #: member id → why the automatic 补抽 of their open seat did not run (the panel is 需补抽)
    refill_pending: dict[str, str] = Field(default_factory=dict)
    witness: Witness | None = None
    seal: Seal | None = None
    #: increases with every save after the draw; a save from a stale read is refused
    revision: int = 0

    #: the members against each quota of the spec
    quota_counts: list[QuotaCount] = Field(default_factory=list)

    absent_when_none: ClassVar[tuple[str, ...]] = _ABSENT_WHEN_NONE
    absent_when_empty: ClassVar[tuple[str, ...]] = _ABSENT_WHEN_EMPTY

    @classmethod
    def upgrade(cls, document: dict[str, Any]) -> dict[str, Any]:
        return _upgrade(document)

    # ---- derived ----
    @property
    def review_date(self) -> str:
        return self.spec["review_date"]

    @property
    def checked_for_conflicts(self) -> bool:
        """Whether members were excluded for conflicts of interest with the projects: not when drawn
        without projects (a panel saved before `conflicts_checked` existed: when it had projects)."""
        return self.conflicts_checked if self.conflicts_checked is not None else bool(self.projects)

    @property
    def lottery(self) -> bool:
        return self.probability_min is not None

    def coverage(self) -> dict[str, dict[str, int]]:
        """field → region → members covering it, for each field the spec requires, under the
        spec's coverage mode ("any": every field a member lists; "primary": their first)."""
        return field_coverage(self.members, required_fields(self.spec, self.required_fields), self.spec["coverage"])

    def evidence(self, expert_id: str) -> list[str]:
        """Why `expert_id` was excluded for a conflict: every evidence line (an older record: the
        first three it kept)."""
        lines = [line for group in self.conflicts for line in group.lines(expert_id)]
        return lines or list(self.conflict_evidence.get(expert_id, []))

    @property
    def sealed(self) -> bool:
        """Whether the member list is under seal (not yet released)."""
        return self.seal is not None and not self.seal.released

    def with_replacement(self, leaving: str, entering: MemberView, replacement: Replacement) -> "PanelRecord":
        """A copy with `leaving` swapped for `entering` (who leaves the backups), the replacement
        recorded, and the drawn members kept."""
        return self.model_copy(update={
            "drawn_members": self.drawn_members if self.drawn_members is not None else self.members,
            "members": [entering if m.id == leaving else m for m in self.members],
            "backups": [b for b in self.backups if b.id != entering.id],
            "replaced": [*self.replaced, replacement],
        })


class PanelSummary(BaseModel):
    """One line of `panel list`."""
    id: str | None
    name: str
    review_date: str
    mode: str
    seed: int
    members: int
    created_by: str | None = None
    created_at: str | None = None

    @classmethod
    def of(cls, record: PanelRecord) -> "PanelSummary":
        return cls(id=record.id, name=record.name, review_date=record.review_date, mode=record.strategy,
                   seed=record.seed, members=record.seal.members if record.sealed and record.seal else len(record.members),
                   created_by=record.created_by,
                   created_at=record.created_at)


def _upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document brought to `SCHEMA_VERSION`, one version at a time."""
    version = document.get("schema_version", 1)
    if version > SCHEMA_VERSION:
        raise ValueError(f"评审专家组记录的版本 {version} 比本程序（{SCHEMA_VERSION}）新；请升级 ExpertPool")
    if version == 1:
        # the untyped dict: the same keys; only the version is new
        document["schema_version"] = version = 2
    if version == 2:
        # `conflict_evidence` (three lines per expert) is kept as it is: lines cannot be split
        # back into groups safely, and `evidence()` reads either
        document["schema_version"] = version = 3
    return document

