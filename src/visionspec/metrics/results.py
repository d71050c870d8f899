"""Frozen result types of the metrics: every figure a named field, ``None`` where it is undefined.

Nothing here computes a metric; each type only carries figures, converts them to plain JSON-ready
dictionaries (``to_dict``) and prints them for people (``__str__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.tables import AnnotationTable
from visionspec.detections import Detections


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class Interval:
    """A closed interval ``[low, high]`` of a rate, both in [0, 1], at a confidence ``level``."""

    low: float
    high: float
    level: float = 0.95

    def to_dict(self) -> dict[str, float]:
        """``{"low": ..., "high": ...}``."""
        return {"low": self.low, "high": self.high}

    def __str__(self) -> str:
        return f"{100 * self.low:.1f}-{100 * self.high:.1f}%"


@dataclass(frozen=True)
class Proportion:
    """``successes`` of ``trials`` with its rate and Wilson 95% interval, both ``None`` when ``trials`` is 0."""

    successes: int
    trials: int
    value: float | None
    interval: Interval | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON and reports."""
        return {
            "successes": self.successes,
            "trials": self.trials,
            "value": self.value,
            "interval": None if self.interval is None else self.interval.to_dict(),
        }

    def __str__(self) -> str:
        if self.value is None or self.interval is None:
            return f"{self.successes:,} of {self.trials:,} (undefined)"
        return f"{self.successes:,} of {self.trials:,} ({_percent(self.value)}, 95% CI {self.interval})"


class Area(Enum):
    """The COCO object-size ranges, by ``area`` in square pixels (bounds inclusive, as pycocotools)."""

    ALL = (0.0, 1e5**2)
    SMALL = (0.0, 32.0**2)
    MEDIUM = (32.0**2, 96.0**2)
    LARGE = (96.0**2, 1e5**2)

    @property
    def low(self) -> float:
        """Smallest area inside the range."""
        return self.value[0]

    @property
    def high(self) -> float:
        """Largest area inside the range."""
        return self.value[1]


# The twelve COCO figures: field name, name printed by pycocotools' tools and in JSON.
SUMMARY_NAMES: tuple[tuple[str, str], ...] = (
    ("ap", "AP"),
    ("ap50", "AP50"),
    ("ap75", "AP75"),
    ("ap_small", "APs"),
    ("ap_medium", "APm"),
    ("ap_large", "APl"),
    ("ar1", "AR1"),
    ("ar10", "AR10"),
    ("ar100", "AR100"),
    ("ar_small", "ARs"),
    ("ar_medium", "ARm"),
    ("ar_large", "ARl"),
)


@dataclass(frozen=True)
class CocoSummary:
    """The twelve COCO summary figures (pycocotools' ``stats``), ``None`` where pycocotools prints -1.

    AP figures use the largest ``max_dets``; ``ar1``, ``ar10`` and ``ar100`` use ``max_dets`` in order.
    """

    ap: float | None
    ap50: float | None
    ap75: float | None
    ap_small: float | None
    ap_medium: float | None
    ap_large: float | None
    ar1: float | None
    ar10: float | None
    ar100: float | None
    ar_small: float | None
    ar_medium: float | None
    ar_large: float | None

    def to_dict(self) -> dict[str, float | None]:
        """``{"AP": ..., "AP50": ..., ..., "ARl": ...}``, ``None`` (JSON ``null``) where undefined."""
        return {name: getattr(self, field_name) for field_name, name in SUMMARY_NAMES}

    def __str__(self) -> str:
        return "\n".join(f"{name:<6} {_figure(value)}" for name, value in self.to_dict().items())


@dataclass(frozen=True, eq=False)
class CocoEvaluation:
    """COCO box evaluation of one set of detections, as pycocotools' ``COCOeval`` computes it.

    Attributes:
        summary: the twelve figures.
        per_class: AP@[.50:.95] (area all, largest max_dets) by category id, ``None`` for a category
            without ground truth.
        precision: (T, R, K, A, M) float64 interpolated precision, pycocotools' ``eval['precision']``
            with NaN where pycocotools writes -1 (no ground truth in that cell).
        recall: (T, K, A, M) float64 maximal recall, NaN where pycocotools writes -1.
        iou_thresholds: (T,) 0.50, 0.55, ..., 0.95.
        recall_thresholds: (R,) 0.00, 0.01, ..., 1.00.
        category_ids: (K,) sorted category ids, the K axis.
        areas: the A axis (all, small, medium, large).
        max_dets: the M axis, ascending.
    """

    summary: CocoSummary
    per_class: Mapping[int, float | None]
    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    iou_thresholds: NDArray[np.float64]
    recall_thresholds: NDArray[np.float64]
    category_ids: NDArray[np.int64]
    areas: tuple[Area, ...]
    max_dets: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"coco": {twelve figures}, "per_class": {"<category id>": AP}}``."""
        return {"coco": self.summary.to_dict(), "per_class": {str(k): v for k, v in self.per_class.items()}}

    def __str__(self) -> str:
        lines = [str(self.summary)]
        lines += [f"AP class {category_id}: {_figure(value)}" for category_id, value in self.per_class.items()]
        return "\n".join(lines)


class DetectionOutcome(IntEnum):
    """What became of one detection when matched at a score and IoU threshold."""

    TRUE_POSITIVE = 0
    FALSE_POSITIVE = 1
    IGNORED = 2  # matched a crowd region (or an object outside the area range): neither TP nor FP
    BELOW_SCORE = 3  # score under the threshold: not considered
    BEYOND_MAX_DETS = 4  # not among the image's top max_dets of its class: not considered (as pycocotools)


@dataclass(frozen=True)
class ClassCounts:
    """TP / FP / FN at one score and IoU, with precision, recall (Wilson 95% intervals) and F1.

    ``precision`` is TP of TP + FP, ``recall`` TP of TP + FN; ``f1`` is 2TP / (2TP + FP + FN), ``None``
    when all three counts are 0.
    """

    tp: int
    fp: int
    fn: int
    precision: Proportion
    recall: Proportion
    f1: float | None

    def to_dict(self) -> dict[str, Any]:
        """Counts and rates, with the intervals under ``precision_interval`` / ``recall_interval``."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision.value,
            "recall": self.recall.value,
            "f1": self.f1,
            "precision_interval": None if self.precision.interval is None else self.precision.interval.to_dict(),
            "recall_interval": None if self.recall.interval is None else self.recall.interval.to_dict(),
        }

    def __str__(self) -> str:
        return f"TP {self.tp:,}  FP {self.fp:,}  FN {self.fn:,}  precision {self.precision}  recall {self.recall}"


@dataclass(frozen=True)
class ThresholdCounts:
    """Counts at one score and IoU threshold, over all classes and per category id."""

    score: float
    iou: float
    overall: ClassCounts
    per_class: Mapping[int, ClassCounts]

    def to_dict(self) -> dict[str, Any]:
        """``{"score", "iou", "tp", "fp", "fn", "precision", "recall", "f1", ..., "per_class": {...}}``."""
        return {
            "score": self.score,
            "iou": self.iou,
            **self.overall.to_dict(),
            "per_class": {str(k): v.to_dict() for k, v in self.per_class.items()},
        }

    def __str__(self) -> str:
        lines = [f"score >= {self.score:g}, IoU >= {self.iou:g}: {self.overall}"]
        lines += [f"  class {category_id}: {counts}" for category_id, counts in self.per_class.items()]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class ThresholdMatches:
    """COCO matches at one score and IoU (area all), row by row, so goals can show what was missed.

    Attributes:
        score: detections scoring below it were left out.
        iou: the IoU a match needs.
        max_dets: at most this many detections per image and class were considered.
        ground_truth: the objects (rows align with the arrays below).
        detections: all detections given (rows align with the arrays below).
        category_ids: (K,) sorted category ids evaluated.
        ground_truth_matched_by: (N,) int64 row of the matching detection, -1 when missed. A crowd
            region may absorb several detections; it records the last, as pycocotools does.
        ground_truth_ignored: (N,) bool: crowd regions (and objects over 1e10 px²), never a miss.
        detection_outcomes: (D,) int8 ``DetectionOutcome`` values.
        detection_matched_to: (D,) int64 row of the matched object, -1 when unmatched.
    """

    score: float
    iou: float
    max_dets: int
    ground_truth: AnnotationTable
    detections: Detections
    category_ids: NDArray[np.int64]
    ground_truth_matched_by: NDArray[np.int64]
    ground_truth_ignored: NDArray[np.bool_]
    detection_outcomes: NDArray[np.int8]
    detection_matched_to: NDArray[np.int64]

    @property
    def missed(self) -> NDArray[np.bool_]:
        """(N,) objects counted as false negatives."""
        return (self.ground_truth_matched_by < 0) & ~self.ground_truth_ignored

    @property
    def true_positives(self) -> NDArray[np.bool_]:
        """(D,) detections counted as true positives."""
        result: NDArray[np.bool_] = self.detection_outcomes == DetectionOutcome.TRUE_POSITIVE
        return result

    @property
    def false_positives(self) -> NDArray[np.bool_]:
        """(D,) detections counted as false positives (false alarms)."""
        result: NDArray[np.bool_] = self.detection_outcomes == DetectionOutcome.FALSE_POSITIVE
        return result

    def missed_objects(self) -> AnnotationTable:
        """The objects no detection found."""
        return self.ground_truth.take(self.missed)

    def false_alarms(self) -> Detections:
        """The detections that found no object."""
        return self.detections.take(self.false_positives)

    def __str__(self) -> str:
        return (
            f"score >= {self.score:g}, IoU >= {self.iou:g}: {int(self.true_positives.sum()):,} found, "
            f"{int(self.missed.sum()):,} missed, {int(self.false_positives.sum()):,} false alarms"
        )


@dataclass(frozen=True)
class ImageFigures:
    """Image-level figures at one score threshold.

    Attributes:
        score: detections scoring below it were left out.
        false_alarm_images: images with at least one detection, of the images without any object.
        found_images: images with at least one detection, of the images with at least one object.
    """

    score: float
    false_alarm_images: Proportion
    found_images: Proportion

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON and reports."""
        return {
            "score": self.score,
            "false_alarm_images": self.false_alarm_images.to_dict(),
            "found_images": self.found_images.to_dict(),
        }

    def __str__(self) -> str:
        return (
            f"images without objects that have a detection: {self.false_alarm_images}\n"
            f"images with objects that have a detection: {self.found_images}"
        )


@dataclass(frozen=True, eq=False)
class CountingErrors:
    """Counted versus true objects per image at one score threshold (crowd regions are not counted).

    Attributes:
        score: detections scoring below it were left out.
        image_ids: (I,) int64 sorted.
        true_counts: (I,) int64 objects per image.
        predicted_counts: (I,) int64 detections per image.
        errors: (I,) int64 ``predicted_counts - true_counts``.
        mean_absolute_error: mean of ``|errors|``, ``None`` without images.
        mean_error: mean of ``errors`` (positive: over-counting), ``None`` without images.
        exact: images counted exactly right, of all images.
    """

    score: float
    image_ids: NDArray[np.int64]
    true_counts: NDArray[np.int64]
    predicted_counts: NDArray[np.int64]
    errors: NDArray[np.int64]
    mean_absolute_error: float | None
    mean_error: float | None
    exact: Proportion

    def to_dict(self) -> dict[str, Any]:
        """The summary figures (not the per-image arrays)."""
        return {
            "score": self.score,
            "images": int(self.image_ids.shape[0]),
            "true_objects": int(self.true_counts.sum()),
            "predicted_objects": int(self.predicted_counts.sum()),
            "mean_absolute_error": self.mean_absolute_error,
            "mean_error": self.mean_error,
            "exact": self.exact.to_dict(),
        }

    def __str__(self) -> str:
        return (
            f"counted {int(self.predicted_counts.sum()):,} for {int(self.true_counts.sum()):,} objects; "
            f"mean absolute error {_figure(self.mean_absolute_error)} per image; exact on {self.exact}"
        )


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class in a classification."""

    precision: Proportion
    recall: Proportion
    f1: float | None

    @property
    def support(self) -> int:
        """Items whose true class is this one."""
        return self.recall.trials

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON and reports."""
        return {
            "precision": self.precision.to_dict(),
            "recall": self.recall.to_dict(),
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True, eq=False)
class ClassificationMetrics:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix.

    Attributes:
        classes: the class labels, the order of the confusion matrix axes.
        confusion: (K, K) int64, rows the true class, columns the predicted class.
        accuracy: correct items of all items.
        per_class: scores by class label.
        macro_f1: mean F1 over the classes where it is defined, ``None`` if none is.
    """

    classes: tuple[str, ...]
    confusion: NDArray[np.int64]
    accuracy: Proportion
    per_class: Mapping[str, ClassScores]
    macro_f1: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON and reports."""
        return {
            "classes": list(self.classes),
            "confusion": self.confusion.tolist(),
            "accuracy": self.accuracy.to_dict(),
            "per_class": {label: scores.to_dict() for label, scores in self.per_class.items()},
            "macro_f1": self.macro_f1,
        }

    def __str__(self) -> str:
        width = max([len(label) for label in self.classes] + [6])
        header = " " * (width + 2) + " ".join(f"{label:>{width}}" for label in self.classes)
        rows = [
            f"{label:<{width}}  " + " ".join(f"{count:>{width},}" for count in row)
            for label, row in zip(self.classes, self.confusion.tolist(), strict=True)
        ]
        return "\n".join([f"accuracy {self.accuracy}", "true \\ predicted", header, *rows])
