"""Classification figures: accuracy, per-class precision / recall / F1 and the confusion matrix.

The confusion matrix is the only state, so results stream: ``ClassificationAccumulator.update`` takes
one batch of true and predicted labels at a time and ``compute`` gives the figures so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visionspec.errors import EvaluationError
from visionspec.metrics.intervals import f1_score, proportion, ratio
from visionspec.metrics.results import ClassificationMetrics, ClassScores


class ClassificationAccumulator:
    """Streams (true, predicted) label batches into a confusion matrix.

    Example:
        >>> accumulator = ClassificationAccumulator(["red", "blue"])
        >>> accumulator.update(["red", "blue", "red"], ["red", "red", "red"])
        >>> accumulator.update(["blue"], ["blue"])
        >>> result = accumulator.compute()
        >>> result.confusion.tolist(), result.accuracy.value
        ([[2, 0], [1, 1]], 0.75)
    """

    def __init__(self, classes: Sequence[str]) -> None:
        """Start empty.

        Args:
            classes: the class labels, in the order of the confusion matrix axes; unique, at least one.

        Raises:
            EvaluationError: no class, or a label given twice.
        """
        labels = tuple(str(label) for label in classes)
        if not labels or len(set(labels)) != len(labels):
            raise EvaluationError(f"classes must be at least one unique label, got {list(labels)}; fix: list each once")
        self._classes = labels
        self._sorted = np.array(sorted(labels))
        self._sorted_to_class = np.array([labels.index(label) for label in self._sorted.tolist()], dtype=np.int64)
        self._confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
        self._seen = 0

    @property
    def classes(self) -> tuple[str, ...]:
        """The class labels, in matrix order."""
        return self._classes

    def update(self, true_labels: ArrayLike, predicted_labels: ArrayLike) -> None:
        """Add one batch.

        Args:
            true_labels: (B,) labels, each one of ``classes``.
            predicted_labels: (B,) labels, each one of ``classes``.

        Raises:
            EvaluationError: the two have different lengths, or a label is not one of ``classes`` (the
                message names the item, counted over every batch so far).
        """
        truth = np.asarray(true_labels, dtype=str).reshape(-1)
        predicted = np.asarray(predicted_labels, dtype=str).reshape(-1)
        if truth.shape != predicted.shape:
            raise EvaluationError(
                f"{truth.shape[0]} true labels but {predicted.shape[0]} predicted labels in one batch; "
                "fix: give one prediction per item"
            )
        true_index = self._indices(truth, "true")
        predicted_index = self._indices(predicted, "predicted")
        n_classes = len(self._classes)
        self._confusion += np.bincount(true_index * n_classes + predicted_index, minlength=n_classes**2).reshape(
            n_classes, n_classes
        )
        self._seen += truth.shape[0]

    def compute(self) -> ClassificationMetrics:
        """The figures over every batch so far."""
        return metrics_from_confusion(self._confusion, self._classes)

    def _indices(self, labels: NDArray[np.str_], kind: str) -> NDArray[np.int64]:
        """Class index of each label; EvaluationError naming the first unknown one."""
        positions = np.searchsorted(self._sorted, labels)
        known = positions < self._sorted.shape[0]
        known[known] = self._sorted[positions[known]] == labels[known]
        if not known.all():
            item = int(np.flatnonzero(~known)[0])
            raise EvaluationError(
                f"item {self._seen + item} has {kind} label {str(labels[item])!r}, which is not one of the classes "
                f"{list(self._classes)}; fix: map the labels to these classes"
            )
        result: NDArray[np.int64] = self._sorted_to_class[positions]
        return result


def classification_metrics(
    true_labels: ArrayLike, predicted_labels: ArrayLike, classes: Sequence[str]
) -> ClassificationMetrics:
    """Accuracy, per-class scores and confusion matrix of one set of predictions.

    Args:
        true_labels: (N,) labels, each one of ``classes``.
        predicted_labels: (N,) labels, each one of ``classes``.
        classes: the labels, in the order of the confusion matrix axes.

    Raises:
        EvaluationError: as ``ClassificationAccumulator.update``.
    """
    accumulator = ClassificationAccumulator(classes)
    accumulator.update(true_labels, predicted_labels)
    return accumulator.compute()


def metrics_from_confusion(confusion: NDArray[np.int64], classes: Sequence[str]) -> ClassificationMetrics:
    """Figures from a (K, K) confusion matrix, rows the true class and columns the predicted class."""
    matrix = np.array(confusion, dtype=np.int64)
    if matrix.shape != (len(classes), len(classes)):
        raise EvaluationError(f"confusion matrix of shape {matrix.shape} for {len(classes)} classes; fix: K x K")
    matrix.flags.writeable = False
    correct = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    per_class = {
        str(label): ClassScores(
            precision=proportion(int(correct[k]), int(predicted[k])),
            recall=proportion(int(correct[k]), int(actual[k])),
            f1=f1_score(int(correct[k]), int(predicted[k] - correct[k]), int(actual[k] - correct[k])),
        )
        for k, label in enumerate(classes)
    }
    f1_values = [scores.f1 for scores in per_class.values() if scores.f1 is not None]
    return ClassificationMetrics(
        classes=tuple(str(label) for label in classes),
        confusion=matrix,
        accuracy=proportion(int(correct.sum()), int(matrix.sum())),
        per_class=MappingProxyType(per_class),
        macro_f1=ratio(sum(f1_values), len(f1_values)),
    )
