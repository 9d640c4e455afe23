"""Shared steps of the tests where a sealed panel meets another panel or session: sealed draws
until one seats some given experts, and a replacement that must neither refuse nor name them."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import pytest

from expertpool.services import panels
from expertpool.services.panels import MembersNoLongerEligible, NoSubstitute, build_panel, load_panel
from tests.sample_pool import spec

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SEALED_UNTIL = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc)


def seal_one(store, admin, name: str | None = None) -> set[str]:
    """Seal the sample spec's lottery panel (until the morning before its day); its members."""
    sealed = build_panel(store, admin, spec(mode="lottery", **({"name": name} if name else {})), now=NOW,
                         sealed_until=SEALED_UNTIL)
    return set(load_panel(store, admin, sealed.panel_id, now=NOW, open_sealed=True).member_ids())


def seal_until_one_of(store, admin, monkeypatch, wanted: set[str], attempts: int = 6) -> set[str]:
    """Seal lottery panels (their secret seeds fixed for the test) until they seat one of
    `wanted`; returns every sealed member."""
    seeds = iter(range(1000, 2000))
    monkeypatch.setattr(panels.secrets, "randbelow", lambda n: next(seeds) % n)
    hidden: set[str] = set()
    for attempt in range(attempts):
        hidden |= seal_one(store, admin, f"密封{attempt}")
        if hidden & wanted:
            return hidden
    pytest.fail("no sealed draw seated any of the experts wanted")


def replace_one_of(leaving: Iterable[str], replace: Callable[[str], object], hidden: set[str]):
    """`replace(member)` for the first of `leaving` who has a substitute (the sample pool is
    small: some seats have none); never refused as "no longer eligible", and a NoSubstitute
    message names no one of `hidden`."""
    for member in leaving:
        try:
            return replace(member)
        except MembersNoLongerEligible as refused:       # pragma: no cover - the defect this guards
            pytest.fail(f"refused, naming: {refused}")
        except NoSubstitute as none:
            assert not [m for m in hidden if m in str(none)]
    pytest.fail("no member could be replaced")
