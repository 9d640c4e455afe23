"""Shared set-up for the integrity, roles and audit tests: a store with a few experts and one user
per role, raw SQL on the SQLite file (to tamper behind the tool's back), and the child-process
body of the concurrency tests (module level, so `spawn` can import it)."""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from expertpool.domain.models import Expert, record_digest
from expertpool.services.access import Actor, actor_for, audit
from expertpool.services.roles import grant_role
from expertpool.stores.base import ExpertStore
from tests.factories import make_expert

ADMIN, OFFICER, REVIEWER, NOBODY = "admin", "officer", "reviewer", "nobody"
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def seed(store: ExpertStore) -> dict[str, Actor]:
    """Three experts (one in each province's list, one in both), written with the audit entry an
    import would make, and one user per role: audit entries 1 (bootstrap) to 4 (the two grants)."""
    admin = actor_for(store, ADMIN)  # the first user of a new store becomes its administrator
    put_experts(store, admin, [
        make_expert("SC-000001", name="张伟", phone="13800000001", email="zhangwei@scu.edu.cn", id_last4="123X"),
        make_expert("CQ-000002", name="王强", phone="13900000002", email="wangqiang@cqu.edu.cn", id_last4="4567"),
        make_expert("SC-000003", name="李娜", source_ids={"四川": "SC-000003", "重庆": "CQ-000099"}),
    ])
    grant_role(store, admin, OFFICER, "program_officer")
    grant_role(store, admin, REVIEWER, "reviewer")
    return {ADMIN: admin, OFFICER: actor_for(store, OFFICER), REVIEWER: actor_for(store, REVIEWER),
            NOBODY: actor_for(store, NOBODY)}


def put_experts(store: ExpertStore, actor: Actor, experts: list[Expert]) -> None:
    """Write experts as an import would: with an audit entry vouching for each one."""
    with store.batch():
        store.upsert_experts(experts)
        audit(store, actor, "import.experts", target="test", after={"expert_ids": sorted(e.id for e in experts)},
              records={"expert": {e.id: record_digest(e) for e in experts}})


def sql(path: Path, statement: str, params: tuple = ()) -> None:
    """Run one statement on the SQLite file directly, as someone bypassing the tool would."""
    db = sqlite3.connect(path)
    try:
        db.execute(statement, params)
        db.commit()
    finally:
        db.close()


def amend_after_barrier(spec: dict, user: str, record_id: str, changes: dict, reason: str, barrier, results) -> None:
    """Child process: read the record, wait until the other child has read it too, then amend
    with the version read. Puts ("ok", version) or ("ConcurrentEdit", message) on `results`."""
    from expertpool.errors import ConcurrentEdit
    from expertpool.services.integrity import amend_record
    from tests.contract.harness import open_from_spec

    try:
        store = open_from_spec(spec)
    except Exception as exc:  # report, so the parent fails with the reason instead of a timeout
        barrier.abort()
        results.put((user, "error", repr(exc)))
        return
    try:
        actor = actor_for(store, user)
        read = store.get_integrity(record_id)
        barrier.wait(timeout=60)
        change = amend_record(store, actor, record_id, changes, reason=reason, expected_version=read.version)
        results.put((user, "ok", change.record.version))
    except ConcurrentEdit as exc:
        results.put((user, "ConcurrentEdit", str(exc)))
    except Exception as exc:
        barrier.abort()
        results.put((user, "error", repr(exc)))
    finally:
        store.close()


def bootstrap_after_barrier(spec: dict, user: str, barrier, results) -> None:
    """Child process: open a store nobody has used, wait for the other child, then ask for our roles."""
    from tests.contract.harness import open_from_spec

    barrier.wait(timeout=60)
    store = open_from_spec(spec)
    try:
        results.put((user, sorted(actor_for(store, user).roles)))
    finally:
        store.close()
