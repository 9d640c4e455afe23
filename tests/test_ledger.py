"""The workload ledger: saved panels count toward the yearly cap beside imported history, an
expert seated on a saved panel is not drawn again that day (or is, with a warning), a
reproduction sees the ledger as it stood, and `show` lists recent reviews and upcoming panels.
(Across two review sessions on one date: test_sessions.py.)"""
import datetime as dt
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.domain.ledger import Ledger, Replacement, Seating, review_counts
from expertpool.errors import InputError
from expertpool.services.panels import build_panel, load_panel, replace_member, reproduce_panel
from expertpool.services.ledger import read_ledger
from expertpool.services.profile import expert_profile
from tests.sample_pool import admin, spec, store, template  # noqa: F401 (fixtures)

D1, D2 = dt.date(2026, 12, 1), dt.date(2027, 3, 1)
WORKLOAD, BOOKED = "评审次数已达年度上限", "同日已入选其他评审专家组"


# ---- the domain -------------------------------------------------------------------------------

def test_members_as_of_a_time_undo_later_replacements():
    seating = Seating("PNL-1", "评审专家组", "组", D1, ("A", "B", "C"),
                      (Replacement("B", "X", "2026-11-02T10:00:00+00:00"),
                       Replacement("X", "Y", "2026-11-05T10:00:00+00:00")), "2026-11-01T09:00:00+00:00")
    assert seating.members() == ["A", "Y", "C"]
    assert seating.members("2026-11-03T00:00:00+00:00") == ["A", "X", "C"]
    assert seating.members("2026-11-01T09:00:00+00:00") == ["A", "B", "C"]
    later = Seating("PNL-2", "评审专家组", "组二", D1, ("D",), created_at="2026-11-04T00:00:00+00:00")
    ledger = Ledger.of([seating, later], as_of="2026-11-03T00:00:00+00:00")
    assert set(ledger.booked_on(D1)) == {"A", "X", "C"}
    assert set(Ledger.of([seating, later], exclude={"PNL-1"}).booked_on(D1)) == {"D"}


def test_review_counts_add_seats_to_history_once_per_day():
    history = {"A": [dt.date(2026, 5, 1).toordinal(), D1.toordinal()], "B": [dt.date(2025, 1, 1).toordinal()]}
    ledger = Ledger.of([Seating("P", "评审专家组", "组", D1, ("A", "B", "C")),
                        Seating("Q", "评审专家组", "组", dt.date(2026, 12, 20), ("C",))])
    counts = review_counts(history, ledger, dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    # A: two history days, one of them the panel's day (imported back: the same review)
    assert counts == Counter({"A": 2, "B": 1, "C": 2})
    assert review_counts(history, ledger, dt.date(2026, 1, 1), D1) == Counter({"A": 1})


@settings(max_examples=60, deadline=None)
@given(history=st.lists(st.tuples(st.sampled_from("ABC"), st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31))),
                        max_size=25),
       seats=st.lists(st.tuples(st.sampled_from("ABCD"), st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31))),
                      max_size=8),
       start=st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)), span=st.integers(0, 800))
def test_review_counts_on_the_snapshot_s_packed_days_match_a_direct_count(history, seats, start, span):
    """The workload count as draws make it (the snapshot's packed `ReviewDays`, several reviews
    on one day included) against counting by hand: every history review in the window, and
    each seat in it unless that expert's history already has a review on that day."""
    from expertpool.cache.snapshot import ReviewDays

    by_expert: dict[str, list[int]] = {}
    for expert_id, day in history:
        by_expert.setdefault(expert_id, []).append(day.toordinal())
    ledger = Ledger.of([Seating(f"P{i}", "评审专家组", "组", day, (expert_id,)) for i, (expert_id, day) in enumerate(seats)])
    end = start + dt.timedelta(days=span)
    expected: Counter = Counter(e for e, day in history if start <= day < end)
    for expert_id, day in seats:
        if start <= day < end and (expert_id, day) not in set(history):
            expected[expert_id] += 1
    packed = review_counts(ReviewDays(by_expert), ledger, start, end)
    assert +packed == +expected
    assert +review_counts({k: sorted(v) for k, v in by_expert.items()}, ledger, start, end) == +expected


# ---- panels on the sample pool -----------------------------------------------------------------

def _ids(doc, key="members"):
    return [m["id"] for m in doc[key]]


def test_a_second_panel_on_the_same_day_seats_no_one_twice(store, admin):
    first = build_panel(store, admin, spec(mode="best", seed=3)).document
    # the same spec and seed would give the same panel, were the first not saved
    unsaved_twin = build_panel(store, admin, spec(mode="best", seed=3), save=False, ledger=Ledger()).document
    assert _ids(unsaved_twin) == _ids(first)
    second = build_panel(store, admin, spec(mode="best", seed=3, name="第二组")).document
    assert not set(_ids(first)) & set(_ids(second))
    assert set(_ids(first)) <= set(second["excluded_ids"][BOOKED])
    assert second["exclusions"][BOOKED] == 15


def test_with_same_day_warn_a_second_seat_is_allowed_and_named(store, admin):
    first = build_panel(store, admin, spec(mode="best", seed=3)).document
    again = build_panel(store, admin, spec(mode="best", seed=3, same_day="warn"), save=False).document
    assert _ids(again) == _ids(first)
    assert len(again["warnings"]) == 15
    assert all(first["id"] in w and "同日已入选" in w for w in again["warnings"])


def test_saved_panels_count_toward_the_yearly_cap(store, admin):
    first = build_panel(store, admin, spec(mode="best", seed=3, review_date=D1.isoformat())).document
    later = spec(mode="best", seed=4, review_date=D2.isoformat(), max_reviews_per_year=1)
    after = build_panel(store, admin, later, save=False).document
    assert set(_ids(first)) <= set(after["excluded_ids"][WORKLOAD])
    # without the saved panel, some of its members have no review in the year and are eligible
    unseated = build_panel(store, admin, later, save=False, ledger=Ledger()).document
    assert set(_ids(first)) - set(unseated["excluded_ids"].get(WORKLOAD, []))


def test_reproduce_sees_the_ledger_as_it_stood(store, admin):
    first = build_panel(store, admin, spec(mode="best", seed=3)).document
    build_panel(store, admin, spec(mode="best", seed=9, name="后抽的组"))
    saved, redrawn, same = reproduce_panel(store, admin, first["id"])
    assert same, (saved.member_ids(), redrawn.member_ids())


def test_replace_does_not_bring_in_someone_seated_elsewhere_that_day(store, admin):
    first = build_panel(store, admin, spec(mode="best", seed=3)).document
    other = build_panel(store, admin, spec(mode="best", seed=5, name="另一组")).document
    member = next(m["id"] for m in first["members"] if first["backups"] or first["replacements"].get(m["id"]))
    replaced = replace_member(store, admin, first["id"], member, "本人回避").to_document()
    assert replaced["replaced"][-1]["in"] not in _ids(other)


def test_show_lists_recent_reviews_and_upcoming_panels(store, admin):
    doc = build_panel(store, admin, spec(mode="best", seed=3)).document
    member = doc["members"][0]["id"]
    before = expert_profile(store, member, admin, on="2026-11-01")
    assert any(doc["id"] in line and "2026-12-01" in line for line in before["upcoming"])
    after = expert_profile(store, member, admin, on="2027-01-15")
    assert not after["upcoming"] and any(doc["id"] in line for line in after["reviews"])


def test_a_sealed_panel_seats_its_members_without_naming_them(store, admin):
    """A sealed panel's members are seated (the ledger reads them through the seal): a second
    draw that day does not take them and neither names nor counts them (its exclusions would
    otherwise list the sealed members), a "warn" draw does not take them either (its warning
    would name them), and `show` lists no seat on it; its own document holds no warning naming
    its members."""
    now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(InputError, match="allow-same-day"):    # its members could sit elsewhere that day
        build_panel(store, admin, spec(mode="lottery", same_day="warn"), now=now,
                    sealed_until=dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc))
    sealed = build_panel(store, admin, spec(mode="lottery"), now=now,
                         sealed_until=dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc))
    hidden = load_panel(store, admin, sealed.panel_id, now=now, open_sealed=True).member_ids()
    assert len(hidden) == 15 and not sealed.record.members and not sealed.document.get("warnings")
    second = build_panel(store, admin, spec(mode="best", seed=3, name="第二组")).document
    assert not set(hidden) & set(_ids(second)) and not set(hidden) & set(second["excluded_ids"][BOOKED])
    seats = read_ledger(store).booked_on(D1)
    assert all(s.sealed and sealed.panel_id not in s.describe() and "名单密封中" in s.describe()
               for m in hidden for s in seats[m])
    warned = build_panel(store, admin, spec(mode="best", seed=3, same_day="warn"), save=False).document
    assert warned["warnings"] and not [w for w in warned["warnings"] if sealed.panel_id in w]
    assert not set(hidden) & set(_ids(warned)) and not [w for w in warned["warnings"] if "密封" in w]
    assert not set(hidden) & {i for ids in warned["excluded_ids"].values() for i in ids}
    assert not set(hidden) & {i for ids in second["excluded_ids"].values() for i in ids}
    for expert_id in hidden:
        assert not expert_profile(store, expert_id, admin, on=D1 - dt.timedelta(days=30))["upcoming"]


def test_what_a_draw_names_or_counts_is_the_same_with_or_without_a_sealed_panel(store, admin, tmp_path):
    """A sealed seat bars its expert (the same day, and toward the workload cap), but nothing a
    draw's record names or counts may differ because of it: otherwise the sealed members are
    read off a second draw that day (its conflict evidence, its exclusions), off the workload
    exclusions of draws on two days, or off the counts of draws whose projects avoid one expert
    at a time. Each probe is compared with the same draw on the ledger without the seal."""
    import json

    from tests.sample_pool import SAMPLES

    from tests.sealing_helpers import seal_one

    hidden = seal_one(store, admin)
    free = next(e.id for e in store.iter_experts() if e.id not in hidden and e.status == "在库")
    first = json.loads((SAMPLES / "projects.jsonl").read_text(encoding="utf-8").splitlines()[0])
    probes = [spec(mode="best", seed=3, name="同日"),
              spec(mode="best", seed=3, review_date=(D1 + dt.timedelta(days=1)).isoformat(), max_reviews_per_year=1),
              spec(mode="lottery", seed=4, same_day="warn")]
    for avoided in (sorted(hidden)[0], free):                  # an officer's projects avoiding one expert
        path = tmp_path / f"avoid-{avoided}.jsonl"
        path.write_text(json.dumps({**first, "avoid": [avoided]}, ensure_ascii=False) + "\n", encoding="utf-8")
        probes.append(spec(mode="best", seed=3, projects=str(path), relevance_threshold=0.0))
    unsealed = read_ledger(store).unsealed()
    assert len(hidden) == 15 and len(unsealed) == len(read_ledger(store)) - 15
    for probe in probes:
        real = build_panel(store, admin, probe, save=False).document
        blind = build_panel(store, admin, probe, save=False, ledger=unsealed).document
        assert not hidden & set(_ids(real)) and not hidden & set(_ids(real, "backups"))
        for key in ("excluded_ids", "exclusions", "conflicts"):
            assert real[key] == blind[key], (probe.name, key)
        assert real["pool"]["eligible"] == blind["pool"]["eligible"]
    # the probes reach the seal: the same day, and the cap of 1 the seat makes each member reach
    on_day = build_panel(store, admin, probes[0], save=False).document
    assert hidden - {i for ids in on_day["excluded_ids"].values() for i in ids}


def test_without_the_sealing_key_only_draws_a_sealed_panel_matters_to_are_refused(store, admin, tmp_path, monkeypatch):
    """Another officer's machine without the sealing key: reading never makes a new key (it could
    open nothing); a draw whose day or workload year holds a sealed panel stops with a message
    naming the key (exit 2, not a wrong answer); a draw on a day it cannot matter to goes ahead,
    and `show` lists its seats as usual."""
    from expertpool import keys

    from tests.sealing_helpers import seal_one

    seal_one(store, admin)
    monkeypatch.setenv("EXPERTPOOL_KEY_DIR", str(tmp_path / "other-keys"))   # no sealing key here
    for day in (D1, D1 + dt.timedelta(days=200)):
        with pytest.raises(keys.KeyUnavailable) as refused:
            build_panel(store, admin, spec(mode="best", review_date=day.isoformat()), save=False)
        assert keys.SEAL_KEY.env in str(refused.value) and refused.value.exit_code == 2
    assert not keys.key_path(keys.SEAL_KEY).exists()
    far = build_panel(store, admin, spec(mode="best", review_date="2028-03-01"), save=False).document
    assert len(far["members"]) == 15
    before = build_panel(store, admin, spec(mode="best", review_date=(D1 - dt.timedelta(days=1)).isoformat()),
                         save=False).document
    assert len(before["members"]) == 15
    member = far["members"][0]["id"]
    assert expert_profile(store, member, admin, on="2026-11-01")["eligible_on"] == "2026-11-01"


def test_replacing_on_a_panel_whose_members_a_later_sealed_panel_seats_names_nobody(store, admin, monkeypatch):
    """A sealed panel drawn after another panel may seat that panel's members on an earlier day,
    pushing them over the workload cap on the other panel's day. Replacing one member there must
    neither refuse the others as "no longer eligible" (it would name members of the sealed
    panel) nor seat a sealed member."""
    from tests.sealing_helpers import replace_one_of, seal_until_one_of

    later = build_panel(store, admin, spec(mode="best", seed=3, review_date=D2.isoformat(),
                                           max_reviews_per_year=1)).document
    on_later = set(_ids(later))
    hidden = seal_until_one_of(store, admin, monkeypatch, on_later)
    overlap = hidden & on_later
    replaced = replace_one_of(sorted(on_later - hidden),
                              lambda m: replace_member(store, admin, later["id"], m, "因病"), hidden)
    substitute = replaced.replaced[-1].in_
    assert substitute not in hidden and overlap <= set(replaced.member_ids())
