"""The conflict policy (domain/conflicts/policy.py) and its files (io/datafiles.py): settings,
validation, and the date windows."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expertpool.domain.conflicts import RULES, ConflictPolicy, PolicyError, in_window, years_before
from expertpool.errors import InputError
from expertpool.io.datafiles import default_policy_path, load_policy

DAY = dt.date(2025, 6, 1)


# ---- policy ---------------------------------------------------------------------------------

def test_shipped_policy_file_states_every_rule_and_matches_the_defaults():
    import tomllib

    data = tomllib.loads(default_policy_path().read_text(encoding="utf-8"))
    assert set(RULES) | {"panel"} == set(data)
    assert load_policy() == ConflictPolicy()


def test_policy_windows_are_range_checked():
    assert ConflictPolicy().apply({"coauthor": {"years": 2}}).years("coauthor") == 2
    assert ConflictPolicy().apply({"coauthor.years": 5}).years("coauthor") == 5
    for bad in (1, 6, "4", 4.0, True):
        with pytest.raises(PolicyError) as err:
            ConflictPolicy().apply({"coauthor": {"years": bad}})
        assert err.value.key == "coauthor.years"
    with pytest.raises(PolicyError, match="2–5"):
        ConflictPolicy().apply({"coinvestigator.years": 7})


def test_policy_rejects_unknown_keys_and_fixed_rules():
    with pytest.raises(PolicyError) as err:
        ConflictPolicy().apply({"coauthor": {"yeras": 3}})
    assert err.value.key == "coauthor.yeras"
    with pytest.raises(PolicyError) as err:
        ConflictPolicy().apply({"cousins": {"hard": True}})
    assert err.value.key == "cousins"
    with pytest.raises(PolicyError, match="years"):  # no window on a rule for life
        ConflictPolicy().apply({"family": {"years": 3}})
    with pytest.raises(PolicyError):
        ConflictPolicy().apply({"same_person": {"hard": False}})
    with pytest.raises(PolicyError):
        ConflictPolicy().apply({"panel": {"pair_rules": ["same_unit"]}})


def test_policy_file_errors_name_file_and_key(tmp_path):
    path = tmp_path / "review.toml"
    path.write_text("[coauthor]\nyears = 9\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_policy(path)
    assert str(path) in str(err.value) and "coauthor.years" in str(err.value) and "2–5" in str(err.value)
    path.write_text("[former_unit]\nwindow = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="former_unit.window"):
        load_policy(path)
    path.write_text("[coauthor]\nyears = 3\n", encoding="utf-8")
    policy = load_policy(path, overrides={"same_parent.hard": True})
    assert policy.years("coauthor") == 3 and policy.hard("same_parent")
    assert policy.years("former_unit") == 3  # untouched keys keep the defaults
    with pytest.raises(InputError, match="回避规则覆盖项"):
        load_policy(overrides={"coauthor": {"years": 0}})
    assert ConflictPolicy().apply(ConflictPolicy().to_mapping()) == ConflictPolicy()


# ---- date arithmetic ------------------------------------------------------------------------

def test_window_arithmetic():
    assert years_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)
    assert years_before(dt.date(2024, 2, 29), 3) == dt.date(2021, 2, 28)
    # last year Y counts through Y-12-31: with 4 years, 2021 counts for every day of 2025
    assert in_window(2021, dt.date(2025, 1, 1), 4) and in_window(2021, dt.date(2025, 12, 31), 4)
    assert not in_window(2021, dt.date(2026, 1, 1), 4)
    assert in_window(None, DAY, 4) and in_window(1990, DAY, None)


# ---- properties -----------------------------------------------------------------------------

@given(last=st.integers(1950, 2100), day=st.dates(dt.date(1960, 1, 1), dt.date(2100, 12, 31)),
       years=st.integers(1, 10))
def test_window_is_the_year_difference(last, day, years):
    assert in_window(last, day, years) == (day.year - last <= years)
