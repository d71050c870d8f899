"""True and false positives and misses at one score threshold and one IoU, as COCO matches them.

The matches are pycocotools' own (``evalImgs`` at that IoU, area "all", ``maxDets`` 100) after the
detections below the score are dropped: greedy by score per image and class, crowd regions absorb
detections without counting. So "TP at score 0.5 and IoU 0.5" here is the same figure a COCO user
would compute. Each object and detection keeps its outcome, so goals can show the missed objects and
the false alarms themselves.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visionspec.datasets.tables import AnnotationTable
from visionspec.detections import Detections
from visionspec.errors import EvaluationError
from visionspec.metrics.intervals import f1_score, proportion
from visionspec.metrics.matching import build_problem, detection_ignored_in, greedy_match, object_ignored_in
from visionspec.metrics.results import Area, ClassCounts, DetectionOutcome, ThresholdCounts, ThresholdMatches

_Array = TypeVar("_Array", bound=np.ndarray[Any, Any])


def match_at(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    category_ids: ArrayLike,
    detections: Detections,
    *,
    score: float,
    iou: float,
    max_dets: int = 100,
    area: Area = Area.ALL,
) -> ThresholdMatches:
    """Match detections scoring at least ``score`` to objects at IoU ``iou``, per image and class.

    Args:
        ground_truth: the objects.
        image_ids: every image evaluated, with or without objects.
        category_ids: every class evaluated.
        detections: all detections, in results-file order (it breaks score ties).
        score: detections with a lower score are left out (``BELOW_SCORE``).
        iou: a match needs IoU >= ``iou``, in [0, 1].
        max_dets: per image and class, only the best ``max_dets`` detections take part
            (``BEYOND_MAX_DETS`` for the others), as in COCO.
        area: COCO's area range (pycocotools' ``areaRng``): objects outside it are ignored (a
            detection matched to one is ``IGNORED``), and so are unmatched detections outside it.

    Returns:
        The outcome of every object and detection.

    Raises:
        EvaluationError: an unknown image or category id, non-finite values, or a bad threshold.

    Example:
        >>> matches = match_at(ground_truth, images.ids, [1], detections, score=0.5, iou=0.5)  # doctest: +SKIP
        >>> matches.missed_objects().ids
        array([17, 42])
    """
    if not 0.0 <= iou <= 1.0 or not np.isfinite(score) or max_dets < 1:
        raise EvaluationError(
            f"match_at needs 0 <= iou <= 1, a finite score and max_dets >= 1, got iou {iou}, score {score}, "
            f"max_dets {max_dets}; fix: pass thresholds such as score=0.5, iou=0.5"
        )
    considered = detections.scores >= score
    problem = build_problem(
        ground_truth, image_ids, category_ids, detections, max_dets=max_dets, min_iou=iou, considered=considered
    )
    object_ignored = object_ignored_in(problem, area.low, area.high)
    matching = greedy_match(problem, [iou], object_ignored)
    detection_ignored = detection_ignored_in(problem, matching, object_ignored, area.low, area.high)[0]
    matched_object = matching.detection_matched[0]
    matched_detection = matching.object_matched[0]

    outcomes = np.where(considered, DetectionOutcome.BEYOND_MAX_DETS, DetectionOutcome.BELOW_SCORE).astype(np.int8)
    outcomes[problem.detection_rows] = np.select(
        [detection_ignored, matched_object >= 0],
        [DetectionOutcome.IGNORED, DetectionOutcome.TRUE_POSITIVE],
        DetectionOutcome.FALSE_POSITIVE,
    )
    matched_to = np.full(len(detections), -1, dtype=np.int64)
    matched_to[problem.detection_rows] = _rows_or_missing(problem.object_rows, matched_object)
    matched_by = np.full(len(ground_truth), -1, dtype=np.int64)
    matched_by[problem.object_rows] = _rows_or_missing(problem.detection_rows, matched_detection)
    ignored = np.zeros(len(ground_truth), dtype=bool)
    ignored[problem.object_rows] = object_ignored
    return ThresholdMatches(
        score=float(score),
        iou=float(iou),
        max_dets=int(max_dets),
        ground_truth=ground_truth,
        detections=detections,
        category_ids=problem.category_ids,
        ground_truth_matched_by=_frozen(matched_by),
        ground_truth_ignored=_frozen(ignored),
        detection_outcomes=_frozen(outcomes),
        detection_matched_to=_frozen(matched_to),
    )


def counts_at(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    category_ids: ArrayLike,
    detections: Detections,
    *,
    score: float,
    iou: float,
    max_dets: int = 100,
) -> ThresholdCounts:
    """TP, FP, FN, precision, recall and F1 at ``score`` and ``iou``, overall and per class.

    Arguments as ``match_at``; this is ``count_matches(match_at(...))``.
    """
    matches = match_at(
        ground_truth, image_ids, category_ids, detections, score=score, iou=iou, max_dets=max_dets
    )
    return count_matches(matches)


def count_matches(matches: ThresholdMatches) -> ThresholdCounts:
    """Overall and per-class counts of a ``match_at`` result."""
    categories = matches.category_ids
    n_classes = categories.shape[0]

    def per_class(category_ids: NDArray[np.int64], selected: NDArray[np.bool_]) -> NDArray[np.int64]:
        counted: NDArray[np.int64] = np.bincount(
            np.searchsorted(categories, category_ids[selected]), minlength=n_classes
        )
        return counted

    tp = per_class(matches.detections.category_ids, matches.true_positives)
    fp = per_class(matches.detections.category_ids, matches.false_positives)
    fn = per_class(matches.ground_truth.category_ids, matches.missed)
    return ThresholdCounts(
        score=matches.score,
        iou=matches.iou,
        overall=class_counts(int(tp.sum()), int(fp.sum()), int(fn.sum())),
        per_class=MappingProxyType(
            {int(c): class_counts(int(tp[k]), int(fp[k]), int(fn[k])) for k, c in enumerate(categories.tolist())}
        ),
    )


def class_counts(tp: int, fp: int, fn: int) -> ClassCounts:
    """Precision, recall (with Wilson intervals) and F1 from the three counts."""
    return ClassCounts(
        tp=tp, fp=fp, fn=fn, precision=proportion(tp, tp + fp), recall=proportion(tp, tp + fn), f1=f1_score(tp, fp, fn)
    )


def _rows_or_missing(rows: NDArray[np.int64], indices: NDArray[np.int64]) -> NDArray[np.int64]:
    """``rows[indices]`` with -1 kept as -1."""
    result: NDArray[np.int64] = np.where(indices >= 0, rows[np.maximum(indices, 0)] if rows.size else -1, -1)
    return result


def _frozen(array: _Array) -> _Array:
    """Make ``array`` read-only and return it."""
    array.flags.writeable = False
    return array
