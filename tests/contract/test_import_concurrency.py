"""Contract: two imports at once give exactly the serial result, on every store (issue 11, item 3).

Two real processes import the Sichuan and the Chongqing list of one pool at the same moment; a
third of the people are in both lists (same identity number). Whatever order the import lock
lets them run in, every shared person is merged once, nobody is stored twice, and each report
says what that import did: the same store a serial run in that order gives.
"""
from __future__ import annotations

import multiprocessing
import time

import pytest

from expertpool.services.access import actor_for
from expertpool.services.audit import verify_audit
from expertpool.services.importing import import_files
from tests.contract.harness import in_child
from tests.helpers import expert_row, id_number, write_csv

SHARED = 12


def _lists(tmp_path):
    sc_rows, cq_rows = [], []
    for i in range(36):
        number = id_number("510104", f"19{60 + i % 30:02d}0101", f"{i:03d}")
        sc_rows.append(expert_row(专家编号=f"SC{i:06d}", 姓名=f"川{i}", 出生年份=f"19{60 + i % 30:02d}", 证件号码=number))
        if i < SHARED:  # the same person in the Chongqing list, under its own number
            cq_rows.append(expert_row(专家编号=f"CQ2020-{i:04d}", 姓名=f"川{i}", 出生年份=f"19{60 + i % 30:02d}",
                                      所在地区="重庆", **{"市州/区县": "两江新区"}, 证件号码=number))
    for i in range(24):
        cq_rows.append(expert_row(专家编号=f"CQ2021-{i:04d}", 姓名=f"渝{i}", 所在地区="重庆", 出生年份="1975",
                                  **{"市州/区县": "渝中区"}, 证件号码=id_number("500103", "19750101", f"{i:03d}")))
    return write_csv(tmp_path / "sc.csv", sc_rows), write_csv(tmp_path / "cq.csv", cq_rows)


def _import(store, path: str, source: str) -> dict:
    """In a child process, after the barrier: import one list and say what the import did."""
    from pathlib import Path

    f = import_files(store, [Path(path)], actor_for(store, "admin"), source=source).files[0]
    return {"imported": f.imported, "merged": f.merged, "rejected": f.rejected, "error": f.error,
            "finished": time.time()}


def _people(store) -> list[tuple]:
    return sorted((e.id, tuple(sorted(e.source_ids.items())), e.name, e.status) for e in store.iter_experts())


def test_two_processes_importing_both_lists_give_the_serial_result(harness, store, tmp_path):
    sc, cq = _lists(tmp_path)
    actor_for(store, "admin")  # the store's first user: administrator
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    children = [ctx.Process(target=in_child, args=(harness.spec(), source, _import, (str(path), source), barrier,
                                                   results))
                for path, source in ((sc, "四川"), (cq, "重庆"))]
    for child in children:
        child.start()
    outcomes = dict(results.get(timeout=300) for _ in children)
    for child in children:
        child.join(timeout=60)
    assert all(isinstance(o, dict) for o in outcomes.values()), outcomes
    first, second = sorted(outcomes, key=lambda s: outcomes[s]["finished"])
    # the one that ran second saw the first one's experts and merged every shared person
    assert outcomes[first]["merged"] == 0 and outcomes[second]["merged"] == SHARED, outcomes
    assert outcomes["四川"]["imported"] + outcomes["重庆"]["imported"] == 36 + 24
    assert not any(o["rejected"] or o["error"] for o in outcomes.values())
    assert store.count_experts() == 36 + 24
    # exactly what importing the two lists one after the other, in that order, gives
    serial_harness = harness.another()
    try:
        serial = serial_harness.open()
        admin = actor_for(serial, "admin")
        for source in (first, second):
            import_files(serial, [sc if source == "四川" else cq], admin, source=source)
        assert _people(store) == _people(serial)
        # each import's audit entry vouches for the experts as they were stored, whichever ran first
        assert verify_audit(store).ok, verify_audit(store)
        assert verify_audit(serial).ok
    finally:
        serial_harness.cleanup()


def test_a_second_import_waits_for_the_lock_and_says_who_holds_it(harness, store):
    other = harness.open()
    told: list[str] = []
    with store.import_lock("甲"):
        from expertpool.errors import ConcurrentEdit

        with pytest.raises(ConcurrentEdit, match="甲"):
            with other.import_lock("乙", wait=0.5, on_wait=told.append):
                pass
    assert told and "甲" in told[0]
    with other.import_lock("乙", wait=5) as lease:  # released: taken at once
        lease.check()
