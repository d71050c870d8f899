"""Steps that run the models: the detector ingests, the colour model classifies."""

from __future__ import annotations

import numpy as np
from pytest_bdd import when

from steps._phrases import phrase
from visionspec.errors import PreconditionError
from visionspec.evaluation import DEFAULT_IOU, DetectionResult, Thresholds
from visionspec.goals import parse_count
from visionspec.pipeline import AnnotatedResult, ChainResult, attribute_of_classes
from visionspec.runtime.session import ModelSession
from visionspec.scope import Scope
from visionspec.workbench import Workbench


@when(phrase("the detector ingests the images"), target_fixture="detection")
def detector_ingests(
    scope: Scope,
    detector: ModelSession,
    workbench: Workbench,
    score_threshold: float | None,
    iou_threshold: float | None,
) -> DetectionResult:
    """Run the detector on every image in scope (once per run and checkpoint; cached on disk).

    Example: When the detector ingests the images
    """
    thresholds = Thresholds(
        detector.card.score_threshold if score_threshold is None else score_threshold,
        DEFAULT_IOU if iou_threshold is None else iou_threshold,
    )
    return DetectionResult.on(scope, workbench.detections(detector, scope.source), thresholds)


@when(phrase("the colour model classifies the detected balloons"), target_fixture="detected_colours")
def colour_model_classifies_detections(
    detection: DetectionResult, colour_model: ModelSession, workbench: Workbench
) -> ChainResult:
    """Run the colour model on every balloon the detector reported (the chain).

    Example: When the colour model classifies the detected balloons
    """
    scope = detection.scope
    attribute = attribute_of_classes(
        dict(scope.dataset.spec.attributes), colour_model.card.classes, str(colour_model.path)
    )
    kept = np.flatnonzero(detection.detections.scores >= detection.thresholds.score)
    boxes = detection.detections.boxes[kept]
    colours = workbench.classify(colour_model, scope.source, detection.detections.image_ids[kept], boxes)
    return ChainResult.of(detection, colours, kept, attribute)


@when(phrase("the colour model classifies the annotated balloons"), target_fixture="annotated_colours")
def colour_model_classifies_annotations(
    scope: Scope, colour_model: ModelSession, workbench: Workbench
) -> AnnotatedResult:
    """Run the colour model on the annotated balloons' boxes, to judge it alone.

    Example: When the colour model classifies the annotated balloons
    """
    attribute = attribute_of_classes(
        dict(scope.dataset.spec.attributes), colour_model.card.classes, str(colour_model.path)
    )
    annotations = scope.dataset.annotations.take(scope.objects)
    colours = workbench.classify(colour_model, scope.source, annotations.image_ids, annotations.boxes)
    return AnnotatedResult(scope, attribute, colour_model.card.classes, annotations.attributes[attribute], colours)


@when(
    phrase("{low:Quantity} to {high:Quantity} {things:Word} are identified"),
    converters={"low": parse_count, "high": parse_count},
)
def between_identified(low: int, high: int, things: str, detection: DetectionResult) -> None:
    """A precondition: the goals that follow are judged only if the detector found this many.

    When it does not hold the scenario is broken (not judged), never passed.

    Example: When 800 to 1,000 balloons are identified
    """
    found = detection.found()
    if found.count is None or not low <= found.count <= high:
        raise PreconditionError(
            f"precondition not met: {found}; the scenario needs {low:,} to {high:,} {things} identified"
        )
