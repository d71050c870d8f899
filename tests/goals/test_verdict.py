from __future__ import annotations

import pytest

from visionspec.errors import GoalPhraseError
from visionspec.goals import Comparison, Goal, Measurement, judge, parse_quantity


def goal(comparison: Comparison, text: str, *, confident: bool = False) -> Goal:
    return Goal(comparison, parse_quantity(text), confident)


def test_a_missed_count_goal_reads_as_one_sentence() -> None:
    verdict = judge(goal(Comparison.AT_LEAST, "800"), Measurement.proportion("found", 742, 1000, "balloons"))
    assert not verdict.met
    assert verdict.margin == -58
    assert str(verdict) == "found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%); goal: at least 800; short by 58"


def test_a_met_rate_goal_says_the_margin_in_points() -> None:
    measured = Measurement.proportion("", 12, 4000, "images without balloons contain a detection")
    verdict = judge(goal(Comparison.AT_MOST, "1%"), measured)
    assert verdict.met
    assert str(verdict).endswith("goal: at most 1%; met with 0.7 points to spare")


def test_with_95_percent_confidence_uses_the_interval_bound() -> None:
    measured = Measurement.proportion("found", 84, 100, "red balloons")  # 95% CI 75.6-89.9%
    assert judge(goal(Comparison.AT_LEAST, "80%"), measured).met
    strict = judge(goal(Comparison.AT_LEAST, "80%", confident=True), measured)
    assert not strict.met
    assert "goal: at least 80% with 95% confidence; short by 4.4 points" in str(strict)


def test_a_count_of_a_stated_sample_must_match_the_sample() -> None:
    measured = Measurement.proportion("found", 90, 98, "red balloons")
    with pytest.raises(GoalPhraseError, match='states a sample of 100 but there are 98 red balloons'):
        judge(goal(Comparison.AT_LEAST, "80 of the 100"), measured)


def test_figures_take_rates_not_counts() -> None:
    measured = Measurement.figure("box mAP@.50", 0.912, 1000, "images")
    assert str(judge(goal(Comparison.AT_LEAST, "0.85"), measured)) == (
        "box mAP@.50 0.912 on 1,000 images; goal: at least 0.85; met with 0.062 to spare"
    )
    with pytest.raises(GoalPhraseError, match="is a figure, not a count"):
        judge(goal(Comparison.AT_LEAST, "85"), measured)


def test_an_empty_sample_is_not_met() -> None:
    verdict = judge(goal(Comparison.AT_LEAST, "80%"), Measurement.proportion("found", 0, 0, "balloons"))
    assert not verdict.met and verdict.margin is None
    assert "cannot be judged on an empty sample" in str(verdict)
