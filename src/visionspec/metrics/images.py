"""Image-level figures: false-alarm images, found images, and counting error per image.

Goals such as "no more than 2% of the pictures without a balloon show a balloon" or "counts the
balloons of a picture exactly in 95% of the pictures" are about images, not boxes: no matching is
involved, only whether (and how many) detections an image has at a score threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visionspec.datasets.tables import AnnotationTable
from visionspec.detections import Detections
from visionspec.metrics.intervals import proportion, ratio
from visionspec.metrics.matching import index_of
from visionspec.metrics.results import CountingErrors, ImageFigures


def image_figures(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    detections: Detections,
    *,
    score: float,
    category_ids: Sequence[int] | None = None,
) -> ImageFigures:
    """Images with a detection among the images without objects, and among the images with objects.

    Args:
        ground_truth: the objects (crowd regions count as objects here).
        image_ids: every image evaluated.
        detections: the boxes; those scoring below ``score`` are left out.
        score: the score threshold.
        category_ids: only objects and detections of these classes; all when ``None``.

    Returns:
        ``false_alarm_images`` and ``found_images`` with Wilson intervals.

    Raises:
        EvaluationError: a detection or object on an image not in ``image_ids``.

    Example:
        >>> figures = image_figures(ground_truth, images.ids, detections, score=0.5)  # doctest: +SKIP
        >>> str(figures.false_alarm_images)
        '12 of 4,000 (0.3%, 95% CI 0.2-0.5%)'
    """
    _, object_counts, detection_counts = _per_image_counts(
        ground_truth, image_ids, detections, score, category_ids, count_crowd=True
    )
    has_object = object_counts > 0
    has_detection = detection_counts > 0
    return ImageFigures(
        score=float(score),
        false_alarm_images=proportion(int((has_detection & ~has_object).sum()), int((~has_object).sum())),
        found_images=proportion(int((has_detection & has_object).sum()), int(has_object.sum())),
    )


def counting_errors(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    detections: Detections,
    *,
    score: float,
    category_ids: Sequence[int] | None = None,
) -> CountingErrors:
    """Detections counted per image against the objects of the image.

    Crowd regions are left out of the true counts: a crowd region stands for an unknown number of
    objects. Arguments as ``image_figures``.
    """
    images, object_counts, detection_counts = _per_image_counts(
        ground_truth, image_ids, detections, score, category_ids, count_crowd=False
    )
    errors = detection_counts - object_counts
    n_images = int(images.shape[0])
    for array in (images, object_counts, detection_counts, errors):
        array.flags.writeable = False
    return CountingErrors(
        score=float(score),
        image_ids=images,
        true_counts=object_counts,
        predicted_counts=detection_counts,
        errors=errors,
        mean_absolute_error=ratio(float(np.abs(errors).sum()), n_images),
        mean_error=ratio(float(errors.sum()), n_images),
        exact=proportion(int((errors == 0).sum()), n_images),
    )


def _per_image_counts(
    ground_truth: AnnotationTable,
    image_ids: ArrayLike,
    detections: Detections,
    score: float,
    category_ids: Sequence[int] | None,
    *,
    count_crowd: bool,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Sorted image ids, objects per image and detections (at ``score``) per image."""
    images = np.unique(np.asarray(image_ids, dtype=np.int64))
    object_rows = np.ones(len(ground_truth), dtype=bool) if count_crowd else ~ground_truth.iscrowd
    detection_rows = detections.scores >= score
    if category_ids is not None:
        object_rows &= np.isin(ground_truth.category_ids, category_ids)
        detection_rows &= np.isin(detections.category_ids, category_ids)
    fix = "evaluate predictions made on this data set's images"
    problem = f"lies on image {{}}, which is not one of the {images.shape[0]:,} images evaluated"
    object_images = index_of(
        ground_truth.image_ids, images, lambda row: f"annotation id {int(ground_truth.ids[row])}", problem, fix
    )
    detection_images = index_of(detections.image_ids, images, lambda row: f"detection {row}", problem, fix)
    object_counts = np.bincount(object_images[object_rows], minlength=images.shape[0]).astype(np.int64)
    detection_counts = np.bincount(detection_images[detection_rows], minlength=images.shape[0]).astype(np.int64)
    return images, object_counts, detection_counts
