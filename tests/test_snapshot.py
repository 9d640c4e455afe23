"""The cached pool snapshot: reused while the data is unchanged, rebuilt as soon as it changes."""
from __future__ import annotations

import datetime as dt
import random

from hypothesis import given, settings, strategies as st

from expertpool.io.datafiles import load_honours
from expertpool.domain.models import Relation, ReviewEvent
from expertpool.cache import snapshot as snap
from expertpool.cache.snapshot import ExpertBrief, pool_snapshot
from tests.factories import make_expert


def _seed(store):
    store.upsert_experts([make_expert("SC-000001", name="张伟", institution="四川大学"),
                          make_expert("SC-000002", name="王芳", institution="四川大学"),
                          make_expert("CQ-000003", name="李娜", region="重庆", sub_region=None,
                                      institution="重庆大学")])


def _family(a: str, b: str) -> Relation:
    return Relation.model_validate({"expert_id": a, "other": {"name": "某人", "expert_id": b}, "kind": "亲属"})


def test_second_load_comes_from_the_cache_with_the_same_content(store):
    _seed(store)
    first = pool_snapshot(store)
    second = pool_snapshot(store)
    assert not first.loaded_from_cache and second.loaded_from_cache
    assert second.experts == first.experts
    assert [e.id for e in second.experts] == ["CQ-000003", "SC-000001", "SC-000002"]


def test_an_expert_write_invalidates_the_cache(store):
    _seed(store)
    pool_snapshot(store)
    store.upsert_experts([make_expert("SC-000009", name="赵强", institution="电子科技大学")])
    fresh = pool_snapshot(store)
    assert not fresh.loaded_from_cache
    assert "SC-000009" in {e.id for e in fresh.experts}


def test_a_new_relation_reaches_the_cached_graph(store):
    _seed(store)
    from expertpool.services.conflicts import panel_exclusions

    def pairs(graph):
        return {tuple(sorted(p)) for p in panel_exclusions(graph, [], "2026-12-01").forbidden_pairs}

    assert ("CQ-000003", "SC-000001") not in pairs(pool_snapshot(store).graph)
    store.upsert_records("relation", [_family("SC-000001", "CQ-000003")])
    after = pool_snapshot(store)
    assert not after.loaded_from_cache
    assert ("CQ-000003", "SC-000001") in pairs(after.graph)


def test_a_no_op_rewrite_keeps_the_cache(store):
    _seed(store)
    pool_snapshot(store)
    store.upsert_experts([make_expert("SC-000001", name="张伟", institution="四川大学")])
    assert pool_snapshot(store).loaded_from_cache


def test_a_damaged_cache_file_is_rebuilt_not_trusted(store):
    _seed(store)
    pool_snapshot(store)
    files = list((snap.cache_dir() / "snapshots").glob("*.pickle"))
    assert files
    for path in files:
        path.write_bytes(b"not a pickle")
    again = pool_snapshot(store)
    assert not again.loaded_from_cache and len(again.experts) == 3
    assert pool_snapshot(store).loaded_from_cache  # and the rebuilt file is good


def test_two_stores_never_share_a_snapshot(tmp_path):
    from expertpool.stores.sqlite import SQLiteStore

    a, b = SQLiteStore(tmp_path / "a.sqlite3"), SQLiteStore(tmp_path / "b.sqlite3")
    try:
        a.upsert_experts([make_expert("SC-000001")])
        b.upsert_experts([make_expert("SC-000002")])
        assert [e.id for e in pool_snapshot(a).experts] == ["SC-000001"]
        assert [e.id for e in pool_snapshot(b).experts] == ["SC-000002"]
    finally:
        a.close()
        b.close()


def test_brief_keeps_what_eligibility_reads():
    expert = make_expert("SC-000001", birth_year=1960, honours=["长江学者"])
    brief = ExpertBrief.of(expert)
    day = dt.date(2026, 12, 1)
    assert brief.age_on(day) == expert.age_on(day) == 66
    assert brief.high_level == load_honours().is_high_level(expert.honours) is True
    assert (brief.status, brief.institution, brief.fields) == (expert.status, expert.institution, tuple(expert.fields))


@settings(max_examples=60, deadline=None)
@given(days=st.lists(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)), max_size=30),
       start=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)), span=st.integers(0, 800))
def test_review_counts_match_a_direct_count(days, start, span):
    rng = random.Random(len(days))
    events = [(rng.choice(["SC-000001", "SC-000002"]), d) for d in days]
    review_days = {}
    for expert_id, d in events:
        review_days.setdefault(expert_id, []).append(d.toordinal())
    from array import array

    snapshot = snap.PoolSnapshot("v", [], None, {k: array("i", sorted(v)) for k, v in review_days.items()})
    end = start + dt.timedelta(days=span)
    expected: dict[str, int] = {}
    for expert_id, d in events:
        if start <= d < end:
            expected[expert_id] = expected.get(expert_id, 0) + 1
    assert dict(snapshot.reviews_between(start, end)) == expected


def test_history_rows_become_review_days(store):
    _seed(store)
    store.upsert_records("history", [ReviewEvent(expert_id="SC-000001", activity="项目评审", date=dt.date(2026, 3, 1)),
                                     ReviewEvent(expert_id="SC-000001", activity="奖励评审", date=dt.date(2025, 3, 1))])
    counts = pool_snapshot(store).reviews_between(dt.date(2025, 12, 1), dt.date(2026, 12, 1))
    assert counts == {"SC-000001": 1}


def _counting_builds(monkeypatch) -> list:
    from expertpool.stores import fts_rank

    calls: list = []
    build = fts_rank.build
    monkeypatch.setattr(fts_rank, "build", lambda *a, **kw: calls.append(1) or build(*a, **kw))
    return calls


def test_the_rank_index_is_built_once_per_data_version(store, monkeypatch):
    _seed(store)
    builds = _counting_builds(monkeypatch)
    first = snap.rank_index(store, store.data_version())
    again = snap.rank_index(store, store.data_version())
    assert len(builds) == 1 and again.key == first.key
    store.upsert_experts([make_expert("SC-000009", name="赵强", institution="电子科技大学")])
    fresh = snap.rank_index(store, store.data_version())
    assert len(builds) == 2 and fresh.key != first.key


def test_a_cached_rank_index_the_store_finds_stale_is_replaced(store, monkeypatch):
    _seed(store)
    old_version = store.data_version()
    snap.rank_index(store, old_version)
    store.rebuild_index()
    # as if the old copy had been filed under the new version
    _, old_path, _ = snap._rank_paths(old_version)
    _, new_path, _ = snap._rank_paths(store.data_version())
    new_path.write_bytes(old_path.read_bytes())
    builds = _counting_builds(monkeypatch)
    index = snap.rank_index(store, store.data_version())
    assert len(builds) == 1 and store.rank_index(index) is index
    assert snap.rank_index(store, store.data_version()).key == index.key and len(builds) == 1


def test_a_damaged_rank_index_file_is_rebuilt_not_trusted(store, monkeypatch):
    _seed(store)
    snap.rank_index(store, store.data_version())
    files = list((snap.cache_dir() / "rank-indexes").glob("*.pickle"))
    assert files
    for path in files:
        path.write_bytes(b"not a pickle")
    builds = _counting_builds(monkeypatch)
    assert snap.rank_index(store, store.data_version()) is not None and len(builds) == 1



def test_a_cached_rank_index_of_an_older_format_is_rebuilt_never_used(store, monkeypatch):
    """A rank index another version of the code cached (its key names `fts_rank.FORMAT`) is
    authentic but not current: it is rebuilt and replaced, not misread."""
    import dataclasses

    from expertpool.stores import fts_rank

    _seed(store)
    version = store.data_version()
    index = snap.rank_index(store, version)
    older = dataclasses.replace(index, key=index.key.replace(f"format {fts_rank.FORMAT}|",
                                                             f"format {fts_rank.FORMAT - 1}|", 1))
    assert older.key != index.key
    folder, path, prefix = snap._rank_paths(version)
    snap._write(folder, path, older, prefix, "rank-index", version.rsplit("#", 1)[0])
    builds = _counting_builds(monkeypatch)
    fresh = snap.rank_index(store, version)
    assert len(builds) == 1 and fresh.key == index.key and store.rank_index(fresh) is fresh
    assert snap.rank_index(store, version).key == index.key and len(builds) == 1  # the file was replaced

# ---- files planted in the cache directory never run ----
class _Planted:
    """A pickle that, when loaded, runs code: here it only writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def _plant(path, marker) -> None:
    import pickle

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(_Planted(marker)))


def test_a_planted_pickle_is_never_executed_and_is_replaced(store, tmp_path):
    _seed(store)
    version = store.data_version()
    marker = tmp_path / "planted-code-ran"
    _, snapshot_path, _ = snap._paths(version)
    _, rank_path, _ = snap._rank_paths(version)
    _plant(snapshot_path, marker)
    _plant(rank_path, marker)
    built = pool_snapshot(store)
    snap.rank_index(store, version)
    assert not marker.exists()
    assert not built.loaded_from_cache and len(built.experts) == 3
    assert pool_snapshot(store).loaded_from_cache  # the planted files were replaced by good ones
    assert not snapshot_path.read_bytes().startswith(b"\x80")  # no longer a bare pickle


def test_a_cache_file_altered_or_made_with_another_key_is_rejected(store, monkeypatch, tmp_path):
    _seed(store)
    version = store.data_version()
    pool_snapshot(store)
    _, path, _ = snap._paths(version)
    good = path.read_bytes()
    altered = bytearray(good)
    altered[-10] ^= 0x01
    path.write_bytes(bytes(altered))
    assert snap.cached_snapshot(version) is None
    path.write_bytes(good)
    assert snap.cached_snapshot(version) is not None
    # someone else's cache (another user's key) copied in: rejected as well
    monkeypatch.setenv("EXPERTPOOL_KEY_DIR", str(tmp_path / "other-user-keys"))
    assert snap.cached_snapshot(version) is None
    # and with no usable key at all nothing is read or written
    monkeypatch.setenv("EXPERTPOOL_CACHE_KEY", "not hex")
    assert snap.cached_snapshot(version) is None
    assert not pool_snapshot(store).loaded_from_cache and not pool_snapshot(store).loaded_from_cache


def test_a_good_file_filed_under_another_version_is_rejected(store):
    _seed(store)
    old = store.data_version()
    pool_snapshot(store)
    store.upsert_experts([make_expert("SC-000009", name="赵强", institution="电子科技大学")])
    new = store.data_version()
    _, old_path, _ = snap._paths(old)
    _, new_path, _ = snap._paths(new)
    new_path.write_bytes(old_path.read_bytes())
    assert snap.cached_snapshot(new) is None


def test_query_terms_are_remembered_per_segmenter_and_match_the_segmenter(monkeypatch):
    from expertpool import segment

    texts = ["锂离子电池正极材料", "面向工业园区的储能系统研究", "锂离子电池正极材料"]
    first = snap.query_terms(texts)
    assert first == [segment.query_terms(t) for t in texts]
    calls = []
    monkeypatch.setattr(segment, "query_terms", lambda text, engine=None: calls.append(text) or [])
    assert snap.query_terms(texts) == first and calls == []            # from the file: no segmenter
    monkeypatch.setattr(snap, "segmenter_fingerprint", lambda: "another-dictionary")
    assert snap.query_terms(texts[:1]) == [[]] and calls == [texts[0]]  # another segmenter: not reused


def test_a_rank_index_outlives_record_writes_but_not_expert_writes(store, monkeypatch):
    from expertpool.stores.base import SearchQuery
    from expertpool.segment import QueryTerm

    _seed(store)
    builds = _counting_builds(monkeypatch)
    first = snap.rank_index(store, store.data_version())
    store.upsert_records("relation", [_family("SC-000001", "CQ-000003")])
    store.upsert_records("history", [ReviewEvent(expert_id="SC-000001", activity="项目评审", date=dt.date(2026, 3, 1))])
    kept = snap.rank_index(store, store.data_version())
    assert len(builds) == 1 and kept.key == first.key and store.rank_index(kept) is kept
    store.upsert_experts([make_expert("SC-000009", name="赵强", institution="电子科技大学")])
    fresh = snap.rank_index(store, store.data_version())
    assert len(builds) == 2 and fresh.key != first.key
    query = SearchQuery((QueryTerm("电子", ("电子",)),), limit=10)
    assert store.rank_many([query], index=fresh) == store.rank_many([query])
    store.rebuild_index()
    assert store.rank_index(fresh) is not fresh


def test_a_rolled_back_expert_write_retires_the_rank_index_copied_meanwhile(store):
    import pytest

    _seed(store)
    index = snap.rank_index(store, store.data_version())
    with pytest.raises(RuntimeError):
        with store.batch():
            store.upsert_experts([make_expert("SC-000009", name="赵强", institution="电子科技大学")])
            raise RuntimeError("abandoned")
    assert store.rank_index(index) is not index


def test_planted_query_terms_and_conflicts_files_are_never_executed(store, tmp_path):
    """The draw's other cache files (query terms, remembered conflicts) are read through the same
    authenticated `_load`: a pickle planted in their place never runs."""
    _seed(store)
    marker = tmp_path / "planted-code-ran"
    terms_path = snap.cache_dir() / "query-terms" / f"{snap.segmenter_fingerprint()}.pickle"
    _plant(terms_path, marker)
    assert snap.query_terms(["锂离子电池"])[0]
    version = store.data_version()
    full = f"{snap.SNAPSHOT_FORMAT}|{version}|{snap._code_fingerprint()}|key"
    path = snap.cache_dir() / "conflicts" / f"{snap._digest(version.rsplit('#', 1)[0])[:16]}-{snap._digest(full)[:32]}.pickle"
    _plant(path, marker)                                         # exactly where `derived` looks
    calls = []
    assert snap.derived(version, "conflicts", "key", lambda: calls.append(1) or "fresh") == "fresh"
    assert snap.derived(version, "conflicts", "key", lambda: calls.append(1) or "again") == "fresh"
    assert not marker.exists() and calls == [1]
    from expertpool.domain import panel as panel_package

    memo = snap.DiskMemo(version, "lottery-distributions", (panel_package,))
    _plant(memo._place("key")[1], marker)                        # where a remembered distribution is
    assert memo.recall("key") is None and not marker.exists()
    memo.keep("key", "solved")
    assert memo.recall("key") == "solved"
    assert snap.DiskMemo(version, "lottery-distributions").recall("key") is None   # other code, other key
