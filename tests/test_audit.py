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
from expertpool.services.access import audit
from expertpool.services.audit import audit_log, parse_anchor, verify_audit
from expertpool.services.importing import import_file
from expertpool.services.integrity import add_record, amend_record, revoke_record
from expertpool.services.roles import grant_role
from expertpool.stores.base import GENESIS_HASH, AuditDraft, seal_audit
from tests.access_helpers import ADMIN, NOW, OFFICER, REVIEWER, sql
from tests.helpers import write_csv


@pytest.fixture
def history(store, actors):
    """A realistic trail of 6 entries: bootstrap, two integrity adds, an amend, a grant, a revoke."""
    reviewer = actors[REVIEWER]
    a = add_record(store, reviewer, "SC-000001", category="抄袭剽窃", severity="一般", start="2026-01-01",
                   reason="依据川科诚〔2026〕1号").record
    add_record(store, reviewer, "CQ-000002", category="伪造篡改", severity="严重", start="2026-02-01",
               reason="依据渝科诚〔2026〕2号")
    amend_record(store, reviewer, a.id, {"end": "2027-01-01"}, reason="复核")
    grant_role(store, actors[ADMIN], "zhao", "reviewer", reason="新同事")
    revoke_record(store, reviewer, a.id, reason="决定被撤销")
    assert len(list(store.iter_audit())) == 6
    return store


def test_every_write_leaves_an_entry_with_who_role_why_and_before_after(history, tmp_path, actors):
    entries = list(history.iter_audit())
    assert [e.action for e in entries] == ["roles.bootstrap", "integrity.add", "integrity.add", "integrity.amend",
                                           "roles.grant", "integrity.revoke"]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [(e.user, e.role) for e in entries[1:4]] == [(REVIEWER, "reviewer")] * 3
    amend = entries[3]
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
    assert result.ok and result.entries == 6 and result.first_bad_seq is None and result.problem is None
    assert result.head_hash == list(history.iter_audit())[-1].hash
    assert verify_audit(history, {6: result.head_hash, 2: list(history.iter_audit())[1].hash}).ok


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
                                                         "before", "after")}), doc["seq"], doc["prev_hash"])
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
    docs = [doc_of(history.path, seq) for seq in range(1, 7)]
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


def test_truncation_and_a_rewritten_tail_need_an_anchor(history):
    anchor = verify_audit(history)
    sql(history.path, "DELETE FROM audit WHERE seq = 6")
    assert verify_audit(history).ok  # a chain alone cannot tell its end was cut off …
    result = verify_audit(history, {anchor.entries: anchor.head_hash})
    assert not result.ok and result.first_bad_seq == 6 and "锚点" in result.problem  # … an anchor can
    # a forged, correctly chained new entry 6
    prev = doc_of(history.path, 5)["hash"]
    forged = seal_audit(AuditDraft(at=NOW, user="mallory", role="reviewer", action="integrity.revoke",
                                   target="IR-2026-000001", reason="?"), 6, prev)
    sql(history.path, "INSERT INTO audit(seq, doc) VALUES (6, ?)", (forged.model_dump_json(),))
    assert verify_audit(history).ok
    result = verify_audit(history, {6: anchor.head_hash})
    assert not result.ok and result.first_bad_seq == 6


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
    assert verify_audit(ListStore(entries)).ok
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
    result = verify_audit(ListStore(entries))
    assert not result.ok and result.first_bad_seq == expected, (kind, k, result)


# ---- log ----
def test_log_filters_by_expert_date_and_action(history, actors):
    reviewer = actors[REVIEWER]
    for_sc = audit_log(history, "SC-000001", actor=reviewer)
    assert [e.action for e in for_sc] == ["integrity.add", "integrity.amend", "integrity.revoke"]
    assert [e.action for e in audit_log(history, "CQ-000002")] == ["integrity.add"]
    assert audit_log(history, "SC-000003") == []
    assert len(audit_log(history, since="2000-01-01")) == 6
    assert audit_log(history, since="2099年1月1日") == []
    assert [e.action for e in audit_log(history, action="roles")] == ["roles.bootstrap", "roles.grant"]
    with pytest.raises(InputError, match="--since"):
        audit_log(history, since="last week")


def test_log_by_either_provinces_number(store, actors):
    add_record(store, actors[REVIEWER], "CQ-000099", category="署名不当", severity="一般", start="2026-01-01",
               reason="r")
    assert [e.action for e in audit_log(store, "CQ-000099")] == ["integrity.add"]
    assert [e.action for e in audit_log(store, "SC-000003")] == ["integrity.add"]


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
