"""Who may review on a date. Pure: records and dates in, decisions out."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from expertpool.domain.models import REVIEW_SANCTIONS, IntegrityRecord


def covers_review(record: IntegrityRecord) -> bool:
    """Whether the record's sanctions include review work (评审专家资格 and the like)."""
    return any(s in REVIEW_SANCTIONS or "评审" in s for s in record.sanctions)


def bars_on(record: IntegrityRecord, day: dt.date) -> bool:
    """An active record whose sanction covers review work bars on `day` when start ≤ day < end
    (no end: permanent). Records from either province apply in both."""
    return (record.status == "active" and covers_review(record)
            and record.start <= day and (record.end is None or day < record.end))


def barring_records(records: Iterable[IntegrityRecord], day: dt.date) -> list[IntegrityRecord]:
    return [r for r in records if bars_on(r, day)]


def barred_experts(records: Iterable[IntegrityRecord], day: dt.date) -> dict[str, list[str]]:
    """expert id → ids of the records that bar them on `day`."""
    out: dict[str, list[str]] = {}
    for record in records:
        if bars_on(record, day):
            out.setdefault(record.expert_id, []).append(record.id)
    return out
