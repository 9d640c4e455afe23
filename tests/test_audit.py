"""The audit trail: every write leaves an entry; `audit_log` filters; `verify_audit` finds any
edited, removed, re-ordered or inserted entry — including edits made with sqlite3 behind the
tool's back — and names the first bad one."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.errors import InputError, PermissionDenied
from expertpool.services.access import actor_for, audit
from expertpool.services.audit import audit_log, parse_anchor, verify_audit
from expertpool.services.importing import import_file
from expertpool.services.integrity import add_record, amend_record, revoke_record
from expertpool.services.roles import grant_role, revoke_role
from expertpool.stores.base import GENESIS_HASH, AuditDraft, seal_audit
from tests.access_helpers import ADMIN, NOW, OFFICER, REVIEWER, sql
from tests.helpers import expert_row, write_csv


@pytest.fixture
def history(store, actors):
    """A realistic trail of 9 entries: the seed's 4 (bootstrap, the experts' import, two grants), then
    two integrity adds, an amend, a grant, a revoke."""
    reviewer = actors[REVIEWER]
    a = add_record(store, reviewer, "SC-000001", category="抄袭剽窃", severity="一般", start="2026-01-01",
                   reason="依据川科诚〔2026〕1号").record
    add_record(store, reviewer, "CQ-000002", category="伪造篡改", severity="严重", start="2026-02-01",
               reason="依据渝科诚〔2026〕2号")
    amend_record(store, reviewer, a.id, {"end": "2027-01-01"}, reason="复核")
    grant_role(store, actors[ADMIN], "zhao", "reviewer", reason="新同事")
    revoke_record(store, reviewer, a.id, reason="决定被撤销")
    assert len(list(store.iter_audit())) == 9
    return store


def test_every_write_leaves_an_entry_with_who_role_why_and_before_after(history, tmp_path, actors):
    entries = list(history.iter_audit())
    assert [e.action for e in entries] == ["roles.bootstrap", "import.experts", "roles.grant", "roles.grant",
                                           "integrity.add", "integrity.add", "integrity.amend", "roles.grant",
                                           "integrity.revoke"]
    assert [e.seq for e in entries] == list(range(1, 10))
    assert [(e.user, e.role) for e in entries[4:7]] == [(REVIEWER, "reviewer")] * 3
    amend = entries[6]
    assert amend.reason == "复核" and amend.before["end"] is None and amend.after["end"] == "2027-01-01"
    assert amend.before["version"] == 1 and amend.after["version"] == 2
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
    # an import of integrity records appends one entry for the file, with its counts
    path = write_csv(tmp_path / "integrity.csv", [
        {"记录编号": "IR-X-1", "专家编号": "SC-000001", "失信行为类型": "署名不当", "严重程度": "一般",
         "处理开始日期": "2026-03-01", "状态": "有效"}],
        headers=["记录编号", "专家编号", "失信行为类型", "严重程度", "处理开始日期", "状态"])
    report = import_file(history, path, actors[ADMIN], kind="integrity")
    assert report.imported == 1
    last = list(history.iter_audit())[-1]
    assert (last.action, last.target, last.user, last.after["imported"]) == ("import.integrity", "integrity.csv",
                                                                             ADMIN, 1)
    assert verify_audit(history).ok


def test_an_untouched_chain_verifies(history):
    result = verify_audit(history)
    assert result.ok and result.entries == 9 and result.first_bad_seq is None and result.problem is None
    assert result.head_hash == list(history.iter_audit())[-1].hash
    assert verify_audit(history, {9: result.head_hash, 2: list(history.iter_audit())[1].hash}).ok
    # 3 experts, 4 integrity record versions, 4 users' roles
    assert (result.records_checked, result.anchors_checked, result.unchecked) == (11, 2 - 2, 0)


def test_a_damaged_row_is_a_verification_problem(history):
    sql(history.path, "UPDATE experts SET doc = 'garbage' WHERE id = 'SC-000003'")
    result = verify_audit(history)
    assert not result.ok and "experts 的记录 SC-000003 已损坏" in result.problem


def test_an_empty_log_verifies(store):
    assert verify_audit(store) == verify_audit(store)
    result = verify_audit(store)
    assert result.ok and result.entries == 0 and result.head_hash == GENESIS_HASH


# ---- tampering behind the tool's back, with sqlite3 on the file ----
def doc_of(path, seq) -> dict:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return json.loads(db.execute("SELECT doc FROM audit WHERE seq = ?", (seq,)).fetchone()[0])
    finally:
        db.close()


def set_doc(path, seq, doc: dict) -> None:
    sql(path, "UPDATE audit SET doc = ? WHERE seq = ?", (json.dumps(doc, ensure_ascii=False), seq))


def test_an_edited_entry_is_named(history):
    doc = doc_of(history.path, 4)
    doc["reason"] = "无理由"
    set_doc(history.path, 4, doc)
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 4 and "哈希不符" in result.problem


def test_an_edited_before_after_is_named(history):
    doc = doc_of(history.path, 3)
    doc["after"]["severity"] = "一般"
    set_doc(history.path, 3, doc)
    assert verify_audit(history).first_bad_seq == 3


def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(history):
    doc = doc_of(history.path, 2)
    doc["user"] = "someone-else"
    entry = seal_audit(AuditDraft(**{k: doc[k] for k in ("at", "user", "role", "action", "target", "reason",
                                                         "before", "after", "records")}), doc["seq"], doc["prev_hash"])
    set_doc(history.path, 2, entry.model_dump(mode="json"))
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 3 and "前一哈希" in result.problem


def test_a_removed_entry_is_named(history):
    sql(history.path, "DELETE FROM audit WHERE seq = 3")
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 3 and "缺失" in result.problem


def test_removing_the_first_entry_is_caught(history):
    sql(history.path, "DELETE FROM audit WHERE seq = 1")
    assert verify_audit(history).first_bad_seq == 1


def test_two_entries_swapped_are_named(history):
    sql(history.path, "UPDATE audit SET seq = -1 WHERE seq = 2")
    sql(history.path, "UPDATE audit SET seq = 2 WHERE seq = 5")
    sql(history.path, "UPDATE audit SET seq = 5 WHERE seq = -1")
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 2 and "顺序" in result.problem


def test_renumbering_an_entry_inside_its_document_is_caught(history):
    """Swap the rows' documents and fix each document's seq: the hashes give it away."""
    doc2, doc3 = doc_of(history.path, 2), doc_of(history.path, 3)
    doc2["seq"], doc3["seq"] = 3, 2
    set_doc(history.path, 2, doc3)
    set_doc(history.path, 3, doc2)
    assert verify_audit(history).first_bad_seq == 2


def test_an_inserted_entry_is_named(history):
    """A forged entry slipped in at 4 (the rest moved up one) links to 3 but 5 links elsewhere."""
    docs = [doc_of(history.path, seq) for seq in range(1, 10)]
    forged = seal_audit(AuditDraft(at=NOW, user="mallory", role="administrator", action="roles.grant",
                                   target="mallory", after={"user": "mallory", "roles": ["administrator"]}),
                        4, docs[2]["hash"])
    sql(history.path, "DELETE FROM audit")
    rows = docs[:3] + [forged.model_dump(mode="json")] + [dict(d, seq=d["seq"] + 1) for d in docs[3:]]
    for seq, doc in enumerate(rows, 1):
        sql(history.path, "INSERT INTO audit(seq, doc) VALUES (?, ?)", (seq, json.dumps(doc, ensure_ascii=False)))
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 5


def test_an_unreadable_entry_is_named(history):
    sql(history.path, "UPDATE audit SET doc = 'not json' WHERE seq = 5")
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 5 and "无法读取" in result.problem


def test_a_cut_off_tail_is_named_by_the_record_it_wrote_or_by_an_anchor(history):
    anchor = verify_audit(history)
    sql(history.path, "DELETE FROM audit WHERE seq = 9")  # the revoke, which wrote version 3 of the record
    result = verify_audit(history)
    assert not result.ok and "诚信记录 IR-2026-000001（版本 3）在审计日志中没有任何写入它的条目" in result.problem
    result = verify_audit(history, {anchor.entries: anchor.head_hash})
    assert not result.ok and result.first_bad_seq == 9 and "锚点" in result.problem  # the chain is checked first


def test_a_cut_off_or_forged_tail_that_wrote_no_record_needs_an_anchor(history, actors):
    grant_role(history, actors[ADMIN], "qian", "reviewer")  # entry 10
    revoke_role(history, actors[ADMIN], "qian", "reviewer")  # entry 11: qian ends with no role
    anchor = verify_audit(history)
    assert anchor.ok and anchor.entries == 11
    tenth = list(history.iter_audit())[9].hash
    sql(history.path, "DELETE FROM audit WHERE seq = 11")
    result = verify_audit(history)
    assert not result.ok and "用户 qian 的角色（现为 无）与审计日志第 10 条所记（reviewer）不符" in result.problem
    sql(history.path, "DELETE FROM audit WHERE seq = 10")
    assert verify_audit(history).ok  # the log and the data agree again: only an anchor can tell …
    result = verify_audit(history, {anchor.entries: anchor.head_hash})
    assert not result.ok and result.first_bad_seq == 11 and "锚点" in result.problem  # … that the end was cut off
    # a forged, correctly chained entry 10 that changes nothing in the data
    prev = doc_of(history.path, 9)["hash"]
    forged = seal_audit(AuditDraft(at=NOW, user="mallory", role="reviewer", action="integrity.note",
                                   target="IR-2026-000001", reason="?"), 10, prev)
    sql(history.path, "INSERT INTO audit(seq, doc) VALUES (10, ?)", (forged.model_dump_json(),))
    assert verify_audit(history).ok
    result = verify_audit(history, {10: tenth})
    assert not result.ok and result.first_bad_seq == 10 and "锚点" in result.problem


def test_parse_anchor():
    assert parse_anchor("12:" + "A" * 64) == (12, "a" * 64)
    with pytest.raises(InputError, match="--anchor"):
        parse_anchor("12:" + "a" * 40)  # a SHA-1 length hash is not a chain hash
    with pytest.raises(InputError, match="--anchor"):
        parse_anchor("12:xyz")


# ---- the same properties on any chain, any single tamper ----
class ListStore:
    """Just enough of a store for `verify_audit`: entries in stored order."""

    def __init__(self, entries):
        self.entries = entries

    def iter_audit(self):
        return iter(self.entries)


def chain(n: int):
    entries, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        entry = seal_audit(AuditDraft(at=NOW + dt.timedelta(minutes=seq), user=f"u{seq % 3}", role="reviewer",
                                      action="integrity.amend", target=f"IR-{seq % 4}", reason=f"r{seq}",
                                      before={"version": seq}, after={"version": seq + 1}), seq, prev)
        entries.append(entry)
        prev = entry.hash
    return entries


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 12), data=st.data())
def test_any_single_tamper_is_found_at_the_right_entry(n, data):
    entries = chain(n)
    assert verify_audit(ListStore(entries), check_data=False).ok
    kind = data.draw(st.sampled_from(["edit", "delete", "swap", "duplicate"]))
    if kind == "edit":
        k = data.draw(st.integers(1, n))
        field = data.draw(st.sampled_from(["user", "role", "action", "target", "reason", "at", "after"]))
        victim = entries[k - 1]
        value = {"at": victim.at + dt.timedelta(seconds=1), "after": {"version": -1}}.get(field, "x")
        entries[k - 1] = victim.model_copy(update={field: value})
        expected = k
    elif kind == "delete":
        k = data.draw(st.integers(1, n - 1))  # deleting the last entry needs an anchor (tested above)
        del entries[k - 1]
        expected = k
    elif kind == "swap":
        k = data.draw(st.integers(1, n - 1))
        j = data.draw(st.integers(k + 1, n))
        entries[k - 1], entries[j - 1] = entries[j - 1], entries[k - 1]
        expected = k
    else:
        k = data.draw(st.integers(1, n))
        entries.insert(k, entries[k - 1])  # the same entry twice
        expected = k + 1
    result = verify_audit(ListStore(entries), check_data=False)
    assert not result.ok and result.first_bad_seq == expected, (kind, k, result)


# ---- log ----
def test_log_filters_by_expert_date_and_action(history, actors):
    reviewer = actors[REVIEWER]
    for_sc = audit_log(history, "SC-000001", actor=reviewer)
    assert [e.action for e in for_sc] == ["import.experts", "integrity.add", "integrity.amend", "integrity.revoke"]
    assert [e.action for e in audit_log(history, "CQ-000002")] == ["import.experts", "integrity.add"]
    assert [e.action for e in audit_log(history, "SC-000003")] == ["import.experts"]
    assert audit_log(history, "SC-000004") == []
    assert len(audit_log(history, since="2000-01-01")) == 9
    assert audit_log(history, since="2099年1月1日") == []
    assert [e.action for e in audit_log(history, action="roles")] == ["roles.bootstrap"] + ["roles.grant"] * 3
    with pytest.raises(InputError, match="--since"):
        audit_log(history, since="last week")


def test_log_by_either_provinces_number(store, actors):
    add_record(store, actors[REVIEWER], "CQ-000099", category="署名不当", severity="一般", start="2026-01-01",
               reason="r")
    assert [e.action for e in audit_log(store, "CQ-000099")] == ["import.experts", "integrity.add"]
    assert [e.action for e in audit_log(store, "SC-000003", action="integrity")] == ["integrity.add"]


def test_since_counts_whole_local_days(store, actors):
    audit(store, actors[ADMIN], "test.old", now=dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc))
    audit(store, actors[ADMIN], "test.new", now=dt.datetime(2026, 1, 3, 12, tzinfo=dt.timezone.utc))
    assert [e.action for e in audit_log(store, since="2026-01-02", action="test")] == ["test.new"]
    assert [e.action for e in audit_log(store, since=dt.date(2026, 1, 1), action="test")] == ["test.old", "test.new"]


@pytest.mark.parametrize("who", [OFFICER, "nobody"])
def test_reading_and_verifying_need_the_audit_permission(store, actors, who):
    with pytest.raises(PermissionDenied, match="查看审计日志"):
        audit_log(store, actor=actors[who])
    with pytest.raises(PermissionDenied, match="校验审计日志"):
        verify_audit(store, actor=actors[who])
    assert verify_audit(store, actor=actors[REVIEWER]).ok


# ---- the data against what the log says was written ----
def record_ids(store) -> list[str]:
    return sorted(r.id for r in store.iter_integrity())


def test_a_store_whose_data_has_no_audit_history_fails(store):
    """Experts written straight into the store, and the log of a real import emptied: both fail."""
    from tests.factories import make_expert

    store.upsert_experts([make_expert("SC-000001"), make_expert("CQ-000002", name="王强")])
    actor_for(store, ADMIN)
    result = verify_audit(store)
    assert not result.ok and result.problem_count == 2 and result.first_bad_seq is None
    assert "专家 CQ-000002 在审计日志中没有任何写入它的条目" in result.problem


def test_an_emptied_log_on_an_imported_store_fails(tmp_path, store):
    admin = actor_for(store, ADMIN)
    import_file(store, write_csv(tmp_path / "sc.csv", [expert_row()]), admin)
    assert verify_audit(store).ok
    sql(store.path, "DELETE FROM audit")
    result = verify_audit(store)
    assert not result.ok and result.entries == 0 and "专家 000001 " in result.problem


def test_an_integrity_record_changed_in_its_table_is_named_with_the_entry_that_wrote_it(history):
    first, second = record_ids(history)
    add_seq = next(e.seq for e in history.iter_audit() if e.target == second)
    sql(history.path, "UPDATE integrity SET doc = json_set(doc, '$.severity', '一般') WHERE id = ?", (second,))
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == add_seq
    assert f"诚信记录 {second}（版本 1）的内容与审计日志第 {add_seq} 条写入时不符" in result.problem
    assert "本工具之外被改动" in result.problem


def test_an_earlier_version_rewritten_is_named_too(history):
    first, _ = record_ids(history)
    sql(history.path, "UPDATE integrity SET doc = json_set(doc, '$.category', '其他') WHERE id = ? AND version = 1",
        (first,))
    result = verify_audit(history)
    assert not result.ok and f"诚信记录 {first}（版本 1）的内容" in result.problem


def test_integrity_rows_inserted_or_deleted_behind_the_tools_back_are_named(history):
    first, second = record_ids(history)
    sql(history.path, "INSERT INTO integrity(id, version, expert_id, doc, current) "
                      "SELECT 'IR-FORGED', 1, expert_id, json_set(doc, '$.id', 'IR-FORGED', '$.version', 1), 1 "
                      "FROM integrity WHERE id = ? AND current = 1", (second,))
    sql(history.path, "DELETE FROM integrity WHERE id = ?", (second,))
    result = verify_audit(history)
    assert not result.ok and result.problem_count == 2
    assert any("诚信记录 IR-FORGED（版本 1）在审计日志中没有任何写入它的条目" in p for p in result.problems)
    assert any(f"诚信记录 {second}（版本 1）由审计日志第" in p and "已不在库中" in p for p in result.problems)


def test_experts_changed_or_deleted_behind_the_tools_back_are_named(history):
    sql(history.path, "UPDATE experts SET doc = json_set(doc, '$.status', '出库') WHERE id = 'SC-000001'")
    sql(history.path, "DELETE FROM experts WHERE id = 'CQ-000002'")
    result = verify_audit(history)
    assert not result.ok and result.first_bad_seq == 2
    assert result.problems == ("专家 SC-000001 的内容与审计日志第 2 条写入时不符：它在本工具之外被改动过",
                               "专家 CQ-000002 由审计日志第 2 条写入，但已不在库中：它在本工具之外被删除")


def test_a_role_written_into_the_store_is_named(history):
    sql(history.path, "INSERT INTO roles(user, role) VALUES ('mallory', 'administrator')")
    result = verify_audit(history)
    assert not result.ok and "用户 mallory 的角色（administrator）在审计日志中没有授予记录" in result.problem


def test_imported_integrity_records_are_vouched_for_by_the_import_entry(history, tmp_path, actors):
    path = write_csv(tmp_path / "integrity.csv", [
        {"记录编号": "IR-X-1", "专家编号": "SC-000001", "失信行为类型": "署名不当", "严重程度": "一般",
         "处理开始日期": "2026-03-01", "状态": "有效"}],
        headers=["记录编号", "专家编号", "失信行为类型", "严重程度", "处理开始日期", "状态"])
    import_file(history, path, actors[ADMIN], kind="integrity")
    entry = list(history.iter_audit())[-1]
    assert entry.action == "import.integrity" and set(entry.records["integrity"]) == {"IR-X-1#1"}
    assert verify_audit(history).ok
    sql(history.path, "UPDATE integrity SET doc = json_set(doc, '$.status', 'revoked') WHERE id = 'IR-X-1'")
    result = verify_audit(history)
    assert not result.ok and f"诚信记录 IR-X-1（版本 1）的内容与审计日志第 {entry.seq} 条写入时不符" in result.problem


def test_records_of_other_kinds_need_an_import_entry(history, tmp_path, actors):
    from expertpool.domain.models import Person, Relation

    relation = Relation(expert_id="SC-000001", other=Person(name="赵六", institution="四川大学"), kind="师生")
    sql(history.path, "INSERT INTO records(kind, key, expert_id, doc, content_hash) VALUES ('relation', ?, ?, ?, 'x')",
        (relation.key(), relation.expert_id, relation.model_dump_json()))
    result = verify_audit(history)
    assert not result.ok and "库中有关联关系记录，但审计日志中没有任何导入关联关系的条目" in result.problem


def test_entries_from_before_digests_vouch_for_presence_only(store):
    """A store written by an earlier version: its import entries name the experts without digests.
    They still verify (their presence is checked), and the result says how many could not be compared."""
    from tests.factories import make_expert

    admin = actor_for(store, ADMIN)
    store.upsert_experts([make_expert("SC-000001")])
    audit(store, admin, "import.experts", target="old.csv", after={"imported": 1, "expert_ids": ["SC-000001"]})
    assert list(store.iter_audit())[-1].records is None
    result = verify_audit(store)
    assert result.ok and result.unchecked == 1


def test_an_entry_without_records_keeps_the_hash_it_had_before_records_existed():
    """Old stores' chains must still verify: `records=None` is left out of the hash."""
    import hashlib

    entry = seal_audit(AuditDraft(at=NOW, user="u", role="reviewer", action="x", after={"a": 1}), 1, GENESIS_HASH)
    old_fields = {k: v for k, v in entry.model_dump(mode="json").items() if k not in ("hash", "records")}
    blob = json.dumps(old_fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert entry.hash == hashlib.sha256(blob.encode()).hexdigest()


def test_read_anchors_from_text_and_files(tmp_path):
    from expertpool.services.audit import read_anchors

    head = "ab" * 32
    listed = tmp_path / "anchors.txt"
    listed.write_text(f"审计日志完好\n锚点：12:{head}\n13 : {head.upper()}\n", encoding="utf-8")
    assert [(a.seq, a.hash, a.source) for a in read_anchors(listed)] == [(12, head, "anchors.txt"),
                                                                         (13, head, "anchors.txt")]
    empty = tmp_path / "none.txt"
    empty.write_text("nothing here 12:xyz", encoding="utf-8")
    with pytest.raises(InputError, match="没有 序号:哈希"):
        read_anchors(empty)
    with pytest.raises(InputError, match="不存在"):
        read_anchors(tmp_path / "missing.csv")
