"""Classifiers: one score per class and image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.adapters.base import ClassificationAdapter
from visionspec.runtime.card import ModelCard
from visionspec.runtime.card_keys import Settings, key
from visionspec.runtime.tensors import FLOATS, TensorExpectation


@dataclass(frozen=True, kw_only=True)
class ClassScores(Settings):
    """The ``output`` keys of ``logits`` and ``probabilities``."""

    output: str | None = field(default=None, metadata=key("the class scores tensor", tensor=True))


def _class_scores(card: ModelCard) -> tuple[TensorExpectation, ...]:
    """(B, C): the first output unless named."""
    options = card.output.settings
    assert isinstance(options, ClassScores)
    return (TensorExpectation("output", options.output, ("B", len(card.classes)), FLOATS),)


class Logits(ClassificationAdapter[ClassScores]):
    """Classifier logits (B, C); probabilities by a numerically stable softmax."""

    kind = "logits"
    settings = ClassScores
    layout = "[B, C] logits, one per class; softmax applied here"

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """(B, C): the first output unless named."""
        return _class_scores(card)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[NDArray[np.float64]]:
        """(C,) probabilities per image."""
        logits = outputs[0].astype(np.float64)
        exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
        return list(exponentials / exponentials.sum(axis=1, keepdims=True))


class Probabilities(ClassificationAdapter[ClassScores]):
    """Classifier probabilities (B, C), used as they are."""

    kind = "probabilities"
    settings = ClassScores
    layout = "[B, C] probabilities, one per class, used as they are"

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """(B, C): the first output unless named."""
        return _class_scores(card)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[NDArray[np.float64]]:
        """(C,) probabilities per image."""
        return list(outputs[0].astype(np.float64))
