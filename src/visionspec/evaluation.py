"""A detector judged on a scope: its matches at the goal's thresholds and the figures goals ask for.

Matching always uses every object of the images (a detection of a large balloon is not a false alarm
because the goal is about small ones); the scope then decides which objects count.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from visionspec.detections import Detections
from visionspec.goals.verdict import Measurement
from visionspec.metrics import (
    CocoEvaluation,
    CountingErrors,
    ThresholdCounts,
    ThresholdMatches,
    count_matches,
    counting_errors,
    evaluate_coco,
    match_at,
)
from visionspec.scope import Scope

DEFAULT_IOU = 0.5


@dataclass(frozen=True)
class Thresholds:
    """When a detection counts: its score, and how much it must overlap an object."""

    score: float
    iou: float = DEFAULT_IOU

    def __str__(self) -> str:
        return f"confidence >= {self.score:.0%}, IoU >= {self.iou:.0%}"


@dataclass(frozen=True, eq=False)
class DetectionResult:
    """A detector's detections on a scope, matched at ``thresholds``.

    Attributes:
        scope: the images and the objects that count.
        detections: every detection on the scope's images (all scores).
        thresholds: score and IoU of the goals.
    """

    scope: Scope
    detections: Detections
    thresholds: Thresholds

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        return f"DetectionResult({self.scope!r}, {len(self.detections):,} detections, {self.thresholds})"

    @classmethod
    def on(cls, scope: Scope, detections: Detections, thresholds: Thresholds) -> DetectionResult:
        """Keep the detections of the scope's images (inference ran on the whole data set)."""
        inside = np.isin(detections.image_ids, scope.dataset.images.ids)
        return cls(scope, detections if inside.all() else detections.take(inside), thresholds)

    @cached_property
    def matches(self) -> ThresholdMatches:
        """COCO matches at the thresholds (per image and class, greedy by score)."""
        dataset = self.scope.dataset
        return match_at(
            dataset.annotations,
            dataset.images.ids,
            [category.id for category in dataset.categories],
            self.detections,
            score=self.thresholds.score,
            iou=self.thresholds.iou,
        )

    @cached_property
    def counted_objects(self) -> NDArray[np.bool_]:
        """(N,) the scope's objects that can be found or missed (crowd regions are neither)."""
        return self.scope.objects & ~self.matches.ground_truth_ignored

    @property
    def found_objects(self) -> NDArray[np.bool_]:
        """(N,) counted objects that a detection found."""
        return self.counted_objects & ~self.matches.missed

    @property
    def missed_objects(self) -> NDArray[np.bool_]:
        """(N,) counted objects that no detection found."""
        return self.counted_objects & self.matches.missed

    @cached_property
    def counts(self) -> ThresholdCounts:
        """TP / FP / FN over every object of the images."""
        return count_matches(self.matches)

    def found(self) -> Measurement:
        """How many of the scope's objects were found."""
        return Measurement.proportion(
            "found", int(self.found_objects.sum()), int(self.counted_objects.sum()), self.scope.noun
        )

    def recall(self) -> Measurement:
        """Found objects of the scope's objects, as a rate."""
        found = self.found()
        return Measurement("recall: found", found.noun, found.value, found.count, found.total, found.interval)

    def precision(self) -> Measurement:
        """Detections that found an object, of all detections at the score threshold."""
        overall = self.counts.overall
        return Measurement.proportion("precision:", overall.tp, overall.tp + overall.fp, "detections hit an object")

    def f1(self) -> Measurement:
        """Harmonic mean of precision and recall over every object of the images."""
        overall = self.counts.overall
        return Measurement.figure("F1", overall.f1, overall.tp + overall.fn, self.scope.noun)

    def images_with_detection(self) -> Measurement:
        """Images with at least one detection at the score threshold, of the scope's images."""
        kept = self.detections.scores >= self.thresholds.score
        flagged = np.unique(self.detections.image_ids[kept]).shape[0]
        return Measurement.proportion(
            "", flagged, len(self.scope.dataset.images), f"{self.scope.images_noun} contain a detection"
        )

    @cached_property
    def coco(self) -> CocoEvaluation:
        """The COCO evaluation of the scope's images (every score)."""
        dataset = self.scope.dataset
        return evaluate_coco(
            dataset.annotations, dataset.images.ids, [c.id for c in dataset.categories], self.detections
        )

    def mean_average_precision(self, at_50: bool) -> Measurement:
        """Box mAP@.50 or mAP@[.50:.95] as pycocotools computes it."""
        summary = self.coco.summary
        label = "box mAP@.50" if at_50 else "box mAP@[.50:.95]"
        return Measurement.figure(
            label, summary.ap50 if at_50 else summary.ap, len(self.scope.dataset.images), "images"
        )

    @cached_property
    def counting(self) -> CountingErrors:
        """Detections counted per image against the objects of the image."""
        dataset = self.scope.dataset
        return counting_errors(dataset.annotations, dataset.images.ids, self.detections, score=self.thresholds.score)

    def mean_counting_error(self) -> Measurement:
        """Mean absolute difference between counted and true objects per image."""
        errors = self.counting
        return Measurement.figure("mean counting error", errors.mean_absolute_error, len(errors.image_ids), "images")
