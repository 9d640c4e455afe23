"""The workload ledger read from the store: every saved panel and review session, as seats
(`domain.ledger`). Draws read it fresh each time (saving a panel does not change the data
version, so it is not in the cached snapshot), reading only the keys it needs of each document.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from expertpool.domain.ledger import PANEL, SESSION, Ledger, Replacement, Seating
from expertpool.services import sealing
from expertpool.stores.base import ExpertStore

#: the top-level keys of a saved panel / session the ledger reads
PANEL_KEYS = ("id", "name", "spec", "members", "drawn_members", "replaced", "created_at", "seal",
              sealing.PAYLOAD_KEY)
SESSION_KEYS = ("id", "name", "review_date", "groups", "replaced", "created_at")


def _ids(views) -> tuple[str, ...]:
    return tuple(v["id"] if isinstance(v, dict) else str(v) for v in views or ())


def _replacements(entries: Iterable[dict]) -> tuple[Replacement, ...]:
    return tuple(Replacement(e["out"], e["in"], e.get("at")) for e in entries)


#: how far back a seat counts toward the workload cap of a draw (`panels.reviews_in_year`)
WORKLOAD_DAYS = 365


def panel_seatings(documents: Iterable[dict], on: dt.date | None = None, open_sealed: bool = True
                   ) -> Iterator[Seating]:
    """The seats of saved panels. A sealed panel's members are read through its seal (the draw
    may use them, never show them): they are seated, so they count toward the workload and are not
    drawn again that day; their seats are marked `sealed` so no listing names the panel. With
    `on`, only the sealed panels whose day can matter to a draw on that day (its workload year
    and the day itself) are opened, the others left out; with `open_sealed` False, none is."""
    for d in documents:
        day = (d.get("spec") or {}).get("review_date")
        if not d.get("id") or not day:
            continue
        review_day = dt.date.fromisoformat(day)
        sealed = sealing.is_sealed_document(d)
        if sealed:
            if not open_sealed or (on is not None and not on - dt.timedelta(days=WORKLOAD_DAYS) <= review_day <= on):
                continue
            d = sealing.open_document(d, d["id"])
        drawn = d.get("drawn_members") if d.get("drawn_members") is not None else d.get("members")
        yield Seating(d["id"], PANEL, d.get("name", ""), review_day, _ids(drawn),
                      _replacements(d.get("replaced", ())), d.get("created_at"), sealed=sealed)


def session_seatings(documents: Iterable[dict]) -> Iterator[Seating]:
    for d in documents:
        if not d.get("id") or not d.get("review_date"):
            continue
        day = dt.date.fromisoformat(d["review_date"])
        replaced = d.get("replaced", ())
        for group in d.get("groups", ()):
            drawn = group.get("drawn_members") if group.get("drawn_members") is not None else group.get("members")
            yield Seating(d["id"], SESSION, d.get("name", ""), day, _ids(drawn),
                          _replacements(r for r in replaced if r.get("group") == group.get("name")),
                          d.get("created_at"), group.get("name"))


def read_ledger(store: ExpertStore, *, exclude: Iterable[str] = (), as_of: str | None = None,
                on: dt.date | None = None, open_sealed: bool = True) -> Ledger:
    """Seats on every saved panel and session (but those in `exclude`); with `as_of`, as the
    ledger stood at that time (for reproducing a draw saved then). `on`: the day of the draw that
    reads it, so that only the sealed panels that matter to it need the sealing key; `open_sealed`
    False leaves every sealed panel out (a listing that would not show them anyway)."""
    seatings = [*panel_seatings(store.iter_panels(keys=PANEL_KEYS), on, open_sealed),
                *session_seatings(store.iter_sessions(keys=SESSION_KEYS))]
    return Ledger.of(seatings, exclude=exclude, as_of=as_of)
