"""Contract: the append-only, hash-chained audit trail, including concurrent writers."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import threading

from expertpool.stores.base import GENESIS_HASH, AuditDraft

from tests.contract.harness import open_from_spec


def draft(n: int, user: str = "lin") -> AuditDraft:
    return AuditDraft(at=dt.datetime(2024, 5, 1, 8, 0) + dt.timedelta(minutes=n), user=user, role="integrity",
                      action="integrity.add", target=f"IR-{n}", reason="依据川科诚〔2024〕3号",
                      before=None, after={"id": f"IR-{n}", "严重程度": "较重"})


def assert_chain(entries) -> None:
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    prev = GENESIS_HASH
    for e in entries:
        assert e.prev_hash == prev
        assert e.hash == e.compute_hash()
        prev = e.hash


def _append_from_process(spec: dict, user: str, n: int) -> None:
    store = open_from_spec(spec)
    try:
        for i in range(n):
            store.append_audit(draft(i, user))
    finally:
        store.close()


class TestAudit:
    def test_entries_are_numbered_and_chained(self, store):
        first = store.append_audit(draft(1))
        assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
        second = store.append_audit(draft(2))
        assert (second.seq, second.prev_hash) == (2, first.hash)
        entries = list(store.iter_audit())
        assert entries == [first, second]
        assert entries[0].after == {"id": "IR-1", "严重程度": "较重"}
        assert_chain(entries)

    def test_order_holds_past_one_page(self, store, harness):
        harness.shrink_pages(store, 10)
        for i in range(25):
            store.append_audit(AuditDraft(at=dt.datetime(2024, 1, 1), user="u", role="admin", action=f"a{i}"))
        assert_chain(list(store.iter_audit()))

    def test_concurrent_connections_never_collide(self, harness, store):
        stores = [harness.open() for _ in range(3)]
        barrier = threading.Barrier(len(stores))

        def work(s, user):
            barrier.wait()
            for i in range(15):
                s.append_audit(draft(i, user))

        threads = [threading.Thread(target=work, args=(s, f"user{k}")) for k, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        entries = list(store.iter_audit())
        assert len(entries) == 45
        assert_chain(entries)

    def test_threads_sharing_one_connection_never_collide(self, store):
        barrier = threading.Barrier(3)
        errors = []

        def work(user):
            barrier.wait()
            try:
                for i in range(15):
                    store.append_audit(draft(i, user))
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"user{k}",)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert_chain(list(store.iter_audit()))
        assert len(list(store.iter_audit())) == 45

    def test_concurrent_processes_never_collide(self, harness, store):
        store.append_audit(draft(0, "setup"))
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_append_from_process, args=(harness.spec(), f"proc{k}", 10)) for k in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0, 0]
        entries = list(store.iter_audit())
        assert len(entries) == 21
        assert_chain(entries)


class TestVerifyAgainstTheData:
    """`audit verify` compares each store's experts and integrity records with the digests the
    audit entries that wrote them carry, and a damaged document is named, on both stores."""

    @staticmethod
    def pool(store, tmp_path):
        from expertpool.services.access import actor_for
        from expertpool.services.importing import import_files
        from expertpool.services.integrity import add_record
        from tests.helpers import expert_row, id_number, write_csv

        admin = actor_for(store, "lin")
        experts = write_csv(tmp_path / "sc.csv", [
            expert_row(), expert_row(专家编号="000002", 姓名="李娜", 证件号码=id_number(seq="002"))])
        assert not import_files(store, [experts], admin).failed
        record = add_record(store, admin, "000001", category="抄袭剽窃", severity="一般", start="2026-01-01",
                            reason="依据川科诚〔2026〕1号", record_id="IR-C-1").record
        return admin, record

    def test_an_audited_store_verifies(self, store, tmp_path):
        from expertpool.services.audit import verify_audit

        self.pool(store, tmp_path)
        result = verify_audit(store)
        assert result.ok and result.records_checked == 4, result  # 2 experts, 1 integrity version, 1 user

    def test_records_edited_behind_the_stores_back_are_named(self, store, harness, tmp_path):
        from expertpool.services.audit import verify_audit

        _, record = self.pool(store, tmp_path)
        harness.edit_document(store, "integrity", record.id, {"severity": "严重"})
        harness.edit_document(store, "expert", "000002", {"institution": "电子科技大学"})
        result = verify_audit(store)
        assert not result.ok and result.problem_count == 2, result
        assert any("专家 000002 的内容与审计日志第" in p for p in result.problems)
        assert any("诚信记录 IR-C-1（版本 1）的内容与审计日志第" in p for p in result.problems)

    def test_experts_without_audit_history_fail(self, store):
        from expertpool.services.access import actor_for
        from expertpool.services.audit import verify_audit
        from tests.factories import make_expert

        store.upsert_experts([make_expert("SC-000001")])
        actor_for(store, "lin")
        result = verify_audit(store)
        assert not result.ok and "专家 SC-000001 在审计日志中没有任何写入它的条目" in result.problem

    def test_a_damaged_document_is_named_with_its_table_and_id(self, store, harness, tmp_path):
        import pytest

        from expertpool.errors import StoreDamaged

        _, record = self.pool(store, tmp_path)
        harness.edit_document(store, "expert", "000002", None)
        harness.edit_document(store, "integrity", record.id, None)
        with pytest.raises(StoreDamaged, match="experts.* 000002 已损坏") as caught:
            list(store.iter_experts())
        assert caught.value.exit_code == 5
        with pytest.raises(StoreDamaged, match="000002"):
            store.get_expert("000002")
        with pytest.raises(StoreDamaged, match="000002"):  # found by a number key, read through the same decoding
            store.find_experts(["#2"])
        with pytest.raises(StoreDamaged, match=f"integrity.*{record.id}"):
            list(store.iter_integrity())
        assert store.get_expert("000001").name == "张伟"  # the others still read

    def test_imports_of_both_lists_verify_after_merges_collisions_and_re_imports(self, store, harness, tmp_path):
        """The digests an import writes are those of the experts as stored under the list's own
        numbers: a person merged from both lists, a number both lists use for different people
        (`重庆:100234`), a re-import that changes one expert and leaves the others, and a record file
        naming experts by either list's number all verify; an edit behind the back is then named."""
        from expertpool.services.access import actor_for
        from expertpool.services.audit import verify_audit
        from expertpool.services.importing import import_files
        from tests.helpers import expert_row, id_number, write_csv

        admin = actor_for(store, "lin")
        shared = id_number(seq="011")
        sc_rows = [expert_row(专家编号="100234", 姓名="张伟", 证件号码=shared),
                   expert_row(专家编号="SC000225", 姓名="李娜", 证件号码=id_number(seq="012"))]
        cq_rows = [expert_row(专家编号="CQ2020-0017", 姓名="张伟", 所在地区="重庆", **{"市州/区县": "两江新区"},
                              证件号码=shared),
                   expert_row(专家编号="100234", 姓名="王强", 出生年份="1975", 所在地区="重庆",
                              **{"市州/区县": "渝中区"}, 证件号码=id_number("500103", "19750101", "013"))]
        sc, cq = write_csv(tmp_path / "sc.csv", sc_rows), write_csv(tmp_path / "cq.csv", cq_rows)
        report = import_files(store, [sc, cq], admin)
        assert not report.failed and report.files[1].merged == 1, report.to_json()
        people = {e.id: e.source_ids for e in store.iter_experts()}
        assert people == {"100234": {"四川": "100234", "重庆": "CQ2020-0017"}, "SC000225": {"四川": "SC000225"},
                          "重庆:100234": {"重庆": "100234"}}
        assert verify_audit(store).ok, verify_audit(store)

        sc_rows[1]["工作单位"] = "电子科技大学"
        again = import_files(store, [write_csv(tmp_path / "sc.csv", sc_rows), cq], admin)
        assert [(f.updated, f.unchanged) for f in again.files] == [(1, 1), (0, 2)], again.to_json()
        integrity = write_csv(tmp_path / "integrity.csv", [
            {"记录编号": "IR-N-1", "专家编号": "CQ2020-0017", "失信行为类型": "署名不当", "严重程度": "一般",
             "处理开始日期": "2026-03-01", "状态": "有效"},
            {"记录编号": "IR-N-2", "专家编号": "重庆:100234", "失信行为类型": "署名不当", "严重程度": "一般",
             "处理开始日期": "2026-03-01", "状态": "有效"}],
            headers=["记录编号", "专家编号", "失信行为类型", "严重程度", "处理开始日期", "状态"])
        assert not import_files(store, [integrity], admin, kind="integrity").failed
        result = verify_audit(store)
        assert result.ok and result.records_checked == 3 + 2 + 1, result  # experts, integrity versions, one user

        harness.edit_document(store, "expert", "重庆:100234", {"institution": "重庆大学"})
        result = verify_audit(store)
        assert not result.ok and "专家 重庆:100234 的内容与审计日志第" in result.problem, result
