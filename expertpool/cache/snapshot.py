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

Also here: `load_conflict_graph` (the graph of the store's records, which the snapshot keeps) and
`rank_index` (the store's rank index, cached beside the snapshots under the same data version).
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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from expertpool import keys
from expertpool.domain.conflicts import ConflictGraph, UnknownReference
from expertpool.domain.institutions import InstitutionTable
from expertpool.domain.models import Expert
from expertpool.errors import InputError
from expertpool.domain.taxonomy import HonourVocabulary
from expertpool.io.datafiles import default_honours_path, default_institutions_path, load_honours, load_institutions
from expertpool.stores.base import ExpertStore

#: bump when the snapshot's contents or the graph's internals change shape
SNAPSHOT_FORMAT = 6   # 5: authenticated files (main); 6: briefs carry gender and honours (quotas)
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


@dataclass
class PoolSnapshot:
    version: str
    experts: list[ExpertBrief]                # in id order
    graph: ConflictGraph
    review_days: dict[str, array]             # expert id → sorted ordinal days of past reviews
    loaded_from_cache: bool = False

    def reviews_between(self, start: dt.date, end: dt.date) -> Counter:
        """Reviews per expert with start ≤ date < end."""
        lo, hi = start.toordinal(), end.toordinal()
        counts: Counter = Counter()
        for expert_id, days in self.review_days.items():
            n = bisect_left(days, hi) - bisect_left(days, lo)
            if n:
                counts[expert_id] = n
        return counts


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


def load_conflict_graph(store: ExpertStore, institutions: InstitutionTable | None = None,
                        experts: Iterable[Expert] | None = None) -> ConflictGraph:
    """The conflict graph of everything in the store: experts, affiliations, relations, projects.
    `experts`: the store's experts when the caller has already read them (saves reading twice)."""
    table = institutions if institutions is not None else load_institutions()
    try:
        return ConflictGraph.build(
            experts if experts is not None else store.iter_experts(),
            relations=store.iter_records("relation"),
            affiliations=store.iter_records("affiliation"),
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
    for event in store.iter_records("history"):
        days.setdefault(event.expert_id, []).append(event.date.toordinal())
    honours = load_honours()
    return PoolSnapshot(version, [ExpertBrief.of(e, honours) for e in experts], graph,
                        {k: array("i", sorted(v)) for k, v in days.items()})


def _paths(version: str) -> tuple[Path, Path, str]:
    store_key = _digest(version.rsplit("#", 1)[0])[:16]
    # the honour vocabulary decides who is a high-level talent (ExpertBrief.high_level)
    tables = f"{_table_fingerprint(default_institutions_path())}|{_table_fingerprint(default_honours_path())}"
    key = _digest(f"{SNAPSHOT_FORMAT}|{version}|{tables}")[:32]
    folder = cache_dir() / "snapshots"
    return folder, folder / f"{store_key}-{key}.pickle", f"{store_key}-"


def _rank_paths(version: str) -> tuple[Path, Path, str]:
    store_key = _digest(version.rsplit("#", 1)[0])[:16]
    folder = cache_dir() / "rank-indexes"
    return folder, folder / f"{store_key}-{_digest(version)[:32]}.pickle", f"{store_key}-"


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
    """The store's rank index (`ExpertStore.rank_index`) for this data version: the cached one
    while the store finds it current, else a new one, cached in its place. None for stores
    without one."""
    folder, path, prefix = _rank_paths(version)
    cached = _load(path, "rank-index", version)
    index = store.rank_index(cached)
    if index is not None and index is not cached:
        _write(folder, path, index, prefix, "rank-index", version)
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


def pool_snapshot(store: ExpertStore, *, use_cache: bool = True) -> PoolSnapshot:
    """The snapshot of `store`'s current data, from the cache when it holds this data version."""
    # Read the version BEFORE the data: a write landing meanwhile changes the version afterwards,
    # so a snapshot can only ever be filed under an older version than the data it holds.
    version = store.data_version()
    if not use_cache:
        return build_snapshot(store, version)
    return cached_snapshot(version) or fresh_snapshot(store, version)


def _write(folder: Path, path: Path, snapshot: object, prefix: str, kind: str, version: str) -> None:
    """Write atomically (temp file + rename), tagged for `_load`, and drop this store's older
    snapshots. A cache that cannot be written (read-only home, full disk, no key) only costs
    speed, so errors are swallowed."""
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
        for stale in older[KEEP_PER_STORE - 1:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass


__all__: Sequence[str] = ("ExpertBrief", "PoolSnapshot", "build_snapshot", "cache_dir", "cached_snapshot",
                          "fresh_snapshot", "pool_snapshot", "rank_index")
