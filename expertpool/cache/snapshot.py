"""A cached snapshot of what conflict checks and panel draws read from the whole pool.

Building the conflict graph means reading every expert, affiliation, relation and project and
linking them (≈ 6 s on 32,000 experts); counting the workload cap reads 165k review-history rows.
Neither changes between two panel draws on the same data, so the snapshot is kept on disk,
keyed by the store's `data_version()` (which changes with any expert or record write), the
alias table's contents and the snapshot format. The first draw after an import pays for the
build; later draws load it.

The cache files live in the user's cache directory (`EXPERTPOOL_CACHE_DIR`, else the platform's
user cache dir). They are pickles, which run code when loaded, so each file carries an HMAC-SHA256
tag under a key kept outside the cache (`keys.CACHE_KEY`, in the user's config directory) over
its kind, data version and contents: a file someone planted or altered in the cache directory,
or copied there from another user or under another version, fails the check before anything is
unpickled, and is rebuilt. (Checking costs ≈ 20 ms per 10 MB, against ≈ 0.2 s to load.) A file
that cannot be read (truncated, older format) is rebuilt too, never trusted. Without a usable
key nothing is cached. Integrity records are NOT in the snapshot: reviewers change them often and
reading them is cheap, so callers read them fresh.

Also here: `load_conflict_graph` (the graph of the store's records, which the snapshot keeps; it
reads only the fields it needs of the 330,000 relations, affiliations and reviews of a large pool,
type-checked, instead of validating every record again), `rank_index` (the store's rank index, one
file per store that the store itself vouches for: it outlives imports that leave the experts
alone), `query_terms` (the segmented project texts of recent draws), and `prepare_pool`, which an
import calls once its writes are done, so the first draw after an import finds everything.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import pickle
import tempfile
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, NoReturn

from expertpool import chars, keys, segment
from expertpool.domain import conflicts as conflicts_package
from expertpool.domain import institutions as institutions_module
from expertpool.domain.panel import record as record_module
from expertpool.domain.conflicts import AffiliationRow, ConflictGraph, PersonRef, RelationRow, UnknownReference
from expertpool.domain.institutions import InstitutionTable
from expertpool.domain.models import RELATION_KINDS, Expert
from expertpool.domain.taxonomy import HonourVocabulary
from expertpool.errors import InputError, StoreDamaged
from expertpool.io.datafiles import default_honours_path, default_institutions_path, load_honours, load_institutions
from expertpool.progress import NullProgress, Progress
from expertpool.segment import QueryTerm
from expertpool.stores.base import ExpertStore

#: bump when the snapshot's contents or the graph's internals change shape
SNAPSHOT_FORMAT = 8   # 5: authenticated files; 6: review days packed in two arrays; 7: briefs carry gender and honours (quotas); 8: graph pairs packed, name index derived
#: first bytes of an authenticated cache file; the HMAC tag follows, then the pickle
_MAGIC = b"EXPERTPOOL-CACHE-HMAC-SHA256\n"
_TAG_BYTES = 32
#: snapshots (and rank indexes) kept per store (older data versions are deleted)
KEEP_PER_STORE = 2


class ExpertBrief(NamedTuple):
    """The part of an expert that eligibility, the solver and panel tables use (cheap to load)."""

    id: str
    name: str
    status: str
    birth_year: int | None
    region: str
    sub_region: str | None
    institution: str
    title: str
    fields: tuple[str, ...]
    high_level: bool
    gender: str | None = None
    honours: tuple[str, ...] = ()

    @classmethod
    def of(cls, e: Expert, honours: HonourVocabulary | None = None) -> "ExpertBrief":
        """`honours` decides who is a high-level talent (default: indexes/honours.toml)."""
        high_level = (honours or load_honours()).is_high_level(e.honours)
        return cls(e.id, e.name, e.status, e.birth_year, e.region, e.sub_region, e.institution, e.title,
                   tuple(e.fields), high_level, e.gender, tuple(e.honours))

    def age_on(self, day: dt.date) -> int | None:
        # the same rule as Expert.age_on: age in whole calendar years
        return None if self.birth_year is None else day.year - self.birth_year


class ReviewDays:
    """Each reviewing expert's past review days (ordinals), packed into two arrays: 32,000
    small arrays in a dict took ≈ 0.12 s to unpickle on every draw, these take milliseconds."""

    def __init__(self, by_expert: Mapping[str, Sequence[int]]):
        self.ids = list(by_expert)
        self.bounds = array("q", [0])      # expert i's days are days[bounds[i]:bounds[i + 1]]
        self.days = array("i")             # sorted within each expert
        for expert_id in self.ids:
            self.days.extend(sorted(by_expert[expert_id]))
            self.bounds.append(len(self.days))

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_index"}   # derived: not pickled

    def has(self, expert_id: str, day: int) -> bool:
        """Whether the expert has a review on ordinal `day` (the ledger's same-review check)."""
        index = self.__dict__.get("_index")
        if index is None:
            index = self._index = {expert_id: i for i, expert_id in enumerate(self.ids)}
        i = index.get(expert_id)
        if i is None:
            return False
        lo, hi = self.bounds[i], self.bounds[i + 1]
        k = bisect_left(self.days, day, lo, hi)
        return k < hi and self.days[k] == day

    def between(self, lo: int, hi: int) -> Counter:
        """Reviews per expert with lo ≤ day < hi."""
        import numpy as np

        days = np.frombuffer(self.days, dtype=np.int32) if len(self.days) else np.zeros(0, dtype=np.int32)
        inside = np.concatenate(([0], np.cumsum((days >= lo) & (days < hi), dtype=np.int64)))
        bounds = np.frombuffer(self.bounds, dtype=np.int64)
        counts = inside[bounds[1:]] - inside[bounds[:-1]]
        ids = self.ids
        return Counter({ids[i]: int(counts[i]) for i in np.flatnonzero(counts).tolist()})


@dataclass
class PoolSnapshot:
    version: str
    experts: list[ExpertBrief]                # in id order
    graph: ConflictGraph
    review_days: ReviewDays                   # (or a mapping: expert id → ordinal days of past reviews)
    loaded_from_cache: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.review_days, ReviewDays):
            self.review_days = ReviewDays(self.review_days)

    def reviews_between(self, start: dt.date, end: dt.date) -> Counter:
        """Reviews per expert with start ≤ date < end."""
        return self.review_days.between(start.toordinal(), end.toordinal())


def cache_dir() -> Path:
    configured = os.environ.get("EXPERTPOOL_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("expertpool", appauthor=False))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _table_fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "none"


_RELATION_FIELDS = ("expert_id", "other.name", "other.institution", "other.expert_id", "kind", "start_year",
                    "end_year", "note", "author_count")
_AFFILIATION_FIELDS = ("expert_id", "institution", "start_year", "end_year")


_OPTIONAL_STR, _OPTIONAL_INT = (str, type(None)), (int, type(None))
_RELATION_TYPES = (str, str, _OPTIONAL_STR, _OPTIONAL_STR, str, _OPTIONAL_INT, _OPTIONAL_INT, _OPTIONAL_STR,
                   _OPTIONAL_INT)
_AFFILIATION_TYPES = (str, str, _OPTIONAL_INT, _OPTIONAL_INT)
_KINDS = frozenset(RELATION_KINDS)


def _damaged(store: ExpertStore, kind: str) -> NoReturn:
    """A stored record of `kind` whose fields are not what its record holds (changed outside the
    tool): reading the kind as records makes the store name it (StoreDamaged, exit 5)."""
    for _ in store.iter_records(kind):  # type: ignore[arg-type]
        pass
    raise StoreDamaged(f"存储中 records（{kind}）有记录已损坏，无法读取；它在本工具之外被改动过：请从备份恢复，或重新导入")


def _relations(store: ExpertStore) -> Iterator[RelationRow]:
    # the stored fields, not the records: validating 114,000 relations again costs a second; the
    # types are still checked, so a record damaged outside the tool is named, never half-read
    for row in store.iter_record_fields("relation", _RELATION_FIELDS):
        if not all(map(isinstance, row, _RELATION_TYPES)) or row[4] not in _KINDS:
            _damaged(store, "relation")
        expert_id, name, institution, other_id, kind, start, end, note, authors = row
        yield RelationRow(expert_id, PersonRef(name, institution, other_id), kind, start, end, note, authors)


def _affiliations(store: ExpertStore) -> Iterator[AffiliationRow]:
    for row in store.iter_record_fields("affiliation", _AFFILIATION_FIELDS):
        if not all(map(isinstance, row, _AFFILIATION_TYPES)):
            _damaged(store, "affiliation")
        yield AffiliationRow(*row)


def load_conflict_graph(store: ExpertStore, institutions: InstitutionTable | None = None,
                        experts: Iterable[Expert] | None = None) -> ConflictGraph:
    """The conflict graph of everything in the store: experts, affiliations, relations, projects.
    `experts`: the store's experts when the caller has already read them (saves reading twice)."""
    table = institutions if institutions is not None else load_institutions()
    try:
        return ConflictGraph.build(
            experts if experts is not None else store.iter_experts(),
            relations=_relations(store),
            affiliations=_affiliations(store),
            projects=store.iter_records("project"),
            institutions=table,
        )
    except UnknownReference as exc:
        raise InputError(f"库中记录 {exc.record}: {exc.where} 的专家编号「{exc.value}」不在专家库中；"
                         "请重新导入该专家或删除这条记录") from None



def build_snapshot(store: ExpertStore, version: str = "") -> PoolSnapshot:
    """Read the store and build the snapshot (no cache involved)."""
    experts = list(store.iter_experts())
    graph = load_conflict_graph(store, experts=experts)
    days: dict[str, list[int]] = {}
    ordinal = {}  # 165,000 reviews fall on a few thousand days
    for expert_id, day in store.iter_record_fields("history", ("expert_id", "date")):
        number = ordinal.get(day)
        if number is None:
            try:
                number = ordinal[day] = dt.date.fromisoformat(day).toordinal()
            except (TypeError, ValueError):
                _damaged(store, "history")
        if type(expert_id) is not str:
            _damaged(store, "history")
        days.setdefault(expert_id, []).append(number)
    honours = load_honours()
    return PoolSnapshot(version, [ExpertBrief.of(e, honours) for e in experts], graph, ReviewDays(days))


def _paths(version: str) -> tuple[Path, Path, str]:
    store_key = _digest(version.rsplit("#", 1)[0])[:16]
    # the honour vocabulary decides who is a high-level talent (ExpertBrief.high_level)
    tables = f"{_table_fingerprint(default_institutions_path())}|{_table_fingerprint(default_honours_path())}"
    key = _digest(f"{SNAPSHOT_FORMAT}|{version}|{tables}")[:32]
    folder = cache_dir() / "snapshots"
    return folder, folder / f"{store_key}-{key}.pickle", f"{store_key}-"


def _rank_paths(version: str) -> tuple[Path, Path, str]:
    # One file per store, whatever the data version: the store itself says whether the index in
    # it is still current (it outlives imports that leave experts and their text alone).
    store_key = _digest(version.rsplit("#", 1)[0])[:16]
    folder = cache_dir() / "rank-indexes"
    return folder, folder / f"{store_key}-current.pickle", f"{store_key}-"


def _cache_key() -> bytes | None:
    """The key that authenticates cache files; None (cache off) when it cannot be had."""
    try:
        return keys.load_or_create_key(keys.CACHE_KEY)
    except keys.KeyUnavailable:
        return None


def _tag(key: bytes, kind: str, version: str, payload: bytes | memoryview) -> bytes:
    header = f"{kind}\x00{version}\x00".encode()
    mac = hmac.new(key, header, hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def _load(path: Path, kind: str, version: str) -> object | None:
    """The object cached in `path`, if the file is ours: its HMAC tag is checked before a single
    byte is unpickled. None for a missing, foreign, altered or damaged file."""
    key = _cache_key()
    if key is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    start = len(_MAGIC) + _TAG_BYTES
    if not data.startswith(_MAGIC) or len(data) <= start:
        return None
    payload = memoryview(data)[start:]
    if not hmac.compare_digest(data[len(_MAGIC):start], _tag(key, kind, version, payload)):
        return None
    try:
        return pickle.loads(payload)
    except Exception:  # noqa: BLE001 - authentic but unreadable (another Python, older classes): rebuild
        return None


def rank_index(store: ExpertStore, version: str) -> object | None:
    """The store's rank index (`ExpertStore.rank_index`): the cached one while the store finds it
    current, else a new one, cached in its place. None for stores without one."""
    folder, path, prefix = _rank_paths(version)
    store_id = version.rsplit("#", 1)[0]   # the file is the store's, whatever its data version
    cached = _load(path, "rank-index", store_id)
    index = store.rank_index(cached)
    if index is not None and index is not cached:
        _write(folder, path, index, prefix, "rank-index", store_id)
    return index


def cached_snapshot(version: str) -> PoolSnapshot | None:
    """The cached snapshot of this data version, if there is a good one. Touches no store, so it
    can run while another thread queries the store."""
    _, path, _ = _paths(version)
    snapshot = _load(path, "snapshot", version)
    if not isinstance(snapshot, PoolSnapshot) or snapshot.version != version:
        return None
    snapshot.loaded_from_cache = True
    return snapshot


def fresh_snapshot(store: ExpertStore, version: str) -> PoolSnapshot:
    """Build the snapshot from the store and file it under `version` (read before the data)."""
    snapshot = build_snapshot(store, version)
    folder, path, prefix = _paths(version)
    _write(folder, path, snapshot, prefix, "snapshot", version)
    return snapshot


def pool_snapshot(store: ExpertStore, *, use_cache: bool = True, progress: Progress | None = None) -> PoolSnapshot:
    """The snapshot of `store`'s current data, from the cache when it holds this data version
    (building it shows on `progress`: seconds on a large pool)."""
    # Read the version BEFORE the data: a write landing meanwhile changes the version afterwards,
    # so a snapshot can only ever be filed under an older version than the data it holds.
    version = store.data_version()
    if not use_cache:
        return build_snapshot(store, version)
    snapshot = cached_snapshot(version)
    if snapshot is None:
        progress = progress or NullProgress()
        progress.start("读取专家库并建立利益冲突图（本数据版本的首次使用）", None)
        try:
            snapshot = fresh_snapshot(store, version)
        finally:
            progress.finish()
    return snapshot


def rank_index_cached(version: str) -> bool:
    """Whether a rank index of this store is on disk (not yet whether it is current)."""
    return _rank_paths(version)[1].exists()


def prepare_pool(store: ExpertStore, progress: Progress | None = None) -> PoolSnapshot:
    """The snapshot and the rank index of the store's current data, built and cached now where
    they are not cached yet: both at once, the rank index (mostly SQLite and numpy, which release
    the GIL) on a second thread while this one reads the pool and builds the conflict graph.
    Imports call it after their last write, so the first draw after an import loads both."""
    progress = progress or NullProgress()
    version = store.data_version()
    snapshot = cached_snapshot(version)
    if snapshot is not None and rank_index_cached(version):
        return snapshot
    progress.start("为抽取准备专家库（利益冲突图、检索统计）", None)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            ranking = pool.submit(rank_index, store, version)
            if snapshot is None:
                snapshot = fresh_snapshot(store, version)
            ranking.result()
    finally:
        progress.finish()
    return snapshot


#: query texts remembered per segmenter fingerprint (a draw ranks ~20; older entries are dropped)
QUERY_TERMS_KEPT = 5000


def segmenter_fingerprint() -> str:
    """What `segment.query_terms` depends on: its code, the width folding it uses, the
    dictionaries (`indexes/dictionaries/`, the user dictionary), the synonyms, the stop words and
    the engine chosen. Any change gives a new fingerprint."""
    folder = segment.INDEXES_DIR / "dictionaries"
    dictionaries = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    parts = [Path(segment.__file__), Path(chars.__file__), *dictionaries, segment.INDEXES_DIR / "userdict.txt",
             segment.INDEXES_DIR / "synonyms.txt", segment.INDEXES_DIR / "stopwords.txt"]
    digest = hashlib.sha256(os.environ.get("EXPERTPOOL_SEGMENTER", "rjieba").encode())
    for part in parts:
        digest.update(part.name.encode() + b"\x00")
        digest.update(part.read_bytes() if part.exists() else b"-")
    return digest.hexdigest()[:32]


def query_terms(texts: Sequence[str]) -> list[list[QueryTerm]]:
    """`segment.query_terms` of each text, remembered on disk under the segmenter's fingerprint:
    loading the segmenter and its dictionary costs ≈ 0.5 s, and a draw's project texts are
    usually the same as the last draw's (another seed, a replacement, a reproduction)."""
    folder = cache_dir() / "query-terms"
    fingerprint = segmenter_fingerprint()
    path = folder / f"{fingerprint}.pickle"
    loaded = _load(path, "query-terms", fingerprint)
    memo: dict[str, list[QueryTerm]] = loaded if isinstance(loaded, dict) else {}
    missing = [text for text in dict.fromkeys(texts) if text not in memo]
    for text in missing:
        memo[text] = segment.query_terms(text)
    if missing:
        kept = dict(list(memo.items())[-QUERY_TERMS_KEPT:])  # insertion order: the newest last
        _write(folder, path, kept, "", "query-terms", fingerprint)
    return [memo[text] for text in texts]


#: results of `derived` kept per store and kind (draws of a few different project sets)
DERIVED_KEPT = 8


def _code_fingerprint(packages: Sequence[object] = ()) -> str:
    """The code that decides conflicts (the rules, the graph, legal units, the grouping of
    evidence), the alias table and the modules of `packages` (for a solver's results: its own
    package): a derived result of other code is never reused."""
    digest = hashlib.sha256(_table_fingerprint(default_institutions_path()).encode())
    files = sorted(Path(conflicts_package.__file__).parent.glob("*.py"))
    files += [Path(institutions_module.__file__), Path(record_module.__file__)]
    files += [f for package in packages for f in sorted(Path(package.__file__).parent.glob("*.py"))]  # type: ignore[attr-defined]
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class DiskMemo:
    """Values remembered on disk for one data version, one `kind`, a key (everything else the value
    depends on, as text) and the code that computes them (`packages`, beside the conflict rules);
    the last `DERIVED_KEPT` of a store per kind are kept. Also a `domain.panel.SolutionMemo`."""

    version: str
    kind: str
    packages: tuple[object, ...] = ()

    def _place(self, key: str) -> tuple[Path, Path, str, str]:
        store_key = _digest(self.version.rsplit("#", 1)[0])[:16]
        full = f"{SNAPSHOT_FORMAT}|{self.version}|{_code_fingerprint(self.packages)}|{key}"
        folder = cache_dir() / self.kind
        return folder, folder / f"{store_key}-{_digest(full)[:32]}.pickle", f"{store_key}-", full

    def recall(self, key: str) -> object | None:
        _, path, _, full = self._place(key)
        return _load(path, self.kind, full)

    def keep(self, key: str, value: object) -> None:
        folder, path, prefix, full = self._place(key)
        _write(folder, path, value, prefix, self.kind, full, keep=DERIVED_KEPT)


def derived(version: str, kind: str, key: str, make: Callable[[], object]) -> object:
    """`make()`, remembered on disk (`DiskMemo`) for this data version, `key` and the conflict
    code. For what a draw computes from the pool that is the same for every draw of the same
    projects (the conflicts)."""
    memo = DiskMemo(version, kind)
    value = memo.recall(key)
    if value is None:
        value = make()
        memo.keep(key, value)
    return value


def _write(folder: Path, path: Path, snapshot: object, prefix: str, kind: str, version: str,
           keep: int = KEEP_PER_STORE) -> None:
    """Write atomically (temp file + rename), tagged for `_load`, and drop this store's older
    files of the kind but the newest `keep` - 1. A cache that cannot be written (read-only home,
    full disk, no key) only costs speed, so errors are swallowed. Every cache file is written
    here and read by `_load`."""
    key = _cache_key()
    if key is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".partial-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_MAGIC)
                fh.write(_tag(key, kind, version, payload))
                fh.write(payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        older = sorted((p for p in folder.glob(f"{prefix}*.pickle") if p != path),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in older[keep - 1:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


__all__: Sequence[str] = ("DiskMemo", "ExpertBrief", "PoolSnapshot", "build_snapshot", "cache_dir", "cached_snapshot", "derived",
                          "fresh_snapshot", "pool_snapshot", "prepare_pool", "query_terms", "rank_index", "segmenter_fingerprint",
                          "rank_index_cached")
