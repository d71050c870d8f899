"""The chain: the detector finds balloons, the colour model names each one's colour; and who is to blame.

A red balloon is *found* by the chain when a detection matches it and the colour model calls that
detection red. When it is not, the blame goes to the detector (no detection matched it) or to the
colour model (matched, but called another colour). A *reported* red balloon is a detection the colour
model calls red; it is *wrong* when it matches no red balloon: a false alarm of the detector, or a
balloon of another colour that the colour model called red.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from visionspec.errors import GoalPhraseError
from visionspec.evaluation import DetectionResult
from visionspec.goals.verdict import Measurement, Unit
from visionspec.metrics import ClassificationMetrics, ClassScores, classification_metrics
from visionspec.runtime.crops import Classifications
from visionspec.runtime.session import ModelSession
from visionspec.scope import Scope
from visionspec.workbench import Workbench

DETECTOR_MISSED = "the detector missed it"
FOUND = "found"


def attribute_of_classes(declared: dict[str, tuple[str, ...]], classes: tuple[str, ...], model: str) -> str:
    """The data set attribute whose declared values are the classifier's classes (``colour``)."""
    for name, values in declared.items():
        if set(classes) <= set(values):
            return name
    raise GoalPhraseError(
        f"{model}: its classes ({', '.join(classes)}) are not the values of any attribute of the data set "
        f"({', '.join(declared) or 'none declared'}); fix: name the classes in the card as the data set does"
    )


@dataclass(frozen=True, eq=False)
class ChainResult:
    """The detector's matches and the colour model's verdict on each kept detection.

    Attributes:
        detection: the detector's result on the scope.
        labels: (D,) the colour model's class for each detection (``""`` below the score threshold).
        confidences: (D,) the colour model's probability for that class (0 below the score threshold).
        attribute: the data set attribute the colour model predicts (``colour``).
    """

    detection: DetectionResult
    labels: NDArray[np.str_]
    confidences: NDArray[np.float64]
    attribute: str

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        return f"ChainResult({self.detection!r}, {self.attribute})"

    @classmethod
    def of(cls, detection: DetectionResult, colours: Classifications, attribute: str) -> ChainResult:
        """Spread the classifications of the detections at the score threshold (``detection.kept``) over all."""
        kept = np.flatnonzero(detection.kept)
        labels = np.full(len(detection.detections), "", dtype=object)
        labels[kept] = np.asarray(colours.labels, dtype=object)
        confidences = np.zeros(len(detection.detections))
        if len(kept):
            confidences[kept] = colours.probabilities.max(axis=1)
        return cls(detection, labels.astype(np.str_), confidences, attribute)

    def on_scope(self, scope: Scope) -> ChainResult:
        """The same chain judged on another scope of the same images (a goal naming its objects)."""
        return ChainResult(self.detection.on_scope(scope), self.labels, self.confidences, self.attribute)

    @cached_property
    def _true_values(self) -> NDArray[np.str_]:
        return self.detection.scope.dataset.annotations.attributes[self.attribute]

    @cached_property
    def predicted_for_objects(self) -> NDArray[np.str_]:
        """(N,) the colour the chain gave each object (``""`` when the detector missed it)."""
        matched_by = self.detection.matches.ground_truth_matched_by
        predicted = np.full(matched_by.shape[0], "", dtype=object)
        hit = matched_by >= 0
        predicted[hit] = self.labels[matched_by[hit]]
        return predicted.astype(np.str_)

    @property
    def confidence_for_objects(self) -> NDArray[np.float64]:
        """(N,) the colour model's confidence in the colour it gave each object (0 when missed)."""
        matched_by = self.detection.matches.ground_truth_matched_by
        return np.where(matched_by >= 0, self.confidences[np.maximum(matched_by, 0)], 0.0)

    def blame(self) -> NDArray[np.str_]:
        """(N,) ``found``, ``the detector missed it`` or ``the colour model called it <colour>``."""
        predicted = self.predicted_for_objects
        verdicts = np.where(
            predicted == self._true_values, FOUND, np.char.add("the colour model called it ", predicted)
        )
        return np.where(predicted == "", DETECTOR_MISSED, verdicts).astype(np.str_)

    def found_objects(self) -> NDArray[np.bool_]:
        """(N,) counted objects of the scope that the chain found and named correctly."""
        named_right: NDArray[np.bool_] = self.predicted_for_objects == self._true_values
        return self.detection.counted_objects & named_right

    def found(self) -> Measurement:
        """Objects of the scope found by the detector and named correctly by the colour model."""
        counted = self.detection.counted_objects
        return Measurement.proportion(
            "found and named", int(self.found_objects().sum()), int(counted.sum()), self.detection.scope.noun,
            label=f"found and called {self.named_value()}:",
        )

    def named_value(self) -> str:
        """The value of the chain's attribute that the scope names (``red``), or the attribute itself."""
        values = [value for attribute, value in self.detection.scope.hidden if attribute == self.attribute]
        return values[-1] if values else f"the right {self.attribute}"

    def reported(self, value: str) -> NDArray[np.bool_]:
        """(D,) detections the colour model calls ``value``, of those that count on the scope."""
        called: NDArray[np.bool_] = (self.labels == value) & self.detection.counted_detections
        return called

    def wrongly_reported(self, value: str) -> NDArray[np.bool_]:
        """(D,) reported ``value`` detections that match no object of that value."""
        matched_to = self.detection.matches.detection_matched_to
        right = np.zeros(len(matched_to), bool)
        hit = matched_to >= 0
        right[hit] = self._true_values[matched_to[hit]] == value
        return self.reported(value) & ~right

    def wrong_reports(self, value: str, noun: str) -> Measurement:
        """Reported ``value`` objects that are not ``value`` objects, of all reported ones on the scope."""
        self.detection.scope.refuse_detection_figure(f"the reported {noun}")
        wrong, reported = int(self.wrongly_reported(value).sum()), int(self.reported(value).sum())
        return Measurement.proportion("wrong reports", wrong, reported, f"reported {noun} are not {noun}", label="",
                                      sample_of_outputs=True)


def run_chain(detection: DetectionResult, colour_model: ModelSession, workbench: Workbench) -> ChainResult:
    """The colour model on every detection the detector reports (at the score threshold): the chain."""
    scope = detection.scope
    attribute = attribute_of_classes(dict(scope.dataset.spec.attributes), colour_model.card.classes,
                                     str(colour_model.path))
    reported = detection.detections.take(detection.kept)
    colours = workbench.classify(colour_model, scope.source, reported.image_ids, reported.boxes)
    return ChainResult.of(detection, colours, attribute)


def run_annotated(scope: Scope, colour_model: ModelSession, workbench: Workbench) -> AnnotatedResult:
    """The colour model alone on the annotated objects of the scope."""
    attribute = attribute_of_classes(dict(scope.dataset.spec.attributes), colour_model.card.classes,
                                     str(colour_model.path))
    annotations = scope.dataset.annotations.take(scope.objects)
    colours = workbench.classify(colour_model, scope.source, annotations.image_ids, annotations.boxes)
    return AnnotatedResult(scope, attribute, colour_model.card.classes, annotations.attributes[attribute], colours)


@dataclass(frozen=True, eq=False)
class AnnotatedResult:
    """The colour model alone, on the crops of the annotated objects of a scope.

    Attributes:
        scope: the objects classified (``scope.objects``).
        attribute: the data set attribute the model predicts (``colour``).
        classes: the model's classes, the axes of the confusion matrix.
        true_labels: (M,) the annotated value of each classified object.
        predicted: the model's classifications, one per object of the scope, in row order.
    """

    scope: Scope
    attribute: str
    classes: tuple[str, ...]
    true_labels: NDArray[np.str_]
    predicted: Classifications

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        return f"AnnotatedResult({self.scope!r}, {self.attribute})"

    @cached_property
    def metrics(self) -> ClassificationMetrics:
        """Accuracy, per-class precision / recall / F1 and the confusion matrix."""
        return classification_metrics(self.true_labels, np.asarray(self.predicted.labels, dtype=np.str_), self.classes)

    @property
    def predicted_labels(self) -> NDArray[np.str_]:
        """(M,) the model's label for each object."""
        return np.asarray(self.predicted.labels, dtype=np.str_)

    def accuracy(self) -> Measurement:
        """Objects whose colour the model named correctly, of all classified objects."""
        accuracy = self.metrics.accuracy
        return Measurement.proportion("accuracy", accuracy.successes, accuracy.trials, f"{self.scope.noun} correctly",
                                      label="named", unit=Unit.RATE)

    def recall_for(self, value: str) -> Measurement:
        """Objects of ``value`` that the model called ``value``."""
        value = self.class_named(value)
        recall = self._scores(value).recall
        return Measurement.proportion(
            f"{value} recall", recall.successes, recall.trials, f"{value} {self.scope.noun} {value}",
            label=f"{value} recall: called", unit=Unit.RATE,
        )

    def precision_for(self, value: str) -> Measurement:
        """Objects called ``value`` that are ``value``."""
        value = self.class_named(value)
        precision = self._scores(value).precision
        return Measurement.proportion(
            f"{value} precision",
            precision.successes,
            precision.trials,
            f"{self.scope.noun} called {value} are {value}",
            label=f"{value} precision:",
            unit=Unit.RATE,
            sample_of_outputs=True,
        )

    def figure_for(self, figure: str, value: str) -> Measurement:
        """``recall`` or ``precision`` of the class ``value``."""
        return self.recall_for(value) if figure == "recall" else self.precision_for(value)

    def called_among_others(self, value: str) -> Measurement:
        """Objects that are not ``value`` but that the model called ``value``."""
        value = self.class_named(value)
        others = self.true_labels != value
        called = int((others & (self.predicted_labels == value)).sum())
        return Measurement.proportion(
            f"called {value}", called, int(others.sum()), f"{self.scope.noun} that are not {value} are called {value}",
            label="",
        )

    def class_named(self, word: str) -> str:
        """The model's class a tester's word names, in any case (``Red`` -> ``red``)."""
        for name in self.classes:
            if name.lower() == word.lower():
                return name
        raise GoalPhraseError(f'"{word}" is not one of the colour model\'s classes: {", ".join(self.classes)}')

    def _scores(self, value: str) -> ClassScores:
        return self.metrics.per_class[self.class_named(value)]
