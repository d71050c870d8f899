"""A detector judged on a scope: its matches at the goal's thresholds and the figures goals ask for.

Every figure is computed on the scope the goal names, or refused (``GoalPhraseError``, broken):

- found / recall: the scope's objects, on any slice;
- precision, F1, box mAP: the detections that count on the scope: those on its images, of its classes,
  and for a size slice COCO's area-range rule (a detection matched to an object outside the range is
  ignored; an unmatched one counts only if its own box is in the range); refused on an attribute a
  detection does not carry (colour, occluded);
- mean counting error: per image, the scope's classes; refused on a size or attribute slice;
- images with a detection: the scope's images; refused when the objects are narrowed (it counts images).

Matching uses every object of the images of the scope's classes (a detection of a large balloon is not
a false alarm because the goal is about red ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from visionspec.detections import Detections
from visionspec.errors import GoalPhraseError
from visionspec.goals.verdict import Measurement, Unit
from visionspec.metrics import (
    CocoEvaluation,
    CountingErrors,
    ThresholdMatches,
    counting_errors,
    evaluate_coco,
    match_at,
)
from visionspec.metrics.results import ClassCounts
from visionspec.metrics.threshold import class_counts
from visionspec.scope import Scope

DEFAULT_IOU = 0.5


@dataclass(frozen=True)
class Thresholds:
    """When a detection counts: its score, and how much it must overlap an object."""

    score: float
    iou: float = DEFAULT_IOU

    @classmethod
    def stated(cls, card_score: float, score: float | None, iou: float | None) -> Thresholds:
        """The goal's thresholds: what the scenario states, else the card's score and IoU 0.5."""
        return cls(card_score if score is None else score, DEFAULT_IOU if iou is None else iou)

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

    def on_scope(self, scope: Scope) -> DetectionResult:
        """The same detections judged on another scope of the same images (a goal naming its objects)."""
        return self if scope is self.scope else DetectionResult(scope, self.detections, self.thresholds)

    @cached_property
    def kept(self) -> NDArray[np.bool_]:
        """(D,) detections at the score threshold: what the detector reports (and the colour model classifies)."""
        kept: NDArray[np.bool_] = self.detections.scores >= self.thresholds.score
        return kept

    @cached_property
    def matches(self) -> ThresholdMatches:
        """COCO matches at the thresholds (per image and class, greedy by score, the scope's area range)."""
        dataset = self.scope.dataset
        return match_at(
            dataset.annotations,
            dataset.images.ids,
            [category.id for category in dataset.categories],
            self.detections,
            score=self.thresholds.score,
            iou=self.thresholds.iou,
            area=self.scope.area,
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
    def counted_detections(self) -> NDArray[np.bool_]:
        """(D,) detections that are a true or false positive on this scope (its classes and area range)."""
        in_classes = np.isin(self.detections.category_ids, self.scope.category_ids)
        return (self.matches.true_positives | self.matches.false_positives) & in_classes

    @property
    def false_alarms(self) -> NDArray[np.bool_]:
        """(D,) counted detections that found no object."""
        return self.counted_detections & self.matches.false_positives

    @cached_property
    def counts(self) -> ClassCounts:
        """TP / FP / FN on the scope's images, classes and area range (figures tables and evidence)."""
        tp = int((self.counted_detections & self.matches.true_positives).sum())
        return class_counts(tp, int(self.false_alarms.sum()), int(self.missed_objects.sum()))

    def found(self) -> Measurement:
        """How many of the scope's objects were found."""
        return Measurement.proportion("found", int(self.found_objects.sum()), int(self.counted_objects.sum()),
                                      self.scope.noun)

    def recall(self) -> Measurement:
        """Found objects of the scope's objects, as a rate."""
        return Measurement.proportion("recall", int(self.found_objects.sum()), int(self.counted_objects.sum()),
                                      self.scope.noun, label="recall: found", unit=Unit.RATE)

    def precision(self) -> Measurement:
        """Detections that found an object, of the detections that count on the scope."""
        self.scope.refuse_detection_figure("precision")
        counts = self.counts
        noun = "detections hit an object" if not self.scope.narrowed_objects else f"detections hit {self.scope.noun}"
        return Measurement.proportion("precision", counts.tp, counts.tp + counts.fp, noun, label="precision:",
                                      unit=Unit.RATE, sample_of_outputs=True)

    def f1(self) -> Measurement:
        """Harmonic mean of precision and recall on the scope."""
        self.scope.refuse_detection_figure("F1")
        counts = self.counts
        return Measurement.score("F1", counts.f1, counts.tp + counts.fn, self.scope.noun)

    def images_with_detection(self) -> Measurement:
        """Images with at least one detection at the score threshold, of the scope's images."""
        if self.scope.narrowed_objects:
            raise GoalPhraseError(
                f'this goal counts images, but the scenario narrows the objects to the {self.scope.noun}; '
                f'narrow the images instead, e.g. "Given only the images without {self.scope.noun.split()[-1]}"'
            )
        kept = self.detections.take(self.kept)
        in_classes = np.isin(kept.category_ids, self.scope.category_ids)
        flagged = np.unique(kept.image_ids[in_classes]).shape[0]
        noun = f"{self.scope.images_noun} contain a detection"
        return Measurement.proportion(noun, flagged, len(self.scope.dataset.images), noun, label="")

    @cached_property
    def coco(self) -> CocoEvaluation:
        """The COCO evaluation of the scope's images (every score)."""
        dataset = self.scope.dataset
        return evaluate_coco(
            dataset.annotations, dataset.images.ids, [c.id for c in dataset.categories], self.detections
        )

    def mean_average_precision(self, at_50: bool) -> Measurement:
        """Box mAP@.50 or mAP@[.50:.95] as pycocotools computes it, on the scope's classes and area range."""
        label = "box mAP@.50" if at_50 else "box mAP@[.50:.95]"
        self.scope.refuse_detection_figure(label)
        coco = self.coco
        area = coco.areas.index(self.scope.area)
        classes = np.isin(coco.category_ids, self.scope.category_ids)
        precision = coco.precision[:1] if at_50 else coco.precision  # (T, R, K, A, M), IoU 0.50 first
        cells = precision[:, :, classes, area, -1]
        defined = cells[~np.isnan(cells)]
        value = float(defined.mean()) if defined.size else None
        return Measurement.score(label, value, len(self.scope.dataset.images), "images")

    @cached_property
    def counting(self) -> CountingErrors:
        """Detections counted per image against the objects of the image (the scope's classes)."""
        dataset = self.scope.dataset
        return counting_errors(dataset.annotations, dataset.images.ids, self.detections, score=self.thresholds.score,
                               category_ids=list(self.scope.category_ids))

    def mean_counting_error(self) -> Measurement:
        """Mean absolute difference between counted and true objects per image."""
        if self.scope.narrowed_objects:
            raise GoalPhraseError(
                f"the counting error cannot be computed on the {self.scope.noun}: it counts every detection of an "
                "image against every object of it, and a detection does not say which slice it belongs to; "
                "judge it on whole images or a class"
            )
        errors = self.counting
        noun = f"images ({self.scope.noun} counted)"
        return Measurement.score("mean counting error", errors.mean_absolute_error, len(errors.image_ids), noun,
                                 unit=Unit.NUMBER)


__all__ = ["DEFAULT_IOU", "DetectionResult", "Thresholds"]
