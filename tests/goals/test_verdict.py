from __future__ import annotations

import pytest

from visionspec.errors import GoalPhraseError
from visionspec.goals import Comparison, Goal, Measurement, judge, parse_quantity
from visionspec.goals.verdict import ExitCode, Status, Unit, Verdict, format_value


def goal(comparison: Comparison, text: str, *, confidence: float | None = None) -> Goal:
    return Goal(comparison, parse_quantity(text), confidence)


FOUND_742 = Measurement.proportion("found", 742, 1000, "balloons")
RECALL_742 = Measurement.proportion("recall", 742, 1000, "balloons", label="recall: found", unit=Unit.RATE)


def test_a_missed_count_goal_reads_as_one_sentence() -> None:
    verdict = judge(goal(Comparison.AT_LEAST, "800"), FOUND_742)
    assert verdict.status is Status.MISSED and verdict.margin == -58
    assert str(verdict) == "found 742 of 1,000 balloons (74.2%, 95% CI 71.4-76.8%); goal: at least 800; short by 58"


def test_a_goal_missed_from_above_is_over_by() -> None:
    measured = Measurement.proportion("", 60, 4000, "images without balloons contain a detection")
    assert str(judge(goal(Comparison.AT_MOST, "1%"), measured)).endswith("goal: at most 1%; over by 0.5 points")
    assert str(judge(goal(Comparison.AT_MOST, "50"), measured)).endswith("goal: at most 50; over by 10")


def test_a_met_rate_goal_says_the_margin_in_points() -> None:
    measured = Measurement.proportion("", 12, 4000, "images without balloons contain a detection")
    verdict = judge(goal(Comparison.AT_MOST, "1%"), measured)
    assert verdict.met
    assert str(verdict).endswith("goal: at most 1%; met with 0.7 points to spare")


def test_a_rate_figure_reads_a_bare_number_as_a_fraction_and_refuses_more_than_1() -> None:
    assert str(judge(goal(Comparison.AT_LEAST, "1"), RECALL_742)).endswith("goal: at least 1; short by 25.8 points")
    with pytest.raises(GoalPhraseError, match=r'recall is a rate between 0 and 1 .* so "2" cannot be a goal'):
        judge(goal(Comparison.AT_LEAST, "2"), RECALL_742)
    with pytest.raises(GoalPhraseError, match='"more than 100%" cannot be met'):
        judge(goal(Comparison.MORE_THAN, "100%"), RECALL_742)


def test_a_count_goal_that_cannot_be_met_on_the_sample_is_refused() -> None:
    with pytest.raises(GoalPhraseError, match='"at least 1,001 of 1,000" cannot be met: there are 1,000 balloons'):
        judge(goal(Comparison.AT_LEAST, "1,001 of the 1,000"), FOUND_742)
    with pytest.raises(GoalPhraseError, match="cannot be met"):
        judge(goal(Comparison.AT_LEAST, "1,001"), FOUND_742)
    with pytest.raises(GoalPhraseError, match="nothing is below 0"):
        judge(goal(Comparison.FEWER_THAN, "0"), FOUND_742)


def test_a_confidence_level_uses_the_interval_bound_at_that_level() -> None:
    measured = Measurement.proportion("found", 84, 100, "red balloons")  # 95% CI 75.6-89.9%
    assert judge(goal(Comparison.AT_LEAST, "80%"), measured).met
    strict = judge(goal(Comparison.AT_LEAST, "80%", confidence=0.95), measured)
    assert not strict.met
    assert "goal: at least 80% with 95% confidence; short by 4.4 points" in str(strict)
    looser = judge(goal(Comparison.AT_LEAST, "75%", confidence=0.9), measured)
    assert "(84.0%, 90% CI 77.1-89.1%)" in str(looser) and looser.met


def test_a_count_of_a_stated_sample_must_match_the_sample() -> None:
    measured = Measurement.proportion("found", 90, 98, "red balloons")
    with pytest.raises(GoalPhraseError, match='states a sample of 100 but there are 98 red balloons'):
        judge(goal(Comparison.AT_LEAST, "80 of the 100"), measured)


def test_scores_take_rates_and_numbers_refuse_percentages() -> None:
    measured = Measurement.score("box mAP@.50", 0.912, 1000, "images")
    assert str(judge(goal(Comparison.AT_LEAST, "0.85"), measured)) == (
        "box mAP@.50 0.912 on 1,000 images; goal: at least 0.85; met with 0.062 to spare"
    )
    with pytest.raises(GoalPhraseError, match="is a rate between 0 and 1"):
        judge(goal(Comparison.AT_LEAST, "85"), measured)
    error = Measurement.score("mean counting error", 0.47, 100, "images", unit=Unit.NUMBER)
    assert str(judge(goal(Comparison.AT_MOST, "2"), error)).endswith("met with 1.53 to spare")
    with pytest.raises(GoalPhraseError, match="is a number, not a rate"):
        judge(goal(Comparison.AT_MOST, "50%"), error)


def test_an_empty_sample_of_the_data_is_broken_and_of_the_models_outputs_is_missed() -> None:
    with pytest.raises(GoalPhraseError, match="there is nothing in scope"):
        judge(goal(Comparison.AT_LEAST, "80%"), Measurement.proportion("found", 0, 0, "balloons"))
    none_reported = Measurement.proportion("precision", 0, 0, "detections hit an object", unit=Unit.RATE,
                                           sample_of_outputs=True)
    verdict = judge(goal(Comparison.AT_LEAST, "0.9"), none_reported)
    assert verdict.status is Status.MISSED and verdict.margin is None


def test_the_record_round_trips_through_plain_data() -> None:
    verdict = judge(goal(Comparison.AT_LEAST, "80%", confidence=0.9), FOUND_742)
    assert Verdict.from_dict(verdict.to_dict()) == verdict
    assert verdict.to_dict()["unit"] == "count" and verdict.to_dict()["status"] == "missed"


def test_one_rounding_rule_and_one_exit_code_rule() -> None:
    assert [format_value(0.95981, Unit.RATE), format_value(0.001111, Unit.RATE), format_value(0.336, Unit.RATE)] == [
        "96.0%", "0.1%", "33.6%"]
    assert ExitCode.of([Status.MET, Status.MISSED]) is ExitCode.MISSED
    assert ExitCode.of([Status.MISSED, Status.BROKEN]) is ExitCode.BROKEN
    assert ExitCode.of([]) is ExitCode.MET
