"""Infeasible rules: the diagnosis names the clash, and its relaxations are confirmed feasible."""
import pytest

from expertpool.domain.panel import Candidate, PanelRules, SolveStatus, check_panel, diagnose, draw


def pool_without_cq_aerospace():
    people = []
    for k in range(8):
        people.append(Candidate(f"S{k}", f"川{k}", "四川", ("航空航天" if k < 3 else "人工智能",),
                                "正高级" if k % 2 else "副高级", f"四川单位{k % 4}", 1.0 + k))
    for k in range(8):
        people.append(Candidate(f"C{k}", f"渝{k}", "重庆", ("人工智能", "新材料"), "正高级" if k % 3 else "副高级",
                                f"重庆单位{k % 4}", 2.0 + k))
    return people


@pytest.mark.parametrize("mode", ["best", "lottery"])
def test_region_forcing_a_field_with_no_experts_there(mode):
    pool = pool_without_cq_aerospace()
    # 航空航天 experts are all in 四川, but 四川 may hold no member
    rules = PanelRules(size=5, fields=("航空航天", "人工智能"), region_bounds={"四川": (0.0, 0.0)}, mode=mode)
    result = draw(pool, rules)
    assert result.status is SolveStatus.INFEASIBLE and result.members == ()
    diagnosis = result.diagnosis
    assert any("航空航天" in m and "重庆 0 人" in m for m in diagnosis.messages), diagnosis.messages
    assert any(c["rule"] == "fields" and c["target"] == "航空航天" for c in diagnosis.clashes)
    kinds = {(r["rule"], r["target"]) for r in diagnosis.relaxations}
    assert ("fields", "航空航天") in kinds and ("region_bounds", "四川") in kinds
    steps = [r["steps"] for r in diagnosis.relaxations]
    assert steps == sorted(steps)
    widen = next(r for r in diagnosis.relaxations if r["rule"] == "region_bounds")
    assert widen["to"] == (0.0, 0.2) and widen["steps"] == 4      # one 四川 seat of five: smallest step
    for relaxation in diagnosis.relaxations:
        fixed = draw(pool, relaxation["rules"])
        assert fixed.status is SolveStatus.OPTIMAL, relaxation["message"]
        assert check_panel(fixed.members, pool, relaxation["rules"]) == []


def test_senior_share_and_institution_cap_clashes():
    pool = pool_without_cq_aerospace()
    rules = PanelRules(size=6, min_full_senior_share=1.0, max_per_institution=1)
    diagnosis = diagnose(pool, rules)
    text = "\n".join(diagnosis.messages)
    assert "正高级" in text
    best = diagnosis.relaxations[0]
    assert best["rule"] == "min_full_senior_share"
    assert draw(pool, best["rules"]).status is SolveStatus.OPTIMAL
    capped = PanelRules(size=9, max_per_institution=1)
    diagnosis = diagnose(pool, capped)
    assert any("8 个单位" in m for m in diagnosis.messages)
    assert {"max_per_institution", "size"} <= {r["rule"] for r in diagnosis.relaxations}
    raise_cap = next(r for r in diagnosis.relaxations if r["rule"] == "max_per_institution")
    assert raise_cap["to"] == 2 and draw(pool, raise_cap["rules"]).status is SolveStatus.OPTIMAL


def test_forbidden_pairs_named_when_they_are_the_cause():
    pool = [Candidate(f"P{k}", f"p{k}", "四川", ("人工智能",), "正高级", f"单位{k}") for k in range(3)]
    pairs = [("P0", "P1"), ("P1", "P2"), ("P0", "P2")]
    result = draw(pool, PanelRules(size=2), pairs)
    assert result.status is SolveStatus.INFEASIBLE
    assert any(c["rule"] == "forbidden_pairs" for c in result.diagnosis.clashes)
    assert any("回避" in m for m in result.diagnosis.messages)


def test_too_small_pool():
    pool = pool_without_cq_aerospace()[:3]
    diagnosis = draw(pool, PanelRules(size=5)).diagnosis
    assert "不足专家组所需的 5 人" in diagnosis.messages[0]
