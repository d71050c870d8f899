"""The paired comparison of a candidate and a baseline detector: intervals, flip lists, verdict sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.checkpoints.checkpoint_world import write_dataset_steps

from visionspec.baseline import (
    BaselineComparison,
    FlipCounts,
    improvement_verdict,
    paired_difference,
    parse_points,
    recall_change_table,
    recall_drop_verdict,
)
from visionspec.datasets.registry import DatasetRegistry
from visionspec.detections import Detections
from visionspec.errors import GoalPhraseError
from visionspec.evaluation import DetectionResult, Thresholds
from visionspec.scope import Scope

ON_BALLOON = [8.0, 8.0, 16.0, 16.0]  # xywh, exactly on every balloon of the world
ELSEWHERE = [40.0, 40.0, 16.0, 16.0]  # no balloon there


def test_paired_interval_agrees_with_the_published_newcombe_example() -> None:
    # contingencytables (Fagerland, Lydersen & Laake), Newcombe_square_and_add_CI_paired_2x2 on
    # [[59, 6], [16, 80]] (Cavo et al., 2012): estimate -0.0621, 95% CI -0.1186 to -0.0046
    change = paired_difference(both=59, only_candidate=6, only_baseline=16, neither=80)
    assert change.difference == pytest.approx(-0.0621, abs=5e-5)
    assert change.interval is not None
    assert (round(change.interval.low, 4), round(change.interval.high, 4)) == (-0.1186, -0.0046)
    assert str(change) == "-6.2 points (95% CI -11.9 to -0.5 points) on 161 objects: 6 newly found, 16 newly missed"


def test_paired_interval_edge_cases() -> None:
    empty = paired_difference(both=0, only_candidate=0, only_baseline=0, neither=0)
    assert empty.difference is None and empty.interval is None
    # no discordant pair: the difference is 0, and the interval is as wide as 10 of 10's Wilson interval
    same = paired_difference(both=10, only_candidate=0, only_baseline=0, neither=0)
    assert same.difference == 0.0 and same.interval is not None
    assert (round(same.interval.low, 4), round(same.interval.high, 4)) == (-0.2775, 0.2775)
    swing = paired_difference(both=0, only_candidate=10, only_baseline=0, neither=0)
    assert swing.difference == 1.0 and swing.interval is not None
    assert 0.6 < swing.interval.low < 1.0 and swing.interval.high == 1.0
    with pytest.raises(ValueError, match="non-negative"):
        paired_difference(both=-1, only_candidate=0, only_baseline=0, neither=0)


def test_points_are_read_as_people_write_them() -> None:
    assert [parse_points(text) for text in ("1 point", "2 points", "0.5 points", "1%", "1 %")] == [
        0.01, 0.02, 0.005, 0.01, 0.01
    ]
    with pytest.raises(GoalPhraseError) as raised:
        parse_points("one point")
    assert str(raised.value) == (
        '"one point" is not a number of points; accepted forms: 1 point, 2 points, 0.5 points, 1%'
    )


@pytest.fixture(scope="module")
def scope(tmp_path_factory: pytest.TempPathFactory) -> Scope:
    datasets = tmp_path_factory.mktemp("datasets")
    write_dataset_steps(datasets)
    return Scope.whole(DatasetRegistry(datasets).load("steps"))


def _detections(rows: list[tuple[int, list[float], float]]) -> Detections:
    """(picture row, xywh box, score) -> detections (image id = row + 1, class 1)."""
    return Detections.build([row + 1 for row, _, _ in rows], [1] * len(rows), [box for _, box, _ in rows],
                            [score for _, _, score in rows])


def _comparison(scope: Scope, candidate: list[tuple[int, list[float], float]],
                baseline: list[tuple[int, list[float], float]]) -> BaselineComparison:
    result = DetectionResult.on(scope, _detections(candidate), Thresholds(0.5, 0.5))
    return BaselineComparison.against(result, _detections(baseline))


def test_flip_lists_are_matched_object_by_object(scope: Scope) -> None:
    # baseline finds balloons 0-5; candidate finds 3-9 (and balloon 2 only below the score threshold)
    baseline = [(row, ON_BALLOON, 0.9) for row in range(6)]
    candidate = [(row, ON_BALLOON, 0.8) for row in range(3, 10)] + [(2, ON_BALLOON, 0.3)]
    comparison = _comparison(scope, candidate, baseline)
    ids = scope.dataset.annotations.ids
    assert ids[comparison.newly_missed].tolist() == [1, 2, 3]
    assert ids[comparison.newly_found].tolist() == [7, 8, 9, 10]
    change = comparison.recall_change()
    assert (change.both, change.only_candidate, change.only_baseline, change.neither) == (3, 4, 3, 0)
    assert change.difference == pytest.approx(0.1)
    by_colour = comparison.recall_change_by("colour")
    assert list(by_colour) == ["red", "blue"]  # declared order; colours without balloons left out
    # red rows 0, 2, 4, 6, 8: baseline 0, 2, 4; candidate 4, 6, 8
    red = by_colour["red"]
    assert (red.both, red.only_candidate, red.only_baseline) == (1, 2, 2)


def test_new_false_alarms_need_a_matching_baseline_false_alarm(scope: Scope) -> None:
    shifted = [44.0, 40.0, 16.0, 16.0]  # IoU 0.6 with ELSEWHERE: the same false alarm
    far = [40.0, 2.0, 16.0, 16.0]  # IoU 0 with ELSEWHERE: a different one
    baseline = [(12, ELSEWHERE, 0.9), (13, ELSEWHERE, 0.9), (14, ELSEWHERE, 0.9)]
    candidate = [(12, shifted, 0.7), (13, far, 0.8), (15, ELSEWHERE, 0.6), (16, ELSEWHERE, 0.2)]
    comparison = _comparison(scope, candidate, baseline)
    assert comparison.new_false_alarms.tolist() == [False, True, True, False]  # the 0.2 one does not count
    assert comparison.false_alarms_gone.tolist() == [False, True, True]
    assert str(comparison.flips()) == "0 newly missed, 0 newly found, 2 new false alarms, 2 false alarms gone"


def test_false_alarms_pair_one_to_one_most_confident_first(scope: Scope) -> None:
    baseline = [(12, ELSEWHERE, 0.9)]
    candidate = [(12, ELSEWHERE, 0.6), (12, [42.0, 40.0, 16.0, 16.0], 0.95)]
    comparison = _comparison(scope, candidate, baseline)
    # the more confident candidate box takes the only baseline false alarm; the other one is new
    assert comparison.new_false_alarms.tolist() == [True, False]
    assert comparison.flips() == FlipCounts(0, 0, 1, 0)


def test_flip_tiles_show_the_flipped_objects(scope: Scope) -> None:
    comparison = _comparison(scope, [(row, ON_BALLOON, 0.8) for row in (1, 2)] + [(11, ELSEWHERE, 0.9)],
                             [(row, ON_BALLOON, 0.8) for row in (0, 1)])
    missed, found, alarms = comparison.flip_tiles(attribute="colour")
    assert (missed.total, found.total, alarms.total) == (1, 1, 1)
    assert missed.tiles[0].caption[0] == "image 1 · red" and found.tiles[0].caption[0] == "image 3 · red"
    assert alarms.tiles[0].caption[0] == "image 12 · score 0.90"
    assert Path(missed.tiles[0].image_path).name == "00.png"


def test_an_undeclared_attribute_is_a_phrase_error(scope: Scope) -> None:
    comparison = _comparison(scope, [], [])
    with pytest.raises(GoalPhraseError, match='"size" is not an attribute of data set steps; declared: colour'):
        comparison.recall_change_by("size")


def test_recall_drop_verdicts_read_as_one_sentence() -> None:
    change = paired_difference(both=80, only_candidate=3, only_baseline=5, neither=12)
    verdict = recall_drop_verdict(change, "balloons", 0.01)
    assert not verdict.met
    assert verdict.message == (
        "balloons: recall 83.0% (83 of 100) against 85.0% (85 of 100) on the baseline, -2.0 points "
        "(95% CI -8.4 to +4.2 points); 3 newly found, 5 newly missed; goal: a drop of at most 1 point; "
        "short by 1.0 points"
    )
    lenient = recall_drop_verdict(change, "balloons", 0.03)
    assert lenient.met and lenient.message.endswith("goal: a drop of at most 3 points; met with 1.0 points to spare")
    strict = recall_drop_verdict(change, "balloons", 0.03, confident=True)
    assert not strict.met and strict.message.endswith(
        "goal: a drop of at most 3 points with 95% confidence; short by 5.4 points"
    )
    interval = verdict.to_dict()["interval"]
    assert isinstance(interval, dict) and round(interval["low"], 3) == -0.084 and round(interval["high"], 3) == 0.042


def test_improvement_verdicts() -> None:
    flips = FlipCounts(2, 1, 0, 3)
    worse = improvement_verdict("box mAP@.50", 0.8, 0.85, 20, "images", flips)
    assert not worse.met and worse.message == (
        "box mAP@.50 0.800 against 0.850 on the baseline (-0.050) on 20 images; 2 newly missed, 1 newly found, "
        "0 new false alarms, 3 false alarms gone; goal: improve on the baseline; short by 0.050"
    )
    assert not improvement_verdict("box mAP@.50", 0.8, 0.8, 20, "images", flips).met
    with pytest.raises(GoalPhraseError) as undefined:  # nothing to judge on: a broken test, not a worse model
        improvement_verdict("box mAP@.50", None, 0.8, 0, "images", flips)
    assert str(undefined.value) == (
        "box mAP@.50: candidate undefined, baseline 0.800 on 0 images; goal: improve on the baseline; cannot be judged"
    )
    assert np.isclose(improvement_verdict("box mAP@.50", 0.9, 0.8, 20, "images", flips).margin or 0, 0.1)


def test_the_recall_change_table_names_each_group() -> None:
    changes = {"red balloons": paired_difference(both=1, only_candidate=2, only_baseline=0, neither=2),
               "blue balloons": paired_difference(both=1, only_candidate=0, only_baseline=1, neither=3)}
    verdicts = [recall_drop_verdict(change, name, 0.02) for name, change in changes.items()]
    page = recall_change_table(changes, verdicts)
    assert "<td>red balloons</td>" in page and "<td>+40.0 points</td>" in page
    assert "<td>blue balloons</td>" in page and "<td>-20.0 points</td>" in page
    assert page.count("badge good") == 1 and page.count("badge bad") == 1


def _pair_slowly(first: Detections, first_false: np.ndarray, second: Detections, second_false: np.ndarray,
                 iou: float) -> tuple[list[bool], list[bool]]:
    """The matching rule written out plainly, one false alarm at a time."""
    from visionspec.metrics.iou import box_iou

    taken = [False] * len(second)
    paired = [False] * len(first)
    for row in sorted(np.flatnonzero(first_false), key=lambda r: -first.scores[r]):
        best, best_iou = None, -1.0
        for other in np.flatnonzero(second_false):
            same = (first.image_ids[row], first.category_ids[row]) == (second.image_ids[other],
                                                                       second.category_ids[other])
            if same and not taken[other]:
                overlap = float(box_iou(first.boxes[row:row + 1], second.boxes[other:other + 1])[0, 0])
                if overlap > best_iou:
                    best, best_iou = other, overlap
        if best is not None and best_iou >= iou:
            paired[row], taken[best] = True, True
    return paired, taken


def test_false_alarm_pairing_agrees_with_the_plain_rule_on_random_problems() -> None:
    from visionspec.baseline import _pair_false_alarms

    generator = np.random.default_rng(7)
    for _ in range(20):
        sizes = generator.integers(0, 40, size=2)
        made = []
        for size in sizes:
            corners = generator.uniform(0, 40, size=(size, 2))
            boxes = np.hstack([corners, generator.uniform(8, 20, size=(size, 2))])
            made.append(Detections.build(generator.integers(1, 4, size), generator.integers(1, 3, size), boxes,
                                         generator.uniform(0, 1, size)))
        first, second = made
        first_false, second_false = generator.random(len(first)) < 0.7, generator.random(len(second)) < 0.7
        fast = _pair_false_alarms(first, first_false, second, second_false, 0.3)
        slow = _pair_slowly(first, first_false, second, second_false, 0.3)
        assert fast[0].tolist() == slow[0] and fast[1].tolist() == slow[1]
