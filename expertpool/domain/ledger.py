"""The workload ledger: who sits on which saved panel or review-session group, on which day.

Imported review history says what an expert reviewed in the past; the ledger says what the
tool itself has seated them on, past and upcoming. Together they give the workload cap its count
(`review_counts`), and the ledger alone says who is already seated on a given day (`booked_on`:
no one sits in two panels on one day).

Pure: the services read the saved panels and sessions into `Seating`s; nothing here reads a
store or the clock (a "now" is passed in as the saved records' own timestamps).
"""
from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

PANEL, SESSION = "评审专家组", "评审会"


@dataclass(frozen=True)
class Seat:
    """One expert on one saved panel (or one group of a saved review session) on its review day."""
    expert_id: str
    day: dt.date
    source_id: str            # the panel's or the session's id
    kind: str                 # PANEL or SESSION
    name: str                 # the panel's name, or the session's
    group: str | None = None  # the session's group
    sealed: bool = False      # on a panel whose member list is still sealed

    def describe(self) -> str:
        if self.sealed:   # the seat counts, but names no panel a reader could look up
            return f"{self.day.isoformat()} 名单密封中的{self.kind}"
        where = f"{self.name}·{self.group}" if self.group else self.name
        return f"{self.day.isoformat()} {self.kind}「{where}」（{self.source_id}）"


@dataclass(frozen=True)
class Replacement:
    out: str
    into: str
    at: str | None            # ISO timestamp of the replacement


@dataclass(frozen=True)
class Seating:
    """A saved panel (or one session group) as the ledger needs it: who was drawn, and who was
    replaced by whom, when."""
    source_id: str
    kind: str
    name: str
    day: dt.date
    drawn: tuple[str, ...]
    replacements: tuple[Replacement, ...] = ()
    created_at: str | None = None
    group: str | None = None
    sealed: bool = False

    def members(self, as_of: str | None = None) -> list[str]:
        """The members after the replacements made up to `as_of` (all of them when None)."""
        members = list(self.drawn)
        for r in self.replacements:
            if as_of is not None and r.at is not None and r.at > as_of:
                continue
            members = [r.into if m == r.out else m for m in members]
        return members


class Ledger:
    """Seats on saved panels and sessions, by expert and by day."""

    def __init__(self, seats: Iterable[Seat] = ()):
        self.seats: tuple[Seat, ...] = tuple(sorted(seats, key=lambda s: (s.day, s.source_id, s.expert_id)))
        self._by_expert: dict[str, list[Seat]] = {}
        for seat in self.seats:
            self._by_expert.setdefault(seat.expert_id, []).append(seat)

    @classmethod
    def of(cls, seatings: Iterable[Seating], *, exclude: Iterable[str] = (), as_of: str | None = None) -> "Ledger":
        """The ledger of `seatings`, leaving out the sources in `exclude`; with `as_of`, as it stood
        then (sources created later left out, replacements made later undone), which is what a
        draw saved at `as_of` saw."""
        skip = set(exclude)
        seats = []
        for s in seatings:
            if s.source_id in skip or (as_of is not None and s.created_at is not None and s.created_at >= as_of):
                continue
            seats.extend(Seat(m, s.day, s.source_id, s.kind, s.name, s.group, s.sealed) for m in s.members(as_of))
        return cls(seats)

    def __len__(self) -> int:
        return len(self.seats)

    @property
    def has_sealed(self) -> bool:
        return any(seat.sealed for seat in self.seats)

    def unsealed(self) -> "Ledger":
        """The ledger without the seats on still-sealed panels: what anything a reader sees is
        computed from, so that nothing shown differs because of a sealed seat."""
        return Ledger(seat for seat in self.seats if not seat.sealed)

    def of_expert(self, expert_id: str) -> list[Seat]:
        return list(self._by_expert.get(expert_id, ()))

    def booked_on(self, day: dt.date) -> dict[str, list[Seat]]:
        """expert id → their seats on `day`."""
        out: dict[str, list[Seat]] = {}
        for seat in self.seats:
            if seat.day == day:
                out.setdefault(seat.expert_id, []).append(seat)
        return out


class ReviewHistory(Protocol):
    """Imported review history as ordinal days per expert (the snapshot's packed `ReviewDays`)."""

    def between(self, lo: int, hi: int) -> Counter:
        """Reviews per expert with lo ≤ day < hi."""
        ...

    def has(self, expert_id: str, day: int) -> bool:
        """Whether the expert has a review on that day."""
        ...


class SortedDays:
    """`ReviewHistory` over a mapping: expert id → their ordinal review days, sorted."""

    def __init__(self, by_expert: Mapping[str, Sequence[int]]):
        self.by_expert = by_expert

    def between(self, lo: int, hi: int) -> Counter:
        counts: Counter = Counter()
        for expert_id, days in self.by_expert.items():
            n = bisect_left(days, hi) - bisect_left(days, lo)
            if n:
                counts[expert_id] = n
        return counts

    def has(self, expert_id: str, day: int) -> bool:
        days = self.by_expert.get(expert_id, ())
        k = bisect_left(days, day)
        return k < len(days) and days[k] == day


def review_counts(history: ReviewHistory | Mapping[str, Sequence[int]], ledger: Ledger, start: dt.date,
                  end: dt.date) -> Counter:
    """Reviews per expert with start ≤ day < end: imported history (a `ReviewHistory`, or a
    mapping of sorted ordinal days) plus the ledger's seats. A seat on a day the history already
    has for that expert is the same review (the office imports its own panels back as history)
    and counts once."""
    if isinstance(history, Mapping):
        history = SortedDays(history)
    lo, hi = start.toordinal(), end.toordinal()
    counts = Counter(history.between(lo, hi))
    for seat in ledger.seats:
        day = seat.day.toordinal()
        if lo <= day < hi and not history.has(seat.expert_id, day):
            counts[seat.expert_id] += 1
    return counts
