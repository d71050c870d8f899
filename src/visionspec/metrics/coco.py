"""COCO box evaluation (mAP and friends) that agrees with pycocotools to the last bit.

``evaluate_coco`` does what pycocotools' ``COCOeval(iouType="bbox")`` does with ``evaluate()``,
``accumulate()`` and ``summarize()``, with the same floating-point operations in the same order, so
the twelve figures, the per-class AP and the precision and recall arrays are identical; only
"undefined" differs: ``None`` in figures and NaN in the arrays where pycocotools writes -1.

Two deliberate differences, both where pycocotools is wrong:

- an annotation with id 0 is an ordinary object (pycocotools records a match by the object's id and
  reads 0 as "unmatched", so a detection on object 0 counts as a false positive);
- with ``max_dets`` other than (1, 10, 100), the AP figures use the largest ``max_dets`` (pycocotools
  looks for 100 and reports -1 when it is absent).

Ties: detections with equal scores are ordered as pycocotools orders them, a stable sort over the
detections in the order given (file order of the results), within each image and class; and across
images by image id. So the figures depend on that order, exactly as pycocotools' do.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visionspec.datasets.tables import AnnotationTable
from visionspec.detections import Detections
from visionspec.errors import EvaluationError
from visionspec.metrics.matching import (
    MatchingProblem,
    build_problem,
    detection_ignored_in,
    greedy_match,
    object_ignored_in,
)
from visionspec.metrics.results import SUMMARY_NAMES, Area, CocoEvaluation, CocoSummary

# Exactly pycocotools' Params.setDetParams (linspace, not arange: arange drifts).
IOU_THRESHOLDS: NDArray[np.float64] = np.linspace(0.5, 0.95, 10, endpoint=True)
RECALL_THRESHOLDS: NDArray[np.float64] = np.linspace(0.0, 1.0, 101, endpoint=True)
IOU_THRESHOLDS.flags.writeable = False
RECALL_THRESHOLDS.flags.writeable = False
AREAS: tuple[Area, ...] = (Area.ALL, Area.SMALL, Area.MEDIUM, Area.LARGE)
DEFAULT_MAX_DETS: tuple[int, int, int] = (1, 10, 100)


def evaluate_coco(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    category_ids: ArrayLike,
    detections: Detections,
    *,
    max_dets: tuple[int, int, int] = DEFAULT_MAX_DETS,
) -> CocoEvaluation:
    """COCO box evaluation: the twelve figures, per-class AP and the precision / recall arrays.

    Args:
        ground_truth: the objects (``areas`` and ``iscrowd`` are used as COCO uses them).
        image_ids: every image evaluated, with or without objects (a data set's ``ImageTable.ids``).
        category_ids: every class evaluated (a data set's category ids); a class without objects has
            ``None`` AP and does not enter the means, as in pycocotools.
        detections: the boxes to judge, in results-file order (that order breaks score ties).
        max_dets: three ascending limits of detections per image and class, for AR1, AR10, AR100.

    Returns:
        The evaluation; figures are ``None`` where pycocotools reports -1.

    Raises:
        EvaluationError: a detection or object on an unknown image or class, a non-finite score or
            box, or bad ``max_dets``.

    Example:
        >>> result = evaluate_coco(ground_truth, images.ids, [1, 2], detections)  # doctest: +SKIP
        >>> result.summary.ap50
        0.912
    """
    limits = _check_max_dets(max_dets)
    problem = build_problem(
        ground_truth, image_ids, category_ids, detections, max_dets=limits[-1], min_iou=float(IOU_THRESHOLDS[0])
    )
    precision, recall = _accumulate(problem, limits)
    category_list = problem.category_ids.tolist()
    per_class = {
        int(category_id): _mean_defined(precision[:, :, k, 0, -1]) for k, category_id in enumerate(category_list)
    }
    precision.flags.writeable = False
    recall.flags.writeable = False
    arrays_only = CocoEvaluation(
        summary=CocoSummary(*([None] * len(SUMMARY_NAMES))),
        per_class=MappingProxyType(per_class),
        precision=precision,
        recall=recall,
        iou_thresholds=IOU_THRESHOLDS,
        recall_thresholds=RECALL_THRESHOLDS,
        category_ids=problem.category_ids,
        areas=AREAS,
        max_dets=limits,
    )
    # The summary reads the arrays through the same functions callers use.
    return replace(arrays_only, summary=_summarize(arrays_only))


def average_precision(
    evaluation: CocoEvaluation,
    *,
    category_id: int | None = None,
    iou: float | None = None,
    area: Area = Area.ALL,
    max_dets: int | None = None,
) -> float | None:
    """AP from the precision array, the mean over IoU thresholds, recall thresholds and classes.

    Args:
        evaluation: from ``evaluate_coco``.
        category_id: one class, or ``None`` for the mean over classes with objects.
        iou: one IoU threshold (0.50, 0.55, ..., 0.95), or ``None`` for the mean over all ten.
        area: the object-size range.
        max_dets: one of ``evaluation.max_dets``; ``None`` for the largest.

    Returns:
        The AP, ``None`` where no class in the selection has objects.
    """
    t, k, a, m = _indices(evaluation, category_id, iou, area, max_dets)
    return _mean_defined(evaluation.precision[t][:, :, k][:, :, :, a, m])


def average_recall(
    evaluation: CocoEvaluation,
    *,
    category_id: int | None = None,
    iou: float | None = None,
    area: Area = Area.ALL,
    max_dets: int | None = None,
) -> float | None:
    """AR from the recall array, the mean over IoU thresholds and classes (arguments as ``average_precision``)."""
    t, k, a, m = _indices(evaluation, category_id, iou, area, max_dets)
    return _mean_defined(evaluation.recall[t][:, k][:, :, a, m])


def _check_max_dets(max_dets: tuple[int, ...]) -> tuple[int, ...]:
    """Three ascending positive integers."""
    limits = tuple(int(limit) for limit in max_dets)
    if len(limits) != 3 or limits[0] < 1 or list(limits) != sorted(set(limits)):
        raise EvaluationError(
            f"max_dets must be three ascending positive integers, got {max_dets}; fix: e.g. (1, 10, 100)"
        )
    return limits


def _mean_defined(values: NDArray[np.float64]) -> float | None:
    """Mean of the defined (non-NaN) values, in C order as pycocotools takes ``s[s > -1]``; ``None`` if none."""
    defined = values[~np.isnan(values)]
    return float(np.mean(defined)) if defined.size else None


def _indices(
    evaluation: CocoEvaluation, category_id: int | None, iou: float | None, area: Area, max_dets: int | None
) -> tuple[slice | NDArray[np.intp], slice | NDArray[np.intp], int, int]:
    """Array indices (IoU, class, area, max_dets) of a selection; EvaluationError for values not evaluated."""
    thresholds: slice | NDArray[np.intp] = slice(None)
    if iou is not None:
        thresholds = np.flatnonzero(np.isclose(evaluation.iou_thresholds, iou, rtol=0.0, atol=1e-9))
        if len(thresholds) == 0:
            raise EvaluationError(f"IoU {iou} is not one of the COCO thresholds 0.50, 0.55, ..., 0.95; fix: use one")
    classes: slice | NDArray[np.intp] = slice(None)
    if category_id is not None:
        classes = np.flatnonzero(evaluation.category_ids == category_id)
        if len(classes) == 0:
            raise EvaluationError(
                f"category {category_id} was not evaluated; fix: use one of {evaluation.category_ids.tolist()}"
            )
    limit = evaluation.max_dets[-1] if max_dets is None else max_dets
    if limit not in evaluation.max_dets:
        raise EvaluationError(f"max_dets {limit} was not evaluated; fix: use one of {list(evaluation.max_dets)}")
    return thresholds, classes, evaluation.areas.index(area), evaluation.max_dets.index(limit)


def _summarize(evaluation: CocoEvaluation) -> CocoSummary:
    """The twelve figures, as pycocotools' ``summarize`` selects them."""
    small, medium, large = Area.SMALL, Area.MEDIUM, Area.LARGE
    first, second, _ = evaluation.max_dets
    return CocoSummary(
        ap=average_precision(evaluation),
        ap50=average_precision(evaluation, iou=0.5),
        ap75=average_precision(evaluation, iou=0.75),
        ap_small=average_precision(evaluation, area=small),
        ap_medium=average_precision(evaluation, area=medium),
        ap_large=average_precision(evaluation, area=large),
        ar1=average_recall(evaluation, max_dets=first),
        ar10=average_recall(evaluation, max_dets=second),
        ar100=average_recall(evaluation),
        ar_small=average_recall(evaluation, area=small),
        ar_medium=average_recall(evaluation, area=medium),
        ar_large=average_recall(evaluation, area=large),
    )


def _accumulate(
    problem: MatchingProblem, max_dets: tuple[int, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """pycocotools' ``accumulate``: (T, R, K, A, M) precision and (T, K, A, M) recall, NaN where undefined."""
    n_classes = problem.category_ids.shape[0]
    shape = (IOU_THRESHOLDS.shape[0], RECALL_THRESHOLDS.shape[0], n_classes, len(AREAS), len(max_dets))
    precision = np.full(shape, np.nan)
    recall = np.full((shape[0], *shape[2:]), np.nan)
    # Per class, pycocotools concatenates images in id order, each in rank order, then sorts by
    # descending score with a stable sort: the same order as this lexsort.
    order = np.lexsort(
        (problem.detection_rank, problem.detection_image, -problem.detection_scores, problem.detection_category)
    )
    class_starts = np.searchsorted(problem.detection_category[order], np.arange(n_classes + 1))
    ranks = problem.detection_rank[order]
    for a, area in enumerate(AREAS):
        object_ignored = object_ignored_in(problem, area.low, area.high)
        matching = greedy_match(problem, IOU_THRESHOLDS, object_ignored)
        detection_ignored = detection_ignored_in(problem, matching, object_ignored, area.low, area.high)
        matched = (matching.detection_matched >= 0)[:, order]
        counted = ~detection_ignored[:, order]
        true_positive, false_positive = matched & counted, ~matched & counted
        objects_counted = np.bincount(problem.object_category[~object_ignored], minlength=n_classes)
        for k in np.flatnonzero(objects_counted):
            rows = slice(class_starts[k], class_starts[k + 1])
            for m, limit in enumerate(max_dets):
                kept = ranks[rows] < limit
                precision[:, :, k, a, m], recall[:, k, a, m] = _precision_recall(
                    true_positive[:, rows][:, kept], false_positive[:, rows][:, kept], int(objects_counted[k])
                )
    return precision, recall


def _precision_recall(
    true_positive: NDArray[np.bool_], false_positive: NDArray[np.bool_], objects: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interpolated precision at the recall thresholds and the final recall of one class, area and max_dets.

    Args:
        true_positive: (T, n) detections in descending score order.
        false_positive: (T, n).
        objects: objects that count (> 0).

    Returns:
        (T, R) precision (0 beyond the highest recall reached) and (T,) recall.
    """
    n_thresholds, n_detections = true_positive.shape
    precision = np.zeros((n_thresholds, RECALL_THRESHOLDS.shape[0]))
    if n_detections == 0:
        return precision, np.zeros(n_thresholds)
    tp_sum = np.cumsum(true_positive, axis=1).astype(np.float64)
    fp_sum = np.cumsum(false_positive, axis=1).astype(np.float64)
    recall_curve = tp_sum / objects
    # pycocotools' expression, operation for operation: the spacing keeps 0/0 away.
    precision_curve = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    envelope = np.maximum.accumulate(precision_curve[:, ::-1], axis=1)[:, ::-1]
    for t in range(n_thresholds):
        positions = np.searchsorted(recall_curve[t], RECALL_THRESHOLDS, side="left")
        reached = positions < n_detections
        precision[t, reached] = envelope[t, positions[reached]]
    return precision, recall_curve[:, -1]
