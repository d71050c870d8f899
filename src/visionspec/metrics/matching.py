"""COCO's greedy matching of detections to objects, per image and class, vectorised over all images.

pycocotools (``COCOeval.evaluateImg``) matches each image and class on its own: detections in
descending score order (a stable sort over the detections in file order, so tied scores keep file
order), each taking the best still-free object with IoU at least the threshold. "Best" has three
rules this module reproduces exactly:

1. an object that counts (not crowd, inside the area range) beats an ignored one, whatever the IoUs;
2. among objects of the same kind, the highest IoU wins, and among equal IoUs the later object in
   file order (pycocotools replaces its candidate on ``>=``);
3. a crowd region is never used up: any number of detections may match it.

Only the top ``max_dets`` detections of each image and class take part (pycocotools cuts before it
computes IoUs). Here every image and class is processed at once, one detection rank at a time: the
k-th detection of every image and class is matched in one NumPy step, for every IoU threshold
together. Ranks are at most ``max_dets``, so the Python loop is short whatever the data set size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visionspec.datasets.tables import AnnotationTable
from visionspec.detections import Detections
from visionspec.errors import EvaluationError
from visionspec.metrics.iou import paired_iou

# pycocotools caps the IoU threshold just below 1 so that a perfect match still passes at IoU 1.0.
_MAX_THRESHOLD = 1 - 1e-10


@dataclass(frozen=True, eq=False)
class MatchingProblem:
    """Objects and detections grouped by (class, image), with the IoU of every pair that could match.

    Detections are in *problem order*: by category, then image, then rank (position in descending
    score order within the image and class). Objects are in category, image, then file order.

    Attributes:
        image_ids: (I,) sorted unique image ids evaluated.
        category_ids: (K,) sorted unique category ids evaluated.
        detection_rows: (D,) row of each kept detection in the given ``Detections``.
        detection_image: (D,) index into ``image_ids``.
        detection_category: (D,) index into ``category_ids``.
        detection_rank: (D,) 0 for the best-scoring detection of its image and class.
        detection_scores: (D,) score.
        detection_areas: (D,) width * height (pycocotools' ``area`` of a result).
        object_rows: (G,) row of each object in the given ``AnnotationTable``.
        object_category: (G,) index into ``category_ids``.
        object_areas: (G,) the annotation's ``area``.
        object_crowd: (G,) bool.
        pair_detection: (P,) detection index of each candidate pair.
        pair_object: (P,) object index of each candidate pair.
        pair_iou: (P,) IoU, only pairs with IoU >= the smallest threshold asked for.
        rank_starts: (R + 1,) pairs of rank r are ``rank_starts[r]:rank_starts[r + 1]``; within a rank
            they are ordered by detection, then object.
    """

    image_ids: NDArray[np.int64]
    category_ids: NDArray[np.int64]
    detection_rows: NDArray[np.int64]
    detection_image: NDArray[np.int64]
    detection_category: NDArray[np.int64]
    detection_rank: NDArray[np.int64]
    detection_scores: NDArray[np.float64]
    detection_areas: NDArray[np.float64]
    object_rows: NDArray[np.int64]
    object_category: NDArray[np.int64]
    object_areas: NDArray[np.float64]
    object_crowd: NDArray[np.bool_]
    pair_detection: NDArray[np.int64]
    pair_object: NDArray[np.int64]
    pair_iou: NDArray[np.float64]
    rank_starts: NDArray[np.int64]

    @property
    def detection_count(self) -> int:
        """D, the detections taking part."""
        return int(self.detection_rows.shape[0])

    @property
    def object_count(self) -> int:
        """G, the objects taking part."""
        return int(self.object_rows.shape[0])


@dataclass(frozen=True, eq=False)
class Matching:
    """The outcome of greedy matching at T IoU thresholds, in problem order.

    Attributes:
        detection_matched: (T, D) int64 object index matched by each detection, -1 when unmatched.
        object_matched: (T, G) int64 detection index that matched each object, -1 when none (for a
            crowd region, the last detection that matched it).
    """

    detection_matched: NDArray[np.int64]
    object_matched: NDArray[np.int64]


def _sorted_ids(values: ArrayLike, what: str) -> NDArray[np.int64]:
    """Sorted unique ids, checked to be integers."""
    array = np.asarray(values)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise EvaluationError(f"{what} must be integers, got {array.dtype}; fix: pass the ids as integers")
    return np.unique(array.astype(np.int64).reshape(-1))


def index_of(
    values: NDArray[np.int64], known: NDArray[np.int64], name: Callable[[int], str], problem: str, fix: str
) -> NDArray[np.int64]:
    """Index of each value in the sorted ``known`` ids.

    Raises:
        EvaluationError: ``"{name(row)} {problem.format(value)}; fix: {fix}"`` for the first unknown value,
            with the count of the others.
    """
    positions = np.searchsorted(known, values)
    found = positions < known.shape[0]
    found[found] = known[positions[found]] == values[found]
    if not found.all():
        first = int(np.flatnonzero(~found)[0])
        count = int((~found).sum())
        also = f" (and {count - 1} more)" if count > 1 else ""
        raise EvaluationError(f"{name(first)} {problem.format(int(values[first]))}{also}; fix: {fix}")
    return positions.astype(np.int64)


def _check_inputs(ground_truth: AnnotationTable, detections: Detections) -> None:
    """Scores and boxes must be finite: NaN would silently reorder or unmatch detections."""
    if not np.isfinite(detections.scores).all():
        row = int(np.flatnonzero(~np.isfinite(detections.scores))[0])
        raise EvaluationError(f"detection {row} has score {detections.scores[row]}; fix: scores must be finite")
    if not np.isfinite(detections.boxes).all():
        row = int(np.flatnonzero(~np.isfinite(detections.boxes).all(axis=1))[0])
        raise EvaluationError(f"detection {row} has box {detections.boxes[row].tolist()}; fix: boxes must be finite")
    if not np.isfinite(ground_truth.boxes).all():
        row = int(np.flatnonzero(~np.isfinite(ground_truth.boxes).all(axis=1))[0])
        raise EvaluationError(
            f"annotation id {int(ground_truth.ids[row])} has box {ground_truth.boxes[row].tolist()}; "
            "fix: boxes must be finite"
        )


def _locate(
    ground_truth: AnnotationTable, detections: Detections, images: NDArray[np.int64], categories: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Image and category index of every object and detection; EvaluationError for an unknown id."""
    on_image = f"lies on image {{}}, which is not one of the {images.shape[0]:,} images evaluated"
    of_class = f"has category {{}}, which is not one of the categories evaluated {categories.tolist()}"
    fix_image = "evaluate predictions made on this data set's images"
    fix_class = "map the model's classes to the data set's category ids"

    def annotation(row: int) -> str:
        return f"annotation id {int(ground_truth.ids[row])}"

    def detection(row: int) -> str:
        return f"detection {row}"

    return (
        index_of(ground_truth.image_ids, images, annotation, on_image, fix_image),
        index_of(ground_truth.category_ids, categories, annotation, of_class, fix_class),
        index_of(detections.image_ids, images, detection, on_image, fix_image),
        index_of(detections.category_ids, categories, detection, of_class, fix_class),
    )


def build_problem(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    category_ids: ArrayLike,
    detections: Detections,
    *,
    max_dets: int,
    min_iou: float,
    considered: NDArray[np.bool_] | None = None,
) -> MatchingProblem:
    """Group objects and detections by image and class, keep each group's top ``max_dets`` detections
    and compute the IoU of every detection-object pair of a group that reaches ``min_iou``.

    Args:
        ground_truth: the objects; each must lie on one of ``image_ids`` and have one of ``category_ids``.
        image_ids: the images evaluated (with or without objects).
        category_ids: the classes evaluated.
        detections: each must lie on one of ``image_ids`` and have one of ``category_ids``.
        max_dets: detections kept per image and class, best scores first.
        min_iou: the smallest IoU threshold that will be asked of ``greedy_match``.
        considered: (D,) detections taking part (e.g. those above a score); all when ``None``. Every
            detection is checked, considered or not.

    Raises:
        EvaluationError: an unknown image or category id, or a non-finite score or box.
    """
    _check_inputs(ground_truth, detections)
    images = _sorted_ids(image_ids, "image ids")
    categories = _sorted_ids(category_ids, "category ids")
    object_image, object_category, detection_image, detection_category = _locate(
        ground_truth, detections, images, categories
    )
    n_images = images.shape[0]

    # Detections: by group, then descending score; lexsort is stable, so ties keep file order (pycocotools).
    all_groups = detection_category * n_images + detection_image
    candidates = np.arange(len(detections)) if considered is None else np.flatnonzero(considered)
    detection_order = candidates[np.lexsort((-detections.scores[candidates], all_groups[candidates]))]
    sorted_groups = all_groups[detection_order]
    group_first = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.arange(sorted_groups.shape[0]) - group_first
    kept = rank < max_dets
    detection_rows = detection_order[kept].astype(np.int64)
    detection_rank = rank[kept].astype(np.int64)
    detection_group = sorted_groups[kept]

    object_group = object_category * n_images + object_image
    object_rows = np.argsort(object_group, kind="stable").astype(np.int64)
    object_group = object_group[object_rows]

    pair_detection, pair_object = _group_pairs(detection_group, detection_rank, object_group)
    pair_iou = paired_iou(
        detections.boxes[detection_rows[pair_detection]],
        ground_truth.boxes[object_rows[pair_object]],
        ground_truth.iscrowd[object_rows[pair_object]],
    )
    reachable = pair_iou >= min(min_iou, _MAX_THRESHOLD)
    pair_detection, pair_object, pair_iou = pair_detection[reachable], pair_object[reachable], pair_iou[reachable]
    pair_rank = detection_rank[pair_detection]
    top_rank = int(pair_rank[-1]) if pair_rank.shape[0] else -1
    rank_starts = np.searchsorted(pair_rank, np.arange(top_rank + 2)).astype(np.int64)

    boxes = detections.boxes[detection_rows]
    return MatchingProblem(
        image_ids=images,
        category_ids=categories,
        detection_rows=detection_rows,
        detection_image=detection_image[detection_rows],
        detection_category=detection_category[detection_rows],
        detection_rank=detection_rank,
        detection_scores=detections.scores[detection_rows],
        detection_areas=boxes[:, 2] * boxes[:, 3],
        object_rows=object_rows,
        object_category=object_category[object_rows],
        object_areas=ground_truth.areas[object_rows],
        object_crowd=ground_truth.iscrowd[object_rows].astype(bool),
        pair_detection=pair_detection,
        pair_object=pair_object,
        pair_iou=pair_iou,
        rank_starts=rank_starts,
    )


def _group_pairs(
    detection_group: NDArray[np.int64], detection_rank: NDArray[np.int64], object_group: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every (detection, object) pair of the same group, ordered by detection rank, detection, object."""
    by_rank = np.argsort(detection_rank, kind="stable")
    first_object = np.searchsorted(object_group, detection_group[by_rank], side="left")
    counts = np.searchsorted(object_group, detection_group[by_rank], side="right") - first_object
    pair_detection = np.repeat(by_rank, counts).astype(np.int64)
    pair_starts = np.cumsum(counts) - counts
    offsets = np.arange(pair_detection.shape[0]) - np.repeat(pair_starts, counts)
    pair_object = (np.repeat(first_object, counts) + offsets).astype(np.int64)
    return pair_detection, pair_object


def _last_best(
    candidate: NDArray[np.bool_], ious: NDArray[np.float64], objects: NDArray[np.int64], starts: NDArray[np.intp]
) -> NDArray[np.int64]:
    """Per threshold and detection segment: the candidate object with the highest IoU, the later one on ties.

    Args:
        candidate: (T, P) pairs allowed to match.
        ious: (P,) IoU of each pair.
        objects: (P,) object index of each pair, increasing within a segment.
        starts: (S,) first pair of each detection's segment.

    Returns:
        (T, S) object index, -1 where a segment has no candidate.
    """
    values = np.where(candidate, ious, -1.0)
    best_iou = np.maximum.reduceat(values, starts, axis=1)
    lengths = np.diff(np.append(starts, ious.shape[0]))
    best = candidate & (values == np.repeat(best_iou, lengths, axis=1))
    result: NDArray[np.int64] = np.maximum.reduceat(np.where(best, objects, -1), starts, axis=1)
    return result


def greedy_match(problem: MatchingProblem, iou_thresholds: ArrayLike, object_ignored: NDArray[np.bool_]) -> Matching:
    """Match detections to objects greedily by score, per image and class, at each IoU threshold.

    Args:
        problem: from ``build_problem`` with ``min_iou`` at most ``min(iou_thresholds)``.
        iou_thresholds: (T,) a match needs IoU >= threshold (capped at 1 - 1e-10, as pycocotools).
        object_ignored: (G,) objects that do not count (crowd regions, objects outside the area range);
            a detection takes one only when no counting object is free.

    Returns:
        The matches at each threshold.
    """
    thresholds = np.minimum(np.asarray(iou_thresholds, dtype=np.float64).reshape(-1), _MAX_THRESHOLD)[:, None]
    n_thresholds = thresholds.shape[0]
    detection_matched = np.full((n_thresholds, problem.detection_count), -1, dtype=np.int64)
    object_matched = np.full((n_thresholds, problem.object_count), -1, dtype=np.int64)
    for start, stop in zip(problem.rank_starts[:-1], problem.rank_starts[1:], strict=True):
        if start == stop:
            continue
        detections = problem.pair_detection[start:stop]
        objects = problem.pair_object[start:stop]
        ious = problem.pair_iou[start:stop]
        starts = np.flatnonzero(np.diff(detections, prepend=-1))
        free = (object_matched[:, objects] < 0) | problem.object_crowd[objects]
        candidate = free & (ious >= thresholds)
        ignored = object_ignored[objects]
        chosen = _last_best(candidate & ~ignored, ious, objects, starts)
        if ignored.any():
            chosen = np.where(chosen >= 0, chosen, _last_best(candidate & ignored, ious, objects, starts))
        threshold_index, segment = np.nonzero(chosen >= 0)
        matched_objects = chosen[threshold_index, segment]
        matched_detections = detections[starts[segment]]
        detection_matched[threshold_index, matched_detections] = matched_objects
        object_matched[threshold_index, matched_objects] = matched_detections
    return Matching(detection_matched=detection_matched, object_matched=object_matched)


def object_ignored_in(problem: MatchingProblem, low: float, high: float) -> NDArray[np.bool_]:
    """(G,) objects that do not count in the area range ``[low, high]``: crowd regions and objects outside it."""
    result: NDArray[np.bool_] = problem.object_crowd | (problem.object_areas < low) | (problem.object_areas > high)
    return result


def detection_ignored_in(
    problem: MatchingProblem, matching: Matching, object_ignored: NDArray[np.bool_], low: float, high: float
) -> NDArray[np.bool_]:
    """(T, D) detections that count neither as TP nor FP: those on an ignored object, and unmatched
    ones outside the area range ``[low, high]`` (pycocotools' ``dtIgnore``)."""
    matched = matching.detection_matched >= 0
    outside = (problem.detection_areas < low) | (problem.detection_areas > high)
    on_ignored = object_ignored[np.where(matched, matching.detection_matched, 0)] if problem.object_count else matched
    result: NDArray[np.bool_] = np.where(matched, on_ignored, outside[None, :])
    return result
