"""Records of the data contract (DESIGN.md), as pydantic models.

Models validate vocabulary (fields, regions, titles …) strictly: an unknown value raises,
it is never guessed. Normalisation of raw cells (aliases, width) happens in the importer
before a model is built, using `taxonomy`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from expertpool.domain import taxonomy

Region = Literal["四川", "重庆"]
Title = Literal["正高级", "副高级", "中级", "其他"]
Status = Literal["在库", "暂停", "出库"]
Gender = Literal["男", "女"]
RelationKind = Literal["合著", "项目合作", "师生", "亲属", "同单位", "申报人", "其他"]
RELATION_KINDS: tuple[str, ...] = ("合著", "项目合作", "师生", "亲属", "同单位", "申报人", "其他")


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)

    def content_hash(self, exclude: set[str] | None = None) -> str:
        """Stable hash of the record's content, used to tell 'unchanged' on re-import."""
        # pydantic's own JSON (fields in declaration order) is deterministic and much faster than
        # json.dumps of a dump; the hash only tells 'unchanged', it is not a security feature.
        return content_digest(self.model_dump_json(exclude=exclude))


def content_digest(json_text: str) -> str:
    """`content_hash` of the record whose `model_dump_json()` is `json_text` (for a caller that
    serialises it anyway)."""
    return hashlib.sha1(json_text.encode()).hexdigest()


class Expert(Record):
    id: str = Field(min_length=1, description="stable id, e.g. CQ-000123")
    source_ids: dict[str, str] = Field(default_factory=dict,
                                       description="source (四川/重庆) → that list's own 专家编号")
    name: str = Field(min_length=1)
    gender: Gender | None = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    region: Region
    sub_region: str | None = None
    institution: str = Field(min_length=1)
    department: str | None = None
    title: Title
    honours: list[str] = Field(default_factory=list)
    fields: list[str] = Field(min_length=1, max_length=3, description="1–3 of the 11, primary first")
    discipline: str | None = None
    research: str = ""
    keywords: list[str] = Field(default_factory=list)
    phone: str | None = None
    email: str | None = None
    id_hash: str | None = None
    id_last4: str | None = None
    status: Status = "在库"

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in taxonomy.FIELDS:
                raise ValueError(f"未知的专业领域「{name}」")
        if len(set(value)) != len(value):
            raise ValueError("专业领域重复")
        return value

    @model_validator(mode="after")
    def _sub_region_in_region(self) -> "Expert":
        if self.sub_region is not None and self.sub_region not in taxonomy.SUBREGIONS[self.region]:
            raise ValueError(f"市州/区县「{self.sub_region}」不属于{self.region}")
        return self

    @property
    def primary_field(self) -> str:
        return self.fields[0]

    def age_on(self, day: dt.date) -> int | None:
        return None if self.birth_year is None else day.year - self.birth_year


class Affiliation(Record):
    expert_id: str
    institution: str = Field(min_length=1)
    start_year: int | None = None
    end_year: int | None = None  # None = current

    @model_validator(mode="after")
    def _years_ordered(self) -> "Affiliation":
        if self.start_year and self.end_year and self.end_year < self.start_year:
            raise ValueError(f"结束年份 {self.end_year} 早于起始年份 {self.start_year}")
        return self

    def key(self) -> str:
        return f"{self.expert_id}|{self.institution}|{self.start_year or ''}"


class Person(Record):
    """Someone named in a relation or a project: an expert of the pool, or an outside person."""
    name: str = Field(min_length=1)
    institution: str | None = None
    expert_id: str | None = None


class Relation(Record):
    expert_id: str
    other: Person
    kind: RelationKind
    start_year: int | None = None
    end_year: int | None = None
    note: str | None = None
    author_count: int | None = Field(default=None, ge=1, description="authors on the shared paper, for 合著")
    source: str | None = None

    @model_validator(mode="after")
    def _years_ordered(self) -> "Relation":
        if self.start_year and self.end_year and self.end_year < self.start_year:
            raise ValueError(f"结束年份 {self.end_year} 早于起始年份 {self.start_year}")
        return self

    def key(self) -> str:
        other = self.other.expert_id or f"{self.other.name}@{self.other.institution or ''}"
        return f"{self.expert_id}|{other}|{self.kind}|{self.start_year or ''}|{self.end_year or ''}"


class ReviewEvent(Record):
    expert_id: str
    activity: str = Field(min_length=1)
    date: dt.date

    def key(self) -> str:
        return f"{self.expert_id}|{self.activity}|{self.date.isoformat()}"


Attendance = Literal["出席", "缺席", "请假"]
ATTENDANCE: tuple[str, ...] = ("出席", "缺席", "请假")


class Evaluation(Record):
    """How an expert did at one review (专家评价): attended (出席), absent without excuse (缺席) or
    excused (请假), a score 1–5 for those who attended, and a note. Entered after a panel's review
    (`panel evaluate`) or imported as history; the evaluation policy turns them into pauses."""
    expert_id: str
    activity: str = Field(min_length=1, description="the panel id, or an imported review's name")
    date: dt.date
    attendance: Attendance
    score: int | None = Field(default=None, ge=1, le=5)
    note: str | None = None
    entered_by: str | None = None
    entered_at: dt.datetime | None = None

    @model_validator(mode="after")
    def _score_only_when_attended(self) -> "Evaluation":
        if self.score is not None and self.attendance != "出席":
            raise ValueError(f"{self.attendance}的专家不评分（评分只给出席的专家）")
        return self

    def key(self) -> str:
        return f"{self.expert_id}|{self.activity}"


INTEGRITY_CATEGORIES: tuple[str, ...] = (
    "抄袭剽窃",
    "伪造篡改",
    "买卖代写代投及虚构同行评议",
    "以弄虚作假或请托方式获取科研资格或项目",
    "伦理审批弄虚作假",
    "署名不当",
    "重复发表或强制引用",
    "其他",
)
IntegrityCategory = Literal[
    "抄袭剽窃", "伪造篡改", "买卖代写代投及虚构同行评议", "以弄虚作假或请托方式获取科研资格或项目",
    "伦理审批弄虚作假", "署名不当", "重复发表或强制引用", "其他",
]
Severity = Literal["一般", "较重", "严重"]
IntegrityStatus = Literal["active", "revoked", "expired"]
# Sanctions that bar an expert from review work.
REVIEW_SANCTIONS = frozenset({"取消评审专家资格", "暂停评审专家资格", "禁止参与评审", "取消专家库入库资格"})


class IntegrityRecord(Record):
    id: str = Field(min_length=1)
    expert_id: str
    category: IntegrityCategory
    severity: Severity
    decision_date: dt.date | None = None
    start: dt.date
    end: dt.date | None = None  # None = permanent
    sanctions: list[str] = Field(default_factory=lambda: ["取消评审专家资格"])
    issuer: str | None = None
    document_no: str | None = None
    status: IntegrityStatus = "active"
    entered_by: str | None = None
    entered_at: dt.datetime | None = None
    version: int = 1

    @model_validator(mode="after")
    def _dates_ordered(self) -> "IntegrityRecord":
        if self.end is not None and self.end < self.start:
            raise ValueError(f"处理结束日期 {self.end} 早于开始日期 {self.start}")
        return self


class ProjectPerson(Person):
    pass


class Project(Record):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    abstract: str = ""
    keywords: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    institution: str | None = None
    region: Region | None = None
    applicant: Person
    team: list[Person] = Field(default_factory=list)
    avoid: list[str] = Field(default_factory=list, description="expert ids the applicant asks to avoid")

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in taxonomy.FIELDS:
                raise ValueError(f"未知的专业领域「{name}」")
        return value


def record_digest(record: Record) -> str:
    """SHA-256 of one record version as an audit entry vouches for it (`AuditEntry.records`).

    Fields still at their default are left out, so a field added to a model later (with a
    default) leaves the digests of records written before it unchanged."""
    return hashlib.sha256(record.model_dump_json(exclude_defaults=True).encode()).hexdigest()


class AuditEntry(Record):
    seq: int
    at: dt.datetime
    user: str
    role: str
    action: str
    target: str | None = None
    reason: str | None = None
    before: dict | None = None
    after: dict | None = None
    #: What the entry wrote, for `audit verify` to compare with the store: record kind ("expert",
    #: "integrity") → record key (expert id; integrity "id#version") → `record_digest` of the
    #: version written. None on entries that wrote no such record (and on entries made before
    #: digests existed, whose hash therefore leaves the field out).
    records: dict[str, dict[str, str]] | None = None
    prev_hash: str
    hash: str

    def compute_hash(self) -> str:
        """SHA-256 over every field but the hash itself, previous entry's hash included (the chain)."""
        data = self.model_dump(mode="json", exclude={"hash"} if self.records is not None else {"hash", "records"})
        blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
