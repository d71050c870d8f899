"""Counts at a score and IoU against pycocotools' own per-image matches (``evalImgs``), match by match.

pycocotools runs with ``iouThrs = [iou]`` on the detections scoring at least ``score``; its area "all"
records at maxDets 100 are compared with visionspec's outcome of every detection and object.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from pycoco_reference import Problem, coco_dicts, random_problem, run_pycocotools

from visionspec.metrics import DetectionOutcome, ThresholdMatches, count_matches, counts_at, match_at
from visionspec.metrics.results import Area


def _expected_from_pycocotools(problem: Problem, score: float, iou: float,
                               area: Area = Area.ALL) -> dict[str, np.ndarray]:
    """pycocotools' outcome of every detection and object in one area range (``areaRng``), in visionspec's rows."""
    gt, results = coco_dicts(problem, id_shift=1)
    kept_rows = np.flatnonzero(problem.detections.scores >= score)
    evaluator = run_pycocotools(gt, [results[row] for row in kept_rows], iou_thresholds=[iou])
    object_row = {int(ann_id) + 1: row for row, ann_id in enumerate(problem.ground_truth.ids)}
    outcomes = np.full(len(problem.detections), DetectionOutcome.BELOW_SCORE, dtype=np.int8)
    outcomes[kept_rows] = DetectionOutcome.BEYOND_MAX_DETS  # until seen in a record
    matched_to = np.full(len(problem.detections), -1)
    matched_by = np.full(len(problem.ground_truth), -1)
    ignored = np.zeros(len(problem.ground_truth), dtype=bool)
    for record in evaluator.evalImgs:
        if record is None or record["aRng"] != _PYCOCO_RANGES[area]:
            continue
        for j, detection_id in enumerate(record["dtIds"]):
            row = kept_rows[detection_id - 1]
            object_id = int(record["dtMatches"][0, j])
            if record["dtIgnore"][0, j]:
                outcomes[row] = DetectionOutcome.IGNORED
            else:
                outcomes[row] = DetectionOutcome.TRUE_POSITIVE if object_id else DetectionOutcome.FALSE_POSITIVE
            matched_to[row] = object_row[object_id] if object_id else -1
        for g, object_id in enumerate(record["gtIds"]):
            detection_id = int(record["gtMatches"][0, g])
            matched_by[object_row[object_id]] = kept_rows[detection_id - 1] if detection_id else -1
            ignored[object_row[object_id]] = bool(record["gtIgnore"][g])
    return {"outcomes": outcomes, "matched_to": matched_to, "matched_by": matched_by, "ignored": ignored}


_PYCOCO_RANGES = {Area.ALL: [0, 1e10], Area.SMALL: [0, 32**2], Area.MEDIUM: [32**2, 96**2],
                  Area.LARGE: [96**2, 1e10]}


def _matches(problem: Problem, score: float, iou: float, area: Area = Area.ALL) -> ThresholdMatches:
    return match_at(
        problem.ground_truth, problem.image_ids, problem.category_ids, problem.detections, score=score, iou=iou,
        area=area,
    )


@pytest.mark.parametrize("area", [Area.SMALL, Area.MEDIUM, Area.LARGE])
@pytest.mark.parametrize(("seed", "score"), [(11, 0.0), (12, 0.4), (13, 0.6)])
def test_every_match_in_a_size_range_agrees_with_pycocotools_area_range(seed: int, score: float, area: Area) -> None:
    # the rule a size slice ("only the small balloons") follows: detections matched to objects outside the
    # range are ignored; unmatched detections count only when their own box lies in it (pycocotools' areaRng)
    problem = random_problem(seed, grid=seed % 2 == 0)
    expected = _expected_from_pycocotools(problem, score, 0.5, area)

    ours = _matches(problem, score, 0.5, area)

    np.testing.assert_array_equal(ours.detection_outcomes, expected["outcomes"])
    np.testing.assert_array_equal(ours.ground_truth_matched_by, expected["matched_by"])
    np.testing.assert_array_equal(ours.ground_truth_ignored, expected["ignored"])
    assert (ours.detection_outcomes == DetectionOutcome.IGNORED).any()


@pytest.mark.parametrize(
    ("seed", "grid", "score", "iou"),
    [(0, False, 0.0, 0.5), (1, False, 0.5, 0.5), (2, True, 0.3, 0.5), (3, True, 0.6, 0.75), (4, False, 0.2, 0.3),
     (5, True, 0.0, 1.0), (6, True, 0.45, 0.95)],
)
def test_every_match_agrees_with_pycocotools(seed: int, grid: bool, score: float, iou: float) -> None:
    problem = random_problem(seed, grid=grid)
    expected = _expected_from_pycocotools(problem, score, iou)

    ours = _matches(problem, score, iou)

    np.testing.assert_array_equal(ours.detection_outcomes, expected["outcomes"])
    np.testing.assert_array_equal(ours.detection_matched_to, expected["matched_to"])
    np.testing.assert_array_equal(ours.ground_truth_matched_by, expected["matched_by"])
    np.testing.assert_array_equal(ours.ground_truth_ignored, expected["ignored"])
    outcomes = set(ours.detection_outcomes.tolist())
    assert {DetectionOutcome.TRUE_POSITIVE, DetectionOutcome.FALSE_POSITIVE} <= outcomes
    if score <= 0.2:  # the image with 130 detections of one class has some beyond the top 100
        assert DetectionOutcome.BEYOND_MAX_DETS in outcomes


def test_counts_are_the_matches_counted() -> None:
    problem = random_problem(7)
    expected = _expected_from_pycocotools(problem, 0.5, 0.5)
    counts = counts_at(
        problem.ground_truth, problem.image_ids, problem.category_ids, problem.detections, score=0.5, iou=0.5
    )
    tp = int((expected["outcomes"] == DetectionOutcome.TRUE_POSITIVE).sum())
    fp = int((expected["outcomes"] == DetectionOutcome.FALSE_POSITIVE).sum())
    fn = int(((expected["matched_by"] < 0) & ~expected["ignored"]).sum())
    assert (counts.overall.tp, counts.overall.fp, counts.overall.fn) == (tp, fp, fn)
    assert counts.overall.precision.value == tp / (tp + fp)
    assert counts.overall.recall.value == tp / (tp + fn)
    assert counts.overall.f1 == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert sum(c.tp for c in counts.per_class.values()) == tp
    assert sum(c.fn for c in counts.per_class.values()) == fn
    assert counts.per_class[41].fn == 0 and counts.per_class[41].recall.value is None  # no objects of class 41
    assert counts.per_class[41].fp > 0 and counts.per_class[41].precision.value == 0.0


def test_missed_objects_and_false_alarms_are_the_rows() -> None:
    problem = random_problem(8)
    matches = _matches(problem, 0.5, 0.5)
    counts = count_matches(matches)
    missed = matches.missed_objects()
    false_alarms = matches.false_alarms()
    assert len(missed) == counts.overall.fn > 0
    assert len(false_alarms) == counts.overall.fp > 0
    assert not missed.iscrowd.any()
    assert (false_alarms.scores >= 0.5).all()
    assert set(missed.ids.tolist()) == set(problem.ground_truth.ids[matches.missed].tolist())


@pytest.mark.slow
def test_every_match_agrees_on_many_problems() -> None:
    """Sweep: per seed a random score in [0, 0.7] and IoU in [0.3, 1.0], plain and on a grid (10 seeds by
    default; ``VISIONSPEC_AGREEMENT_SEEDS=300`` for a long run)."""
    seeds = int(os.environ.get("VISIONSPEC_AGREEMENT_SEEDS", "10"))
    differing = []
    for seed in range(200, 200 + seeds):
        rng = np.random.default_rng(seed)
        score, iou = round(float(rng.uniform(0, 0.7)), 2), round(float(rng.uniform(0.3, 1.0)), 2)
        for grid in (False, True):
            problem = random_problem(seed, grid=grid)
            expected = _expected_from_pycocotools(problem, score, iou)
            ours = _matches(problem, score, iou)
            if not (
                np.array_equal(ours.detection_outcomes, expected["outcomes"])
                and np.array_equal(ours.detection_matched_to, expected["matched_to"])
                and np.array_equal(ours.ground_truth_matched_by, expected["matched_by"])
                and np.array_equal(ours.ground_truth_ignored, expected["ignored"])
            ):
                differing.append((seed, grid, score, iou))
    assert differing == []
