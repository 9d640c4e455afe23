"""Reading and checking the hash-chained audit trail.

Each entry holds who, in which role, when, what, why, the before and after of the record, its
sequence number, the previous entry's hash and its own hash (`stores.base.seal_audit`). A change
to any stored entry breaks its own hash; a removed, inserted or re-ordered entry breaks the
sequence or the link to the previous entry.

Someone able to rewrite the whole chain from some entry onwards can make it consistent again, or
cut its end off: anchors catch that. An anchor is a head (sequence number and hash) kept
elsewhere. Every saved panel carries the entry of its draw (and of each replacement), every
exported record sheet the entry of its export; `verify_audit` checks the panels' anchors itself,
and those of any sheet or list given to it.

Entries also say what they wrote: the digest of each expert and integrity record version
(`AuditEntry.records`). `verify_audit` compares the store with them, so a record changed, added
or deleted behind the tool's back is named, and a store whose data has no audit history fails.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from expertpool.domain.models import AuditEntry, IntegrityRecord, record_digest
from expertpool.domain.text import clean, parse_date
from expertpool.errors import InputError, NotFound, StoreDamaged
from expertpool.io.files import check_input_file, read_input_bytes
from expertpool.services.access import Actor, check
from expertpool.services.expert_ids import get_expert
from expertpool.services.integrity import version_key
from expertpool.stores.base import GENESIS_HASH, ExpertStore


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    entries: int                      # entries read (up to and including the first bad one)
    first_bad_seq: int | None = None  # the sequence number where the chain first goes wrong (or that
                                      # vouched for a record found changed)
    problem: str | None = None        # what is wrong there, in words
    head_hash: str | None = None      # hash of the last entry when ok (record it elsewhere as an anchor)
    problems: tuple[str, ...] = ()    # every problem found in the data (the first is `problem`), at most 50
    problem_count: int = 0            # how many there were
    anchors_checked: int = 0          # anchors given, or carried by saved panels, that matched
    records_checked: int = 0          # experts, integrity record versions and panels compared
    unchecked: int = 0                # records written before entries carried digests: present, not compared

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Anchor:
    """A chain head recorded somewhere else: entry `seq` had hash `hash`. `source` says where it
    was found (a flag, a file, a saved panel), for the message when it no longer matches."""
    seq: int
    hash: str
    source: str


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
    expert (resolved as everywhere: its id, either list's number, `四川:SC000225`; a
    number no longer in the store is matched as written); `since`: from that day (local time) on;
    `action`: whose action starts with it (e.g. `integrity`)."""
    if actor is not None:
        check(actor, "audit.read", "查看审计日志")
    wanted: set[str] = set()
    if expert_id:
        try:
            expert = get_expert(store, expert_id, "--expert")
            wanted = {expert.id, *expert.source_ids.values()}
        except NotFound:  # no longer in the store (deleted outside the tool, as verify reports): the log still names it
            wanted = {clean(expert_id)}
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


def read_anchors(path: str | Path) -> list[Anchor]:
    """Every `SEQ:HASH` in a file: an exported record sheet (XLSX or CSV), a copy of `audit verify`'s
    output, or a list kept by hand. A file with none is bad input."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from python_calamine import CalamineError, CalamineWorkbook

        check_input_file(path, "锚点文件")
        try:
            book = CalamineWorkbook.from_path(str(path))
            text = "\n".join(str(cell) for name in book.sheet_names
                             for row in book.get_sheet_by_name(name).to_python() for cell in row)
        except (CalamineError, OSError, ValueError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: 不是有效的 XLSX 文件（{exc}）") from None
    else:
        data = read_input_bytes(path, "锚点文件")
        text = data.decode("utf-8-sig", errors="replace") if b"\x00" not in data else ""
    found = [Anchor(int(seq), digest.lower(), path.name) for seq, digest in _ANCHOR_RE.findall(text)]
    if not found:
        raise InputError(f"{path}: 文件中没有 序号:哈希 形式的锚点（如 120:{'0' * 64}）（--anchors）")
    return list(dict.fromkeys(found))


_ANCHOR_RE = re.compile(r"(?<![0-9A-Za-z])(\d+)\s*:\s*([0-9a-fA-F]{64})(?![0-9A-Za-z])")


def panel_anchors(store: ExpertStore) -> list[Anchor]:
    """The anchors saved panels and review sessions carry: the entry of their draw and of each
    replacement."""
    out = []
    documents = [(f"专家组 {d.get('id')}", d) for d in store.iter_panels(keys=("id", "audit_anchor", "replaced"))]
    documents += [(f"评审会 {d.get('id')}", d) for d in store.iter_sessions(keys=("id", "audit_anchor", "replaced"))]
    for name, document in documents:
        for where, anchor in ((name, document.get("audit_anchor")),
                              *((f"{name} 的替换记录", r.get("audit_anchor")) for r in document.get("replaced", []))):
            if isinstance(anchor, Mapping) and isinstance(anchor.get("seq"), int) and isinstance(anchor.get("hash"), str):
                out.append(Anchor(anchor["seq"], anchor["hash"].lower(), where))
    return out


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


def _as_anchors(anchors: Mapping[int, str] | Iterable[Anchor] | None) -> list[Anchor]:
    if anchors is None:
        return []
    if isinstance(anchors, Mapping):
        return [Anchor(seq, digest.lower(), "--anchor") for seq, digest in anchors.items()]
    return list(anchors)


def verify_audit(store: ExpertStore, anchors: Mapping[int, str] | Iterable[Anchor] | None = None, *,
                 actor: Actor | None = None, check_data: bool = True) -> AuditVerification:
    """Check the whole chain, then the data against it.

    The chain: sequence numbers 1, 2, 3 … in order with no gap, each entry's own hash, each
    entry's link to the one before, and every anchor (given, or carried by a saved panel) equal to
    the entry it names — an anchor past the end means the log was cut short. Reports the first bad
    entry and what is wrong with it.

    The data (`check_data`): every expert and every integrity record version in the store must
    be the version the last audit entry that wrote it recorded (its digest), nothing the log wrote
    may be missing from the store, every saved panel's members and every user's roles must be
    those their last entry recorded, and every other kind of record present (affiliations,
    relations, review history, projects: not digested, for their volume) must have been imported
    by some entry. A store whose data has no audit history therefore fails.
    """
    if actor is not None:
        check(actor, "audit.read", "校验审计日志")
    wanted = _as_anchors(anchors) + (panel_anchors(store) if check_data else [])
    for _attempt in range(3):  # a write between reading the log and the data: read both again
        chain, entries = _verify_chain(store, wanted)
        if not chain.ok or not check_data:
            return chain
        data = _DataCheck()
        try:
            _verify_data(store, entries, data)
        except StoreDamaged as exc:  # a row no longer readable at all: that is the finding
            data.problem(str(exc))
        if data.ok or _head(store) == (chain.entries, chain.head_hash):
            break
    problems = data.problems
    return AuditVerification(not problems, chain.entries, data.first_bad_seq, problems[0] if problems else None,
                             chain.head_hash, tuple(problems[:_PROBLEMS_SHOWN]), len(problems), chain.anchors_checked,
                             data.records_checked, data.unchecked)


_PROBLEMS_SHOWN = 50


def _head(store: ExpertStore) -> tuple[int, str | None]:
    last = None
    count = 0
    for count, last in enumerate(store.iter_audit(), 1):
        pass
    return count, (last.hash if last is not None else GENESIS_HASH)


def _verify_chain(store: ExpertStore, wanted: list[Anchor]) -> tuple[AuditVerification, list[AuditEntry]]:
    anchors: dict[int, list[Anchor]] = {}
    for anchor in wanted:
        anchors.setdefault(anchor.seq, []).append(anchor)
    entries, unreadable = _read_all(store)
    present = {e.seq for e in entries}
    prev_hash = GENESIS_HASH
    matched = 0
    for position, entry in enumerate(entries, 1):
        if entry.seq != position:
            if position in present:
                problem = (f"第 {position} 个位置上是第 {entry.seq} 条，而第 {position} 条在别处："
                           "条目的顺序被调换，或有条目被插入、重复")
            else:
                problem = (f"第 {position} 条缺失：第 {position - 1} 条之后是第 {entry.seq} 条"
                           "（条目被删除，或序号被改动）")
            return AuditVerification(False, position, position, problem), entries
        if entry.compute_hash() != entry.hash:
            return AuditVerification(False, position, entry.seq,
                                     f"第 {entry.seq} 条（{entry.action}，{entry.user}，{entry.at.isoformat()}）"
                                     "的内容与其哈希不符：该条目被改动过"), entries
        if entry.prev_hash != prev_hash:
            before = f"第 {entry.seq - 1} 条" if entry.seq > 1 else "起点"
            return AuditVerification(False, position, entry.seq,
                                     f"第 {entry.seq} 条所记的前一哈希与{before}不符：其前的条目被改动、删除或替换过"), entries
        for anchor in anchors.pop(entry.seq, []):
            if anchor.hash != entry.hash:
                return AuditVerification(False, position, entry.seq,
                                         f"第 {entry.seq} 条的哈希与先前记下的锚点不符（锚点来自 {anchor.source}）："
                                         "日志自那以后被整体改写过"), entries
            matched += 1
        prev_hash = entry.hash
    count = len(entries)
    if unreadable is not None:
        return AuditVerification(False, count + 1, count + 1,
                                 f"第 {count + 1} 条无法读取，已被改成无效内容（{unreadable}）"), entries
    if anchors:
        missing = min(anchors)
        return AuditVerification(False, count, missing,
                                 f"锚点所指的第 {missing} 条不存在（日志只有 {count} 条；锚点来自 "
                                 f"{anchors[missing][0].source}）：日志末尾被删除过"), entries
    return AuditVerification(True, count, None, None, prev_hash, anchors_checked=matched), entries


@dataclass
class _Vouched:
    seq: int
    digest: str | None  # None: an entry made before digests named the record without one


@dataclass
class _DataCheck:
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    records_checked: int = 0
    unchecked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str, seq: int | None = None) -> None:
        if not self.problems:
            self.first_bad_seq = seq
        self.problems.append(text)

    def compare(self, label: str, vouched: _Vouched | None, digest: str) -> None:
        self.records_checked += 1
        if vouched is None:
            self.problem(f"{label}在审计日志中没有任何写入它的条目：它是在本工具之外写入的，或写入它的条目已被删除")
        elif vouched.digest is None:
            self.unchecked += 1
        elif vouched.digest != digest:
            self.problem(f"{label}的内容与审计日志第 {vouched.seq} 条写入时不符：它在本工具之外被改动过",
                         vouched.seq)


#: import action suffix → the store's record kind, for the kinds whose content is not digested
_IMPORTED_KINDS = {"affiliations": ("affiliation", "工作经历"), "relations": ("relation", "关联关系"),
                   "history": ("history", "评审记录"), "projects": ("project", "申报项目")}


def _vouched_by(entries: list[AuditEntry]) -> tuple[dict[str, dict[str, _Vouched]], dict[str, int], set[str]]:
    """What the log says was written, the last writer winning: kind → key → who vouched and the
    digest; integrity record ids named without versions by early imports; the kinds imported."""
    vouched: dict[str, dict[str, _Vouched]] = {"expert": {}, "integrity": {}}
    legacy_integrity: dict[str, int] = {}
    imported: set[str] = set()
    for entry in entries:
        after = entry.after if isinstance(entry.after, Mapping) else {}
        if entry.action.startswith("import."):
            imported.add(entry.action.removeprefix("import."))
        if entry.records is not None:
            for kind, written in entry.records.items():
                for key, digest in written.items():
                    vouched.setdefault(kind, {})[key] = _Vouched(entry.seq, digest)
            continue
        # Entries made before digests: what they wrote is known, its content is not (integrity
        # changes carry the whole version in `after`, so theirs is).
        if entry.action == "import.experts":
            for expert_id in after.get("expert_ids", []):
                vouched["expert"][str(expert_id)] = _Vouched(entry.seq, None)
        elif entry.action == "import.integrity":
            for record_id in after.get("record_ids", []):
                legacy_integrity[str(record_id)] = entry.seq
        elif entry.action.startswith("integrity."):
            try:
                record = IntegrityRecord.model_validate(after)
            except ValidationError:
                continue
            vouched["integrity"][f"{record.id}#{record.version}"] = _Vouched(entry.seq, record_digest(record))
    return vouched, legacy_integrity, imported


def _verify_data(store: ExpertStore, entries: list[AuditEntry], check: _DataCheck) -> None:
    vouched, legacy_integrity, imported = _vouched_by(entries)
    seen_experts: set[str] = set()
    for expert in store.iter_experts():
        seen_experts.add(expert.id)
        check.compare(f"专家 {expert.id} ", vouched["expert"].get(expert.id), record_digest(expert))
    seen_versions: set[str] = set()
    seen_records: set[str] = set()
    compared: set[tuple[str, str]] = set()
    # the current versions, then every version (on Elasticsearch two copies: both are compared)
    for record in itertools.chain(store.iter_integrity(), store.iter_integrity_versions()):
        seen_records.add(record.id)
        key, digest = version_key(record), record_digest(record)
        if (key, digest) in compared:
            continue
        compared.add((key, digest))
        seen_versions.add(key)
        found = vouched["integrity"].get(key)
        if found is None and record.id in legacy_integrity:
            found = _Vouched(legacy_integrity[record.id], None)
        check.compare(f"诚信记录 {record.id}（版本 {record.version}）", found, digest)
    for expert_id, found in vouched["expert"].items():
        if expert_id not in seen_experts:
            check.problem(f"专家 {expert_id} 由审计日志第 {found.seq} 条写入，但已不在库中：它在本工具之外被删除", found.seq)
    for key, found in vouched["integrity"].items():
        if key not in seen_versions:
            record_id, version = key.rsplit("#", 1)
            what = "该版本" if record_id in seen_records else "该记录"
            check.problem(f"诚信记录 {record_id}（版本 {version}）由审计日志第 {found.seq} 条写入，但{what}已不在库中："
                          "它在本工具之外被删除", found.seq)
    _verify_panels(store, entries, check)
    _verify_sessions(store, entries, check)
    _verify_roles(store, entries, check)
    for action, (kind, label) in _IMPORTED_KINDS.items():
        if action not in imported and next(iter(store.iter_records(kind)), None) is not None:
            check.problem(f"库中有{label}记录，但审计日志中没有任何导入{label}的条目：它们是在本工具之外写入的")


def _verify_roles(store: ExpertStore, entries: list[AuditEntry], check: _DataCheck) -> None:
    """Each user's roles are those their last role entry (bootstrap, grant, revoke) recorded: a
    role written into the store behind the tool's back (an administrator made by hand) is named."""
    recorded: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.action.startswith("roles.") and isinstance(entry.after, Mapping) and "roles" in entry.after:
            recorded[str(entry.after.get("user", entry.target))] = entry
    held = {user: sorted(roles) for user, roles in store.get_roles().items() if roles}
    for user in sorted(set(held) | set(recorded)):
        entry = recorded.get(user)
        expected = sorted((entry.after or {}).get("roles", [])) if entry else []
        now = held.get(user, [])
        if now == expected:
            if now:
                check.records_checked += 1
            continue
        check.records_checked += 1
        if entry is None:
            check.problem(f"用户 {user} 的角色（{'、'.join(now)}）在审计日志中没有授予记录：它们是在本工具之外写入的")
        else:
            check.problem(f"用户 {user} 的角色（现为 {'、'.join(now) or '无'}）与审计日志第 {entry.seq} 条所记"
                          f"（{'、'.join(expected) or '无'}）不符：它们在本工具之外被改动过", entry.seq)


def _verify_panels(store: ExpertStore, entries: list[AuditEntry], check: _DataCheck) -> None:
    """Each saved panel's members are those its last draw or replacement entry recorded."""
    # the unseal entry names the members a sealed panel's earlier entries left out
    _verify_seats(entries, check, ("panel.build", "panel.replace", "panel.unseal"),
                  store.iter_panels(keys=("id", "members")),
                  lambda d: [m.get("id") for m in d.get("members", []) if isinstance(m, Mapping)],
                  lambda after: after.get("members"), "专家组", "抽取记录", "成员")


def _verify_sessions(store: ExpertStore, entries: list[AuditEntry], check: _DataCheck) -> None:
    """Each saved review session's groups hold the members its last plan or replacement entry
    recorded."""
    _verify_seats(entries, check, ("session.plan", "session.replace"), store.iter_sessions(keys=("id", "groups")),
                  lambda d: {str(g.get("name")): [m.get("id") for m in g.get("members", []) if isinstance(m, Mapping)]
                             for g in d.get("groups", []) if isinstance(g, Mapping)},
                  lambda after: after.get("groups"), "评审会", "安排记录", "各组成员")


def _verify_seats(entries: list[AuditEntry], check: _DataCheck, actions: tuple[str, ...], documents: Iterable[dict],
                  seated: Callable[[dict], Any], recorded: Callable[[dict], Any], what: str, made: str,
                  members: str) -> None:
    """Each saved document's members (`seated`) are those the last entry of `actions` about it
    recorded (`recorded` of the entry's after)."""
    last: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.action in actions and entry.target:
            last[entry.target] = entry
    for document in documents:
        doc_id = str(document.get("id"))
        entry = last.get(doc_id)
        check.records_checked += 1
        if entry is None:
            check.problem(f"{what} {doc_id} 在审计日志中没有{made}：它是在本工具之外写入的，或其条目已被删除")
        elif recorded(entry.after or {}) != seated(document):
            check.problem(f"{what} {doc_id} 的{members}与审计日志第 {entry.seq} 条所记不符：它在本工具之外被改动过",
                          entry.seq)
