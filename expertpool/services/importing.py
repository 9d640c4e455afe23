"""Bulk import of the provinces' lists: validate, normalise, de-duplicate, write all-or-nothing.

Per file: every row is read and checked first; then the accepted rows are written in one
`store.batch()` together with the audit entry, so an error half way leaves the store as it
was. Every row read is either accepted (imported / updated / unchanged / merged) or rejected
with its file, row number, column and reason.
"""
from __future__ import annotations

import csv
import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from expertpool.domain.models import Expert, record_digest
from expertpool.domain.taxonomy import UnknownValue, normalise_region
from expertpool.errors import ExpertPoolError, InputError
from expertpool.gcpause import gc_paused
from expertpool.io import readers, rows
from expertpool.io.files import output_directory
from expertpool.services.access import Actor, audit
from expertpool.services.integrity import vouch
from expertpool.progress import NullProgress, Progress
from expertpool.stores.base import ExpertStore, record_key

SALT_KEY = "id_salt"


@dataclass
class Reject:
    file: str
    row: int
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
    ignored_columns: list[str] = field(default_factory=list)
    reject_file: str | None = None
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

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def failed(self) -> bool:
        return any(f.error or f.rejected for f in self.files)

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "imported", "updated", "unchanged", "merged", "rejected")
        return {k: sum(getattr(f, k) for f in self.files) for k in keys}

    def to_json(self) -> dict:
        return {
            "totals": self.totals(),
            "files": [
                {**{k: v for k, v in asdict(f).items() if k not in ("rejects", "possible_duplicates")},
                 "accepted": f.accepted}
                for f in self.files
            ],
            "rejects": [asdict(r) for f in self.files for r in f.rejects],
            "possible_duplicates": [asdict(d) for f in self.files for d in f.possible_duplicates],
        }


def id_salt(store: ExpertStore) -> str:
    """The store's salt for identity hashes, made once per store."""
    salt = store.get_meta(SALT_KEY)
    if salt is None:
        salt = secrets.token_hex(16)
        store.set_meta(SALT_KEY, salt)
    return salt


class _ExpertIndex:
    """In-memory lookups over the experts already stored (and those accepted so far)."""

    def __init__(self, experts):
        self.by_id: dict[str, Expert] = {}
        self.alias: dict[str, str] = {}
        self.by_hash: dict[str, str] = {}
        self.by_person: dict[tuple, list[str]] = {}
        for expert in experts:
            self.add(expert)

    def add(self, expert: Expert) -> None:
        self.by_id[expert.id] = expert
        for alias in expert.source_ids.values():
            self.alias[alias] = expert.id
        if expert.id_hash:
            self.by_hash[expert.id_hash] = expert.id
        key = (expert.name, expert.birth_year, expert.institution)
        ids = self.by_person.setdefault(key, [])
        if expert.id not in ids:
            ids.append(expert.id)

    def resolve(self, any_id: str) -> str | None:
        if any_id in self.by_id:
            return any_id
        return self.alias.get(any_id) or self.alias.get(any_id.upper())


def _resolver(index: _ExpertIndex) -> Callable[[str, str], str]:
    def resolve(column: str, value: str) -> str:
        found = index.resolve(value)
        if found is None:
            raise rows.RowError(column, f"专家编号「{value}」不在专家库中（请先导入专家名单）")
        return found
    return resolve


#: status precedence when the two provinces' lists disagree: the more restrictive one applies
_STATUS_RANK = {"在库": 0, "暂停": 1, "出库": 2}


def _same_person(existing: Expert, draft: Expert) -> str | None:
    """Why `draft` cannot be the person stored under the same number, or None when it can be."""
    if existing.id_hash and draft.id_hash and existing.id_hash != draft.id_hash:
        return f"专家编号 {draft.id} 已属于另一位专家（{existing.name}，证件号码不同）；请核对编号或用 --source 指明名单"
    if existing.name != draft.name or (existing.birth_year and draft.birth_year
                                       and existing.birth_year != draft.birth_year):
        return (f"专家编号 {draft.id} 已属于 {existing.name}（{existing.birth_year or '出生年份不详'}），"
                f"与本行的 {draft.name}（{draft.birth_year or '出生年份不详'}）不是同一人；请核对编号或用 --source 指明名单")
    return None


def _decide_expert(draft: Expert, index: _ExpertIndex, source: str) -> tuple[str, Expert | None, str | None]:
    """(outcome, expert to write or None, existing id for reporting). Outcomes: imported, updated,
    unchanged, merged; raises RowError for a conflicting identity."""
    existing_id = index.resolve(draft.id)
    if existing_id is not None:
        existing = index.by_id[existing_id]
        problem = _same_person(existing, draft)
        if problem:
            raise rows.RowError("source_id", problem)
        if existing.id != draft.id:
            # The second list's entry of a person already merged: the first list's record stands,
            # except that a more restrictive status (暂停/出库) in either list applies.
            if _STATUS_RANK[draft.status] > _STATUS_RANK[existing.status]:
                return "updated", existing.model_copy(update={"status": draft.status}), existing.id
            return "unchanged", None, existing.id
        if draft.id_hash and index.by_hash.get(draft.id_hash, existing.id) != existing.id:
            other = index.by_hash[draft.id_hash]
            raise rows.RowError("id_number", f"证件号码与已有专家 {other} 相同，但专家编号不同；请人工核对")
        merged_sources = {**existing.source_ids, **draft.source_ids}
        updated = draft.model_copy(update={
            "source_ids": merged_sources,
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
        merged = other.model_copy(update={"source_ids": {**other.source_ids, source: draft.id}})
        if _STATUS_RANK[draft.status] > _STATUS_RANK[other.status]:
            merged = merged.model_copy(update={"status": draft.status})
        return "merged", merged, other.id
    return "imported", draft, None


def import_file(store: ExpertStore, path: Path, actor: Actor, *, kind: str | None = None,
                source: str | None = None, dry_run: bool = False, progress: Progress | None = None,
                rejects_dir: Path | None = None, now: dt.datetime | None = None,
                _index: "_ExpertIndex | None" = None) -> FileReport:
    """Import one file all-or-nothing. Raises InputError if the file cannot be read at all."""
    progress = progress or NullProgress()
    table = readers.read_table(path, kind)
    report = FileReport(file=str(path), kind=table.kind, encoding=table.encoding, rows_read=len(table.rows),
                        ignored_columns=table.ignored_columns, dry_run=dry_run)
    now = now or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if source is not None:
        try:
            source = normalise_region(source)
        except UnknownValue as exc:
            raise InputError(f"--source: {exc}") from None

    def reject(number: int, expert_id: str | None, error: rows.RowError) -> None:
        label = readers.column_label(table.kind, error.column)
        report.rejects.append(Reject(str(path), number, expert_id, label, error.reason))

    with store.batch():
        index = _index if _index is not None else _ExpertIndex(store.iter_experts())
        resolve = _resolver(index)
        progress.start(f"检查 {path.name}", len(table.rows))
        if table.kind == "experts":
            salt = store.get_meta(SALT_KEY) or (secrets.token_hex(16) if dry_run else id_salt(store))
            writes = _collect_experts(table, index, source, salt, report, reject, progress)
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
        report.reject_file = str(write_rejects(report, rejects_dir or path.parent))
    return report


def _collect_experts(table, index: _ExpertIndex, source, salt, report: FileReport, reject, progress):
    writes: dict[str, Expert] = {}
    seen_rows: dict[str, int] = {}
    for number, row in table.rows:
        progress.advance()
        raw_id = rows.clean(row.get("source_id")) or None
        try:
            draft = rows.expert_from_row(row, source=source, salt=salt)
            if draft.id in seen_rows:
                raise rows.RowError("source_id", f"专家编号 {draft.id} 与本文件第 {seen_rows[draft.id]} 行重复")
            outcome, expert, existing_id = _decide_expert(draft, index, next(iter(draft.source_ids)))
        except rows.RowError as error:
            reject(number, raw_id, error)
            continue
        seen_rows[draft.id] = number
        if outcome == "imported":
            for other_id in index.by_person.get((draft.name, draft.birth_year, draft.institution), []):
                other = index.by_id[other_id]
                if other.id != draft.id and not (draft.id_hash and other.id_hash):
                    report.possible_duplicates.append(
                        PossibleDuplicate(str(table.path), number, draft.id, other.id, draft.name))
        setattr(report, outcome, getattr(report, outcome) + 1)
        if expert is not None:
            writes[expert.id] = expert
            index.add(expert)
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
            if "__invalid__" in row and table.kind != "projects":
                raise rows.RowError("(整行)", str(row["__invalid__"]))
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
    if kind == "integrity":
        return rows.integrity_from_row(row, resolve, entered_by=actor.user, entered_at=now)
    if kind == "projects":
        return rows.project_from_row(row, resolve)
    raise InputError(f"未知的文件类型「{kind}」")


_STORE_KIND = {"affiliations": "affiliation", "relations": "relation", "history": "history", "projects": "project"}
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
    """`<file>.rejects.csv` (UTF-8 with BOM so Excel opens it) listing every rejected row."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (Path(report.file).name + ".rejects.csv")
    tmp = target.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["文件", "行号", "专家编号", "列", "原因"])
        for r in report.rejects:
            writer.writerow([r.file, r.row, r.expert_id or "", r.column, r.reason])
    tmp.replace(target)
    return target


def import_files(store: ExpertStore, paths: Sequence[Path], actor: Actor, **options) -> ImportReport:
    """Import files in the order given: expert lists must come before the files that refer to them."""
    # every row, record and expert read stays alive to the end: nothing for the collector to free
    with gc_paused():
        return _import_files(store, paths, actor, **options)


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


def _import_files(store: ExpertStore, paths: Sequence[Path], actor: Actor, **options) -> ImportReport:
    _check_options(options)
    report = ImportReport()
    # One look-up index for all files: it follows what each file adds (a failed file raises and
    # aborts the run, so the index never holds rolled-back experts that later files could see).
    index = _ExpertIndex(store.iter_experts())
    for path in paths:
        try:
            report.files.append(import_file(store, path, actor, _index=index, **options))
        except InputError as exc:
            report.files.append(FileReport(file=str(path), kind=options.get("kind") or "?", error=str(exc)))
    return report
