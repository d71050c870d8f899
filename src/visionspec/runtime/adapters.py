"""Output adapters: one small class per way a model lays out its outputs, behind one interface.

The card's ``output.adapter`` chooses the class. Each class states what it expects of the file's outputs
(``expectations``, checked before any image is read) and turns one batch of outputs into one result per
image (``decode``): ``BoxOutput`` in model-input pixels for detectors, a (C,) probability vector for
classifiers.

==========================  =====================================================  =====================
adapter                     outputs                                                 defaults
==========================  =====================================================  =====================
``boxes_scores_labels``     boxes (B, K, 4), scores (B, K), labels (B, K)           names boxes/scores/labels
``torchvision``             boxes (N, 4), labels (N,), scores (N,): one image       names boxes/scores/labels
``yolo``                    (B, 4 + C, N): box then C class scores, per candidate   first output; cxcywh
``logits``                  (B, C), softmax applied here                            first output
``probabilities``           (B, C)                                                  first output
==========================  =====================================================  =====================

Labels are class indices into the card's ``classes`` after subtracting ``label_offset``; a negative index
marks an unused (padding) slot and is dropped by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.boxes import nms, to_xyxy
from visionspec.runtime.card import AdapterKind, BoxFormat, Coordinates, ModelCard
from visionspec.runtime.tensors import FLOATS, INTEGERS_OR_FLOATS, TensorExpectation

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class BoxOutput:
    """One image's boxes as the model gives them, decoded.

    Attributes:
        boxes: (K, 4) float64 xyxy in model-input pixels.
        scores: (K,) float64.
        class_indices: (K,) int64 indices into the card's classes; negative marks padding.
    """

    boxes: NDArray[np.float64]
    scores: NDArray[np.float64]
    class_indices: NDArray[np.int64]


class OutputAdapter(Protocol[_T]):
    """Reads a model's outputs: ``output_names`` are fetched, ``decode`` turns them into one result per image."""

    @property
    def output_names(self) -> tuple[str, ...]:
        """Output tensors to fetch, in the order ``decode`` takes them."""
        ...

    @property
    def batched(self) -> bool:
        """Whether the model takes a batch axis (else one image per run, no batch axis)."""
        ...

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[_T]:
        """One result per image of the batch."""
        ...


def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
    """What the card's adapter expects of the file's outputs."""
    return _ADAPTERS[card.output.adapter].expectations(card)


def detection_adapter(card: ModelCard, output_names: Sequence[str]) -> OutputAdapter[BoxOutput]:
    """The detection adapter of ``card``, reading the resolved ``output_names`` (one per expectation)."""
    factory = _DETECTION_ADAPTERS[card.output.adapter]
    return factory(card, tuple(output_names))


def classification_adapter(card: ModelCard, output_names: Sequence[str]) -> OutputAdapter[NDArray[np.float64]]:
    """The classification adapter of ``card``, reading the resolved ``output_names``."""
    factory = _CLASSIFICATION_ADAPTERS[card.output.adapter]
    return factory(card, tuple(output_names))


def _to_input_pixels(boxes: NDArray[Any], card: ModelCard) -> NDArray[np.float64]:
    """(N, 4) boxes in the card's format and coordinate space to xyxy model-input pixels."""
    xyxy = to_xyxy(boxes.reshape(-1, 4), card.output.box_format or BoxFormat.XYXY)
    if card.output.coordinates is Coordinates.NORMALIZED:
        size = card.input
        xyxy = xyxy * np.array([size.width, size.height, size.width, size.height], dtype=np.float64)
    return xyxy


def _labels(values: NDArray[Any], offset: int) -> NDArray[np.int64]:
    """Label values (integers, or floats holding integers) to class indices."""
    indices: NDArray[np.int64] = np.rint(values).astype(np.int64) - offset
    return indices


class BoxesScoresLabels:
    """Fixed-K outputs with a batch axis: boxes (B, K, 4), scores (B, K), labels (B, K)."""

    batched = True

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        self._card = card
        self.output_names = output_names

    @staticmethod
    def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
        """boxes (B, K, 4), scores (B, K), labels (B, K), by name."""
        tensors = card.output.tensors
        return (
            TensorExpectation("boxes", tensors.get("boxes", "boxes"), ("B", "K", 4), FLOATS),
            TensorExpectation("scores", tensors.get("scores", "scores"), ("B", "K"), FLOATS),
            TensorExpectation("labels", tensors.get("labels", "labels"), ("B", "K"), INTEGERS_OR_FLOATS),
        )

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """One ``BoxOutput`` per image, all K slots."""
        boxes, scores, labels = outputs
        return [
            BoxOutput(
                boxes=_to_input_pixels(boxes[row], self._card),
                scores=scores[row].astype(np.float64),
                class_indices=_labels(labels[row], self._card.output.label_offset),
            )
            for row in range(boxes.shape[0])
        ]


class TorchvisionDetections:
    """torchvision detection exports: one CHW image in, boxes (N, 4), labels (N,), scores (N,) out."""

    batched = False

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        self._card = card
        self.output_names = output_names

    @staticmethod
    def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
        """boxes (N, 4), scores (N,), labels (N,), by name."""
        tensors = card.output.tensors
        return (
            TensorExpectation("boxes", tensors.get("boxes", "boxes"), ("N", 4), FLOATS),
            TensorExpectation("scores", tensors.get("scores", "scores"), ("N",), FLOATS),
            TensorExpectation("labels", tensors.get("labels", "labels"), ("N",), INTEGERS_OR_FLOATS),
        )

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """The single image's boxes."""
        boxes, scores, labels = outputs
        return [
            BoxOutput(
                boxes=_to_input_pixels(boxes, self._card),
                scores=scores.astype(np.float64).reshape(-1),
                class_indices=_labels(labels.reshape(-1), self._card.output.label_offset),
            )
        ]


class YoloRaw:
    """YOLOv8-style raw output (B, 4 + C, N): per candidate a box then C class scores; NMS per class here.

    Each candidate takes its best class; candidates scoring below ``candidate_threshold`` are dropped, then
    greedy per-class NMS at ``iou_threshold`` keeps at most ``max_detections`` boxes per image.
    """

    batched = True

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        self._card = card
        self.output_names = output_names

    @staticmethod
    def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
        """(B, 4 + C, N): the first output unless named."""
        return (TensorExpectation("output", card.output.tensors.get("output"), ("B", 4 + len(card.classes), "N"),
                                  FLOATS),)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """NMS-ed boxes per image."""
        return [self._decode_image(candidates.T) for candidates in outputs[0]]

    def _decode_image(self, candidates: NDArray[Any]) -> BoxOutput:
        """(N, 4 + C) candidates of one image to kept boxes."""
        spec = self._card.output
        class_scores = candidates[:, 4:]
        class_indices = np.argmax(class_scores, axis=1).astype(np.int64)
        scores = np.take_along_axis(class_scores, class_indices[:, None], axis=1)[:, 0].astype(np.float64)
        keep = scores >= spec.candidate_threshold
        boxes = _to_input_pixels(candidates[keep, :4], self._card)
        kept = nms(boxes, scores[keep], class_indices[keep], spec.iou_threshold, spec.max_detections)
        return BoxOutput(boxes=boxes[kept], scores=scores[keep][kept], class_indices=class_indices[keep][kept])


class Logits:
    """Classifier logits (B, C); probabilities by a numerically stable softmax."""

    batched = True

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        self.output_names = output_names

    @staticmethod
    def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
        """(B, C): the first output unless named."""
        return (TensorExpectation("output", card.output.tensors.get("output"), ("B", len(card.classes)), FLOATS),)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[NDArray[np.float64]]:
        """(C,) probabilities per image."""
        logits = outputs[0].astype(np.float64)
        exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
        return list(exponentials / exponentials.sum(axis=1, keepdims=True))


class Probabilities:
    """Classifier probabilities (B, C), used as they are."""

    batched = True

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        self.output_names = output_names

    @staticmethod
    def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
        """(B, C): the first output unless named."""
        return Logits.expectations(card)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[NDArray[np.float64]]:
        """(C,) probabilities per image."""
        return list(outputs[0].astype(np.float64))


class _AdapterClass(Protocol):
    """What the registry needs of an adapter class."""

    @staticmethod
    def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]: ...


_DETECTION_ADAPTERS: Mapping[AdapterKind, Callable[[ModelCard, tuple[str, ...]], OutputAdapter[BoxOutput]]] = {
    AdapterKind.BOXES_SCORES_LABELS: BoxesScoresLabels,
    AdapterKind.TORCHVISION: TorchvisionDetections,
    AdapterKind.YOLO: YoloRaw,
}
_CLASSIFICATION_ADAPTERS: Mapping[
    AdapterKind, Callable[[ModelCard, tuple[str, ...]], OutputAdapter[NDArray[np.float64]]]
] = {
    AdapterKind.LOGITS: Logits,
    AdapterKind.PROBABILITIES: Probabilities,
}
_ADAPTERS: Mapping[AdapterKind, type[_AdapterClass]] = {
    AdapterKind.BOXES_SCORES_LABELS: BoxesScoresLabels,
    AdapterKind.TORCHVISION: TorchvisionDetections,
    AdapterKind.YOLO: YoloRaw,
    AdapterKind.LOGITS: Logits,
    AdapterKind.PROBABILITIES: Probabilities,
}

