"""The one exception hierarchy of visionspec.

The library raises these; only the CLI (and the pytest plugin) turns them into exit codes and
Allure statuses. Every message says what went wrong, where (file, item) and what would fix it.
"""

from __future__ import annotations

import reprlib


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


class ServiceError(VisionSpecError):
    """An analysis service under test failed, could not be reached or answered badly (names the picture and status)."""


class UploadError(VisionSpecError):
    """An upload to ``visionspec serve`` is refused (empty, too large, not a JPEG or PNG, corrupt): a 4xx answer.

    Attributes:
        status: the HTTP status (400, 413, 415, 422).
        code: a short machine-readable name of the problem (``empty_upload``, ``too_large``).
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def shown(value: object, limit: int = 80) -> str:
    """A value as a message echoes it: its ``repr``, cut to about ``limit`` characters.

    A message names the bad value, but must not become it: a 100 MB string or a deeply nested list from a
    hostile file is shown by its start. ``reprlib`` never builds the whole ``repr``.

    Example:
        >>> print(shown("x" * 1000, limit=10))
        'xxxxxxxxxx'... (1,000 characters)
        >>> print(shown([1, 2]), shown([[list(range(100))]] * 100, limit=30))
        [1, 2] [[[0, 1, 2, 3, 4, 5, 6, 7, ...
    """
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_repr() -> reprlib.Repr:
    """A ``reprlib.Repr`` that stops early on long strings, lists and deep nesting."""
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, 200, 200
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 8
    return short


_REPR = _short_repr()
