"""The independent checker, on hand-made panels."""
from expertpool.domain.panel import Candidate, PanelRules, check_panel


def c(cid, region="四川", fields=("人工智能",), title="正高级", inst="四川大学"):
    return Candidate(cid, cid, region, fields, title, inst, 1.0)


POOL = [
    c("A", fields=("人工智能", "新材料")),
    c("B", region="重庆", fields=("航空航天",), inst="重庆大学"),
    c("C", region="重庆", fields=("新材料", "人工智能"), title="副高级", inst="重庆大学"),
    c("D", fields=("航空航天",), title="中级", inst="电子科技大学"),
]


def test_valid_panel_has_no_violations():
    rules = PanelRules(size=2, fields=("人工智能", "航空航天"), region_bounds={"四川": (0.5, 0.5)},
                       min_full_senior_share=0.5, max_per_institution=1)
    assert check_panel(["A", "B"], POOL, rules) == []


def test_each_rule_is_reported():
    rules = PanelRules(size=3, fields=("航空航天",), min_per_field=2, region_bounds={"四川": (0.0, 0.34)},
                       min_full_senior_share=1.0, max_per_institution=1)
    problems = check_panel(["A", "C", "D"], POOL, rules, [("A", "D")])
    text = "\n".join(problems)
    assert "航空航天" in text and "四川专家 2 人" in text and "正高级 1 人" in text
    assert "A 与 D" in text
    assert len(problems) == 4


def test_coverage_primary_counts_first_field_only():
    any_rules = PanelRules(size=1, fields=("人工智能",), coverage="any")
    primary = PanelRules(size=1, fields=("人工智能",), coverage="primary")
    assert check_panel(["C"], POOL, any_rules) == []
    assert check_panel(["C"], POOL, primary) != []


def test_size_duplicates_unknown_and_institution_cap():
    rules = PanelRules(size=2, max_per_institution=1)
    assert any("人数" in p for p in check_panel(["A"], POOL, rules))
    assert any("重复" in p for p in check_panel(["A", "A"], POOL, rules))
    assert any("不在候选" in p for p in check_panel(["A", "Z"], POOL, rules))
    assert any("重庆大学" in p for p in check_panel(["B", "C"], POOL, rules))


def test_share_rounding_is_tolerant():
    # 0.4 × 15 = 6.000000000000001 must mean 6, not 7
    pool = [c(f"S{k}") for k in range(6)] + [c(f"C{k}", region="重庆", inst="重庆大学") for k in range(9)]
    rules = PanelRules(size=15, region_bounds={"四川": (0.4, 0.6), "重庆": (0.4, 0.6)})
    assert check_panel([x.id for x in pool], pool, rules) == []
