"""COCO evaluation on small problems with figures checked by hand, and the table of edge cases.

Hand arithmetic: with COCO's 101 recall thresholds 0.00 ... 1.00, a class whose precision envelope is
p1 up to recall 0.5 and p2 above it has AP (51 * p1 + 50 * p2) / 101. pycocotools divides by
``tp + fp + spacing(1)``, so a precision of 1 is 1 - 2.2e-16: hand figures are compared within 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
from pycoco_reference import Problem, annotation_table, coco_dicts, run_pycocotools

from visionspec.detections import Detections
from visionspec.errors import EvaluationError
from visionspec.metrics import evaluate_coco

HAND = 1e-12


def _evaluate(problem: Problem, max_dets: tuple[int, int, int] = (1, 10, 100)):  # type: ignore[no-untyped-def]
    return evaluate_coco(
        problem.ground_truth, problem.image_ids, problem.category_ids, problem.detections, max_dets=max_dets
    )


def _pycocotools_stats(problem: Problem, id_shift: int = 1) -> list[float | None]:
    stats = run_pycocotools(*coco_dicts(problem, id_shift=id_shift)).stats
    return [None if value == -1 else float(value) for value in stats]


def two_objects(first_id: int = 10) -> Problem:
    """One image, two large objects; detections: hit (0.9), stray (0.8), hit (0.7)."""
    ground_truth = annotation_table([first_id, 11], [5, 5], [1, 1], [[0, 0, 100, 100], [200, 0, 100, 100]])
    detections = Detections.build(
        [5, 5, 5], [1, 1, 1], [[0, 0, 100, 100], [500, 500, 100, 100], [200, 0, 100, 100]], [0.9, 0.8, 0.7]
    )
    return Problem(ground_truth, np.array([5]), np.array([1]), detections)


def test_two_objects_and_a_stray_by_hand() -> None:
    summary = _evaluate(two_objects()).summary
    # TP, FP, TP: precision 1 up to recall 0.5, then 2/3 up to recall 1, at every IoU threshold.
    ap = (51 * 1 + 50 * 2 / 3) / 101
    assert summary.ap == pytest.approx(ap, abs=HAND)
    assert summary.ap50 == pytest.approx(ap, abs=HAND)
    assert summary.ap75 == pytest.approx(ap, abs=HAND)
    assert summary.ap_large == pytest.approx(ap, abs=HAND)
    assert (summary.ap_small, summary.ap_medium, summary.ar_small, summary.ar_medium) == (None, None, None, None)
    assert (summary.ar1, summary.ar10, summary.ar100, summary.ar_large) == (0.5, 1.0, 1.0, 1.0)
    assert list(summary.to_dict().values()) == _pycocotools_stats(two_objects())


def crowd_and_iou() -> Problem:
    """An object found at IoU 0.82, and a detection inside a crowd region scoring higher."""
    ground_truth = annotation_table(
        [1, 2], [5, 5], [1, 1], [[0, 0, 100, 100], [200, 200, 100, 100]], iscrowd=[False, True]
    )
    detections = Detections.build([5, 5], [1, 1], [[210, 210, 20, 20], [0, 0, 100, 82]], [0.95, 0.9])
    return Problem(ground_truth, np.array([5]), np.array([1]), detections)


def test_crowd_region_absorbs_a_detection_and_iou_decides_by_hand() -> None:
    summary = _evaluate(crowd_and_iou()).summary
    # IoU 0.82: a hit at the 7 thresholds 0.50 ... 0.80, a miss at 0.85, 0.90, 0.95. The detection in
    # the crowd region is ignored (counted as a false positive first, AP at 0.50 would be 0.5).
    assert summary.ap == pytest.approx(0.7, abs=HAND)
    assert summary.ap50 == pytest.approx(1.0, abs=HAND)
    assert summary.ap75 == pytest.approx(1.0, abs=HAND)
    assert summary.ar100 == pytest.approx(0.7, abs=HAND)
    assert summary.ap_small is None  # the small detection lies in the crowd region; no small object
    assert list(summary.to_dict().values()) == _pycocotools_stats(crowd_and_iou())


def test_class_without_objects_has_no_ap_and_leaves_the_mean_alone() -> None:
    base = two_objects()
    stray = Detections.build(
        [*base.detections.image_ids, 5], [*base.detections.category_ids, 2],
        [*base.detections.boxes, [0, 0, 100, 100]], [*base.detections.scores, 0.99],
    )
    problem = Problem(base.ground_truth, base.image_ids, np.array([1, 2]), stray)
    result = _evaluate(problem)
    assert result.per_class[2] is None
    assert result.per_class[1] == _evaluate(base).per_class[1]
    assert result.summary == _evaluate(base).summary
    assert np.isnan(result.precision[:, :, 1]).all()
    assert list(result.summary.to_dict().values()) == _pycocotools_stats(problem)


def test_small_and_medium_objects_by_area() -> None:
    ground_truth = annotation_table([1, 2], [5, 5], [1, 1], [[0, 0, 20, 20], [100, 100, 40, 40]], areas=[400, 1600])
    detections = Detections.build([5], [1], [[0, 0, 20, 20]], [0.9])
    problem = Problem(ground_truth, np.array([5]), np.array([1]), detections)
    summary = _evaluate(problem).summary
    assert summary.ap_small == pytest.approx(1.0, abs=HAND)
    assert summary.ap_medium == 0.0
    assert summary.ap_large is None
    assert summary.ar_small == 1.0 and summary.ar_medium == 0.0
    assert list(summary.to_dict().values()) == _pycocotools_stats(problem)


def test_equal_ious_go_to_the_later_object_by_hand() -> None:
    """Detection A overlaps objects 1 and 2 equally (IoU 0.818); B sits exactly on object 2 and
    overlaps object 1 at IoU 0.667. pycocotools gives A the later object (2), leaving B object 1."""
    ground_truth = annotation_table([1, 2], [5, 5], [1, 1], [[0, 0, 10, 10], [2, 0, 10, 10]])
    detections = Detections.build([5, 5], [1, 1], [[1, 0, 10, 10], [2, 0, 10, 10]], [0.9, 0.8])
    problem = Problem(ground_truth, np.array([5]), np.array([1]), detections)
    summary = _evaluate(problem).summary
    # IoU 0.50-0.65: A, B both hits (AP 1). 0.70-0.80: A hit, B (0.667 on object 1) a false positive:
    # 51/101. 0.85-0.95: A misses (0.818), B hits object 2: precision 1/2 up to recall 0.5: 25.5/101.
    assert summary.ap == pytest.approx((4 + 3 * 51 / 101 + 3 * 25.5 / 101) / 10, abs=HAND)
    assert summary.ap75 == pytest.approx(51 / 101, abs=HAND)
    assert list(summary.to_dict().values()) == _pycocotools_stats(problem)


# ---- edge cases ----


def test_no_predictions_scores_zero() -> None:
    problem = Problem(two_objects().ground_truth, np.array([5]), np.array([1]), Detections.empty())
    result = _evaluate(problem)
    expected = [0.0, 0.0, 0.0, None, None, 0.0, 0.0, 0.0, 0.0, None, None, 0.0]
    assert list(result.summary.to_dict().values()) == expected == _pycocotools_stats(problem)
    assert result.per_class == {1: 0.0}


def test_no_ground_truth_leaves_every_figure_undefined() -> None:
    empty = annotation_table([], [], [], np.zeros((0, 4)))
    problem = Problem(empty, np.array([5]), np.array([1]), two_objects().detections)
    result = _evaluate(problem)
    assert list(result.summary.to_dict().values()) == [None] * 12 == _pycocotools_stats(problem)
    assert result.per_class == {1: None}
    assert np.isnan(result.precision).all() and np.isnan(result.recall).all()


def test_nothing_at_all() -> None:
    empty = annotation_table([], [], [], np.zeros((0, 4)))
    result = evaluate_coco(empty, [], [], Detections.empty())
    assert list(result.summary.to_dict().values()) == [None] * 12
    assert result.precision.shape == (10, 101, 0, 4, 3)


def test_annotation_id_0_is_an_ordinary_object() -> None:
    """pycocotools turns the match with object 0 into a false positive; visionspec does not."""
    with_zero = _evaluate(two_objects(first_id=0)).summary
    assert with_zero == _evaluate(two_objects(first_id=10)).summary
    assert list(with_zero.to_dict().values()) == _pycocotools_stats(two_objects(first_id=0), id_shift=1)
    trapped = _pycocotools_stats(two_objects(first_id=0), id_shift=0)
    # pycocotools unshifted: FP, FP, TP -> precision 1/3 up to recall 0.5, nothing above.
    assert trapped[0] == pytest.approx(51 * (1 / 3) / 101, abs=HAND)
    assert with_zero.ap == pytest.approx((51 + 50 * 2 / 3) / 101, abs=HAND)


@pytest.mark.parametrize("first", ["hit", "stray"])
def test_tied_scores_keep_results_file_order_as_pycocotools(first: str) -> None:
    hit, stray = [0, 0, 100, 100], [500, 500, 100, 100]
    boxes = [hit, stray] if first == "hit" else [stray, hit]
    ground_truth = annotation_table([1], [5], [1], [hit])
    problem = Problem(ground_truth, np.array([5]), np.array([1]), Detections.build([5, 5], [1, 1], boxes, [0.5, 0.5]))
    summary = _evaluate(problem).summary
    assert summary.ap == pytest.approx(1.0 if first == "hit" else 0.5, abs=HAND)
    assert list(summary.to_dict().values()) == _pycocotools_stats(problem)


def test_only_the_top_100_detections_of_an_image_and_class_count() -> None:
    ground_truth = annotation_table([1], [5], [1], [[0, 0, 50, 50]])
    boxes = [[500 + i, 500, 10, 10] for i in range(150)]
    boxes[120] = [0, 0, 50, 50]  # the only hit has the 121st best score
    scores = np.linspace(1.0, 0.1, 150)
    problem = Problem(ground_truth, np.array([5]), np.array([1]), Detections.build([5] * 150, [1] * 150, boxes, scores))
    assert _evaluate(problem).summary.ar100 == 0.0
    assert _evaluate(problem, max_dets=(1, 10, 200)).summary.ar100 == 1.0
    assert list(_evaluate(problem).summary.to_dict().values()) == _pycocotools_stats(problem)


def test_detection_on_an_image_not_in_the_ground_truth_is_an_error() -> None:
    base = two_objects()
    detections = Detections.build([5, 5, 99], [1, 1, 1], np.zeros((3, 4)) + 1, [0.5, 0.5, 0.5])
    with pytest.raises(EvaluationError) as caught:
        evaluate_coco(base.ground_truth, base.image_ids, base.category_ids, detections)
    assert str(caught.value) == (
        "detection 2 lies on image 99, which is not one of the 1 images evaluated; "
        "fix: evaluate predictions made on this data set's images"
    )


def test_unknown_category_is_an_error() -> None:
    base = two_objects()
    detections = Detections.build([5, 5, 5], [1, 3, 4], np.zeros((3, 4)) + 1, [0.5, 0.5, 0.5])
    with pytest.raises(EvaluationError) as caught:
        evaluate_coco(base.ground_truth, base.image_ids, base.category_ids, detections)
    assert str(caught.value) == (
        "detection 1 has category 3, which is not one of the categories evaluated [1] (and 1 more); "
        "fix: map the model's classes to the data set's category ids"
    )


def test_object_on_an_unknown_image_is_an_error() -> None:
    ground_truth = annotation_table([7], [6], [1], [[0, 0, 10, 10]])
    with pytest.raises(EvaluationError, match=r"^annotation id 7 lies on image 6, which is not one of the 1 images"):
        evaluate_coco(ground_truth, [5], [1], Detections.empty())


def test_non_finite_score_is_an_error() -> None:
    base = two_objects()
    detections = Detections.build([5], [1], [[0, 0, 1, 1]], [float("nan")])
    with pytest.raises(EvaluationError, match=r"^detection 0 has score nan; fix: scores must be finite$"):
        evaluate_coco(base.ground_truth, base.image_ids, base.category_ids, detections)


@pytest.mark.parametrize("max_dets", [(1, 10), (10, 1, 100), (0, 10, 100), (1, 1, 100)])
def test_bad_max_dets_is_an_error(max_dets: tuple[int, ...]) -> None:
    base = two_objects()
    with pytest.raises(EvaluationError, match=r"^max_dets must be three ascending positive integers"):
        evaluate_coco(base.ground_truth, base.image_ids, base.category_ids, base.detections, max_dets=max_dets)  # type: ignore[arg-type]


def test_results_are_frozen() -> None:
    result = _evaluate(two_objects())
    with pytest.raises(ValueError, match="read-only"):
        result.precision[0, 0, 0, 0, 0] = 1.0
    with pytest.raises(TypeError):
        result.per_class[1] = 0.0  # type: ignore[index]
    assert result.to_dict()["coco"]["APs"] is None
