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
    first_bar,
    sort_out,
)

DAY = dt.date(2026, 12, 1)


@dataclass
class Person:
    id: str
    status: str = "在库"
    birth_year: int | None = 1970
    high_level: bool = False

    def age_on(self, day: dt.date) -> int | None:
        return None if self.birth_year is None else day.year - self.birth_year


def test_every_rule_bars_and_the_first_that_applies_is_named():
    facts = EligibilityFacts(DAY, barred={"I": ["IR-1"], "X": ["IR-2"]}, reviews={"W": 10, "X": 12},
                             conflicted={"C", "X"})
    people = [Person("OK"), Person("S", status="暂停"), Person("A", birth_year=1950),
              Person("H", birth_year=1958, high_level=True), Person("I"), Person("W"), Person("C"),
              Person("X", status="出库", birth_year=1940)]
    rules = EligibilityRules(PANEL_RULES)
    assert {p.id: first_bar(p, rules, facts) for p in people} == {
        "OK": None, "S": "status", "A": "age", "H": None, "I": "integrity", "W": "workload", "C": "conflict",
        "X": "status"}
    eligible, excluded = sort_out(people, rules, facts)
    assert [p.id for p in eligible] == ["OK", "H"]
    assert list(excluded) == list(REASONS)   # every rule, in the order tested
    assert excluded == {"status": ["S", "X"], "age": ["A"], "integrity": ["I"], "workload": ["W"],
                        "conflict": ["C"]}


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
