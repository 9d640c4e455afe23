"""Our lottery against sortition-algorithms' own `maximin` on the package's example files
(its tests/fixtures, fetched from the pinned sdist by tests/sortition_reference.py — not shipped:
150 people, four features, a 22-member panel): the same minimum selection
probability (theirs stops within 0.0005 of the optimum; ours is exact), and every panel of both
meets the same quotas by our independent checker."""
import subprocess

import pytest

from expertpool.domain.panel import STRATEGIES, SolveStatus, check_panel, lottery_distribution
from tests import sortition_reference
from tests.sortition_reference import (PANEL_SIZE, SortitionFixturesUnavailable, example_files, our_instance,
                                       read_features, read_people, their_maximin)

#: sortition-algorithms stops when the pricing gap is below this (committee_generation.common.EPS)
THEIR_TOLERANCE = 0.0005


@pytest.fixture(scope="module")
def example():
    """The example's people and quotas; when they cannot be fetched the test fails (never skips)."""
    try:
        return read_people(), read_features()
    except SortitionFixturesUnavailable as exc:
        pytest.fail(f"sortition-algorithms' example files are needed for this comparison: {exc}", pytrace=False)


def test_the_example_files_are_the_ones_described(example):
    people, features = example
    assert len(people) == 150 and len({p["nationbuilder_id"] for p in people}) == 150
    assert {row["feature"] for row in features} == {"Gender", "age_bracket", "geo_bucket", "edu_level"}
    # only the id and the features are read, not the placeholder contact columns
    assert set(people[0]) == {"nationbuilder_id", "Gender", "age_bracket", "geo_bucket", "edu_level"}


def test_an_unfetchable_sdist_is_a_clear_failure(tmp_path, monkeypatch):
    (tmp_path / sortition_reference.SDIST).write_bytes(b"not the pinned sdist")  # wrong hash: fetched again

    def pip_without_network(command, **kwargs):
        assert command[1:4] == ["-m", "pip", "download"] and "--no-binary" in command
        return subprocess.CompletedProcess(command, 1, "", "ERROR: Could not find a version that satisfies …")

    monkeypatch.setattr(sortition_reference.subprocess, "run", pip_without_network)
    with pytest.raises(SortitionFixturesUnavailable, match="(?s)could not download .*PyPI"):
        example_files(tmp_path)
    assert not (tmp_path / sortition_reference.SDIST).exists()  # the wrong file is not kept


@pytest.mark.slow
def test_lottery_reaches_sortition_maximin_on_its_example_files(example):
    people, features = example
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
