"""Our lottery against sortition-algorithms' own `maximin` on the package's example files
(tests/data/sortition: 150 people, four features, a 22-member panel): the same minimum selection
probability (theirs stops within 0.0005 of the optimum; ours is exact), and every panel of both
meets the same quotas by our independent checker."""
import pytest

from expertpool.domain.panel import STRATEGIES, SolveStatus, check_panel, lottery_distribution
from tests.sortition_reference import PANEL_SIZE, our_instance, read_features, read_people, their_maximin

#: sortition-algorithms stops when the pricing gap is below this (committee_generation.common.EPS)
THEIR_TOLERANCE = 0.0005


@pytest.mark.slow
def test_lottery_reaches_sortition_maximin_on_its_example_files():
    people, features = read_people(), read_features()
    candidates, rules = our_instance(people, features, PANEL_SIZE)
    theirs = their_maximin(people, features, PANEL_SIZE)
    their_min = min(p for p in theirs["probabilities"].values())

    ours = STRATEGIES["lottery"](candidates, rules, [], seed=7, time_limit_s=120)
    assert ours.status is SolveStatus.OPTIMAL
    assert ours.unreachable == ()
    assert ours.probability_min >= their_min - 1e-7
    assert ours.probability_min - their_min <= THEIR_TOLERANCE + 1e-7
    assert sum(ours.probabilities.values()) == pytest.approx(PANEL_SIZE, abs=1e-6)

    # both distributions are over panels our checker accepts under the same quotas
    for committee in theirs["committees"]:
        assert check_panel(committee, candidates, rules) == []
    distribution = lottery_distribution(candidates, rules, time_limit_s=120)
    for k in range(20):
        assert check_panel(distribution.sample(k), candidates, rules) == []
