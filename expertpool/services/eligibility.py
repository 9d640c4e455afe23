"""Eligibility on a date, read from the store (integrity records of both provinces); the rules
themselves are `domain.eligibility`."""
from __future__ import annotations

import datetime as dt

from expertpool.domain.eligibility import (
    SEARCH_RULES,
    EligibilityFacts,
    EligibilityRules,
    barred_by_records,
    barred_experts,
)
from expertpool.domain.text import parse_date
from expertpool.errors import InputError
from expertpool.stores.base import ExpertStore


def parse_review_date(value: str | dt.date | None, option: str = "--on") -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None


def barred_on(store: ExpertStore, day: str | dt.date | None, option: str = "--eligible-on") -> dict[str, list[str]]:
    """expert id → ids of the integrity records that bar them from review on `day`: the rules of
    `search --eligible-on` (`SEARCH_RULES`), which the integrity records alone decide."""
    on = parse_review_date(day, option)
    facts = EligibilityFacts(on, barred=barred_experts(store.iter_integrity(), on))
    return barred_by_records(EligibilityRules(SEARCH_RULES), facts)
