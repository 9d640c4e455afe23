"""Contract: integrity changes from separate processes, on every store.

Two processes read the same record (version 1), wait for each other, then both amend it: exactly
one wins, the other gets ConcurrentEdit, and nothing is lost or doubled — versions, audit entries
and the hash chain agree. Several processes adding records at once leave one unbroken chain.
"""
from __future__ import annotations

import multiprocessing

import pytest

from expertpool.services.access import actor_for
from expertpool.services.audit import verify_audit
from expertpool.services.integrity import add_record
from expertpool.services.roles import grant_role
from tests.access_helpers import amend_after_barrier, put_experts
from tests.factories import make_expert


def _add_after_barrier(spec: dict, user: str, expert_id: str, count: int, barrier, results) -> None:
    """Child process: wait for the others, then add `count` records."""
    from tests.contract.harness import open_from_spec

    store = None
    try:
        store = open_from_spec(spec)
        actor = actor_for(store, user)
        barrier.wait(timeout=60)
        ids = [add_record(store, actor, expert_id, category="署名不当", severity="一般", start="2026-01-01",
                          reason=f"{user} 录入").record.id for _ in range(count)]
        results.put((user, ids))
    except Exception as exc:  # report, so the parent fails with the reason instead of a timeout
        barrier.abort()
        results.put((user, repr(exc)))
    finally:
        if store is not None:
            store.close()


@pytest.fixture
def pool(store):
    admin = actor_for(store, "lin")  # first user: administrator
    put_experts(store, admin, [make_expert("SC-000001"), make_expert("CQ-000002", name="王强")])
    for user in ("rev-a", "rev-b", "rev-c"):
        grant_role(store, admin, user, "reviewer")
    return store


def _run(ctx, target, argsets, timeout=180):
    results = ctx.Queue()
    children = [ctx.Process(target=target, args=(*args, results)) for args in argsets]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=timeout) for _ in children]
    for child in children:
        child.join(timeout=60)
    return outcomes


def test_two_processes_amend_the_same_record_one_wins(harness, pool):
    record = add_record(pool, actor_for(pool, "rev-a"), "SC-000001", category="抄袭剽窃", severity="一般",
                        start="2026-01-01", end="2027-01-01", reason="录入").record
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    outcomes = _run(ctx, amend_after_barrier, [
        (harness.spec(), "rev-a", record.id, {"severity": "较重"}, "a 复核", barrier),
        (harness.spec(), "rev-b", record.id, {"end": None}, "b 改为永久", barrier),
    ])
    won = [o for o in outcomes if o[1] == "ok"]
    lost = [o for o in outcomes if o[1] == "ConcurrentEdit"]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "版本 1" in lost[0][2] and "没有写入" in lost[0][2]
    current = pool.get_integrity(record.id)
    assert current.version == 2
    if won[0][0] == "rev-a":
        assert (current.severity, current.end) == ("较重", record.end)
    else:
        assert (current.severity, current.end) == ("一般", None)
    assert [v.version for v in pool.integrity_versions(record.id)] == [1, 2]
    amends = [e for e in pool.iter_audit() if e.action == "integrity.amend"]
    assert [(e.user, e.after["version"]) for e in amends] == [(won[0][0], 2)]
    assert verify_audit(pool).ok


def test_processes_adding_at_once_keep_one_chain(harness, pool):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    outcomes = _run(ctx, _add_after_barrier, [
        (harness.spec(), user, expert, 3, barrier)
        for user, expert in (("rev-a", "SC-000001"), ("rev-b", "CQ-000002"), ("rev-c", "SC-000001"))])
    ids = [i for _, got in outcomes for i in (got if isinstance(got, list) else pytest.fail(got))]
    assert len(ids) == len(set(ids)) == 9   # generated ids never collide
    assert sorted(r.id for r in pool.iter_integrity()) == sorted(ids)
    adds = [e for e in pool.iter_audit() if e.action == "integrity.add"]
    assert sorted(e.target for e in adds) == sorted(ids)
    result = verify_audit(pool)
    assert result.ok, result
