"""The `ExpertStore` protocol: the one interface both stores implement.

The docstrings here are the specification; `tests/contract/` checks both the embedded SQLite
store and the Elasticsearch store against it. Stores hold records and rank text; they make
no policy decisions (eligibility, conflicts, roles are decided in services and domain code).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from expertpool.domain.models import (
    Affiliation,
    AuditEntry,
    Evaluation,
    Expert,
    IntegrityRecord,
    Project,
    Record,
    Relation,
    ReviewEvent,
)
from expertpool.errors import ConcurrentEdit, StoreDamaged
from expertpool.progress import Progress
from expertpool.segment import QueryTerm

RecordKind = Literal["affiliation", "relation", "history", "project", "evaluation"]

#: kind → (model class, key function). A record's key makes re-imports idempotent.
RECORD_KINDS: dict[str, tuple[type[Record], object]] = {
    "affiliation": (Affiliation, Affiliation.key),
    "relation": (Relation, Relation.key),
    "history": (ReviewEvent, ReviewEvent.key),
    "project": (Project, lambda p: p.id),
    "evaluation": (Evaluation, Evaluation.key),
}


#: Meta key of the random generation behind `ExpertStore.data_version` (written by the stores only).
DATA_GENERATION_KEY = "data_generation"


def record_key(kind: str, record: Record) -> str:
    return RECORD_KINDS[kind][1](record)  # type: ignore[operator]


_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def field_paths(fields: Sequence[str]) -> list[str]:
    """`fields` checked to be dotted names (`other.name`), for `iter_record_fields`: a store puts
    them into its query, so no other text may get there. ValueError otherwise."""
    for name in fields:
        if not _FIELD_PATH.fullmatch(name):
            raise ValueError(f"not a field path: {name!r}")
    return list(fields)


def record_expert_id(record: Record) -> str | None:
    return getattr(record, "expert_id", None)


@dataclass(frozen=True)
class SearchFilters:
    """Filters combine with AND; the values inside one filter combine with OR."""
    fields: tuple[str, ...] = ()        # expert lists any of these fields
    regions: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    honours: tuple[str, ...] = ()       # expert holds any of these honours
    institutions: tuple[str, ...] = ()  # exact institution name
    statuses: tuple[str, ...] = ()
    exclude_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SearchQuery:
    """`terms`, `grams` and `names` all empty means: every expert passing the filters, ordered by
    id, score 0.

    Otherwise an expert matches when its indexed words hold an alternative of one of `terms` or
    one of `expansion`, its indexed grams one of the bigrams of `grams` (`matching_grams`: a
    single character adds to the score of an expert matched otherwise but does not make a
    match; one shared character is no reason to list an expert), or its whole name is one of `names`.
    Results are ordered by descending score, ties broken by id; the score is the sum of the parts
    defined in `textindex` (BM25 of the words, `GRAM_WEIGHT` × BM25 of the grams, per weight of
    `expansion` that weight × BM25 of its feedback words, `NAME_SCORE` for a name).
    """
    terms: tuple[QueryTerm, ...] = ()
    filters: SearchFilters = SearchFilters()
    limit: int = 20
    offset: int = 0
    grams: tuple[str, ...] = ()   # character bigrams and characters of the query text (`segment.query_grams`)
    names: tuple[str, ...] = ()   # whole names the query may be (`textindex.name_candidates`)
    #: feedback words with their weights (`services.search.with_feedback`, which lists them best
    #: first): indexed words of the best experts for the query, each scored like a query word
    #: times its weight
    expansion: tuple[tuple[str, float], ...] = ()

    @property
    def matching_grams(self) -> list[str]:
        """The grams that make a match on their own: those of more than one character."""
        return list(dict.fromkeys(g for g in self.grams if len(g.strip()) > 1))

    def expansion_groups(self) -> list[tuple[float, list[str]]]:
        """The feedback words by weight, heaviest first (each group one BM25 part; both stores
        add the parts in this order), blank words and repeats dropped."""
        groups: dict[float, list[str]] = {}
        seen: set[str] = set()
        for word, weight in self.expansion:
            if word.strip() and word not in seen and weight > 0.0:
                seen.add(word)
                groups.setdefault(float(weight), []).append(word)
        return sorted(groups.items(), key=lambda group: -group[0])

    @property
    def ranked(self) -> bool:
        """Whether the query scores (else it lists by id)."""
        return bool(self.terms or self.grams or self.names or self.expansion)


@dataclass(frozen=True)
class SearchHit:
    expert: Expert
    score: float                 # higher is more relevant; comparable only within one result list
    matched: tuple[str, ...] = ()  # the query words (QueryTerm.word) the expert matched whole
    #: query words the expert matched only through some of their bigrams: (word, bigrams found)
    partial: tuple[tuple[str, tuple[str, ...]], ...] = ()
    name_matched: bool = False   # the query is this expert's name
    related: tuple[str, ...] = ()  # feedback words (SearchQuery.expansion) the expert holds, in their order


@dataclass(frozen=True)
class TermCounts:
    """How many experts hold each query word and bigram (the whole store, no filters)."""
    words: dict[str, int]
    grams: dict[str, int]


@dataclass(frozen=True)
class RebuildResult:
    index: str             # the index now searched (ES: the concrete index the alias points at)
    previous: str | None   # the index it replaced (deleted)
    experts: int


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "UpsertCounts") -> "UpsertCounts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True)
class AuditDraft:
    """An audit entry before the store seals it with its sequence number and hash chain."""
    at: object  # datetime
    user: str
    role: str
    action: str
    target: str | None = None
    reason: str | None = None
    before: dict | None = None
    after: dict | None = None
    records: dict[str, dict[str, str]] | None = None  # see AuditEntry.records


class ImportLease:
    """What `import_lock` yields. `check()` raises ConcurrentEdit once the lock was lost."""

    def __init__(self, description: str = ""):
        self.description = description
        self.lost = False

    def check(self) -> None:
        if self.lost:
            raise ConcurrentEdit(f"导入锁已失效（{self.description}：本进程停顿超过租期，可能已有另一个导入开始）；"
                                 "本文件未写入，请重新导入")


@runtime_checkable
class ExpertStore(Protocol):
    """Where records live and text is ranked.

    Atomicity: writes made inside `with store.batch():` are applied all-or-nothing; if the
    block raises, the store is exactly as before it (SQLite: one transaction; Elasticsearch:
    the previous versions of touched documents are restored). Writes outside a batch are
    applied one call at a time, each atomic.
    """

    backend: str
    #: True when this open created the store (its creator becomes the first administrator).
    created: bool

    def batch(self) -> AbstractContextManager[None]:
        """All writes in the block succeed together or not at all. Nested batches join the outer one."""
        ...

    def close(self) -> None: ...

    # ---- metadata (schema version, identity-key fingerprint …) ----
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def delete_meta(self, key: str) -> None:
        """Remove `key` (no error when it is absent); a failed batch puts it back."""
        ...

    def authenticated_user(self) -> str | None:
        """The user the store itself authenticated for the credentials in use (Elasticsearch with
        security on), or None where the store does not authenticate users (SQLite; a cluster
        without security)."""
        ...

    def claim_meta(self, key: str, value: str) -> bool:
        """Set `key` to `value` only if it has no value yet, atomically against every other
        connection and process: True for the one call that set it. Inside a batch that fails, a
        claim made by the batch is undone."""
        ...

    # ---- the import lock ----
    def import_lock(self, holder: str, wait: float = 600.0,
                    on_wait: Callable[[str], None] | None = None) -> AbstractContextManager["ImportLease"]:
        """Hold the store's import lock for the block: imports (every writer of experts) run one
        at a time, across connections and processes, so each reads the experts the previous one
        wrote and two lists imported at once give exactly the serial result.

        Waits (with backoff) while another holder has it, calling `on_wait(who holds it)` once;
        after `wait` seconds raises `ConcurrentEdit` naming the holder. A holder that dies releases
        it (SQLite: the OS drops its file lock; Elasticsearch: its lease, renewed while it runs,
        expires). The lease may be lost if the holder stalls past it: `ImportLease.check()` says so
        before the holder writes."""
        ...

    # ---- experts ----
    def upsert_experts(self, experts: Sequence[Expert], progress: Progress | None = None) -> UpsertCounts:
        """Insert or replace experts by id and (re)index their text. Counts by content hash."""
        ...

    def get_expert(self, expert_id: str) -> Expert | None:
        """The expert with this id, or else the one expert answering to this number (a source id
        such as the 重庆 number of a merged person, matched as `expert_ids.number_key`); None when
        no expert, or more than one, does. Commands resolve what users type with
        `services.expert_ids.resolve_expert_id`, which explains the ambiguous case."""
        ...

    def find_experts(self, keys: Sequence[str]) -> list[Expert]:
        """Every expert answering to any of `keys` (`expert_ids.expert_keys`: its id, each list's
        number, and their digits keys), in id order, each once."""
        ...

    def iter_experts(self) -> Iterator[Expert]:
        """Every expert, in id order."""
        ...

    def count_experts(self) -> int: ...

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Ranked experts for `query`; see `SearchQuery` for matching and ordering. Each hit says
        which query words it matched (whole, or partly through bigrams) and whether by name."""
        ...

    def term_counts(self, words: Sequence[str], grams: Sequence[str]) -> TermCounts:
        """Experts holding each of `words` in their indexed words and each of `grams` in their
        indexed bigrams, over the whole store; absent ones count 0."""
        ...

    def institution_names(self) -> list[str]:
        """Every distinct institution name stored on an expert, sorted (for resolving a filter on
        one legal unit to all the names it is stored under)."""
        ...

    def rank_many(self, queries: Sequence[SearchQuery], index: object | None = None) -> list[list[tuple[str, float]]]:
        """For each query, in input order, the (expert id, score) pairs `search(query)` returns:
        the same hits in the same order with the same scores (0.0 without terms).

        Cheaper than searching one query at a time: no expert documents are read or validated,
        no matched words computed, and the queries may run side by side. It reads what `search`
        would read at that moment (SQLite: inside an open batch, that batch's own writes too).
        An error in any query is raised as `search` would raise it.

        `index`: what `rank_index` returned, to rank from it while it matches the store's
        current state; one of another state (or None) is ignored. The answer is the same.
        """
        ...

    def rank_index(self, previous: object | None = None) -> object | None:
        """A picklable copy of what ranking reads, making later `rank_many(index=)` calls cheaper,
        for a caller that ranks many times on the same data and caches it with `data_version`:
        `previous` (an earlier answer, say from that cache) when it is still current, else a new
        one. None when this store has no such thing (Elasticsearch) or cannot make one now."""
        ...

    def data_version(self) -> str:
        """An opaque token for this store and the state of its data, for keying derived caches
        (the conflict graph, the expert list).

        It changes with every change to experts or records of any kind (SQLite: in the
        transaction that makes the change, once per changing batch), and after a batch that
        changed them rolls back (its writes were visible meanwhile: on Elasticsearch to everyone,
        on SQLite to threads sharing the connection). It stays the same when nothing changed:
        re-imports that change nothing, and audit, role, panel and meta writes. Integrity records
        and evaluations are left out on purpose: reviewers amend integrity records often, officers
        add evaluations after every review, reading them is cheap, and a draw reads them fresh, so
        they must not throw away the caches keyed by this token.
        Two stores never share a token. `rebuild_index` (same data, new index) may change it
        (both stores do).

        Read the token *before* the data it keys: a writer changes the token only once its
        changes are visible (Elasticsearch: after the documents are written and refreshed), so
        data read after the token is at least as new as the token, never older. A store that
        cannot vouch for its state (a write still under way, or interrupted; a store made before
        tokens existed, until its next change) returns a new token on every call: uncacheable,
        never stale.
        """
        ...

    def rebuild_index(self, progress: Progress | None = None) -> RebuildResult:
        """Rebuild the text index from the stored experts with the current segmentation, and swap
        it in atomically (searches keep working on the old index until the swap)."""
        ...

    # ---- affiliations, relations, review history, projects, evaluations ----
    def upsert_records(self, kind: RecordKind, records: Sequence[Record]) -> UpsertCounts:
        """Insert or replace records by `record_key(kind, r)`; identical content counts as unchanged."""
        ...

    def iter_records(self, kind: RecordKind, expert_id: str | None = None) -> Iterator[Record]:
        """Records of a kind in key order; with `expert_id`, only those whose expert_id matches."""
        ...

    def iter_record_fields(self, kind: RecordKind, fields: Sequence[str]) -> Iterator[tuple]:
        """For each record of `kind`, in key order, the values at `fields`: dotted paths to string
        or number values of the record as `model_dump(mode="json")` gives it (e.g. "other.name",
        "date"), so dates come as ISO strings and an absent or null value as None. For a reader of a few
        fields of every record (the pool snapshot reads 330,000 of them on 32,000 experts): the
        store validated each record when it was written, and does not build it again."""
        ...

    # ---- research-integrity records ----
    def get_integrity(self, record_id: str) -> IntegrityRecord | None:
        """The current version of a record."""
        ...

    def put_integrity(self, record: IntegrityRecord, expected_version: int | None) -> IntegrityRecord:
        """Write `record` as the next version, keeping earlier versions.

        `expected_version` is the version the caller read (None: the record must not exist yet).
        If the stored current version differs, raise `ConcurrentEdit` and write nothing. The
        stored record gets version = expected_version + 1 (or 1) and is returned.
        """
        ...

    def integrity_versions(self, record_id: str) -> list[IntegrityRecord]:
        """Every version of a record, oldest first."""
        ...

    def iter_integrity(self, expert_id: str | None = None) -> Iterator[IntegrityRecord]:
        """Current versions, by record id."""
        ...

    def iter_integrity_versions(self) -> Iterator[IntegrityRecord]:
        """Every stored version of every record, by record id then version (what
        `integrity_versions` gives for each record, in one pass: `audit verify` reads them all)."""
        ...

    # ---- audit trail (append-only, hash-chained) ----
    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        """Seal `draft` with the next sequence number and the previous entry's hash, and append it.

        Appends are serialised: two concurrent appends never share a sequence number or a
        previous hash.
        """
        ...

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Entries in the order stored (by sequence number)."""
        ...

    # ---- roles ----
    def get_roles(self) -> dict[str, set[str]]: ...
    def set_roles(self, user: str, roles: Iterable[str]) -> None: ...

    # ---- panels and review sessions ----
    def save_panel(self, panel_id: str, document: dict) -> None: ...
    def get_panel(self, panel_id: str) -> dict | None: ...

    def iter_panels(self, keys: Sequence[str] | None = None) -> Iterator[dict]:
        """Every saved panel, in id order. With `keys`, each document holds only those of its
        top-level keys (the ones it has), read without the rest: the workload ledger reads the
        members and dates of every saved panel before each draw, not their exclusion lists."""
        ...

    def save_session(self, session_id: str, document: dict) -> None: ...
    def get_session(self, session_id: str) -> dict | None: ...

    def iter_sessions(self, keys: Sequence[str] | None = None) -> Iterator[dict]:
        """Every saved review session, in id order; `keys` as for `iter_panels`."""
        ...


GENESIS_HASH = "0" * 64


def seal_audit(draft: AuditDraft, seq: int, prev_hash: str) -> AuditEntry:
    """Build the stored entry: sequence number, link to the previous entry, own hash."""
    entry = AuditEntry(seq=seq, at=draft.at, user=draft.user, role=draft.role, action=draft.action,
                       target=draft.target, reason=draft.reason, before=draft.before, after=draft.after,
                       records=draft.records, prev_hash=prev_hash, hash="")
    entry.hash = entry.compute_hash()
    return entry


ModelT = TypeVar("ModelT", bound=BaseModel)


def _damaged(table: str, key: object, why: str) -> StoreDamaged:
    return StoreDamaged(f"存储中 {table} 的记录 {key} 已损坏，无法读取（{why}）；"
                        "它在本工具之外被改动过：请从备份恢复，或重新导入该记录")


def decode_record(model: type[ModelT], raw: str | bytes | dict, *, table: str, key: object) -> ModelT:
    """A stored document (JSON text, or a parsed source) as its record. A document that is no longer
    valid JSON or no longer such a record raises StoreDamaged naming `table` and `key` (the row's
    id), at the store boundary, so no caller meets a pydantic or JSON error about stored data."""
    try:
        if isinstance(raw, (str, bytes)):
            return model.model_validate_json(raw)
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err.get("loc", ())) or "整条"
        raise _damaged(table, key, f"{where}：{err.get('type')}") from None


def decode_json(raw: str | bytes, *, table: str, key: object) -> Any:
    """A stored JSON document (panels, the audit tail) or StoreDamaged naming `table` and `key`."""
    try:
        return json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise _damaged(table, key, f"不是有效的 JSON：{exc}") from None
