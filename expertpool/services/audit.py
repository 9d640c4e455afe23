"""Reading and checking the hash-chained audit trail.

Each entry holds who, in which role, when, what, why, the before and after of the record, its
sequence number, the previous entry's hash and its own hash (`stores.base.seal_audit`). A change
to any stored entry breaks its own hash; a removed, inserted or re-ordered entry breaks the
sequence or the link to the previous entry. Someone able to rewrite the whole chain from some
entry onwards can make it consistent again, so keep the head (`AuditVerification.head_hash`)
somewhere else from time to time and check against it with `anchors`.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from expertpool.domain.models import AuditEntry
from expertpool.domain.text import clean, parse_date
from expertpool.errors import InputError
from expertpool.services.access import Actor, check
from expertpool.services.expert_ids import get_expert
from expertpool.stores.base import GENESIS_HASH, ExpertStore


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    entries: int                      # entries read (up to and including the first bad one)
    first_bad_seq: int | None = None  # the sequence number where the chain first goes wrong
    problem: str | None = None        # what is wrong there, in words
    head_hash: str | None = None      # hash of the last entry when ok (record it elsewhere as an anchor)

    def to_json(self) -> dict:
        return asdict(self)


def _mentions(value: object, expert_id: str) -> bool:
    if isinstance(value, str):
        return value == expert_id
    if isinstance(value, Mapping):
        return any(_mentions(v, expert_id) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, expert_id) for v in value)
    return False


def _since(value: str | dt.date | dt.datetime) -> dt.datetime:
    """The start of the day in local time (entries are stored in UTC)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.astimezone()
    try:
        day = parse_date(value)
    except ValueError as exc:
        raise InputError(f"--since: {exc}") from None
    return dt.datetime.combine(day, dt.time.min).astimezone()


def audit_log(store: ExpertStore, expert_id: str | None = None, since: str | dt.date | None = None, *,
              actor: Actor | None = None, action: str | None = None) -> list[AuditEntry]:
    """Entries in sequence order. `expert_id`: those whose target, before or after names the
    expert (either province's number is accepted); `since`: from that day (local time) on;
    `action`: whose action starts with it (e.g. `integrity`)."""
    if actor is not None:
        check(actor, "audit.read", "查看审计日志")
    wanted: set[str] = set()
    if expert_id:
        expert = get_expert(store, expert_id, "--expert")
        wanted = {expert.id, *expert.source_ids.values()}
    start = _since(since) if since else None
    out = []
    for entry in store.iter_audit():
        if start is not None and entry.at < start:
            continue
        if action and not entry.action.startswith(action):
            continue
        if wanted and not any(entry.target == w or _mentions(entry.before, w) or _mentions(entry.after, w)
                              for w in wanted):
            continue
        out.append(entry)
    return out


def parse_anchor(value: str) -> tuple[int, str]:
    """`SEQ:HASH` as printed by `audit verify` (e.g. 120:3f9a…)."""
    match = re.fullmatch(r"\s*(\d+)\s*[:=]\s*([0-9a-fA-F]{64})\s*", value)
    if not match:
        raise InputError(f"--anchor: 「{value}」应为 序号:哈希（如 120:{'0' * 64}）")
    return int(match.group(1)), match.group(2).lower()


def _read_all(store: ExpertStore) -> tuple[list[AuditEntry], Exception | None]:
    """The stored entries up to the first that cannot be read, and that error (or None)."""
    entries: list[AuditEntry] = []
    iterator = store.iter_audit()
    while True:
        try:
            entries.append(next(iterator))
        except StopIteration:
            return entries, None
        except Exception as exc:  # an entry edited into something that is no longer an entry
            return entries, exc


def verify_audit(store: ExpertStore, anchors: Mapping[int, str] | None = None, *,
                 actor: Actor | None = None) -> AuditVerification:
    """Check the whole chain: sequence numbers 1, 2, 3 … in order with no gap, each entry's own
    hash, and each entry's link to the one before. `anchors` (seq → hash, recorded earlier) must
    match too. Reports the first bad entry and what is wrong with it."""
    if actor is not None:
        check(actor, "audit.read", "校验审计日志")
    anchors = dict(anchors or {})
    entries, unreadable = _read_all(store)
    present = {e.seq for e in entries}
    prev_hash = GENESIS_HASH
    for position, entry in enumerate(entries, 1):
        if entry.seq != position:
            if position in present:
                problem = (f"第 {position} 个位置上是第 {entry.seq} 条，而第 {position} 条在别处："
                           "条目的顺序被调换，或有条目被插入、重复")
            else:
                problem = (f"第 {position} 条缺失：第 {position - 1} 条之后是第 {entry.seq} 条"
                           "（条目被删除，或序号被改动）")
            return AuditVerification(False, position, position, problem)
        if entry.compute_hash() != entry.hash:
            return AuditVerification(False, position, entry.seq,
                                     f"第 {entry.seq} 条（{entry.action}，{entry.user}，{entry.at.isoformat()}）"
                                     "的内容与其哈希不符：该条目被改动过")
        if entry.prev_hash != prev_hash:
            before = f"第 {entry.seq - 1} 条" if entry.seq > 1 else "起点"
            return AuditVerification(False, position, entry.seq,
                                     f"第 {entry.seq} 条所记的前一哈希与{before}不符：其前的条目被改动、删除或替换过")
        if entry.seq in anchors and anchors.pop(entry.seq).lower() != entry.hash:
            return AuditVerification(False, position, entry.seq,
                                     f"第 {entry.seq} 条的哈希与先前记下的锚点不符：日志自那以后被整体改写过")
        prev_hash = entry.hash
    count = len(entries)
    if unreadable is not None:
        return AuditVerification(False, count + 1, count + 1,
                                 f"第 {count + 1} 条无法读取，已被改成无效内容（{unreadable}）")
    if anchors:
        missing = min(anchors)
        return AuditVerification(False, count, missing,
                                 f"锚点所指的第 {missing} 条不存在（日志只有 {count} 条）：日志末尾被删除过")
    return AuditVerification(True, count, None, None, prev_hash)
