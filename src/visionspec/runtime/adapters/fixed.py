"""Detectors that decode inside the graph and give boxes, scores and labels as separate tensors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.adapters.base import (
    BOX_FORMAT,
    COORDINATES,
    BoxOutput,
    DetectionAdapter,
    Fail,
    labels_to_indices,
    refuse_normalized_native,
    to_input_pixels,
)
from visionspec.runtime.card import BoxFormat, Coordinates, InputSpec, Layout, ModelCard
from visionspec.runtime.card_keys import Settings, key
from visionspec.runtime.tensors import FLOATS, INTEGERS_OR_FLOATS, TensorExpectation


@dataclass(frozen=True, kw_only=True)
class SeparateTensors(Settings):
    """The ``output`` keys of ``boxes_scores_labels`` and ``torchvision``."""

    box_format: BoxFormat = field(default=BoxFormat.XYXY, metadata=BOX_FORMAT)
    coordinates: Coordinates = field(default=Coordinates.INPUT_PIXELS, metadata=COORDINATES)
    boxes: str = field(default="boxes", metadata=key("the boxes tensor", tensor=True))
    scores: str = field(default="scores", metadata=key("the scores tensor", tensor=True))
    labels: str = field(
        default="labels", metadata=key("the labels tensor (integers, or floats holding integers)", tensor=True))
    label_offset: int = field(default=0, metadata=key(
        "subtracted from every label before it indexes 'classes' (1 when label 0 is the background)"))

def _separate(card: ModelCard, dims: dict[str, tuple[int | str, ...]]) -> tuple[TensorExpectation, ...]:
    """boxes, scores, labels by name."""
    options = card.output.settings
    assert isinstance(options, SeparateTensors)
    return (
        TensorExpectation("boxes", options.boxes, dims["boxes"], FLOATS),
        TensorExpectation("scores", options.scores, dims["scores"], FLOATS),
        TensorExpectation("labels", options.labels, dims["labels"], INTEGERS_OR_FLOATS),
    )


class BoxesScoresLabels(DetectionAdapter[SeparateTensors]):
    """Fixed-K outputs with a batch axis: boxes (B, K, 4), scores (B, K), labels (B, K)."""

    kind = "boxes_scores_labels"
    settings = SeparateTensors
    layout = "boxes [B, K, 4], scores [B, K], labels [B, K]: K slots an image, decoded in the graph"
    box_keys: ClassVar[tuple[str, ...]] = ("box_format", "coordinates")

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """boxes (B, K, 4), scores (B, K), labels (B, K), by name."""
        return _separate(card, {"boxes": ("B", "K", 4), "scores": ("B", "K"), "labels": ("B", "K")})

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """Normalized boxes need a fixed input size."""
        refuse_normalized_native(spec, settings, fail)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """One ``BoxOutput`` per image, all K slots."""
        boxes, scores, labels = outputs
        return [
            BoxOutput(
                boxes=to_input_pixels(boxes[row], self.options, self.card),
                scores=scores[row].astype(np.float64),
                class_indices=labels_to_indices(labels[row], self.options.label_offset),
            )
            for row in range(boxes.shape[0])
        ]


class TorchvisionDetections(DetectionAdapter[SeparateTensors]):
    """torchvision detection exports: one CHW image in, boxes (N, 4), labels (N,), scores (N,) out."""

    kind = "torchvision"
    settings = SeparateTensors
    layout = "one CHW image in, no batch axis; boxes [N, 4], scores [N], labels [N] out"
    batched = False
    box_keys: ClassVar[tuple[str, ...]] = ("box_format", "coordinates")

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """boxes (N, 4), scores (N,), labels (N,), by name."""
        return _separate(card, {"boxes": ("N", 4), "scores": ("N",), "labels": ("N",)})

    @classmethod
    def input_dims(cls, card: ModelCard) -> tuple[int | str, ...]:
        """One CHW image, no batch axis."""
        return 3, card.input.height or "H", card.input.width or "W"

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """torchvision exports take one CHW image."""
        if spec.layout is not Layout.NCHW:
            raise fail("input.layout", "bad value 'NHWC' for 'input.layout' with adapter torchvision "
                       "(accepted values: NCHW; torchvision exports take one CHW image)")
        refuse_normalized_native(spec, settings, fail)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """The single image's boxes."""
        boxes, scores, labels = outputs
        return [
            BoxOutput(
                boxes=to_input_pixels(boxes, self.options, self.card),
                scores=scores.astype(np.float64).reshape(-1),
                class_indices=labels_to_indices(labels.reshape(-1), self.options.label_offset),
            )
        ]
