"""Bulk import of the provinces' lists: validate, normalise, de-duplicate, write all-or-nothing.

Per file: every row is read and checked first; then the accepted rows are written in one
`store.batch()` together with the audit entry, so an error half way leaves the store as it
was. Every row read is either accepted (imported / updated / unchanged / merged) or rejected
with its file, row number, column and reason.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from expertpool import keys
from expertpool.cache.snapshot import prepare_pool
from expertpool.domain import expert_ids
from expertpool.domain.models import Expert, record_digest
from expertpool.domain.taxonomy import UnknownValue, normalise_region
from expertpool.domain.text import is_current_id_hash, mask_personal
from expertpool.errors import ExpertPoolError, InputError
from expertpool.gcpause import gc_paused
from expertpool.io import readers, rows, sheets
from expertpool.io.datafiles import load_honours
from expertpool.io.files import describe_os_error, output_directory
from expertpool.services import expert_ids as expert_id_service
from expertpool.services.access import Actor, audit
from expertpool.services.integrity import vouch
from expertpool.services.relevance import remember_project_terms
from expertpool.progress import NullProgress, Progress
from expertpool.stores.base import ExpertStore, record_key

#: meta key where stores made before keyed hashes kept their salt (deleted on the first import)
LEGACY_SALT_KEY = "id_salt"
#: meta key: `keys.fingerprint` of the identity-hash key the store's hashes were made with
ID_KEY_FINGERPRINT = "id_key_fingerprint"


@dataclass
class Reject:
    file: str
    row: int | str  # `sheet!row` in a workbook of several sheets
    expert_id: str | None
    column: str
    reason: str


@dataclass
class PossibleDuplicate:
    """Same name, birth year and institution but no identity number to prove it: a person decides."""
    file: str
    row: int
    expert_id: str
    existing_id: str
    name: str


@dataclass
class ValueWarning:
    """Rows kept, with a value outside a vocabulary that is open (人才称号): stored as written."""
    file: str
    column: str
    value: str
    count: int
    rows: list[int | str]  # the first few, as examples
    message: str


#: example rows listed per warning
WARNING_EXAMPLES = 5


@dataclass
class FileReport:
    file: str
    kind: str
    encoding: str | None = None
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rejected: int = 0
    rejects: list[Reject] = field(default_factory=list)
    possible_duplicates: list[PossibleDuplicate] = field(default_factory=list)
    warnings: list[ValueWarning] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    reject_file: str | None = None
    reject_file_error: str | None = None  # the store has the file's rows; the reject list is missing
    dry_run: bool = False
    error: str | None = None  # the whole file could not be read; nothing from it was written

    @property
    def accepted(self) -> int:
        return self.imported + self.updated + self.unchanged + self.merged

    @property
    def changed(self) -> bool:
        return bool(self.imported or self.updated or self.merged)


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    #: old-style (salted, recoverable) identity hashes deleted before this import (see
    #: `retire_legacy_id_hashes`); on a dry run, how many would be
    legacy_id_hashes_deleted: int = 0

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def failed(self) -> bool:
        return any(f.error or f.rejected for f in self.files)

    @property
    def storage_failed(self) -> bool:
        """A file we had to write (a reject list) could not be written (exit 5)."""
        return any(f.reject_file_error for f in self.files)

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "imported", "updated", "unchanged", "merged", "rejected")
        totals = {k: sum(getattr(f, k) for f in self.files) for k in keys}
        totals["warned_rows"] = sum(w.count for f in self.files for w in f.warnings)
        return totals

    def to_json(self) -> dict:
        return {
            "totals": self.totals(),
            "legacy_id_hashes_deleted": self.legacy_id_hashes_deleted,
            "files": [
                {**{k: v for k, v in asdict(f).items() if k not in ("rejects", "possible_duplicates", "warnings")},
                 "accepted": f.accepted}
                for f in self.files
            ],
            "rejects": [asdict(r) for f in self.files for r in f.rejects],
            "possible_duplicates": [asdict(d) for f in self.files for d in f.possible_duplicates],
            "warnings": [asdict(w) for f in self.files for w in f.warnings],
        }


def identity_key(store: ExpertStore, *, dry_run: bool = False) -> bytes:
    """The HMAC key for identity numbers (`keys.ID_HASH_KEY`, kept outside the store), checked
    against the fingerprint the store recorded with its first hashes, so a store's hashes are
    all made with one key: a different or missing key is refused, never silently mismatched.

    The first import into a store that has no hashes yet creates the key file when there is
    none (a dry run only borrows a throwaway key) and records the key's fingerprint."""
    recorded = store.get_meta(ID_KEY_FINGERPRINT)
    key = keys.load_key(keys.ID_HASH_KEY)
    if key is None:
        if recorded is not None:
            raise keys.KeyUnavailable(
                f"此数据库的证件号码哈希由指纹为 {recorded} 的密钥生成，本机没有该密钥。"
                f"请从已导入数据的部署复制密钥文件 {keys.key_path(keys.ID_HASH_KEY)}（权限 600），"
                f"或设置环境变量 {keys.ID_HASH_KEY.env}；切勿新建密钥，否则同一人的证件号码将无法匹配")
        if dry_run:
            return secrets.token_bytes(keys.KEY_BYTES)
        key = keys.load_or_create_key(keys.ID_HASH_KEY)
    mine = keys.fingerprint(key)
    if recorded is None and not dry_run and not store.claim_meta(ID_KEY_FINGERPRINT, mine):
        recorded = store.get_meta(ID_KEY_FINGERPRINT)  # another import recorded its key first
    if recorded is not None and recorded != mine:
        raise keys.KeyUnavailable(
            f"本机的证件号码哈希密钥（指纹 {mine}）与此数据库所用的密钥（指纹 {recorded}）不同："
            f"两省须配置同一密钥，否则同一人无法按证件号码合并。请改用该数据库所用的密钥文件 "
            f"{keys.key_path(keys.ID_HASH_KEY)} 或环境变量 {keys.ID_HASH_KEY.env}")
    return key


def _without_legacy_hash(expert: Expert) -> Expert:
    if expert.id_hash and not is_current_id_hash(expert.id_hash):
        return expert.model_copy(update={"id_hash": None})
    return expert


def retire_legacy_id_hashes(store: ExpertStore, actor: Actor, experts: list[Expert], *,
                            dry_run: bool = False, now: dt.datetime | None = None) -> tuple[list[Expert], int]:
    """Stores made before keyed hashes kept a salt in their meta beside salted SHA-256 hashes, from
    which the numbers could be recovered. Such hashes cannot be converted (the numbers are not
    kept), so they are deleted together with the salt, in one audited batch; the last 4 stay.
    Re-importing the lists makes keyed hashes again; until then those experts are matched across
    the lists by name, birth year and unit only as possible duplicates for a person to judge.
    Returns the experts as they now are and how many hashes were deleted (would be, on a dry run)."""
    cleaned = [_without_legacy_hash(e) for e in experts]
    changed = [new for old, new in zip(experts, cleaned) if new is not old]
    has_salt = store.get_meta(LEGACY_SALT_KEY) is not None
    if dry_run or not (changed or has_salt):
        return cleaned, len(changed)
    with store.batch():
        if changed:
            store.upsert_experts(changed)
        store.delete_meta(LEGACY_SALT_KEY)
        # The entry vouches for the experts as now written (without the hash), as an import does,
        # so `audit verify` finds them as the log last wrote them.
        audit(store, actor, "ids.retire_legacy_hashes", now=now,
              reason="旧版证件号码哈希（盐保存在库内，可被还原）已删除；重新导入名单后按库外密钥重建",
              after={"hashes_deleted": len(changed), "expert_ids": sorted(e.id for e in changed)},
              records={"expert": {e.id: record_digest(e) for e in changed}})
    return cleaned, len(changed)


class _ExpertIndex(expert_ids.MemoryDirectory):
    """In-memory look-ups over the experts already stored (and those accepted so far)."""

    def __init__(self, experts, legacy: bool = False):
        self.legacy = legacy
        self.by_hash: dict[str, str] = {}
        self.by_person: dict[tuple, list[str]] = {}
        super().__init__(experts)

    def add(self, expert: Expert) -> None:
        super().add(expert)
        if is_current_id_hash(expert.id_hash):  # a legacy salted hash never matches a keyed one
            self.by_hash[expert.id_hash] = expert.id
        key = (expert.name, expert.birth_year, expert.institution)
        ids = self.by_person.setdefault(key, [])
        if expert.id not in ids:
            ids.append(expert.id)


def _resolver(index: _ExpertIndex, source: str | None) -> Callable[[str, str], str]:
    """(column, number as written) → canonical id, through `expert_ids.resolve`; `source` is the
    file's --source (whose list's numbers the file uses)."""
    # A record file names the same experts again and again (165k review-history rows, 20k experts)
    # and adds none: each distinct number is resolved once per file.
    answers: dict[str, tuple[str | None, str | None]] = {}

    def resolve(column: str, value: str) -> str:
        found = answers.get(value)
        if found is None:
            try:
                found = (expert_ids.resolve(index, value, region=source, legacy=index.legacy), None)
            except expert_ids.UnknownExpert as exc:
                found = (None, f"{exc}（请先导入专家名单）")
            except expert_ids.AmbiguousExpert as exc:
                found = (None, exc.hint(for_file=True))
            answers[value] = found
        if found[1] is not None:
            raise rows.RowError(column, found[1])
        return found[0]  # type: ignore[return-value]
    return resolve


#: status precedence when the two provinces' lists disagree: the more restrictive one applies
_STATUS_RANK = {"在库": 0, "暂停": 1, "出库": 2}


def _same_person(existing: Expert, draft: Expert, source: str, number: str) -> str | None:
    """Why `draft` cannot be the person `source`'s list already numbers `number`, or None."""
    if existing.id_hash and draft.id_hash and existing.id_hash != draft.id_hash:
        return (f"{source}名单的专家编号 {number} 已属于另一位专家（{existing.name}，证件号码不同）；"
                "请核对编号或用 --source 指明名单")
    if existing.name != draft.name or (existing.birth_year and draft.birth_year
                                       and existing.birth_year != draft.birth_year):
        return (f"{source}名单的专家编号 {number} 已属于 {existing.name}（{existing.birth_year or '出生年份不详'}），"
                f"与本行的 {draft.name}（{draft.birth_year or '出生年份不详'}）不是同一人；请核对编号或用 --source 指明名单")
    return None


def _decide_expert(draft: Expert, index: _ExpertIndex, source: str,
                   key: str | None = None) -> tuple[str, Expert | None, str | None]:
    """(outcome, expert to write or None, existing id for reporting). Outcomes: imported, updated,
    unchanged, merged; raises RowError for a conflicting identity.

    `draft` carries the list's number as its id; the expert keeps the id it already has, or gets
    that number (qualified by the list, `重庆:100234`, when another expert answers to it)."""
    number = draft.source_ids[source]
    key = key or expert_ids.number_key(number)
    listed = index.in_list(source, number, index.legacy, key)
    if len(listed) > 1:
        raise rows.RowError("source_id", f"{source}名单的专家编号 {number} 在库中已属于多位专家："
                            f"{'、'.join(e.id for e in listed)}；请人工核对")
    if listed:
        existing = listed[0]
        problem = _same_person(existing, draft, source, number)
        if problem:
            raise rows.RowError("source_id", problem)
        if next(iter(existing.source_ids), source) != source:
            # The second list's entry of a person already merged: the first list's record stands,
            # except that a more restrictive status (暂停/出库) in either list applies.
            if _STATUS_RANK[draft.status] > _STATUS_RANK[existing.status]:
                return "updated", existing.model_copy(update={"status": draft.status}), existing.id
            return "unchanged", None, existing.id
        if draft.id_hash and index.by_hash.get(draft.id_hash, existing.id) != existing.id:
            other = index.by_hash[draft.id_hash]
            raise rows.RowError("id_number", f"证件号码与已有专家 {other} 相同，但专家编号不同；请人工核对")
        # (an older store's number `SC-<number>` is replaced by the number as the list writes it)
        updated = draft.model_copy(update={
            "id": existing.id,
            "source_ids": {**existing.source_ids, source: number},
            "id_hash": draft.id_hash or existing.id_hash,
            "id_last4": draft.id_last4 or existing.id_last4,
        })
        if updated == existing:  # field-by-field equality: cheaper than hashing both
            return "unchanged", None, existing.id
        return "updated", updated, existing.id
    if draft.id_hash and draft.id_hash in index.by_hash:
        other = index.by_id[index.by_hash[draft.id_hash]]
        if source in other.source_ids:
            raise rows.RowError("id_number", f"证件号码与同一来源（{source}）中的专家 {other.id} 重复")
        merged = other.model_copy(update={"source_ids": {**other.source_ids, source: number}})
        if _STATUS_RANK[draft.status] > _STATUS_RANK[other.status]:
            merged = merged.model_copy(update={"status": draft.status})
        return "merged", merged, other.id
    if not index.taken(key):
        return "imported", draft, None  # its id is the list's number already
    expert_id = expert_ids.qualified(source, number)  # the other list numbers someone else so
    if index.taken(expert_ids.number_key(expert_id)):
        raise rows.RowError("source_id", f"专家编号 {number} 与库中编号 {expert_id} 冲突；请人工核对")
    return "imported", draft.model_copy(update={"id": expert_id}), None


def import_file(store: ExpertStore, path: Path, actor: Actor, *, kind: str | None = None,
                source: str | None = None, dry_run: bool = False, progress: Progress | None = None,
                rejects_dir: Path | None = None, now: dt.datetime | None = None,
                _index: "_ExpertIndex | None" = None, _lease=None) -> FileReport:
    """Import one file all-or-nothing. Raises InputError if the file cannot be read at all."""
    if _index is None:  # on its own: under the import lock, like `import_files`
        with gc_paused(), _exclusive(store, actor, progress, dry_run) as lease:
            return import_file(store, path, actor, kind=kind, source=source, dry_run=dry_run, progress=progress,
                               rejects_dir=rejects_dir, now=now,
                               _index=_open_index(store, actor, dry_run=dry_run, now=now)[0], _lease=lease)
    progress = progress or NullProgress()
    table = readers.read_table(path, kind)
    report = FileReport(file=str(path), kind=table.kind, encoding=table.encoding, rows_read=len(table.rows),
                        ignored_columns=[mask_personal(c) for c in table.ignored_columns], dry_run=dry_run)
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if source is not None:
        try:
            source = normalise_region(source)
        except UnknownValue as exc:
            raise InputError(f"--source: {exc}") from None

    def reject(number: int, expert_id: str | None, error: rows.RowError) -> None:
        # Reasons quote cells; in a misaligned row any cell may hold an identity or phone number,
        # and the report goes to the screen, --json and FILE.rejects.csv: mask them here, once.
        label = readers.column_label(table.kind, error.column)
        reason = mask_personal(error.reason, phones=error.column != "phone")
        report.rejects.append(Reject(str(path), number, mask_personal(expert_id) if expert_id else expert_id,
                                     mask_personal(label), reason))

    if _lease is not None:
        _lease.check()
    with store.batch():
        index = _index
        resolve = _resolver(index, source)
        progress.start(f"检查 {path.name}", len(table.rows))
        if table.kind == "experts":
            id_key = identity_key(store, dry_run=dry_run)
            writes = _collect_experts(table, index, source, id_key, report, reject, progress)
            if not dry_run and writes:
                store.upsert_experts(list(writes.values()), progress)
            touched = {"expert_ids": sorted(writes)}
            vouched = None if dry_run else {"expert": {i: record_digest(e) for i, e in writes.items()}}
        else:
            records = _collect_records(table, index, resolve, actor, now, report, reject, progress)
            vouched = None
            if dry_run:
                _count_records(store, table.kind, records, report)
            else:
                vouched = _write_records(store, table.kind, records, report)
            touched = {"expert_ids": sorted({getattr(r, "expert_id", None) or "" for _, r in records} - {""})}
            if table.kind in ("integrity", "projects"):
                touched["record_ids"] = sorted(r.id for _, r in records)
        report.rejected = len(report.rejects)
        if report.accepted + report.rejected != report.rows_read:  # a bug, never an input problem
            raise ExpertPoolError(f"{path}: 内部错误：接受 {report.accepted} + 拒绝 {report.rejected} ≠ 读取 "
                                  f"{report.rows_read}；已回滚，未写入任何数据")
        if not dry_run and report.changed:
            # The ids the file touched make `audit log --expert` and `integrity show` find imports.
            counts = {k: getattr(report, k) for k in ("rows_read", "imported", "updated", "unchanged", "merged",
                                                      "rejected")}
            audit(store, actor, f"import.{table.kind}", target=path.name, now=now, after={**counts, **touched},
                  records=vouched)
    progress.finish()
    if report.rejects:
        try:
            report.reject_file = str(write_rejects(report, rejects_dir or path.parent))
        except OSError as exc:
            done = "试运行未写入数据库" if dry_run else "数据库中的导入已提交（接受的行已写入）"
            report.reject_file_error = f"{done}，但拒绝清单未能写出：{describe_os_error(exc)}"
    return report


def _collect_experts(table, index: _ExpertIndex, source, id_key: bytes, report: FileReport, reject, progress):
    writes: dict[str, Expert] = {}
    seen_rows: dict[tuple[str, str], int] = {}  # (list, number key) → row
    honours = load_honours()
    unknown_honours: dict[str, list[int]] = {}
    for number, row in table.rows:
        progress.advance()
        raw_id = rows.clean(row.get("source_id")) or None
        try:
            draft = rows.expert_from_row(row, source=source, id_key=id_key, vocabulary=honours)
            list_source = next(iter(draft.source_ids))
            key = expert_ids.number_key(draft.id)
            seen = (list_source, key)
            if seen in seen_rows:
                raise rows.RowError("source_id", f"专家编号 {draft.id} 与本文件第 {seen_rows[seen]} 行重复")
            outcome, expert, existing_id = _decide_expert(draft, index, list_source, key)
        except rows.RowError as error:
            reject(number, raw_id, error)
            continue
        seen_rows[seen] = number
        for honour in draft.honours:
            if honour not in honours.known_names:
                unknown_honours.setdefault(honour, []).append(number)
        if outcome == "imported":
            for other_id in index.by_person.get((draft.name, draft.birth_year, draft.institution), []):
                other = index.by_id[other_id]
                if other.id != expert.id and not (draft.id_hash and other.id_hash):
                    report.possible_duplicates.append(
                        PossibleDuplicate(str(table.path), number, expert.id, other.id, draft.name))
        setattr(report, outcome, getattr(report, outcome) + 1)
        if expert is not None:
            writes[expert.id] = expert
            index.add(expert)
    label = readers.column_label(table.kind, "honours")
    for value, numbers in sorted(unknown_honours.items(), key=lambda item: (-len(item[1]), item[0])):
        report.warnings.append(ValueWarning(
            str(table.path), label, value, len(numbers), numbers[:WARNING_EXAMPLES],
            f"未收录的人才称号「{value}」已按原文保存（{len(numbers)} 行）；如需归并或认定为高层次人才，"
            f"请在 {honours.source} 的 [mappings] 中添加"))
    return writes


def _collect_records(table, index: _ExpertIndex, resolve, actor: Actor, now, report: FileReport, reject,
                     progress) -> list[tuple[int, object]]:
    names = {e.id: (e.name, e.institution) for e in index.by_id.values()}
    keys_seen: dict[str, int] = {}
    out: list[tuple[int, object]] = []
    for number, row in table.rows:
        progress.advance()
        raw_id = rows.clean(row.get("expert_id")) or None if isinstance(row, dict) else None
        try:
            rows.check_readable(row)
            record = _record_from_row(table.kind, row, resolve, names, actor, now)
            key = record.id if table.kind in ("integrity", "projects") else record.key()
            if key in keys_seen:
                raise rows.RowError("(整行)" if table.kind not in ("integrity", "projects") else "id",
                                    f"与本文件第 {keys_seen[key]} 行重复")
        except rows.RowError as error:
            reject(number, raw_id, error)
            continue
        keys_seen[key] = number
        out.append((number, record))
    return out


def _record_from_row(kind: str, row: dict, resolve, names, actor: Actor, now):
    if kind == "affiliations":
        return rows.affiliation_from_row(row, resolve)
    if kind == "relations":
        return rows.relation_from_row(row, resolve, names)
    if kind == "history":
        return rows.history_from_row(row, resolve)
    if kind == "evaluations":
        return rows.evaluation_from_row(row, resolve)
    if kind == "integrity":
        return rows.integrity_from_row(row, resolve, entered_by=actor.user, entered_at=now)
    if kind == "projects":
        return rows.project_from_row(row, resolve)
    raise InputError(f"未知的文件类型「{kind}」")


_STORE_KIND = {"affiliations": "affiliation", "relations": "relation", "history": "history", "projects": "project",
               "evaluations": "evaluation"}
_INTEGRITY_VOLATILE = {"entered_by", "entered_at", "version"}


def _write_records(store: ExpertStore, kind: str, records: Sequence[tuple[int, object]],
                   report: FileReport) -> dict[str, dict[str, str]] | None:
    """Write and count; for integrity records, the `AuditEntry.records` of the versions written."""
    if kind == "integrity":
        written = []
        for _, record in records:
            current = store.get_integrity(record.id)
            if current is None:
                written.append(store.put_integrity(record, None))
                report.imported += 1
            elif current.content_hash(_INTEGRITY_VOLATILE) == record.content_hash(_INTEGRITY_VOLATILE):
                report.unchanged += 1
            else:
                written.append(store.put_integrity(record, current.version))
                report.updated += 1
        return vouch(written)
    counts = store.upsert_records(_STORE_KIND[kind], [r for _, r in records])
    report.imported += counts.inserted
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    return None


def _count_records(store: ExpertStore, kind: str, records: Sequence[tuple[int, object]], report: FileReport):
    """--dry-run: what `_write_records` would count, without writing."""
    if kind == "integrity":
        for _, record in records:
            current = store.get_integrity(record.id)
            if current is None:
                report.imported += 1
            elif current.content_hash(_INTEGRITY_VOLATILE) == record.content_hash(_INTEGRITY_VOLATILE):
                report.unchanged += 1
            else:
                report.updated += 1
        return
    store_kind = _STORE_KIND[kind]
    stored = {record_key(store_kind, r): r.content_hash() for r in store.iter_records(store_kind)}
    for _, record in records:
        before = stored.get(record_key(store_kind, record))
        if before is None:
            report.imported += 1
        elif before == record.content_hash():
            report.unchanged += 1
        else:
            report.updated += 1


def write_rejects(report: FileReport, directory: Path) -> Path:
    """`<file>.rejects.csv` (UTF-8 with BOM so Excel opens it) listing every rejected row, in inert
    cells, written whole through a temporary file or not at all (`sheets.write_csv`). Called after
    the store committed: a directory that cannot take it is an `OSError` the caller reports as
    such, not bad input (a --rejects-dir was checked before anything was read)."""
    target = Path(directory) / (Path(report.file).name + ".rejects.csv")
    return sheets.write_csv(target, [["文件", "行号", "专家编号", "列", "原因"],
                                     *([r.file, r.row, r.expert_id or "", r.column, r.reason] for r in report.rejects)])


def _open_index(store: ExpertStore, actor: Actor, *, dry_run: bool,
                now: dt.datetime | None = None) -> tuple[_ExpertIndex, int]:
    """The look-up index over the stored experts, and how many legacy identity hashes were retired
    (would be, on a dry run) before it was read. Called under the import lock, so the retirement
    and the index see the same experts as the import that follows.

    A store that holds no experts yet is marked as numbered by `expert_ids`' scheme; one holding
    experts without that mark is an older store (`SC-<number>` ids), whose numbers are also looked
    up with the prefix."""
    legacy = expert_id_service.is_legacy(store)
    if legacy and store.count_experts() == 0:
        legacy = False
        if not dry_run:
            store.set_meta(expert_ids.SCHEME_KEY, expert_ids.SCHEME)
    experts, retired = retire_legacy_id_hashes(store, actor, list(store.iter_experts()), dry_run=dry_run, now=now)
    return _ExpertIndex(experts, legacy=legacy), retired


def prepare_draws(store: ExpertStore, progress: Progress | None = None) -> None:
    """Build what the next draw reads from the store's current data, where it is not cached yet:
    the snapshot and rank index (`prepare_pool`) and the stored projects' query terms, from which
    every draw's relevance learns the application boilerplate."""
    prepare_pool(store, progress)
    remember_project_terms(store.iter_records("project"))


def import_files(store: ExpertStore, paths: Sequence[Path], actor: Actor, *, prepare: bool = True,
                 **options) -> ImportReport:
    """Import files in the order given: expert lists must come before the files that refer to them.
    When anything changed, the draw's caches of the new data are prepared at the end
    (`prepare_draws`; `prepare=False` leaves that to the first draw)."""
    # every row, record and expert read stays alive to the end: nothing for the collector to free
    with gc_paused():
        return _import_files(store, paths, actor, prepare, **options)


def _check_options(options: dict) -> None:
    """Options that apply to every file are checked once, before any file is read: a bad one is
    bad input for the whole command (InputError), not a failure of each file in turn."""
    kind = options.get("kind")
    if kind is not None and kind not in readers.KINDS:
        raise InputError(f"--kind: 未知的文件类型「{kind}」；可选：{'/'.join(readers.KINDS)}")
    if options.get("source") is not None:
        try:
            normalise_region(options["source"])
        except UnknownValue as exc:
            raise InputError(f"--source: {exc}") from None
    if options.get("rejects_dir") is not None:  # a dry run writes its reject list too
        output_directory(options["rejects_dir"], "拒绝清单目录（--rejects-dir）")


def _import_files(store: ExpertStore, paths: Sequence[Path], actor: Actor, prepare: bool, **options) -> ImportReport:
    _check_options(options)
    report = ImportReport()
    with _exclusive(store, actor, options.get("progress"), options.get("dry_run", False)) as lease:
        # One look-up index for all files, read under the import lock (after the legacy hashes are
        # retired): no other import changes the experts until this one ends, so the index stays
        # true; it follows what each file adds (a failed file raises and aborts the run, so it never
        # holds rolled-back experts).
        index, report.legacy_id_hashes_deleted = _open_index(
            store, actor, dry_run=options.get("dry_run", False), now=options.get("now"))
        for path in paths:
            try:
                report.files.append(import_file(store, path, actor, _index=index, _lease=lease, **options))
            except InputError as exc:
                report.files.append(FileReport(file=str(path), kind=options.get("kind") or "?",
                                               error=mask_personal(str(exc))))
    if prepare and any(f.changed and not f.dry_run for f in report.files):
        # What the next draw reads (conflict graph, briefs, review history, rank index) is built
        # now, once for all the files, under the new data version, after the import lock is
        # released (the caches are keyed by the version read before the data, so a later import
        # cannot make them stale): the first draw after an import is then as fast as any other.
        try:
            prepare_draws(store, options.get("progress"))
        except ExpertPoolError:
            pass  # the data is in; the first draw builds the caches and reports what stops it
    return report


@contextmanager
def _exclusive(store: ExpertStore, actor: Actor, progress: Progress | None, dry_run: bool):
    """The store's import lock for a writing import (a dry run writes nothing and does not wait)."""
    if dry_run:
        yield None
        return
    progress = progress or NullProgress()

    def waiting(holder: str) -> None:
        progress.start(f"等待另一个导入结束（{holder}）", None)

    with store.import_lock(actor.user, on_wait=waiting) as lease:
        yield lease
