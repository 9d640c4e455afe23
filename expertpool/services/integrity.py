"""Research-integrity records: add, amend, revoke, list, show.

Every change names a reason, keeps the earlier version (`ExpertStore.put_integrity` with the
version that was read, so a concurrent change by someone else raises `ConcurrentEdit` and
writes nothing), and appends an audit entry with the before and after in the same
`store.batch()` as the change. Whether a record bars an expert from review on a date is decided
by `domain.eligibility.bars_on`; records from either province apply in both.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from expertpool.domain.eligibility import bars_on
from expertpool.domain.models import INTEGRITY_CATEGORIES, AuditEntry, IntegrityRecord, record_digest
from expertpool.domain.text import clean, parse_date, split_multi
from expertpool.errors import ConcurrentEdit, InputError, NotFound
from expertpool.services.expert_ids import resolve_expert_id
from expertpool.services.access import Actor, audit, check
from expertpool.io.rows import _CATEGORY_ALIASES as CATEGORY_ALIASES
from expertpool.io.rows import _INTEGRITY_STATUS as STATUS_ALIASES
from expertpool.stores.base import ExpertStore

SEVERITIES: tuple[str, ...] = ("一般", "较重", "严重")
STATUSES: tuple[str, ...] = ("active", "revoked", "expired")
STATUS_LABELS = {"active": "有效", "revoked": "已撤销", "expired": "已到期"}

#: Fields `amend_record` may change → the CLI flag that sets it (named in error messages).
AMENDABLE: dict[str, str] = {
    "expert_id": "--expert",
    "category": "--category",
    "severity": "--severity",
    "decision_date": "--decision-date",
    "start": "--start",
    "end": "--end",
    "sanctions": "--sanction",
    "issuer": "--issuer",
    "document_no": "--doc-no",
    "status": "--status",
}
_DATE_FIELDS = ("decision_date", "start", "end")
_ID_RE = re.compile(r"^[^\s#]{1,64}$")
_ID_ATTEMPTS = 20


@dataclass
class IntegrityChange:
    """What a change wrote: the stored version and its audit entry."""
    record: IntegrityRecord
    previous: IntegrityRecord | None
    audit: AuditEntry

    def to_json(self) -> dict:
        return {"record": self.record.model_dump(mode="json"),
                "previous_version": self.previous.version if self.previous else None,
                "audit_seq": self.audit.seq}


@dataclass
class IntegrityHistory:
    """One record for `integrity show`: the current version, every version, its audit entries."""
    record: IntegrityRecord
    versions: list[IntegrityRecord]
    audit: list[AuditEntry] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"record": self.record.model_dump(mode="json"),
                "versions": [v.model_dump(mode="json") for v in self.versions],
                "audit": [a.model_dump(mode="json") for a in self.audit]}


# ---- normalising one value ----
def normalise_category(value: str, option: str = "--category") -> str:
    text = clean(value)
    category = CATEGORY_ALIASES.get(text, text)
    if category not in INTEGRITY_CATEGORIES:
        raise InputError(f"{option}: 未知的失信行为类型「{value}」；可选：{'、'.join(INTEGRITY_CATEGORIES)}")
    return category


def normalise_severity(value: str, option: str = "--severity") -> str:
    text = clean(value)
    if text not in SEVERITIES:
        raise InputError(f"{option}: 未知的严重程度「{value}」；可选：{'、'.join(SEVERITIES)}")
    return text


def normalise_status(value: str, option: str = "--status") -> str:
    text = clean(value)
    status = STATUS_ALIASES.get(text.lower())
    if status is None:
        choices = "、".join(f"{s}（{STATUS_LABELS[s]}）" for s in STATUSES)
        raise InputError(f"{option}: 未知的状态「{value}」；可选：{choices}")
    return status


def _date(value: object, option: str) -> dt.date:
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None


def _optional_date(value: object, option: str) -> dt.date | None:
    if value is None or (isinstance(value, str) and not clean(value)):
        return None
    return _date(value, option)


def _sanctions(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        out.extend(split_multi(value))
    return list(dict.fromkeys(out))


def _text_or_none(value: object) -> str | None:
    return clean(value) or None


def _reason(reason: str | None) -> str:
    text = clean(reason)
    if not text:
        raise InputError("--reason: 每次更改科研诚信记录都必须说明理由（如依据的处理决定）")
    return text


def _expert_id(store: ExpertStore, value: str, option: str = "EXPERT_ID") -> str:
    """The canonical id of an expert of the pool (either province's number is accepted)."""
    return resolve_expert_id(store, value, option)


def _build(data: dict, options: Mapping[str, str]) -> IntegrityRecord:
    """Validate a record, turning the model's complaint into one naming the flag."""
    try:
        return IntegrityRecord(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        # A whole-record rule has no location: the only one is "end before start".
        loc = str(err["loc"][0]) if err.get("loc") else "end"
        message = err.get("msg", "无效").removeprefix("Value error, ")
        raise InputError(f"{options.get(loc, loc)}: {message}") from None


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _snapshot(record: IntegrityRecord | None) -> dict | None:
    return None if record is None else record.model_dump(mode="json")


def version_key(record: IntegrityRecord) -> str:
    """How audit entries name one version of an integrity record (`AuditEntry.records`)."""
    return f"{record.id}#{record.version}"


def vouch(records: Iterable[IntegrityRecord]) -> dict[str, dict[str, str]]:
    """The `records` of an audit entry that wrote these versions."""
    return {"integrity": {version_key(r): record_digest(r) for r in records}}


# ---- reading ----
def get_record(store: ExpertStore, record_id: str) -> IntegrityRecord:
    record = store.get_integrity(clean(record_id))
    if record is None:
        raise NotFound(f"科研诚信记录「{record_id}」不存在（用 expertpool integrity list 查看已有记录）")
    return record


def in_force_on(record: IntegrityRecord, day: dt.date) -> bool:
    """An active record whose sanction period covers `day` (start ≤ day < end, or no end),
    whatever its sanctions; `domain.eligibility.bars_on` adds that they cover review work."""
    return record.status == "active" and record.start <= day and (record.end is None or day < record.end)


def list_records(store: ExpertStore, actor: Actor, *, expert_id: str | None = None,
                 status: str | None = None, active_on: str | dt.date | None = None) -> list[IntegrityRecord]:
    """Current versions by record id; filtered by expert (either province's number), status, and
    being in force on a date."""
    check(actor, "integrity.read", "查看科研诚信记录")
    canonical = _expert_id(store, expert_id, "--expert") if expert_id else None
    wanted = normalise_status(status) if status else None
    day = _date(active_on, "--active-on") if active_on is not None else None
    out = []
    for record in store.iter_integrity(canonical):
        if wanted and record.status != wanted:
            continue
        if day is not None and not in_force_on(record, day):
            continue
        out.append(record)
    return out


def record_history(store: ExpertStore, actor: Actor, record_id: str) -> IntegrityHistory:
    """The record, all its versions (oldest first) and the audit entries that changed it."""
    check(actor, "integrity.read", "查看科研诚信记录")
    record = get_record(store, record_id)
    entries = [e for e in store.iter_audit() if e.target == record.id and e.action.startswith("integrity.")]
    return IntegrityHistory(record, store.integrity_versions(record.id), entries)


def record_view(record: IntegrityRecord, day: dt.date | None = None) -> dict:
    """A record as JSON, with whether it bars review on `day` when a day is given."""
    data = record.model_dump(mode="json")
    if day is not None:
        data["in_force"] = in_force_on(record, day)
        data["bars_review"] = bars_on(record, day)
    return data


# ---- writing ----
def _next_id(store: ExpertStore, year: int) -> str:
    """`IR-<year>-<6 digits>`, one more than the highest number used this (local) year. Two writers
    may pick the same number; the second one's `put_integrity(…, None)` fails and it tries again."""
    prefix = f"IR-{year}-"
    highest = 0
    for record in store.iter_integrity():
        tail = record.id.removeprefix(prefix)
        if tail != record.id and tail.isdigit():
            highest = max(highest, int(tail))
    return f"{prefix}{highest + 1:06d}"


def add_record(store: ExpertStore, actor: Actor, expert_id: str, *, category: str, severity: str,
               start: str | dt.date, reason: str, end: str | dt.date | None = None,
               sanctions: Iterable[str] | None = None, issuer: str | None = None,
               document_no: str | None = None, decision_date: str | dt.date | None = None,
               status: str = "active", record_id: str | None = None,
               now: dt.datetime | None = None) -> IntegrityChange:
    """Enter a new record (version 1). Without `record_id` the next `IR-<year>-<n>` is used.

    Raises NotFound (unknown expert), InputError (unknown category or severity, bad date, end
    before start, no reason, the id is taken), PermissionDenied (not a reviewer/administrator).
    """
    check(actor, "integrity.write", "录入科研诚信记录")
    why = _reason(reason)
    at = _now(now)
    options = {**AMENDABLE, "id": "--id"}
    data = {
        "expert_id": _expert_id(store, expert_id),
        "category": normalise_category(category),
        "severity": normalise_severity(severity),
        "decision_date": _optional_date(decision_date, "--decision-date"),
        "start": _date(start, "--start"),
        "end": _optional_date(end, "--end"),
        "sanctions": _sanctions(sanctions) or ["取消评审专家资格"],
        "issuer": _text_or_none(issuer),
        "document_no": _text_or_none(document_no),
        "status": normalise_status(status),
        "entered_by": actor.user,
        "entered_at": at,
    }
    given = clean(record_id) if record_id is not None else None
    if given is not None:
        if not _ID_RE.match(given):
            raise InputError(f"--id: 记录编号「{record_id}」不可为空、不可含空白或 #，且不超过 64 个字符")
        if store.get_integrity(given) is not None:
            raise InputError(f"--id: 记录编号 {given} 已存在；修改请用 expertpool integrity amend {given}")
    for attempt in range(_ID_ATTEMPTS):
        record = _build({**data, "id": given or _next_id(store, at.astimezone().year)}, options)
        try:
            with store.batch():
                stored = store.put_integrity(record, None)
                entry = audit(store, actor, "integrity.add", target=stored.id, reason=why, now=at,
                              before=None, after=_snapshot(stored), records=vouch([stored]))
            return IntegrityChange(stored, None, entry)
        except ConcurrentEdit:
            if given is not None or attempt == _ID_ATTEMPTS - 1:
                raise  # someone entered the same id at the same moment
            time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # let the other writers through
    raise AssertionError("unreachable")


def _coerce_changes(store: ExpertStore, changes: Mapping[str, object]) -> dict:
    unknown = sorted(set(changes) - set(AMENDABLE))
    if unknown:
        raise InputError(f"不能修改的字段：{'、'.join(unknown)}；可修改：{'、'.join(AMENDABLE)}")
    out: dict = {}
    for key, value in changes.items():
        option = AMENDABLE[key]
        if key == "expert_id":
            out[key] = _expert_id(store, str(value), option)
        elif key == "category":
            out[key] = normalise_category(str(value), option)
        elif key == "severity":
            out[key] = normalise_severity(str(value), option)
        elif key == "status":
            out[key] = normalise_status(str(value), option)
        elif key == "start":
            out[key] = _date(value, option)
        elif key in _DATE_FIELDS:  # end (None = permanent) and decision_date (None = unknown)
            out[key] = _optional_date(value, option)
        elif key == "sanctions":
            out[key] = _sanctions(value)  # type: ignore[arg-type]
            if not out[key]:
                raise InputError(f"{option}: 至少给出一项处理措施")
        else:  # issuer, document_no: empty clears
            out[key] = _text_or_none(value)
    return out


def _change(store: ExpertStore, actor: Actor, record_id: str, action: str, changes: Mapping[str, object],
            reason: str, expected_version: int | None, now: dt.datetime | None) -> IntegrityChange:
    why = _reason(reason)
    current = get_record(store, record_id)
    if expected_version is not None and not 1 <= expected_version <= current.version:
        raise InputError(f"--expected-version: 诚信记录 {current.id} 没有版本 {expected_version}"
                         f"（现为版本 {current.version}；见 expertpool integrity show {current.id}）")
    if expected_version is not None and expected_version != current.version:
        raise _stale(store, current.id, expected_version, current)
    updates = _coerce_changes(store, changes)
    if not updates:
        raise InputError("没有给出要修改的字段（如 --end、--severity、--sanction）")
    data = current.model_dump()
    data.update(updates)
    record = _build(data, AMENDABLE)
    if record.content_hash() == current.content_hash():
        raise InputError(f"给出的值与 {current.id} 的现有内容（版本 {current.version}）相同，未作更改")
    try:
        with store.batch():
            stored = store.put_integrity(record, current.version)
            entry = audit(store, actor, action, target=stored.id, reason=why, now=now,
                          before=_snapshot(current), after=_snapshot(stored), records=vouch([stored]))
    except ConcurrentEdit:
        raise _stale(store, current.id, current.version, store.get_integrity(current.id)) from None
    return IntegrityChange(stored, current, entry)


def _stale(store: ExpertStore, record_id: str, read_version: int,
           latest: IntegrityRecord | None) -> ConcurrentEdit:
    """ConcurrentEdit naming who changed the record since `read_version`, and when."""
    now_version = latest.version if latest else "?"
    who = ""
    for entry in store.iter_audit():
        if entry.target == record_id and entry.action.startswith("integrity.") and entry.after \
                and entry.after.get("version") == now_version:
            who = f"（{entry.user} 于 {entry.at.isoformat()} 写入版本 {now_version}）"
    return ConcurrentEdit(
        f"诚信记录 {record_id} 在您读取之后已被修改：您依据的是版本 {read_version}，现为版本 {now_version}{who}。"
        f"您的修改没有写入。请先查看 expertpool integrity show {record_id}，再决定是否重新修改。")


def amend_record(store: ExpertStore, actor: Actor, record_id: str, changes: Mapping[str, object], *,
                 reason: str, expected_version: int | None = None,
                 now: dt.datetime | None = None) -> IntegrityChange:
    """Change the given fields (`AMENDABLE`; `end=None` makes the sanction permanent), keeping the
    earlier version. `expected_version` is the version the user looked at (e.g. in `integrity show`);
    without it, the version read at the start of the call. If the stored version has moved on,
    ConcurrentEdit says who changed it and nothing is written."""
    check(actor, "integrity.write", "修改科研诚信记录")
    return _change(store, actor, record_id, "integrity.amend", changes, reason, expected_version, now)


def revoke_record(store: ExpertStore, actor: Actor, record_id: str, *, reason: str,
                  expected_version: int | None = None, now: dt.datetime | None = None) -> IntegrityChange:
    """Set the record's status to revoked (it no longer bars anyone), keeping the earlier version."""
    check(actor, "integrity.write", "撤销科研诚信记录")
    _reason(reason)
    current = get_record(store, record_id)
    if current.status == "revoked":
        raise InputError(f"诚信记录 {current.id} 已是撤销状态（版本 {current.version}），未作更改")
    return _change(store, actor, record_id, "integrity.revoke", {"status": "revoked"}, reason,
                   expected_version, now)
