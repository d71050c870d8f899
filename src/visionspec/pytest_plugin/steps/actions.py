"""Steps that run the models: the detector ingests, the colour model classifies; and preconditions."""

from __future__ import annotations

from pytest_bdd import when

from visionspec.evaluation import DetectionResult, Thresholds
from visionspec.goals import parse_count
from visionspec.pipeline import AnnotatedResult, ChainResult, run_annotated, run_chain
from visionspec.pytest_plugin.outcomes import PreconditionMissed
from visionspec.pytest_plugin.steps._phrases import phrase
from visionspec.runtime.session import ModelSession
from visionspec.scope import Scope
from visionspec.workbench import Workbench


@when(phrase("the {model:DetectorWord} ingests {pictures:Ingested}"), target_fixture="detection")
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
    thresholds = Thresholds.stated(detector.card.score_threshold, score_threshold, iou_threshold)
    return DetectionResult.on(scope, workbench.detections(detector, scope.source), thresholds)


@when(phrase("the colour model classifies the detected {things:Things}"), target_fixture="detected_colours")
def colour_model_classifies_detections(
    detection: DetectionResult, colour_model: ModelSession, workbench: Workbench
) -> ChainResult:
    """Run the colour model on every object the detector reported (the chain; needs: When the detector ingests).

    Example: When the colour model classifies the detected balloons
    """
    return run_chain(detection, colour_model, workbench)


@when(phrase("the colour model classifies the annotated {things:Things}"), target_fixture="annotated_colours")
def colour_model_classifies_annotations(
    scope: Scope, colour_model: ModelSession, workbench: Workbench
) -> AnnotatedResult:
    """Run the colour model on the annotated objects' boxes, to judge it alone (needs: Given data set).

    Example: When the colour model classifies the annotated balloons
    """
    return run_annotated(scope, colour_model, workbench)


@when(
    phrase("{low:Quantity} to {high:Quantity} {things:Things} are identified"),
    converters={"low": parse_count, "high": parse_count},
)
def between_identified(low: int, high: int, things: str, detection: DetectionResult) -> None:
    """A precondition on the detector: the goals after it are judged only if it found this many.

    When it does not hold, the model fell short: the scenario is missed (exit 1) and says so; the goals
    after it are not judged. Needs: When the detector ingests the images.

    Example: When 800 to 1,000 balloons are identified
    """
    found = detection.found()
    if found.count is None or not low <= found.count <= high:
        raise PreconditionMissed(
            f"precondition not met: {found}; the goals after it need {low:,} to {high:,} {things} identified, "
            "so they were not judged"
        )
