"""专家评价: the evaluation policy (domain/evaluation.py, indexes/evaluation_policy.toml) as a pause
rule of eligibility, counted among a draw's exclusions, and evaluation history imported like any
other record file."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from expertpool.domain.evaluation import EvaluationPolicy, EvaluationPolicyError, add_months, pauses_on
from expertpool.domain.models import Evaluation
from expertpool.errors import InputError
from expertpool.io.datafiles import load_evaluation_policy
from expertpool.services.importing import import_files
from expertpool.services.panels import build_panel
from expertpool.services.profile import expert_profile
from tests.sample_pool import admin, spec, store, template  # noqa: F401 (fixtures)

D = dt.date


def ev(expert: str, day: dt.date, attendance: str = "缺席", score: int | None = None, activity: str | None = None):
    return Evaluation(expert_id=expert, activity=activity or f"评审{day}", date=day, attendance=attendance, score=score)


def test_the_shipped_policy_pauses_two_unexcused_absences_in_twelve_months_for_six():
    policy = load_evaluation_policy()
    history = [ev("A", D(2026, 1, 10)), ev("A", D(2026, 11, 20)),                  # 2 within 12 months
               ev("B", D(2025, 1, 10)), ev("B", D(2026, 3, 1)),                    # 14 months apart
               ev("C", D(2026, 2, 1)), ev("C", D(2026, 5, 1), "请假"),             # excused does not count
               ev("D", D(2026, 2, 1), "出席", 1), ev("D", D(2026, 3, 1), "出席", 1)]  # low scores: rule is off
    paused = pauses_on(history, policy, D(2026, 12, 1))
    assert set(paused) == {"A"}
    assert paused["A"].until == D(2027, 5, 20) and paused["A"].start == D(2026, 11, 20)
    assert "无故缺席" in paused["A"].describe() and "2027-05-19" in paused["A"].describe()
    assert "A" in pauses_on(history, policy, D(2027, 5, 19)) and "A" not in pauses_on(history, policy, D(2027, 5, 20))
    assert pauses_on(history, policy, D(2026, 11, 19)) == {}   # the second absence is not yet on record


def test_a_policy_may_count_low_scores_and_is_checked():
    policy = EvaluationPolicy.from_mapping({"rules": [{"name": "评分过低", "score_at_most": 2, "count": 2,
                                                       "within_months": 6, "pause_months": 3}]})
    history = [ev("D", D(2026, 2, 1), "出席", 2), ev("D", D(2026, 8, 15), "出席", 1), ev("E", D(2026, 2, 1), "出席", 3),
               ev("E", D(2026, 3, 1), "出席", 3)]
    assert pauses_on(history, policy, D(2026, 8, 20)) == {}       # 2/1 and 8/15: more than 6 months apart
    history.append(ev("D", D(2026, 9, 1), "出席", 2))
    assert set(pauses_on(history, policy, D(2026, 9, 2))) == {"D"}
    assert pauses_on(history, policy, D(2026, 12, 1)) == {}       # 3 months from 9/1 have passed
    assert add_months(D(2026, 8, 31), 6) == D(2027, 2, 28)
    for bad, key in (({"rules": [{"count": 0, "within_months": 1, "pause_months": 1, "absent": True}]}, "count"),
                     ({"rules": [{"count": 1, "within_months": 1, "pause_months": 1}]}, "rules[1]"),
                     ({"rules": [{"count": 1, "within_months": 1, "pause_months": 1, "absent": True, "x": 1}]}, "x"),
                     ({"pause": []}, "pause")):
        with pytest.raises(EvaluationPolicyError, match=re.escape(key)):
            EvaluationPolicy.from_mapping(bad)


def test_a_broken_policy_file_names_the_file_and_key(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text("[[rules]]\nname = \"x\"\ncount = \"two\"\nwithin_months = 12\npause_months = 6\nabsent = true\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"policy.toml: rules\[1\].count"):
        load_evaluation_policy(path)


def test_imported_absences_pause_an_expert_counted_among_the_draws_exclusions(store, admin, tmp_path):
    first = build_panel(store, admin, spec(mode="best", seed=11), save=False).record
    member = first.members[0].id
    assert first.exclusions["评价暂停期内"] == 0
    history = tmp_path / "evaluations.csv"
    history.write_text("专家编号,评审活动,评审日期,出席情况,评分,备注\n"
                       f"{member},2026年第一批项目评审,2026/3/5,缺席,,未请假\n"
                       f"{member},2026年第二批项目评审,2026年9月1日,缺席,,\n"
                       f"{first.members[1].id},2026年第二批项目评审,2026-09-01,出席,5,意见中肯\n",
                       encoding="gb18030")
    report = import_files(store, [history], admin)
    assert not report.failed and report.files[0].kind == "evaluations"
    assert len(list(store.iter_records("evaluation"))) == 3
    again = build_panel(store, admin, spec(mode="best", seed=11), save=False).record
    assert again.exclusions["评价暂停期内"] == 1 and member in again.excluded_ids["评价暂停期内"]
    assert member not in again.member_ids()
    profile = expert_profile(store, member, admin, on="2026-12-01")
    assert not profile["eligible"] and "无故缺席" in profile["paused"] and len(profile["evaluations"]) == 2


def test_bad_evaluation_rows_are_rejected_with_their_column(store, admin, tmp_path):
    member = next(store.iter_experts()).id
    bad = tmp_path / "bad.csv"
    bad.write_text("专家编号,评审活动,评审日期,出席情况,评分\n"
                   f"{member},甲,2026-01-01,迟到,\n"
                   f"{member},乙,2026-01-01,出席,7\n"
                   f"{member},丙,2026-01-01,缺席,3\n", encoding="utf-8")
    report = import_files(store, [bad], admin)
    rejects = report.files[0].rejects
    assert [r.column for r in rejects] == ["出席情况", "评分", "评分"]
    assert not list(store.iter_records("evaluation"))
