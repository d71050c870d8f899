"""Steps about the models under test and when their outputs count.

A scenario that names no model judges the candidate ones (``--detector`` / ``--colour-model``, else the
project's newest checkpoints).
"""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import given

from visionspec.goals import Quantity
from visionspec.pytest_plugin.steps._phrases import QUANTITY, phrase
from visionspec.runtime.session import ModelSession
from visionspec.workbench import Workbench


@given(phrase("the candidate {model:DetectorWord}"), target_fixture="detector")
def candidate_detector(candidate_detector_model: ModelSession) -> ModelSession:
    """The detector under test: `--detector`, else the config's, else the newest checkpoint of the project's detector.

    Example: Given the candidate detector
    """
    return candidate_detector_model


@given(phrase('the detector "{checkpoint:Checkpoint}"'), target_fixture="detector")
def named_detector(checkpoint: str, workbench: Workbench) -> ModelSession:
    """A particular detector checkpoint (an ONNX file with a model card).

    Example: Given the detector "models/balloon-detector/checkpoints/epoch-16.onnx"
    """
    return workbench.model(Path(checkpoint))


@given(phrase("the candidate colour model"), target_fixture="colour_model")
def candidate_colour_model(workbench: Workbench, candidate_colour_model_path: Path) -> ModelSession:
    """The colour model under test: `--colour-model`, else the newest checkpoint of the project's classifier.

    Example: Given the candidate colour model
    """
    return workbench.model(candidate_colour_model_path)


@given(phrase('the colour model "{checkpoint:Checkpoint}"'), target_fixture="colour_model")
def named_colour_model(checkpoint: str, workbench: Workbench) -> ModelSession:
    """A particular colour model checkpoint.

    Example: Given the colour model "models/balloon-colour/checkpoints/epoch-04.onnx"
    """
    return workbench.model(Path(checkpoint))


@given(
    phrase("detections with a confidence of at least {quantity:Quantity}"),
    target_fixture="score_threshold",
    converters=QUANTITY,
)
def confidence_of_at_least(quantity: Quantity) -> float:
    """Only detections at least this confident count (default: the detector card's threshold).

    Example: Given detections with a confidence of at least 50%
    """
    return quantity.as_rate()


@given(
    phrase("a box counts when it overlaps by at least {quantity:Quantity}"),
    target_fixture="iou_threshold",
    converters=QUANTITY,
)
def overlap_of_at_least(quantity: Quantity) -> float:
    """A detection finds an object when their boxes overlap (IoU) at least this much (default 50%).

    Example: Given a box counts when it overlaps by at least 50%
    """
    return quantity.as_rate()
