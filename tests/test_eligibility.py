"""domain/eligibility.py: one home for the rules; each caller names which apply."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from expertpool.domain.eligibility import (
    PANEL_RULES,
    REASONS,
    SEARCH_RULES,
    SHOW_RULES,
    EligibilityFacts,
    EligibilityRules,
    barred_by_records,
    barred_experts,
    bars_on,
    covers_review,
    first_bar,
    sort_out,
)
from expertpool.services.integrity import in_force_on
from tests.factories import make_integrity_record as rec

DAY = dt.date(2026, 12, 1)
D = dt.date


@dataclass
class Person:
    id: str
    status: str = "在库"
    birth_year: int | None = 1970
    high_level: bool = False

    def age_on(self, day: dt.date) -> int | None:
        return None if self.birth_year is None else day.year - self.birth_year


def test_every_rule_bars_and_the_first_that_applies_is_named():
    facts = EligibilityFacts(DAY, barred={"I": ["IR-1"], "X": ["IR-2"]}, reviews={"W": 10, "X": 12, "P": 12},
                             booked={"B", "X", "C"}, conflicted={"C", "X", "B", "P"}, paused={"P", "X"})
    people = [Person("OK"), Person("S", status="暂停"), Person("A", birth_year=1950),
              Person("H", birth_year=1958, high_level=True), Person("I"), Person("P"), Person("W"), Person("B"),
              Person("C"), Person("X", status="出库", birth_year=1940)]
    rules = EligibilityRules(PANEL_RULES)
    assert {p.id: first_bar(p, rules, facts) for p in people} == {
        "OK": None, "S": "status", "A": "age", "H": None, "I": "integrity", "P": "evaluation", "W": "workload",
        "B": "booked", "C": "booked", "X": "status"}
    eligible, excluded = sort_out(people, rules, facts)
    assert [p.id for p in eligible] == ["OK", "H"]
    assert list(excluded) == list(REASONS)   # every rule, in the order tested
    assert excluded == {"status": ["S", "X"], "age": ["A"], "integrity": ["I"], "evaluation": ["P"],
                        "workload": ["W"], "booked": ["B", "C"], "conflict": []}
    # a spec that allows a second seat on one day drops the rule: C is then barred by its conflict
    without = EligibilityRules(tuple(r for r in PANEL_RULES if r != "booked"))
    assert first_bar(Person("C"), without, facts) == "conflict" and first_bar(Person("B"), without, facts) == "conflict"


def test_callers_name_the_rules_that_apply():
    facts = EligibilityFacts(DAY, barred={"I": ["IR-1"]}, reviews={"I": 99}, conflicted={"I"})
    suspended, sanctioned = Person("S", status="暂停"), Person("I", birth_year=1900)
    assert first_bar(suspended, EligibilityRules(SHOW_RULES), facts) == "status"
    assert first_bar(sanctioned, EligibilityRules(SHOW_RULES), facts) == "integrity"   # age is not a show rule
    assert first_bar(suspended, EligibilityRules(SEARCH_RULES), facts) is None
    assert barred_by_records(EligibilityRules(SEARCH_RULES), facts) == {"I": ["IR-1"]}
    with pytest.raises(ValueError, match="per expert"):
        barred_by_records(EligibilityRules(SHOW_RULES), facts)


def test_limits_and_unknown_rules():
    facts = EligibilityFacts(DAY, reviews={"W": 3})
    assert first_bar(Person("W"), EligibilityRules(PANEL_RULES, max_reviews_per_year=3), facts) == "workload"
    assert first_bar(Person("W"), EligibilityRules(PANEL_RULES, max_reviews_per_year=None), facts) is None
    assert first_bar(Person("A", birth_year=1960), EligibilityRules(("age",), max_age=66), facts) is None
    assert first_bar(Person("N", birth_year=None), EligibilityRules(("age",)), facts) is None
    assert EligibilityRules(("conflict", "status")).apply == ("status", "conflict")
    with pytest.raises(ValueError, match="unknown"):
        EligibilityRules(("honesty",))


# ---- whether an integrity record bars on a date ----
class TestBarsOn:
    def test_the_sanction_period_is_start_inclusive_end_exclusive(self):
        r = rec(start=D(2026, 1, 1), end=D(2027, 1, 1))
        assert not bars_on(r, D(2025, 12, 31))
        assert bars_on(r, D(2026, 1, 1))        # starting today: barred today
        assert bars_on(r, D(2026, 12, 31))
        assert not bars_on(r, D(2027, 1, 1))    # ending today: free today

    def test_no_end_is_permanent(self):
        r = rec(end=None)
        assert bars_on(r, D(2026, 1, 1)) and bars_on(r, D(2099, 12, 31))
        assert not bars_on(r, D(2025, 12, 31))

    @pytest.mark.parametrize("status", ["revoked", "expired"])
    def test_only_active_records_bar(self, status):
        assert not bars_on(rec(status=status, end=None), D(2026, 6, 1))

    @pytest.mark.parametrize("sanctions, bars", [
        (["取消评审专家资格"], True),
        (["暂停评审专家资格"], True),
        (["禁止参与评审"], True),
        (["取消专家库入库资格"], True),
        (["三年内不得参与科技计划项目评审活动"], True),   # names review work in its own words
        (["通报批评", "追回项目经费"], False),           # a sanction, but not on review work
        (["通报批评", "取消评审专家资格"], True),
    ])
    def test_only_sanctions_on_review_work_bar(self, sanctions, bars):
        r = rec(sanctions=sanctions)
        assert covers_review(r) is bars
        assert bars_on(r, D(2026, 6, 1)) is bars
        assert in_force_on(r, D(2026, 6, 1))  # in force either way

    def test_records_of_either_province_bar_in_both(self):
        records = [rec(id="IR-1", expert_id="SC-000001", issuer="重庆市科学技术局"),
                   rec(id="IR-2", expert_id="CQ-000002", issuer="四川省科学技术厅"),
                   rec(id="IR-3", expert_id="CQ-000002", issuer="科技部", status="revoked")]
        assert barred_experts(records, D(2026, 6, 1)) == {"SC-000001": ["IR-1"], "CQ-000002": ["IR-2"]}
