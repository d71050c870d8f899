"""Classification figures against confusion matrices counted by hand; the streaming accumulator."""

from __future__ import annotations

import numpy as np
import pytest

from visionspec.errors import EvaluationError
from visionspec.metrics import ClassificationAccumulator, classification_metrics

CLASSES = ["red", "blue", "green"]
# 10 items. By hand: red 4 (3 right, 1 called blue), blue 3 (2 right, 1 called red), green 3 (all called blue).
TRUE = ["red", "red", "red", "red", "blue", "blue", "blue", "green", "green", "green"]
PREDICTED = ["red", "red", "red", "blue", "blue", "blue", "red", "blue", "blue", "blue"]


def test_confusion_matrix_and_figures_by_hand() -> None:
    result = classification_metrics(TRUE, PREDICTED, CLASSES)
    assert result.confusion.tolist() == [[3, 1, 0], [1, 2, 0], [0, 3, 0]]
    assert (result.accuracy.successes, result.accuracy.trials, result.accuracy.value) == (5, 10, 0.5)
    red, blue, green = (result.per_class[label] for label in CLASSES)
    assert (red.precision.value, red.recall.value, red.support) == (3 / 4, 3 / 4, 4)
    assert red.f1 == pytest.approx(0.75)
    assert (blue.precision.value, blue.recall.value) == (2 / 6, 2 / 3)
    assert blue.f1 == pytest.approx(2 * 2 / (2 * 2 + 4 + 1))
    assert green.precision.value is None  # never predicted: precision undefined, not 0
    assert (green.recall.value, green.f1) == (0.0, 0.0)
    assert result.macro_f1 == pytest.approx((0.75 + 4 / 9 + 0.0) / 3)


def test_accumulator_streams_batches_to_the_same_result() -> None:
    accumulator = ClassificationAccumulator(CLASSES)
    for start in range(0, 10, 3):
        accumulator.update(TRUE[start : start + 3], PREDICTED[start : start + 3])
    streamed = accumulator.compute()
    whole = classification_metrics(TRUE, PREDICTED, CLASSES)
    assert np.array_equal(streamed.confusion, whole.confusion)
    assert streamed.to_dict() == whole.to_dict()


def test_empty_is_undefined() -> None:
    result = ClassificationAccumulator(CLASSES).compute()
    assert result.accuracy.value is None
    assert result.macro_f1 is None
    assert result.confusion.tolist() == [[0] * 3] * 3


def test_unknown_label_names_the_item_over_all_batches() -> None:
    accumulator = ClassificationAccumulator(CLASSES)
    accumulator.update(["red", "blue"], ["red", "red"])
    with pytest.raises(EvaluationError) as caught:
        accumulator.update(["red", "pink"], ["red", "red"])
    assert str(caught.value) == (
        "item 3 has true label 'pink', which is not one of the classes ['red', 'blue', 'green']; "
        "fix: map the labels to these classes"
    )


def test_lengths_must_agree() -> None:
    with pytest.raises(EvaluationError, match=r"^3 true labels but 2 predicted labels in one batch"):
        classification_metrics(["red"] * 3, ["red"] * 2, CLASSES)


def test_classes_must_be_unique() -> None:
    with pytest.raises(EvaluationError, match="unique"):
        ClassificationAccumulator(["red", "red"])


def test_printed_matrix() -> None:
    text = str(classification_metrics(TRUE, PREDICTED, CLASSES))
    assert text.splitlines()[0] == "accuracy 5 of 10 (50.0%, 95% CI 23.7-76.3%)"
    assert text.splitlines()[3].split() == ["red", "3", "1", "0"]
