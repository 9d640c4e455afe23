"""The embedded store: one SQLite file (WAL), FTS5 over pre-segmented text, ranked by bm25."""
from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.request import pathname2url

from expertpool.domain.expert_ids import expert_keys, number_key
from expertpool.domain.models import AuditEntry, Expert, IntegrityRecord, content_digest
from expertpool.errors import ConcurrentEdit, InputError, StoreFailed, StoreMissing
from expertpool.progress import NullProgress, Progress
from expertpool.stores import fts_query, fts_rank
from expertpool.stores.base import (
    DATA_GENERATION_KEY,
    GENESIS_HASH,
    RECORD_KINDS,
    AuditDraft,
    ImportLease,
    RebuildResult,
    RecordKind,
    SearchHit,
    SearchQuery,
    TermCounts,
    UpsertCounts,
    decode_json,
    decode_record,
    field_paths,
    record_expert_id,
    record_key,
    seal_audit,
)
from expertpool.stores.guard import translated
from expertpool.stores.textindex import (
    GRAM_WEIGHT,
    NAME_SCORE,
    TEXT_INDEX_VERSION,
    index_text,
    matches,
)

SCHEMA_VERSION = "1"
#: meta key of a random generation replaced with every change to experts or the text index (not
#: to other records): a rank index is a copy of those, and stays current while it holds
TEXT_GENERATION_KEY = "text_generation"
#: meta key: the `textindex.TEXT_INDEX_VERSION` the text tables were built with
TEXT_INDEX_KEY = "text_index_version"
#: the text tables (words, bigrams), in the order `fts_rank` reads them
TEXT_TABLES = ("experts_fts", "experts_grams")
_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 0'"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experts (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    region TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    institution TEXT NOT NULL,
    fields TEXT NOT NULL,
    honours TEXT NOT NULL,
    name_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS experts_region ON experts(region);
CREATE INDEX IF NOT EXISTS experts_institution ON experts(institution);
CREATE INDEX IF NOT EXISTS experts_name_key ON experts(name_key);
-- the number keys an expert answers to (domain.expert_ids.expert_keys) other than its id as stored
CREATE TABLE IF NOT EXISTS expert_keys (key TEXT NOT NULL, expert_id TEXT NOT NULL, PRIMARY KEY (key, expert_id))
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expert_keys_expert ON expert_keys(expert_id);
CREATE VIRTUAL TABLE IF NOT EXISTS experts_fts USING fts5(words, {_TOKENIZE});
CREATE VIRTUAL TABLE IF NOT EXISTS experts_grams USING fts5(grams, {_TOKENIZE});
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, key TEXT NOT NULL, expert_id TEXT, doc TEXT NOT NULL, content_hash TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS records_expert ON records(kind, expert_id);
CREATE TABLE IF NOT EXISTS integrity (
    id TEXT NOT NULL, version INTEGER NOT NULL, expert_id TEXT NOT NULL, doc TEXT NOT NULL,
    current INTEGER NOT NULL, PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS integrity_current ON integrity(current, expert_id);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roles (user TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (user, role));
CREATE TABLE IF NOT EXISTS panels (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_LIST_JSON: dict[tuple[str, ...], str] = {}


def _dumps_list(items: list[str]) -> str:
    """`_dumps` of a list of strings; the fields and honours lists repeat across experts."""
    key = tuple(items)
    text = _LIST_JSON.get(key)
    if text is None:
        text = _dumps(items)
        if len(_LIST_JSON) < 10_000:
            _LIST_JSON[key] = text
    return text


class _ExpertWrites:
    """Writes of `upsert_experts` for distinct experts, sent in bulk. Between distinct experts
    the order of writes does not matter (each touches its own rows; an alias delete only removes
    its own expert's rows), so they go table by table, deletes before inserts."""

    def __init__(self):
        self.ids: set[str] = set()
        self.inserts: list[tuple] = []
        self.updates: list[tuple] = []
        self.fts_deletes: list[tuple] = []
        self.fts_inserts: list[tuple] = []
        self.gram_inserts: list[tuple] = []
        self.key_deletes: list[tuple] = []
        self.keys: list[tuple] = []

    def flush(self, db: sqlite3.Connection) -> None:
        if self.inserts:
            db.executemany("INSERT INTO experts(n, id, doc, content_hash, region, title, status, institution, "
                           "fields, honours, name_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)", self.inserts)
        if self.updates:
            db.executemany("UPDATE experts SET id=?, doc=?, content_hash=?, region=?, title=?, status=?, "
                           "institution=?, fields=?, honours=?, name_key=? WHERE n=?", self.updates)
        if self.fts_deletes:
            db.executemany("DELETE FROM experts_fts WHERE rowid = ?", self.fts_deletes)
            db.executemany("DELETE FROM experts_grams WHERE rowid = ?", self.fts_deletes)
        if self.fts_inserts:
            db.executemany("INSERT INTO experts_fts(rowid, words) VALUES (?, ?)", self.fts_inserts)
            db.executemany("INSERT INTO experts_grams(rowid, grams) VALUES (?, ?)", self.gram_inserts)
        if self.key_deletes:
            db.executemany("DELETE FROM expert_keys WHERE expert_id = ?", self.key_deletes)
        if self.keys:
            db.executemany("INSERT OR IGNORE INTO expert_keys(key, expert_id) VALUES (?, ?)", self.keys)


def _search_sql(query: SearchQuery, select: str) -> tuple[str, list]:
    """The one SQL statement behind `search` and `rank_many`, selecting `select` (over `experts e`)
    and, when the query ranks, the score as the last column:
    `((words + GRAM_WEIGHT * grams) + weight₁ * feedback₁ + …) + name` (see `textindex`; the
    feedback groups heaviest first, `SearchQuery.expansion_groups`), each part over the experts it
    matches, among the experts the query matches (`SearchQuery`)."""
    where, params = fts_query.filter_sql(query.filters, alias="e")
    if not query.ranked:
        return (f"SELECT {select} FROM experts e WHERE {where} ORDER BY e.id LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset])
    words = fts_query.match_expression(query.terms)
    grams = fts_query.any_of(query.grams)
    expansion = [(weight, fts_query.any_of(group)) for weight, group in query.expansion_groups()]
    names = list(query.names)
    # Each part is an FTS5 match of its own (a materialised CTE); a UNION ALL of the parts grouped
    # by row gives every row's part scores in one sort. (LEFT JOINs of the parts left SQLite
    # scanning a large part once per matched row: seconds for one common character.) max() of a
    # group's one value is that value, so the score below adds exactly what `RankIndex.rank` adds.
    ctes, cte_params, source_params = [], [], []
    parts: list[str] = []  # one score column per part: w, g, x0, x1, …
    rows: list[tuple[str, str, bool]] = []  # (source, part it scores or "", does it make a match)
    if words:
        ctes.append("w AS MATERIALIZED (SELECT rowid AS n, -bm25(experts_fts) AS s FROM experts_fts "
                    "WHERE experts_fts MATCH ?)")
        cte_params.append(words)
        parts.append("w")
        rows.append(("w", "w", True))
    if grams:
        ctes.append("g AS MATERIALIZED (SELECT rowid AS n, -bm25(experts_grams) AS s FROM experts_grams "
                    "WHERE experts_grams MATCH ?)")
        cte_params.append(grams)
        parts.append("g")
        rows.append(("g", "g", False))
        matching = fts_query.any_of(query.matching_grams)
        if matching:  # single characters score, but only bigrams make a match
            rows.append(("(SELECT rowid AS n FROM experts_grams WHERE experts_grams MATCH ?)", "", True))
            source_params.append(matching)
    for i, (_, group) in enumerate(expansion):
        ctes.append(f"x{i} AS MATERIALIZED (SELECT rowid AS n, -bm25(experts_fts) AS s FROM experts_fts "
                    "WHERE experts_fts MATCH ?)")
        cte_params.append(group)
        parts.append(f"x{i}")
        rows.append((f"x{i}", f"x{i}", True))
    name_in = f"e.name_key IN ({', '.join('?' * len(names))})" if names else ""
    if names:
        rows.append((f"(SELECT n FROM experts WHERE name_key IN ({', '.join('?' * len(names))}))", "", True))
        source_params.extend(names)
    if not any(match for _, _, match in rows):  # terms were given but all are blank: nothing can match
        return (f"SELECT {select}, 0.0 FROM experts e WHERE 0 LIMIT ? OFFSET ?", [query.limit, query.offset])
    selects = []
    for source, part, match in rows:
        columns = ", ".join(f"{'s' if p == part else 'NULL'} AS {p}" for p in parts)
        selects.append(f"SELECT n, {int(match)} AS hit{', ' if parts else ''}{columns} FROM {source}")
    maxima = "".join(f", max({p}) AS {p}" for p in parts)
    ctes.append(f"m AS (SELECT n{maxima} FROM ({' UNION ALL '.join(selects)}) GROUP BY n HAVING max(hit) = 1)")
    # the same operations in the same order as fts_rank.RankIndex.rank, so the scores are equal
    score = "coalesce(m.w, 0.0)" if words else "0.0"
    if grams:
        score = f"({score} + {GRAM_WEIGHT!r} * coalesce(m.g, 0.0))"
    for i, (weight, _) in enumerate(expansion):
        score = f"({score} + {weight!r} * coalesce(m.x{i}, 0.0))"
    if names:
        score = f"({score} + (CASE WHEN {name_in} THEN {NAME_SCORE!r} ELSE 0.0 END))"
    return (f"WITH {', '.join(ctes)} SELECT {select}, {score} AS score FROM m JOIN experts e ON e.n = m.n "
            f"WHERE {where} ORDER BY score DESC, e.id LIMIT ? OFFSET ?",
            [*cte_params, *source_params, *names, *params, query.limit, query.offset])


#: SQLite's own errors (a full or read-only disk, a database locked past the timeout, a damaged
#: file) become `StoreFailed` at this boundary, as the Elasticsearch store's connection failures do
_guarded = translated(sqlite3.Error, lambda store, exc: store._failed(exc))


def _rank(db: sqlite3.Connection, query: SearchQuery) -> list[tuple[str, float]]:
    sql, params = _search_sql(query, "e.id")
    if not query.ranked:
        return [(expert_id, 0.0) for (expert_id,) in db.execute(sql, params)]
    return [(expert_id, score) for expert_id, score in db.execute(sql, params)]


def _create_private(path: Path) -> None:
    """Make the (empty) database file with mode 0600 before SQLite opens it; SQLite gives its
    -wal and -shm files the database file's mode. New parent folders are 0700."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process made it meanwhile, or it is an empty file
        pass


def _integrity(row: tuple[str, int, str]) -> IntegrityRecord:
    record_id, version, doc = row
    return decode_record(IntegrityRecord, doc, table="integrity", key=f"{record_id}（版本 {version}）")


class SQLiteStore:
    """`ExpertStore` on one SQLite file. Safe for several processes (WAL, IMMEDIATE transactions).

    Data version: a random generation in the meta table (`DATA_GENERATION_KEY`), replaced in the
    transaction of the first change to experts or records (not evaluations) of each batch, so
    it commits with the change, and replaced once more after a rollback of such a batch.
    `rebuild_index` replaces it too: the data is the same, but a `rank_index` of the old text
    index is not. A second generation (`TEXT_GENERATION_KEY`) changes only with experts and the
    text index: a rank index is keyed by it, so imports of relations, affiliations, history or
    projects leave it current.
    """

    backend = "sqlite"
    _kept: fts_rank.RankIndex | None = None  # see `rank_index`
    #: most read-only connections `rank_many` runs its queries on side by side
    RANK_WORKERS = 4
    #: experts per bulk write in `upsert_experts` (bounds memory; keeps progress moving)
    WRITE_CHUNK = 2000

    def __init__(self, path: str | Path, *, create: bool = True):
        """Open the store in `path`. A missing (or empty) file is made into a new store only when
        `create` is true (the file is made 0600: its permissions are what protects the data);
        otherwise `StoreMissing` names the path, so a mistyped path never yields an empty store."""
        self.path = Path(path)
        # Resolved once: the file this store reads, whatever the working directory becomes.
        self._file = self.path.resolve()
        self._lock = threading.RLock()  # the outermost batch owns the connection until it ends
        self.created = not self.path.exists() or self.path.stat().st_size == 0
        if self.created and not create:
            raise StoreMissing(f"{self.path}: 数据库不存在（请检查 --db 或 EXPERTPOOL_DB 的路径；"
                               "新建数据库请用 expertpool --db 路径 import --create 文件…）")
        try:
            if self.created:
                _create_private(self.path)
            # Autocommit mode: transactions are opened explicitly by `batch()`.
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                       check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=30000")
            self._enable_wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: 无法打开数据库（{exc}）") from None
        except OSError as exc:  # a path the user named that cannot hold a file: bad input, as in io.files
            raise InputError(f"{self.path}: 无法在此新建数据库（{exc.strerror or exc}）") from None
        try:
            # untranslated reads: a file that is not a database is bad input (exit 2), not a failure
            if self._read_meta("schema_version") is None or self._read_meta(DATA_GENERATION_KEY) is None:
                self._create_schema()
            version = self._read_meta("schema_version")
            if version != SCHEMA_VERSION:
                raise InputError(f"{self.path}: 数据库版本 {version} 与本程序（{SCHEMA_VERSION}）不符")
            # stores made by earlier versions: the number-key table, then the text tables
            self._add_expert_keys()
            if self.get_meta(TEXT_INDEX_KEY) != TEXT_INDEX_VERSION:
                self._upgrade_text_index()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: 不是 ExpertPool 数据库（{exc}）") from None

    def _failed(self, exc: BaseException, rolled_back: bool | None = None) -> StoreFailed:
        """Our error for SQLite's `exc`; inside a batch (which then rolls back) it says so."""
        undone = "；本次更改已回滚" if (self._depth if rolled_back is None else rolled_back) else ""
        return StoreFailed(f"{self.path}: 数据库操作失败（{exc}）{undone}")

    def _enable_wal(self) -> None:
        """Switching a new file to WAL needs it to ourselves, and SQLite may answer 'locked' at once
        instead of waiting when another process is opening the same new store: retry for a while."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _create_schema(self) -> None:
        """Create the tables in one IMMEDIATE transaction, so two processes creating the same new
        store at once do it one after the other (the second finds it done)."""
        with self.batch():
            if self.get_meta("schema_version") is not None:
                if self.get_meta(DATA_GENERATION_KEY) is None:
                    # a store made before data versions: give it one, so caches can key on it
                    self.set_meta(DATA_GENERATION_KEY, uuid.uuid4().hex)
                return
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self.set_meta("schema_version", SCHEMA_VERSION)
            self.set_meta(TEXT_INDEX_KEY, TEXT_INDEX_VERSION)
            self.set_meta(DATA_GENERATION_KEY, uuid.uuid4().hex)
            self.set_meta(TEXT_GENERATION_KEY, uuid.uuid4().hex)

    def _upgrade_text_index(self) -> None:
        """A store whose text index another version of ExpertPool built (other tables, other
        tokens): rebuild it from the stored experts, once, in one transaction (whoever opens the
        store first does it; the others find it done)."""
        with self.batch():
            if self.get_meta(TEXT_INDEX_KEY) == TEXT_INDEX_VERSION:
                return
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(experts)")}
            if "name_key" not in columns:
                self._db.execute("ALTER TABLE experts ADD COLUMN name_key TEXT NOT NULL DEFAULT ''")
                self._db.execute("CREATE INDEX IF NOT EXISTS experts_name_key ON experts(name_key)")
            self._rebuild_text_tables(NullProgress())
            self.set_meta(TEXT_INDEX_KEY, TEXT_INDEX_VERSION)

    def _add_expert_keys(self) -> None:
        """Stores made before numbers were matched by key have an alias table instead: build the
        key table from the stored experts once (in one transaction, so two openers do it once)."""
        exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'expert_keys'"
        if self._db.execute(exists).fetchone():
            return
        with self.batch():
            if self._db.execute(exists).fetchone():
                return
            self._db.execute("CREATE TABLE expert_keys (key TEXT NOT NULL, expert_id TEXT NOT NULL, "
                             "PRIMARY KEY (key, expert_id)) WITHOUT ROWID")
            self._db.execute("CREATE INDEX expert_keys_expert ON expert_keys(expert_id)")
            for expert_id, doc in self._db.execute("SELECT id, doc FROM experts").fetchall():
                expert = decode_record(Expert, doc, table="experts", key=expert_id)
                self._db.executemany("INSERT OR IGNORE INTO expert_keys(key, expert_id) VALUES (?, ?)",
                                     [(key, expert.id) for key in expert_keys(expert) if key != expert.id])
            self._db.execute("DROP TABLE IF EXISTS expert_aliases")

    # ---- the import lock ----
    @contextmanager
    def import_lock(self, holder: str, wait: float = 600.0, on_wait=None):
        """An exclusive `flock` on `<store>.import-lock` beside the store file: released by the OS
        when the holder's process ends, however it ends. The file names the current holder."""
        if str(self.path) in ("", ":memory:"):
            yield ImportLease("内存数据库")
            return
        import fcntl
        import os

        lock_path = self._file.with_name(self._file.name + ".import-lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline, delay, told = time.monotonic() + wait, 0.05, False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    who = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "另一个进程"
                    if time.monotonic() > deadline:
                        raise ConcurrentEdit(f"{self.path}: 另一个导入仍在进行（{who}），等待 {wait:.0f} 秒后仍未结束；"
                                             "请稍后再试") from None
                    if not told and on_wait is not None:
                        on_wait(who)
                        told = True
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
            description = f"{holder}，进程 {os.getpid()}，{time.strftime('%Y-%m-%d %H:%M:%S')} 起"
            os.ftruncate(fd, 0)
            os.pwrite(fd, description.encode(), 0)
            try:
                yield ImportLease(description)
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # ---- transactions ----
    _depth = 0
    _generation_replaced = False  # by the batch now open
    _text_replaced = False        # the text generation, by the batch now open

    @contextmanager
    @_guarded
    def batch(self):
        with self._lock:  # another thread sharing this connection waits instead of joining
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException as exc:
                changed, text = self._generation_replaced, self._text_replaced
                self._depth, self._generation_replaced, self._text_replaced = 0, False, False
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error as failure:  # keep the real cause in front
                        exc.add_note(f"回滚时又出错：{failure}")
                if changed:
                    # Threads sharing this connection may have read the uncommitted changes after
                    # reading the old token: retire it, so nothing cached meanwhile is used again.
                    try:
                        self.set_meta(DATA_GENERATION_KEY, uuid.uuid4().hex)
                        if text:
                            self.set_meta(TEXT_GENERATION_KEY, uuid.uuid4().hex)
                    except StoreFailed as failure:
                        exc.add_note(f"数据版本未能更新：{failure}")
                if isinstance(exc, sqlite3.Error):
                    raise self._failed(exc, rolled_back=True) from None
                raise
            else:
                self._depth, self._generation_replaced, self._text_replaced = 0, False, False
                self._db.execute("COMMIT")

    def _data_changed(self, text: bool = False) -> None:
        """Call inside the batch, before a write to experts or records (not evaluations): the new
        data generation is written in the same transaction (once per batch). `text`: the write
        changes experts or their text index, which a rank index copies: the text generation
        (`TEXT_GENERATION_KEY`) is replaced too, so record writes keep a rank index current."""
        if not self._depth:
            raise RuntimeError("a data write outside a batch would not be atomic with its new data version")
        if not self._generation_replaced:
            self.set_meta(DATA_GENERATION_KEY, uuid.uuid4().hex)
            self._generation_replaced = True
        if text and not self._text_replaced:
            self.set_meta(TEXT_GENERATION_KEY, uuid.uuid4().hex)
            self._text_replaced = True

    @_guarded
    def data_version(self) -> str:
        generation = self.get_meta(DATA_GENERATION_KEY)
        if generation is None:  # only if someone deleted it: then nothing may be cached
            generation = f"unsettled-{uuid.uuid4().hex}"
        return f"sqlite:{self._file}#{generation}"

    @_guarded
    def close(self) -> None:
        self._db.close()

    # ---- meta ----
    @_guarded
    def get_meta(self, key: str) -> str | None:
        return self._read_meta(key)

    def _read_meta(self, key: str) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:
            return None  # meta table not created yet
        return row[0] if row else None

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @_guarded
    def claim_meta(self, key: str, value: str) -> bool:
        return self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, value)).rowcount == 1

    def authenticated_user(self) -> None:
        """SQLite authenticates nobody: whoever can open the file is trusted."""
        return None

    @_guarded
    def delete_meta(self, key: str) -> None:
        self._db.execute("DELETE FROM meta WHERE key = ?", (key,))

    # ---- experts ----
    @_guarded
    def upsert_experts(self, experts: Sequence[Expert], progress: Progress | None = None) -> UpsertCounts:
        progress = progress or NullProgress()
        counts = UpsertCounts()
        existing = {row[0]: (row[1], row[2]) for row in
                    self._db.execute("SELECT id, n, content_hash FROM experts")}
        progress.start("写入专家库", len(experts))
        with self.batch():
            next_n = self._db.execute("SELECT coalesce(max(n), 0) + 1 FROM experts").fetchone()[0]
            pending = _ExpertWrites()
            for expert in experts:
                doc = expert.model_dump_json()
                digest = content_digest(doc)  # == expert.content_hash(), from the JSON we store anyway
                found = existing.get(expert.id)
                if found and found[1] == digest:
                    counts.unchanged += 1
                    progress.advance()
                    continue
                self._data_changed(text=True)
                if expert.id in pending.ids or len(pending.ids) >= self.WRITE_CHUNK:
                    # The same id twice in one call: write what came before first, so this
                    # occurrence sees it, exactly as one-by-one writes would.
                    pending.flush(self._db)
                    pending = _ExpertWrites()
                text = index_text(expert)
                values = (expert.id, doc, digest, expert.region, expert.title, expert.status,
                          expert.institution, _dumps_list(expert.fields), _dumps_list(expert.honours), text.name)
                if found:
                    n = found[0]
                    pending.updates.append((*values, n))
                    pending.fts_deletes.append((n,))
                    pending.key_deletes.append((expert.id,))
                    counts.updated += 1
                else:
                    # The rowid SQLite would pick (max(n) + 1, as n is not AUTOINCREMENT), given
                    # up front so the rows can go in bulk.
                    n, next_n = next_n, next_n + 1
                    pending.inserts.append((n, *values))
                    existing[expert.id] = (n, digest)
                    counts.inserted += 1
                pending.ids.add(expert.id)
                pending.fts_inserts.append((n, text.words))
                pending.gram_inserts.append((n, text.grams))
                pending.keys.extend((key, expert.id) for key in expert_keys(expert) if key != expert.id)
                progress.advance()
            pending.flush(self._db)
        progress.finish()
        return counts

    @_guarded
    def rebuild_index(self, progress: Progress | None = None) -> RebuildResult:
        """Re-segment every expert into fresh text tables (after a dictionary or synonym change) and
        swap them in within one transaction, so readers see the old index until the commit."""
        progress = progress or NullProgress()
        total = self.count_experts()
        with self.batch():
            self._rebuild_text_tables(progress)
        return RebuildResult(index="experts_fts", previous="experts_fts", experts=total)

    def _rebuild_text_tables(self, progress: Progress) -> None:
        """Inside a batch: new text tables from the stored experts, swapped in for the old ones."""
        progress.start("重建检索索引", self.count_experts())
        self._data_changed(text=True)  # rankings (and rank indexes) of the old index are stale
        for table, column in zip(TEXT_TABLES, ("words", "grams")):
            self._db.execute(f"DROP TABLE IF EXISTS {table}_new")
            self._db.execute(f"CREATE VIRTUAL TABLE {table}_new USING fts5({column}, {_TOKENIZE})")
        names = []
        for n, expert_id, doc in self._db.execute("SELECT n, id, doc FROM experts ORDER BY n").fetchall():
            text = index_text(decode_record(Expert, doc, table="experts", key=expert_id))
            self._db.execute("INSERT INTO experts_fts_new(rowid, words) VALUES (?, ?)", (n, text.words))
            self._db.execute("INSERT INTO experts_grams_new(rowid, grams) VALUES (?, ?)", (n, text.grams))
            names.append((text.name, n))
            progress.advance()
        self._db.executemany("UPDATE experts SET name_key = ? WHERE n = ?", names)
        for table in TEXT_TABLES:
            self._db.execute(f"DROP TABLE IF EXISTS {table}")
            self._db.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
        progress.finish()

    @_guarded
    def get_expert(self, expert_id: str) -> Expert | None:
        row = self._db.execute("SELECT id, doc FROM experts WHERE id = ?", (expert_id,)).fetchone()
        if row is None:
            found = self.find_experts([number_key(expert_id)])
            return found[0] if len(found) == 1 else None
        return decode_record(Expert, row[1], table="experts", key=row[0])

    @_guarded
    def find_experts(self, keys: Sequence[str]) -> list[Expert]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        # a key equal to the id itself is not in expert_keys: the id's own index finds it
        rows = self._db.execute(
            f"SELECT id, doc FROM experts WHERE id IN ({marks}) OR id IN "
            f"(SELECT expert_id FROM expert_keys WHERE key IN ({marks})) ORDER BY id", keys + keys).fetchall()
        return [decode_record(Expert, doc, table="experts", key=expert_id) for expert_id, doc in rows]

    @_guarded
    def iter_experts(self) -> Iterator[Expert]:
        for expert_id, doc in self._db.execute("SELECT id, doc FROM experts ORDER BY id"):
            yield decode_record(Expert, doc, table="experts", key=expert_id)

    @_guarded
    def count_experts(self) -> int:
        return self._db.execute("SELECT count(*) FROM experts").fetchone()[0]

    @_guarded
    def search(self, query: SearchQuery) -> list[SearchHit]:
        if not query.ranked:
            sql, params = _search_sql(query, "e.id, e.doc")
            return [SearchHit(decode_record(Expert, doc, table="experts", key=expert_id), 0.0, ())
                    for expert_id, doc in self._db.execute(sql, params).fetchall()]
        ranked = self._kept.rank(query) if self._current(self._kept) else None  # type: ignore[union-attr]
        if ranked is not None:
            rows = self._rows(ranked)
        else:
            sql, params = _search_sql(query, "e.n, e.id, e.doc, e.name_key")
            rows = self._db.execute(sql, params).fetchall()
        texts = self._texts([n for n, *_ in rows])
        hits = []
        for n, expert_id, doc, name, score in rows:
            words, grams = texts.get(n, ("", ""))
            found = matches(query.terms, words, grams, name in query.names, query.expansion)
            hits.append(SearchHit(decode_record(Expert, doc, table="experts", key=expert_id), score,
                                  found.words, found.partial, found.name, found.related))
        return hits

    def _rows(self, ranked: list[tuple[str, float]]) -> list[tuple[int, str, str, str, float]]:
        """(n, id, doc, name_key, score) of ranked experts, in their order."""
        found: dict[str, tuple] = {}
        ids = [expert_id for expert_id, _ in ranked]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in self._db.execute(f"SELECT id, n, doc, name_key FROM experts WHERE id IN ({', '.join('?' * len(chunk))})",
                                        chunk):
                found[row[0]] = row[1:]
        return [(found[expert_id][0], expert_id, *found[expert_id][1:], score) for expert_id, score in ranked]

    def _texts(self, rows: list[int]) -> dict[int, tuple[str, str]]:
        """The indexed words and bigrams of these rows (for the matched words of a page of hits),
        read from the FTS5 tables' content tables (an IN over an FTS5 table's rowid scans it)."""
        words: dict[int, str] = {}
        grams: dict[int, str] = {}
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            words.update(self._db.execute(f"SELECT id, c0 FROM experts_fts_content WHERE id IN ({marks})", chunk))
            grams.update(self._db.execute(f"SELECT id, c0 FROM experts_grams_content WHERE id IN ({marks})", chunk))
        return {n: (words.get(n) or "", grams.get(n) or "") for n in rows}

    @_guarded
    def term_counts(self, words: Sequence[str], grams: Sequence[str]) -> TermCounts:
        return TermCounts(self._counts("experts_fts", words), self._counts("experts_grams", grams))

    def _counts(self, table: str, tokens: Sequence[str]) -> dict[str, int]:
        tokens = list(dict.fromkeys(t for t in tokens if t.strip()))
        counts = dict.fromkeys(tokens, 0)
        plain = [t for t in tokens if fts_rank.is_plain(t)]
        kept = self._kept if self._current(self._kept) else None
        if plain and kept is not None:  # the rank index knows how many rows hold each plain word
            postings = kept.words if table == "experts_fts" else kept.grams
            counts.update({t: postings.rows_holding(t) for t in plain})
        elif plain:
            self._db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_row USING fts5vocab(main, {table}, row)")
            for term in plain:  # one lookup each: fts5vocab answers term = ? without a scan
                row = self._db.execute(f"SELECT doc FROM temp.{table}_row WHERE term = ?", (term,)).fetchone()
                counts[term] = row[0] if row else 0
        for token in tokens:
            if not fts_rank.is_plain(token):  # FTS5 splits or folds it: count the rows matching it
                counts[token] = self._db.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?",
                                                 (fts_query.quote(token),)).fetchone()[0]
        return counts

    @_guarded
    def institution_names(self) -> list[str]:
        return [name for (name,) in self._db.execute("SELECT DISTINCT institution FROM experts ORDER BY institution")]

    @_guarded
    def rank_many(self, queries: Sequence[SearchQuery],
                  index: fts_rank.RankIndex | None = None) -> list[list[tuple[str, float]]]:
        """With an `index` of this store's current committed state (see `rank_index`) the queries
        it can answer are scored from it, outside any batch; the others go to SQL."""
        queries = list(queries)
        answers: list[list[tuple[str, float]] | None] = [None] * len(queries)
        if self._current(index):
            answers = [index.rank(q) for q in queries]  # type: ignore[union-attr]
        todo = [i for i, answer in enumerate(answers) if answer is None]
        for i, ranked in zip(todo, self._rank_sql([queries[i] for i in todo])):
            answers[i] = ranked
        return answers  # type: ignore[return-value]

    def _rank_sql(self, queries: list[SearchQuery]) -> list[list[tuple[str, float]]]:
        """The queries run side by side, each on a read-only connection of its worker (sqlite3
        releases the GIL while SQLite works). Those connections see committed data only, so
        while a batch is open on this store the queries run here, one by one, like `search`."""
        workers = min(self.RANK_WORKERS, len(queries))
        readers = self._open_readers(workers) if workers > 1 and not self._depth else []
        if not readers:
            return [_rank(self._db, q) for q in queries]
        idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for reader in readers:
            idle.put(reader)

        def run(query: SearchQuery) -> list[tuple[str, float]]:
            db = idle.get()
            try:
                return _rank(db, query)
            finally:
                idle.put(db)

        try:
            with ThreadPoolExecutor(max_workers=len(readers)) as pool:
                return list(pool.map(run, queries))  # in input order
        finally:
            for reader in readers:
                reader.close()

    @_guarded
    def rank_index(self, previous: object | None = None) -> fts_rank.RankIndex | None:
        """A copy of what bm25 reads from the text index, for `rank_many(index=)`: rankings from
        it cost milliseconds and score exactly as SQLite does. Worth building (≈ 2 s on 32,000
        experts) when many rankings will run on the same data; callers cache it with
        `data_version`. `previous` is returned as it is while it is still current. None inside an
        open batch, or when the copy cannot vouch for equal scores.

        The store keeps the last index it returned: while it is current, `search` ranks from it
        too (a long-running process searching the same data pays the copy once; a one-off search
        runs in SQL)."""
        if self._current(previous):
            self._kept = previous
            return previous  # type: ignore[return-value]
        readers = self._open_readers(1)
        if readers:
            db, lock = readers[0], contextlib.nullcontext()
        elif self._depth:
            return None
        else:
            db, lock = self._db, self._lock
        try:
            with lock:
                db.execute("BEGIN")  # one read transaction: every table as of one moment
                try:
                    index = fts_rank.build(db, TEXT_TABLES, [TEXT_GENERATION_KEY], lambda q: _rank(db, q))
                finally:
                    db.execute("COMMIT")
            if index is not None:
                self._kept = index  # `search` and `term_counts` use it too while it is current
            return index
        finally:
            for reader in readers:
                reader.close()

    @staticmethod
    def _rank_key(db: sqlite3.Connection) -> str:
        return fts_rank.store_key(db, TEXT_TABLES, [TEXT_GENERATION_KEY])

    def _current(self, index: object | None) -> bool:
        """Whether `index` was copied from this store's committed state as it is now (outside a
        batch: inside one, this connection also sees the batch's uncommitted writes)."""
        return (isinstance(index, fts_rank.RankIndex) and not self._depth
                and index.key == self._rank_key(self._db))

    def _open_readers(self, n: int) -> list[sqlite3.Connection]:
        """`n` read-only connections to this store's file; none when it has no file a second
        connection can open (an in-memory database) or they cannot read it."""
        if str(self.path) in ("", ":memory:"):
            return []
        uri = f"file:{pathname2url(str(self._file))}?mode=ro"
        readers: list[sqlite3.Connection] = []
        try:
            for _ in range(n):
                readers.append(sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False))
                readers[-1].execute("SELECT 1 FROM experts LIMIT 1").fetchall()
        except sqlite3.Error:
            for reader in readers:
                reader.close()
            return []
        return readers

    # ---- generic records ----
    @_guarded
    def upsert_records(self, kind: RecordKind, records: Sequence) -> UpsertCounts:
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        counts = UpsertCounts()
        with self.batch():
            for record in records:
                key = record_key(kind, record)
                digest = record.content_hash()
                row = self._db.execute("SELECT content_hash FROM records WHERE kind = ? AND key = ?",
                                       (kind, key)).fetchone()
                if row and row[0] == digest:
                    counts.unchanged += 1
                    continue
                if kind != "evaluation":  # read fresh by draws, like integrity (see data_version)
                    self._data_changed()
                self._db.execute(
                    "INSERT OR REPLACE INTO records(kind, key, expert_id, doc, content_hash) VALUES (?,?,?,?,?)",
                    (kind, key, record_expert_id(record), record.model_dump_json(), digest))
                if row:
                    counts.updated += 1
                else:
                    counts.inserted += 1
        return counts

    @_guarded
    def iter_records(self, kind: RecordKind, expert_id: str | None = None) -> Iterator:
        model = RECORD_KINDS[kind][0]
        if expert_id is None:
            cur = self._db.execute("SELECT key, doc FROM records WHERE kind = ? ORDER BY key", (kind,))
        else:
            cur = self._db.execute("SELECT key, doc FROM records WHERE kind = ? AND expert_id = ? ORDER BY key",
                                   (kind, expert_id))
        for key, doc in cur:
            yield decode_record(model, doc, table=f"records（{kind}）", key=key)

    @_guarded
    def iter_record_fields(self, kind: RecordKind, fields: Sequence[str]) -> Iterator[tuple]:
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        # the JSON paths become SQL string literals: `field_paths` lets only dotted names through
        columns = ", ".join(f"doc ->> '$.{name}'" for name in field_paths(fields))
        try:
            yield from self._db.execute(f"SELECT {columns} FROM records WHERE kind = ? ORDER BY key", (kind,))
        except sqlite3.OperationalError as exc:
            if "JSON" not in str(exc):
                raise
            # a document that is no longer JSON: reading the records names it (StoreDamaged)
            for _ in self.iter_records(kind):
                pass
            raise

    # ---- integrity ----
    @_guarded
    def get_integrity(self, record_id: str) -> IntegrityRecord | None:
        row = self._db.execute("SELECT id, version, doc FROM integrity WHERE id = ? AND current = 1",
                               (record_id,)).fetchone()
        return _integrity(row) if row else None

    @_guarded
    def put_integrity(self, record: IntegrityRecord, expected_version: int | None) -> IntegrityRecord:
        with self.batch():
            row = self._db.execute("SELECT version FROM integrity WHERE id = ? AND current = 1",
                                   (record.id,)).fetchone()
            current = row[0] if row else None
            if current != expected_version:
                if expected_version is None:
                    raise ConcurrentEdit(f"诚信记录 {record.id} 已存在（版本 {current}）")
                raise ConcurrentEdit(
                    f"诚信记录 {record.id} 已被他人修改（读取时为版本 {expected_version}，现为版本 {current}）；"
                    "请重新读取后再修改")
            stored = record.model_copy(update={"version": (expected_version or 0) + 1})
            self._db.execute("UPDATE integrity SET current = 0 WHERE id = ?", (record.id,))
            self._db.execute("INSERT INTO integrity(id, version, expert_id, doc, current) VALUES (?,?,?,?,1)",
                             (stored.id, stored.version, stored.expert_id, stored.model_dump_json()))
        return stored

    @_guarded
    def integrity_versions(self, record_id: str) -> list[IntegrityRecord]:
        rows = self._db.execute("SELECT id, version, doc FROM integrity WHERE id = ? ORDER BY version", (record_id,))
        return [_integrity(row) for row in rows]

    @_guarded
    def iter_integrity(self, expert_id: str | None = None) -> Iterator[IntegrityRecord]:
        if expert_id is None:
            cur = self._db.execute("SELECT id, version, doc FROM integrity WHERE current = 1 ORDER BY id")
        else:
            cur = self._db.execute("SELECT id, version, doc FROM integrity WHERE current = 1 AND expert_id = ? "
                                   "ORDER BY id", (expert_id,))
        for row in cur:
            yield _integrity(row)

    def iter_integrity_versions(self) -> Iterator[IntegrityRecord]:
        for row in self._db.execute("SELECT id, version, doc FROM integrity ORDER BY id, version"):
            yield _integrity(row)

    # ---- audit ----
    @_guarded
    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        with self.batch():
            row = self._db.execute("SELECT seq, doc FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            if row:
                tail = decode_record(AuditEntry, row[1], table="audit", key=f"第 {row[0]} 条")
                seq, prev_hash = row[0] + 1, tail.hash
            else:
                seq, prev_hash = 1, GENESIS_HASH
            entry = seal_audit(draft, seq, prev_hash)
            self._db.execute("INSERT INTO audit(seq, doc) VALUES (?, ?)", (seq, entry.model_dump_json()))
        return entry

    @_guarded
    def iter_audit(self) -> Iterator[AuditEntry]:
        for seq, doc in self._db.execute("SELECT seq, doc FROM audit ORDER BY seq"):
            yield decode_record(AuditEntry, doc, table="audit", key=f"第 {seq} 条")

    # ---- roles ----
    @_guarded
    def get_roles(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for user, role in self._db.execute("SELECT user, role FROM roles ORDER BY user, role"):
            out.setdefault(user, set()).add(role)
        return out

    @_guarded
    def set_roles(self, user: str, roles: Iterable[str]) -> None:
        with self.batch():
            self._db.execute("DELETE FROM roles WHERE user = ?", (user,))
            self._db.executemany("INSERT INTO roles(user, role) VALUES (?, ?)", [(user, r) for r in roles])

    # ---- panels ----
    @_guarded
    def save_panel(self, panel_id: str, document: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO panels(id, doc) VALUES (?, ?)", (panel_id, _dumps(document)))

    @_guarded
    def get_panel(self, panel_id: str) -> dict | None:
        row = self._db.execute("SELECT id, doc FROM panels WHERE id = ?", (panel_id,)).fetchone()
        return decode_json(row[1], table="panels", key=row[0]) if row else None

    @_guarded
    def iter_panels(self, keys: Sequence[str] | None = None) -> Iterator[dict]:
        yield from self._iter_documents("panels", keys)

    # ---- review sessions ----
    @_guarded
    def save_session(self, session_id: str, document: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO sessions(id, doc) VALUES (?, ?)", (session_id, _dumps(document)))

    @_guarded
    def get_session(self, session_id: str) -> dict | None:
        row = self._db.execute("SELECT id, doc FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return decode_json(row[1], table="sessions", key=row[0]) if row else None

    @_guarded
    def iter_sessions(self, keys: Sequence[str] | None = None) -> Iterator[dict]:
        yield from self._iter_documents("sessions", keys)

    def _iter_documents(self, table: str, keys: Sequence[str] | None) -> Iterator[dict]:
        """The documents of `table` in id order; with `keys`, only those top-level keys, which
        SQLite's JSON functions pick out without handing the rest to Python."""
        if keys is None:
            for key, doc in self._db.execute(f"SELECT id, doc FROM {table} ORDER BY id"):
                yield decode_json(doc, table=table, key=key)
            return
        picks = ", ".join("?, json_extract(doc, ?)" for _ in keys)
        params = [x for key in keys for x in (key, "$." + json.dumps(key, ensure_ascii=False))]
        # a damaged document comes back whole, for decode_json to name it
        sql = (f"SELECT id, json_valid(doc), CASE WHEN json_valid(doc) THEN json_object({picks}) ELSE doc END "
               f"FROM {table} ORDER BY id")
        for key, valid, doc in self._db.execute(sql, params):
            picked = decode_json(doc, table=table, key=key)
            if valid:
                yield {k: v for k, v in picked.items() if v is not None}
