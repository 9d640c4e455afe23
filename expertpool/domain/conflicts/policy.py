"""The conflict-of-interest policy: which rules apply, which exclude (hard) and which only
flag (soft), their windows in years, and how a window is read against the review date.

Pure data and arithmetic: the policy is data (defaults in indexes/coi_policy.toml); the rules
that apply it are in `rules`, the graph they read in `graph`.

Dates (the review date is passed in; there is no clock here)
    A relation or affiliation dated by years is in force through 31 December of its last year (the
    end year, else the start year). A rule with a window of N years applies when
        31 December of the last year  ≥  the review date minus N years,
    which is the same as  review_date.year − last_year ≤ N. So with N = 4 a paper of 2021 counts
    for every review date in 2025 and none in 2026; with N = 3 a unit left in 2021 counts through
    2024-12-31 and not on 2025-01-01 (three years and one day after 2021-12-31). A record whose
    start year is after the review date's year does not count yet. A windowed record with no year
    at all counts (it cannot be shown to be old), and its evidence says 年份不详.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from expertpool.domain.text import clean

# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    label: str                               # shown to users
    hard: bool                               # default: excludes (True) or only flags (False)
    years: int | None = None                 # default window; None = no window (for life / always)
    years_range: tuple[int, int] | None = None
    extra: tuple[str, ...] = ()              # further keys this rule's table accepts
    fixed: bool = False                      # cannot be switched off or made soft


RULES: dict[str, RuleSpec] = {
    "same_person": RuleSpec("本人", True, fixed=True),
    "family": RuleSpec("亲属", True),
    "advisor": RuleSpec("师生", True),
    "same_unit": RuleSpec("同一法人单位", True),
    "former_unit": RuleSpec("原单位", True, 3, (1, 10)),
    "coauthor": RuleSpec("合著", True, 4, (2, 5), ("max_authors",)),
    "coinvestigator": RuleSpec("项目合作", True, 4, (2, 5)),
    "avoid_list": RuleSpec("申请人要求回避", True),
    "declared": RuleSpec("专家声明回避", True, extra=("markers",)),
    "coauthor_2hop": RuleSpec("合著者的合著者", False, 4, (2, 5)),
    "same_parent": RuleSpec("同一上级单位", False, extra=("ignore_parents",)),
}
RULE_LABELS: dict[str, str] = {k: v.label for k, v in RULES.items()}
#: Rules whose relation can bar two experts from sitting on one panel.
PAIR_RULE_CHOICES = ("family", "advisor", "declared", "coauthor", "coinvestigator")
DEFAULT_PAIR_RULES = ("family", "advisor")
DEFAULT_MAX_AUTHORS = 50
DEFAULT_MARKERS = ("回避",)
DEFAULT_IGNORE_PARENTS = (
    "教育部", "四川省人民政府", "重庆市人民政府", "成都市人民政府", "宜宾市人民政府",
    "四川省卫生健康委员会", "重庆市卫生健康委员会", "重庆市生态环境局", "中国人民解放军陆军",
)


class PolicyError(ValueError):
    """A policy setting is unknown or out of range; `key` is its dotted name (coauthor.years)."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class RuleSetting:
    enabled: bool = True
    hard: bool = True
    years: int | None = None


@dataclass(frozen=True)
class ConflictPolicy:
    """Which rules apply, which exclude (hard) and which only flag (soft), and their windows.

    `ConflictPolicy()` is the built-in default; `policy.apply(mapping)` returns a copy with the
    settings of a mapping shaped like indexes/coi_policy.toml (or with dotted keys,
    {"coauthor.years": 3}), validated: unknown keys and out-of-range values raise `PolicyError`.
    """
    rules: Mapping[str, RuleSetting] = field(default_factory=lambda: {
        k: RuleSetting(True, spec.hard, spec.years) for k, spec in RULES.items()})
    max_authors: int = DEFAULT_MAX_AUTHORS
    declared_markers: tuple[str, ...] = DEFAULT_MARKERS
    ignore_parents: frozenset[str] = frozenset(DEFAULT_IGNORE_PARENTS)
    pair_rules: tuple[str, ...] = DEFAULT_PAIR_RULES

    def rule(self, name: str) -> RuleSetting:
        return self.rules[name]

    def active(self, name: str) -> bool:
        return self.rules[name].enabled

    def years(self, name: str) -> int | None:
        return self.rules[name].years

    def hard(self, name: str) -> bool:
        return self.rules[name].hard

    def apply(self, mapping: Mapping[str, Any] | None) -> "ConflictPolicy":
        if not mapping:
            return self
        nested = _nest(mapping)
        rules = dict(self.rules)
        values: dict[str, Any] = {}
        for section, body in nested.items():
            if section == "panel":
                _check_table(section, body, ("pair_rules",))
                if "pair_rules" in body:
                    values["pair_rules"] = _names(section + ".pair_rules", body["pair_rules"], PAIR_RULE_CHOICES)
                continue
            spec = RULES.get(section)
            if spec is None:
                raise PolicyError(section, f"未知的规则；可选：{'、'.join([*RULES, 'panel'])}")
            allowed = ("enabled", "hard", *(("years",) if spec.years_range else ()), *spec.extra)
            _check_table(section, body, allowed)
            current = rules[section]
            enabled = _bool(f"{section}.enabled", body.get("enabled", current.enabled))
            hard = _bool(f"{section}.hard", body.get("hard", current.hard))
            if spec.fixed and (not enabled or not hard):
                raise PolicyError(f"{section}.{'enabled' if not enabled else 'hard'}",
                                  f"「{spec.label}」始终回避，不能关闭或设为提示")
            years = current.years
            if "years" in body:
                years = _int_in(f"{section}.years", body["years"], *spec.years_range)
            rules[section] = RuleSetting(enabled, hard, years)
            if "max_authors" in body:
                values["max_authors"] = _int_in(f"{section}.max_authors", body["max_authors"], 2, 100000)
            if "markers" in body:
                values["declared_markers"] = tuple(_strings(f"{section}.markers", body["markers"], nonempty=True))
            if "ignore_parents" in body:
                values["ignore_parents"] = frozenset(_strings(f"{section}.ignore_parents", body["ignore_parents"]))
        return replace(self, rules=rules, **values)

    def to_mapping(self) -> dict[str, dict[str, Any]]:
        """The policy as a mapping `apply` accepts (and TOML can hold)."""
        out: dict[str, dict[str, Any]] = {}
        for name, spec in RULES.items():
            setting = self.rules[name]
            body: dict[str, Any] = {"enabled": setting.enabled, "hard": setting.hard}
            if spec.years_range:
                body["years"] = setting.years
            out[name] = body
        out["coauthor"]["max_authors"] = self.max_authors
        out["declared"]["markers"] = list(self.declared_markers)
        out["same_parent"]["ignore_parents"] = sorted(self.ignore_parents)
        out["panel"] = {"pair_rules": list(self.pair_rules)}
        return out


def _nest(mapping: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise PolicyError(str(key), "键应为字符串")
        if "." in key:
            section, _, sub = key.partition(".")
            out.setdefault(section, {})[sub] = value
        elif isinstance(value, Mapping):
            out.setdefault(key, {}).update(value)
        else:
            raise PolicyError(key, "应为一个表（如 [coauthor]）或写成带点的键（如 coauthor.years）")
    return out


def _check_table(section: str, body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    for key in body:
        if key not in allowed:
            raise PolicyError(f"{section}.{key}", f"未知的键；[{section}] 可用：{'、'.join(allowed)}")


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(key, f"应为 true 或 false，实为 {value!r}")
    return value


def _int_in(key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(key, f"应为整数，实为 {value!r}")
    if not lo <= value <= hi:
        raise PolicyError(key, f"{value} 超出允许范围 {lo}–{hi}")
    return value


def _strings(key: str, value: Any, nonempty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PolicyError(key, "应为字符串数组")
    if nonempty and not value:
        raise PolicyError(key, "不能为空")
    return [clean(v) for v in value]


def _names(key: str, value: Any, choices: tuple[str, ...]) -> tuple[str, ...]:
    names = _strings(key, value)
    for name in names:
        if name not in choices:
            raise PolicyError(key, f"未知的规则「{name}」；可选：{'、'.join(choices)}")
    return tuple(dict.fromkeys(names))


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def in_window(last_year: int | None, review_date: dt.date, years: int | None) -> bool:
    """Whether a record whose last year is `last_year` (in force through 31 December of it) falls
    within `years` of `review_date`. No window (None): always. No year: counts (module docstring)."""
    if years is None or last_year is None:
        return True
    return dt.date(last_year, 12, 31) >= years_before(review_date, years)


def started(start_year: int | None, review_date: dt.date) -> bool:
    """Whether a record starting in `start_year` counts yet on `review_date` (no year: it does)."""
    return start_year is None or start_year <= review_date.year


def policy_key(policy: ConflictPolicy) -> list:
    """Every setting of `policy` as plain JSON-ready data in a fixed order: equal settings, equal
    keys (for caches of what a policy decides)."""
    return [sorted([name, s.enabled, s.hard, s.years] for name, s in policy.rules.items()), policy.max_authors,
            list(policy.declared_markers), sorted(policy.ignore_parents), list(policy.pair_rules)]
