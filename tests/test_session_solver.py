"""The session solver (domain/session): both strategies against brute force on small random
sessions, the independent checker on every draw, fairness over the whole session, the
diagnosis naming the group and the clash, and the split of projects into groups."""
import itertools
import random
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from expertpool.domain.models import Person, Project
from expertpool.domain.panel import Candidate, PanelRules, SolveStatus
from expertpool.domain.panel.spec import Quota
from expertpool.domain.session import (SessionGroup, SessionRules, check_session, diagnose_session, draw_session,
                                       session_feasible, split_by_field)
from expertpool.domain.session.lottery import session_types
from tests.panel_helpers import feasible_panels, make_pool, make_quotas, make_rules

SMALL = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_session(rng: random.Random, n_groups: int, n: int, *, lottery: bool = False) -> list[SessionGroup]:
    """`n_groups` groups over one pool of `n` experts: each group sees most of them, with its own
    relevance (to its projects), its own rules and a forbidden pair now and then."""
    pool = make_pool(rng, n, attributes=True)
    groups = []
    for g in range(n_groups):
        size = rng.randint(2, 3)
        seen = [replace(c, relevance=round(rng.uniform(0, 10), 3)) for c in pool if rng.random() < 0.8]
        rules = make_rules(rng, size, quotas=make_quotas(rng, size) if rng.random() < 0.3 else (), backups=2,
                           relevance_threshold=rng.choice((0.0, 3.0)) if lottery else 0.0)
        pairs = [tuple(rng.sample([c.id for c in seen], 2))] if len(seen) >= 2 and rng.random() < 0.3 else []
        groups.append(SessionGroup(f"第{g + 1}组", rules, tuple(seen), tuple(pairs)))
    return groups


def valid_sessions(groups, qualified_only=False, limit=40_000):
    """Every valid session by brute force (None when there are more than `limit` to look at)."""
    per_group = []
    for g in groups:
        pool = g.qualified() if qualified_only else list(g.candidates)
        per_group.append(feasible_panels(pool, g.rules, g.pairs))
    if any(not panels for panels in per_group):
        return []
    total = 1
    for panels in per_group:
        total *= len(panels)
    if total > limit:
        return None
    return [combo for combo in itertools.product(*per_group)
            if len({m for panel in combo for m in panel}) == sum(len(p) for p in combo)]


@SMALL
@given(seed=st.integers(0, 10 ** 6), n_groups=st.integers(1, 3), n=st.integers(4, 9))
def test_best_session_matches_brute_force(seed, n_groups, n):
    rng = random.Random(seed)
    groups = make_session(rng, n_groups, n)
    sessions = valid_sessions(groups)
    assume(sessions is not None)
    rules = SessionRules(mode="best", seed=seed, time_limit_s=30, perturbation=0.0)
    result = draw_session(groups, rules)
    if not sessions:
        assert result.status is SolveStatus.INFEASIBLE and result.diagnosis is not None
        assert result.diagnosis.messages
        return
    relevance = [{c.id: c.relevance for c in g.candidates} for g in groups]
    best = max(sum(relevance[k][m] for k, panel in enumerate(s) for m in panel) for s in sessions)
    assert result.status is SolveStatus.OPTIMAL
    assert result.relevance_sum == pytest.approx(best, abs=1e-6)
    members = result.members()
    assert check_session(members, groups) == []
    seated = {m for ms in members.values() for m in ms}
    for draw, group in zip(result.groups, groups):
        assert not set(draw.backups) & seated
        for b in draw.backups:                   # a backup can take any member's seat
            for k in range(len(draw.members)):
                swapped = {**members, group.name: draw.members[:k] + (b,) + draw.members[k + 1:]}
                assert check_session(swapped, groups) == []


def brute_session_maximin(groups, sessions, cap=None):
    """Maximin over every qualified expert of the chance of a seat in any group (each at most
    `cap`), by an LP over all valid sessions (GLOP): (value, experts on some valid session), or
    None when the cap cannot hold."""
    from ortools.linear_solver import pywraplp

    reach = {m for s in sessions for panel in s for m in panel}
    solver = pywraplp.Solver.CreateSolver("GLOP")
    lam = [solver.NumVar(0, 1, "") for _ in sessions]
    z = solver.NumVar(0, 1, "z")
    solver.Add(sum(lam) == 1)
    for person in reach:
        seated = sum(lam[k] for k, s in enumerate(sessions) if any(person in p for p in s))
        solver.Add(seated >= z)
        if cap is not None:
            solver.Add(seated <= cap)
    solver.Maximize(z)
    status = solver.Solve()
    if cap is not None and status == pywraplp.Solver.INFEASIBLE:
        return None
    assert status == pywraplp.Solver.OPTIMAL
    return z.solution_value(), reach


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10 ** 6), n_groups=st.integers(1, 3), n=st.integers(4, 9),
       cap=st.sampled_from([None, None, 0.9, 0.75]))
def test_lottery_session_matches_brute_force(seed, n_groups, n, cap):
    rng = random.Random(seed)
    groups = make_session(rng, n_groups, n, lottery=True)
    sessions = valid_sessions(groups, qualified_only=True, limit=8_000)
    assume(sessions is not None)
    result = draw_session(groups, SessionRules(mode="lottery", seed=seed, time_limit_s=30, max_probability=cap))
    expected = brute_session_maximin(groups, sessions, cap) if sessions else None
    if expected is None:
        assert result.status is SolveStatus.INFEASIBLE
        return
    value, reach = expected
    if cap is not None:
        assert max(result.probabilities.values()) <= cap + 1e-6
    assert result.status is SolveStatus.OPTIMAL
    assert result.probability_min == pytest.approx(value, abs=1e-6)
    qualified = {c.id for g in groups for c in g.qualified()}
    assert set(result.probabilities) == qualified
    assert set(result.unreachable) == qualified - reach
    assert sum(result.probabilities.values()) == pytest.approx(sum(g.rules.size for g in groups), abs=1e-6)
    assert check_session(result.members(), groups, qualified_only=True) == []


def _person(i: int, field: str, region: str = "四川", inst: str | None = None, relevance: float = 1.0) -> Candidate:
    return Candidate(id=f"X{i:03d}", name=f"专家{i}", region=region, fields=(field,), title="正高级",
                     institution=inst or f"单位{i}", relevance=relevance)


def test_lottery_is_fair_over_the_session_not_group_by_group():
    """Two groups need one 航空航天 expert each; four exist, two of whom fit both groups. Drawn
    group by group, the first group would take the shared experts and later groups would get
    what is left; jointly, every one of the four has the same chance, checked by sampling."""
    shared = [_person(i, "航空航天") for i in range(2)]
    only_a = [_person(10 + i, "航空航天") for i in range(2)]
    fill_a = [_person(20 + i, "新材料") for i in range(6)]
    fill_b = [_person(30 + i, "新材料") for i in range(6)]
    rules = PanelRules(size=3, fields=("航空航天",), min_per_field=1)
    a = SessionGroup("甲组", rules, tuple(shared + only_a + fill_a))
    b = SessionGroup("乙组", rules, tuple(shared + fill_b))
    draws = 3000
    seen: Counter = Counter()
    result = None
    for seed in range(draws):
        result = draw_session([a, b], SessionRules(mode="lottery", seed=seed, time_limit_s=30))
        assert check_session(result.members(), [a, b], qualified_only=True) == []
        for members in result.members().values():
            seen.update(members)
    rare = [c.id for c in shared + only_a]
    # b needs a shared expert every time: 1 seat a session among 2 shared; a takes one of the
    # other 3 left: the maximin gives all four rare experts 1/2
    for expert_id in rare:
        assert result.probabilities[expert_id] == pytest.approx(0.5, abs=1e-6)
        assert abs(seen[expert_id] / draws - 0.5) < 4 * (0.25 / draws) ** 0.5
    assert result.probability_min == pytest.approx(min(result.probabilities.values()))


def test_types_merge_experts_alike_in_every_group():
    people = [_person(i, "人工智能", inst="单位甲") for i in range(4)] + [_person(9, "人工智能", inst="单位乙")]
    rules = PanelRules(size=2, fields=("人工智能",), max_per_institution=1)
    a = SessionGroup("甲组", rules, tuple(people))
    b = SessionGroup("乙组", rules, tuple(people[:2] + people[4:]))
    types = session_types([a, b])
    # X000, X001 in both groups, X002/X003 only in 甲组, X009 in both: three types
    assert sorted(types.members) == [("X000", "X001"), ("X002", "X003"), ("X009",)]


def test_a_group_that_fails_alone_is_named_with_its_clash():
    ok = SessionGroup("甲组", PanelRules(size=2), tuple(_person(i, "新材料") for i in range(4)))
    short = SessionGroup("乙组", PanelRules(size=3, fields=("航空航天",), min_per_field=2),
                         tuple([_person(10, "航空航天")] + [_person(20 + i, "新材料") for i in range(4)]))
    result = draw_session([ok, short], SessionRules(mode="best"))
    assert result.status is SolveStatus.INFEASIBLE
    d = result.diagnosis
    assert any(m.startswith("乙组：") and "航空航天" in m and "1 人" in m for m in d.messages), d.messages
    assert d.relaxations and all(r["group"] == "乙组" for r in d.relaxations)
    relaxed = next(r for r in d.relaxations if r["rule"] == "min_per_field")
    assert session_feasible([ok, replace(short, rules=relaxed["rules"])], deadline=float("inf"))


def test_groups_that_compete_for_the_same_experts_are_named_with_the_shortage():
    aero = [_person(i, "航空航天") for i in range(3)]
    rules = PanelRules(size=3, fields=("航空航天",), min_per_field=2)
    a = SessionGroup("甲组", rules, tuple(aero + [_person(10 + i, "新材料") for i in range(3)]))
    b = SessionGroup("乙组", rules, tuple(aero + [_person(20 + i, "新材料") for i in range(3)]))
    c = SessionGroup("丙组", PanelRules(size=2), tuple(_person(30 + i, "新材料") for i in range(3)))
    for mode in ("best", "lottery"):
        result = draw_session([a, b, c], SessionRules(mode=mode))
        assert result.status is SolveStatus.INFEASIBLE
        d = result.diagnosis
        assert any("甲组、乙组 各自都能组成" in m for m in d.messages), d.messages
        assert any("「航空航天」领域：甲组、乙组 共需 4 人，可用专家只有 3 人" in m for m in d.messages), d.messages
        assert "丙组" not in "".join(d.messages)
        fix = d.relaxations[0]
        assert fix["group"] in ("甲组", "乙组") and "即可组成整场评审会" in fix["message"]
        groups = [a, b, c]
        k = [g.name for g in groups].index(fix["group"])
        assert session_feasible([replace(g, rules=fix["rules"]) if i == k else g for i, g in enumerate(groups)],
                                deadline=float("inf"))


def test_quota_shortage_across_groups_is_named():
    firms = [replace(_person(i, "新材料"), attributes={"sector": "企业"}) for i in range(3)]
    quota = (Quota("sector", ("企业",), min=2),)
    a = SessionGroup("甲组", PanelRules(size=3, quotas=quota),
                     tuple(firms + [_person(10 + i, "新材料") for i in range(3)]))
    b = SessionGroup("乙组", PanelRules(size=3, quotas=quota),
                     tuple(firms + [_person(20 + i, "新材料") for i in range(3)]))
    d = diagnose_session([a, b], SessionRules())
    assert any("单位类型「企业」：甲组、乙组 共需 4 人，可用专家只有 3 人" in m for m in d.messages), d.messages
    assert any(r["rule"] == "quota" for r in d.relaxations)


def _project(pid: str, *fields: str) -> Project:
    return Project(id=pid, title=f"项目{pid}", fields=list(fields), applicant=Person(name="张三", institution="四川大学"))


def test_split_by_field_gives_big_fields_more_groups_and_merges_when_short():
    projects = ([_project(f"A{i:02d}", "人工智能") for i in range(9)] + [_project(f"B{i}", "航空航天") for i in range(2)]
                + [_project(f"C{i}", "新材料", "人工智能") for i in range(4)] + [_project("D0")])
    groups = split_by_field(projects, 5)
    assert [name for name, _ in groups] == ["人工智能一组", "人工智能二组", "航空航天组", "新材料组", "未分领域组"]
    assert [len(ps) for _, ps in groups] == [5, 4, 2, 4, 1]
    assert sorted(p.id for _, ps in groups for p in ps) == sorted(p.id for p in projects)
    merged = split_by_field(projects, 2)
    assert [len(ps) for _, ps in merged] == [9, 7]
    assert merged[0][0] == "人工智能组" and set(merged[1][0].removesuffix("组").split("、")) == {"航空航天", "新材料",
                                                                                               "未分领域"}
    assert split_by_field(projects, 5) == groups             # the same projects, the same groups
    with pytest.raises(Exception, match="多于申报项目数"):
        split_by_field(projects[:3], 4)


@pytest.mark.parametrize("seed", range(24))
def test_session_narrowing_keeps_the_joint_optimum(seed):
    """Each group's candidates narrowed with the session's seats: the same joint optimum as the
    model over every candidate (groups wanting the same experts, with and without a unit cap)."""
    import time

    from expertpool.domain import taxonomy
    from expertpool.domain.panel.solve import maximise
    from expertpool.domain.session.model import candidate_model, encode_groups

    rng = random.Random(500 + seed)
    pool = make_pool(rng, rng.randint(40, 90), fields=taxonomy.FIELDS[:3], insts=[f"单位{k}" for k in range(5)],
                     attributes=True)
    groups = []
    for g in range(rng.randint(2, 4)):
        size = rng.randint(4, 8)
        seen = tuple(replace(c, relevance=round(c.relevance + rng.uniform(0, 1), 2)) for c in pool
                     if rng.random() < 0.8)
        rules = make_rules(rng, size, fields=taxonomy.FIELDS[:3], perturbation=0.0,
                           quotas=make_quotas(rng, size) if rng.random() < 0.4 else ())
        groups.append(SessionGroup(f"第{g}组", rules, seen, tuple(make_pairs_among(rng, seen, 2))))
    values = []
    for narrowed in (False, True):
        encoded = encode_groups(groups, SessionRules(perturbation=0.0), narrowed=narrowed)
        if any(len(e.keep) < e.bounds.size for e in encoded):
            values.append(None)
            continue
        model = candidate_model(encoded)
        sol = maximise(model.units, None, [e.weights[p] for e in encoded for p in e.keep],
                       deadline=time.monotonic() + 30, lp=model.lp())
        values.append(sol.value if sol.status == "optimal" else sol.status)
    assert values[0] == pytest.approx(values[1], rel=1e-9) if isinstance(values[0], float) else values[0] == values[1]


def make_pairs_among(rng, people, count):
    ids = [c.id for c in people]
    return [tuple(rng.sample(ids, 2)) for _ in range(count)] if len(ids) >= 2 else []
