"""The one exception hierarchy of visionspec.

The library raises these; only the CLI (and the pytest plugin) turns them into exit codes and
Allure statuses. Every message says what went wrong, where (file, item) and what would fix it.
"""

from __future__ import annotations


class VisionSpecError(Exception):
    """Something prevents judging: the suite is broken, not the model (exit code 2)."""


class DatasetError(VisionSpecError):
    """A data set definition, annotation file or image is missing, malformed or does not match its manifest."""


class ModelCardError(VisionSpecError):
    """A model card (model.yaml or ONNX metadata) has an unknown key or a bad value."""


class ModelError(VisionSpecError):
    """An ONNX file cannot be loaded or does not match its model card."""


class InferenceError(VisionSpecError):
    """Running a model failed or produced unusable output (NaN, infinity) for a named image."""


class DeviceError(VisionSpecError):
    """The requested execution device (for example CUDA) is not really available."""


class EvaluationError(VisionSpecError):
    """Ground truth and predictions cannot be evaluated together (bad results file, unknown ids)."""


class GoalPhraseError(VisionSpecError):
    """A goal phrase (quantity, comparison, class or attribute name) cannot be understood."""


class PreconditionError(VisionSpecError):
    """A scenario's precondition does not hold, so its goals cannot be judged."""


class ReportError(VisionSpecError):
    """The Allure report cannot be made: Java, npm or Allure missing, no results, or generation failed."""


class ResultsError(VisionSpecError):
    """A results, report or cache folder cannot be used: not visionspec's, held by another run, or not writable."""
