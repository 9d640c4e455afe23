"""Research-integrity records (services/integrity.py): add / amend / revoke / list / show, the audit
entry each change writes, eligibility in use, and two processes amending the same record at once.
Whether a record bars on a date: test_eligibility.py."""
from __future__ import annotations

import datetime as dt
import multiprocessing

import pytest

from expertpool.domain.eligibility import bars_on
from expertpool.errors import ConcurrentEdit, InputError, NotFound, PermissionDenied
from expertpool.services.eligibility import barred_on
from expertpool.services.integrity import (
    add_record,
    amend_record,
    list_records,
    record_history,
    revoke_record,
)
from expertpool.services.profile import expert_profile
from expertpool.services.roles import grant_role
from expertpool.services.search import SearchRequest, search_experts
from expertpool.stores.sqlite import SQLiteStore
from tests.access_helpers import ADMIN, NOW, OFFICER, REVIEWER, amend_after_barrier
from tests.factories import make_integrity_record as rec

D = dt.date


@pytest.fixture
def reviewer(actors):
    return actors[REVIEWER]


def add(store, actor, expert_id="SC-000001", **kw):
    args = dict(category="抄袭剽窃", severity="一般", start="2026-01-01", end="2027-01-01", reason="依据处理决定录入",
                now=NOW)
    args.update(kw)
    return add_record(store, actor, expert_id, **args)


# ---- add ----
class TestAdd:
    def test_add_generates_an_id_keeps_who_and_when_and_audits(self, store, reviewer):
        change = add(store, reviewer, sanctions=["取消评审专家资格", "通报批评"], issuer="四川省科学技术厅",
                     document_no="川科诚〔2026〕1号", decision_date="2025年12月20日")
        r = change.record
        assert r.id == "IR-2026-000001" and r.version == 1
        assert (r.entered_by, r.entered_at) == (REVIEWER, NOW)
        assert r.decision_date == D(2025, 12, 20) and r.sanctions == ["取消评审专家资格", "通报批评"]
        assert store.get_integrity(r.id) == r
        entry = change.audit
        assert (entry.action, entry.target, entry.user, entry.role) == ("integrity.add", r.id, REVIEWER, "reviewer")
        assert entry.reason == "依据处理决定录入" and entry.before is None
        assert entry.after == r.model_dump(mode="json")
        assert list(store.iter_audit())[-1] == entry
        assert add(store, reviewer, expert_id="CQ-000002").record.id == "IR-2026-000002"

    def test_given_id_and_other_date_formats(self, store, reviewer):
        r = add(store, reviewer, record_id="川-2026-7", start="2026/3/5", end="2026年9月1日").record
        assert (r.id, r.start, r.end) == ("川-2026-7", D(2026, 3, 5), D(2026, 9, 1))
        with pytest.raises(InputError, match="已存在.*integrity amend"):
            add(store, reviewer, record_id="川-2026-7")

    def test_either_provinces_number_names_the_expert(self, store, reviewer):
        assert add(store, reviewer, expert_id="CQ-000099").record.expert_id == "SC-000003"

    def test_defaults_are_permanent_and_a_review_ban(self, store, reviewer):
        r = add(store, reviewer, end=None).record
        assert r.end is None and r.sanctions == ["取消评审专家资格"] and r.status == "active"

    def test_category_aliases(self, store, reviewer):
        assert add(store, reviewer, category="抄袭").record.category == "抄袭剽窃"

    @pytest.mark.parametrize("kw, message", [
        (dict(expert_id="SC-404"), "SC-404"),
        (dict(category="学术不端"), "--category.*学术不端.*可选：抄袭剽窃、伪造篡改"),
        (dict(severity="特别严重"), "--severity.*可选：一般、较重、严重"),
        (dict(start="2026-13-01"), "--start.*2026-13-01"),
        (dict(end="明年"), "--end"),
        (dict(end="2025-06-01"), "--end.*早于"),
        (dict(decision_date="去年"), "--decision-date"),
        (dict(reason=""), "--reason"),
        (dict(reason="   "), "--reason"),
        (dict(status="作废"), "--status.*active"),
        (dict(record_id="has space"), "--id"),
    ])
    def test_bad_input_is_refused_and_nothing_written(self, store, reviewer, kw, message):
        audit_before = list(store.iter_audit())
        expert_id = kw.pop("expert_id", "SC-000001")
        error = NotFound if expert_id == "SC-404" else InputError
        with pytest.raises(error, match=message):
            add(store, reviewer, expert_id=expert_id, **kw)
        assert list(store.iter_integrity()) == [] and list(store.iter_audit()) == audit_before

    def test_a_failing_audit_append_leaves_no_record(self, store, reviewer, monkeypatch):
        def broken(draft):
            raise OSError("disk full")
        monkeypatch.setattr(store, "append_audit", broken)
        with pytest.raises(OSError):
            add(store, reviewer)
        assert list(store.iter_integrity()) == []

    @pytest.mark.parametrize("who", [OFFICER, "nobody"])
    def test_only_reviewers_and_administrators_write(self, store, actors, who):
        with pytest.raises(PermissionDenied, match="录入科研诚信记录"):
            add(store, actors[who])
        assert list(store.iter_integrity()) == []
        assert add(store, actors[ADMIN]).record.entered_by == ADMIN


# ---- amend and revoke ----
class TestAmend:
    def test_amend_changes_only_the_given_fields_and_keeps_the_old_version(self, store, reviewer):
        first = add(store, reviewer).record
        change = amend_record(store, reviewer, first.id, {"end": "2026-07-01", "severity": "较重"},
                              reason="复核后调整")
        r = change.record
        assert (r.version, r.end, r.severity, r.category, r.entered_by) == (2, D(2026, 7, 1), "较重", "抄袭剽窃", REVIEWER)
        assert store.integrity_versions(first.id) == [first, r]
        entry = change.audit
        assert (entry.action, entry.reason) == ("integrity.amend", "复核后调整")
        assert entry.before == first.model_dump(mode="json") and entry.after == r.model_dump(mode="json")

    def test_end_none_makes_it_permanent_and_empty_text_clears(self, store, reviewer):
        first = add(store, reviewer, issuer="科技部").record
        r = amend_record(store, reviewer, first.id, {"end": None, "issuer": ""}, reason="改为永久").record
        assert r.end is None and r.issuer is None
        assert bars_on(r, D(2090, 1, 1))

    def test_amend_can_move_the_record_to_the_right_expert(self, store, reviewer):
        first = add(store, reviewer).record
        r = amend_record(store, reviewer, first.id, {"expert_id": "CQ-000002"}, reason="录错了人").record
        assert r.expert_id == "CQ-000002"
        with pytest.raises(NotFound, match="--expert"):
            amend_record(store, reviewer, first.id, {"expert_id": "CQ-404"}, reason="x")

    @pytest.mark.parametrize("changes, message", [
        ({}, "没有给出要修改的字段"),
        ({"severity": "一般"}, "相同，未作更改"),
        ({"version": 9}, "不能修改的字段：version"),
        ({"entered_by": "someone"}, "不能修改的字段"),
        ({"start": "2027-06-01"}, "--end.*早于"),
        ({"sanctions": []}, "--sanction"),
        ({"severity": "很重"}, "--severity"),
    ])
    def test_bad_amendments_write_nothing(self, store, reviewer, changes, message):
        first = add(store, reviewer).record
        audit_before = list(store.iter_audit())
        with pytest.raises(InputError, match=message):
            amend_record(store, reviewer, first.id, changes, reason="x")
        assert store.integrity_versions(first.id) == [first] and list(store.iter_audit()) == audit_before

    def test_reason_is_required(self, store, reviewer):
        first = add(store, reviewer).record
        with pytest.raises(InputError, match="--reason"):
            amend_record(store, reviewer, first.id, {"severity": "严重"}, reason=" ")
        with pytest.raises(InputError, match="--reason"):
            revoke_record(store, reviewer, first.id, reason="")

    def test_unknown_record(self, store, reviewer):
        with pytest.raises(NotFound, match="IR-404"):
            amend_record(store, reviewer, "IR-404", {"severity": "严重"}, reason="x")

    def test_a_stale_version_is_refused_naming_who_changed_it(self, store, actors, reviewer):
        first = add(store, reviewer).record
        amend_record(store, actors[ADMIN], first.id, {"severity": "较重"}, reason="管理员复核")
        audit_before = list(store.iter_audit())
        with pytest.raises(ConcurrentEdit) as caught:
            amend_record(store, reviewer, first.id, {"severity": "严重"}, reason="x", expected_version=1)
        message = str(caught.value)
        assert "版本 1" in message and "版本 2" in message and ADMIN in message and "没有写入" in message
        assert store.get_integrity(first.id).severity == "较重" and list(store.iter_audit()) == audit_before

    def test_a_write_between_read_and_write_is_caught(self, store, reviewer, monkeypatch):
        """The version read at the start of the call is the one the write expects."""
        first = add(store, reviewer).record
        other = SQLiteStore(store.path)
        real_get = store.get_integrity
        sneaked = []

        def read_then_someone_else_writes(record_id):
            found = real_get(record_id)
            if not sneaked:
                sneaked.append(other.put_integrity(first.model_copy(update={"severity": "严重"}), 1))
            return found
        monkeypatch.setattr(store, "get_integrity", read_then_someone_else_writes)
        with pytest.raises(ConcurrentEdit, match="版本 1.*版本 2"):
            amend_record(store, reviewer, first.id, {"severity": "较重"}, reason="x")
        other.close()
        assert real_get(first.id).severity == "严重"

    def test_revoke_stops_the_bar_and_keeps_history(self, store, reviewer):
        first = add(store, reviewer, end=None).record
        assert barred_on(store, "2026-06-01") == {"SC-000001": [first.id]}
        change = revoke_record(store, reviewer, first.id, reason="处理决定被撤销")
        assert change.record.status == "revoked" and change.audit.action == "integrity.revoke"
        assert barred_on(store, "2026-06-01") == {}
        assert [v.status for v in store.integrity_versions(first.id)] == ["active", "revoked"]
        with pytest.raises(InputError, match="已是撤销状态"):
            revoke_record(store, reviewer, first.id, reason="again")

    def test_program_officers_may_not_amend_or_revoke(self, store, actors, reviewer):
        first = add(store, reviewer).record
        with pytest.raises(PermissionDenied):
            amend_record(store, actors[OFFICER], first.id, {"severity": "严重"}, reason="x")
        with pytest.raises(PermissionDenied):
            revoke_record(store, actors[OFFICER], first.id, reason="x")
        assert store.get_integrity(first.id) == first


# ---- list and show ----
class TestRead:
    @pytest.fixture
    def records(self, store, reviewer):
        a = add(store, reviewer, start="2026-01-01", end="2027-01-01").record
        b = add(store, reviewer, expert_id="CQ-000002", start="2026-06-01", end=None).record
        c = add(store, reviewer, expert_id="CQ-000002", start="2025-01-01", end="2025-06-01").record
        d = revoke_record(store, reviewer, add(store, reviewer, start="2026-01-01").record.id, reason="撤").record
        return a, b, c, d

    def test_filters(self, store, actors, records):
        a, b, c, d = records
        officer = actors[OFFICER]  # read-only access is enough to list
        ids = lambda rs: [r.id for r in rs]  # noqa: E731
        assert ids(list_records(store, officer)) == [a.id, b.id, c.id, d.id]
        assert ids(list_records(store, officer, expert_id="CQ-000002")) == [b.id, c.id]
        assert ids(list_records(store, officer, status="revoked")) == [d.id]
        assert ids(list_records(store, officer, status="有效")) == [a.id, b.id, c.id]
        assert ids(list_records(store, officer, active_on="2026-06-01")) == [a.id, b.id]
        assert ids(list_records(store, officer, active_on="2027年1月1日")) == [b.id]
        assert ids(list_records(store, officer, active_on="2025/3/1")) == [c.id]
        with pytest.raises(NotFound):
            list_records(store, officer, expert_id="SC-404")
        with pytest.raises(InputError, match="--active-on"):
            list_records(store, officer, active_on="someday")
        with pytest.raises(PermissionDenied):
            list_records(store, actors["nobody"])

    def test_show_has_every_version_and_its_audit_entries(self, store, reviewer, records):
        d = records[3]
        history = record_history(store, reviewer, d.id)
        assert history.record == d
        assert [v.version for v in history.versions] == [1, 2]
        assert [e.action for e in history.audit] == ["integrity.add", "integrity.revoke"]
        data = history.to_json()
        assert data["record"]["status"] == "revoked" and len(data["audit"]) == 2


# ---- eligibility as the other commands see it ----
class TestEligibilityInUse:
    def test_profile_and_search_on_a_date(self, store, actors, reviewer):
        sc = add(store, reviewer, expert_id="SC-000001", issuer="重庆市科学技术局",
                 start="2026-01-01", end="2027-01-01").record
        cq = add(store, reviewer, expert_id="CQ-000002", issuer="四川省科学技术厅",
                 start="2026-06-01", end=None).record
        officer = actors[OFFICER]
        on = lambda day: expert_profile(store, "SC-000001", officer, day)  # noqa: E731
        assert (on("2025-12-31")["eligible"], on("2025-12-31")["barred_by"]) == (True, [])
        assert (on("2026-01-01")["eligible"], on("2026-01-01")["barred_by"]) == (False, [sc.id])
        assert on("2027-01-01")["eligible"] is True
        cq_view = expert_profile(store, "CQ-000002", officer, "2099-01-01")
        assert (cq_view["eligible"], cq_view["barred_by"]) == (False, [cq.id])

        def found(day, **kw):
            result = search_experts(store, SearchRequest(**kw), barred_on(store, day))
            return [h.expert.id for h in result.hits]
        assert found("2025-12-31") == ["CQ-000002", "SC-000001", "SC-000003"]
        assert found("2026-03-01") == ["CQ-000002", "SC-000003"]
        assert found("2026-06-01") == ["SC-000003"]
        assert found("2026-06-01", regions=("重庆",)) == []   # a 四川 decision bars a 重庆 expert
        assert found("2027-01-01", regions=("四川",)) == ["SC-000001", "SC-000003"]
        revoke_record(store, reviewer, cq.id, reason="撤销")
        assert found("2026-06-01") == ["CQ-000002", "SC-000003"]

    def test_a_suspended_expert_is_not_eligible(self, store, actors):
        store.upsert_experts([store.get_expert("SC-000003").model_copy(update={"status": "暂停"})])
        view = expert_profile(store, "SC-000003", actors[OFFICER], "2026-01-01")
        assert view["eligible"] is False and view["barred_by"] == []


# ---- two processes amend the same record at once ----
def test_two_processes_amending_at_once_one_wins_nothing_lost(tmp_path, store, reviewer, actors):
    first = add(store, reviewer).record
    grant_role(store, actors[ADMIN], "reviewer2", "reviewer")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    spec = {"backend": "sqlite", "db_path": str(store.path)}
    children = [ctx.Process(target=amend_after_barrier,
                            args=(spec, user, first.id, {"severity": severity}, f"{user} 复核", barrier, results))
                for user, severity in ((REVIEWER, "较重"), ("reviewer2", "严重"))]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    won = [o for o in outcomes if o[1] == "ok"]
    lost = [o for o in outcomes if o[1] == "ConcurrentEdit"]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert won[0][2] == 2 and "版本 1" in lost[0][2] and "版本 2" in lost[0][2]
    winner = won[0][0]
    current = store.get_integrity(first.id)
    assert current.version == 2 and current.severity == {"reviewer": "较重", "reviewer2": "严重"}[winner]
    assert [v.version for v in store.integrity_versions(first.id)] == [1, 2]   # nothing lost or doubled
    amends = [e for e in store.iter_audit() if e.action == "integrity.amend"]
    assert [(e.user, e.after["version"]) for e in amends] == [(winner, 2)]
    from expertpool.services.audit import verify_audit
    assert verify_audit(store).ok
