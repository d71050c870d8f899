"""YOLO-family exports: raw candidates with NMS done here (several layouts), or end-to-end slots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
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
from visionspec.runtime.boxes import nms
from visionspec.runtime.card import BoxFormat, Coordinates, InputSpec, ModelCard
from visionspec.runtime.card_keys import POSITIVE, UNIT_INTERVAL, Settings, key
from visionspec.runtime.tensors import FLOATS, TensorExpectation


class CandidateAxis(StrEnum):
    """Where the candidates' axis sits in a raw YOLO output."""

    LAST = "candidates_last"
    FIRST = "candidates_first"


@dataclass(frozen=True, kw_only=True)
class YoloRawKeys(Settings):
    """The ``output`` keys of ``yolo``."""

    box_format: BoxFormat = field(default=BoxFormat.CXCYWH, metadata=BOX_FORMAT)
    coordinates: Coordinates = field(default=Coordinates.INPUT_PIXELS, metadata=COORDINATES)
    output: str | None = field(default=None, metadata=key("the candidates tensor", tensor=True))
    layout: CandidateAxis = field(default=CandidateAxis.LAST, metadata=key(
        "candidates_last: [B, 4 + C, N] (YOLOv8, YOLO11); candidates_first: [B, N, 4 + C] (YOLOv5, YOLOX and "
        "transposed exports)"))
    objectness: bool = field(default=False, metadata=key(
        "each candidate has an objectness value after its box ([.., 5 + C]: YOLOv5, YOLOX); its score is "
        "objectness x class score"))
    class_agnostic: bool = field(default=False, metadata=key(
        "NMS across classes (a box suppresses overlapping boxes of any class)"))
    iou_threshold: float = field(default=0.7, metadata=key(
        "NMS: a box overlapping a better one by more than this IoU is dropped", check=UNIT_INTERVAL))
    candidate_threshold: float = field(default=0.001, metadata=key(
        "candidates scoring below this never enter NMS", check=UNIT_INTERVAL))
    max_detections: int = field(default=300, metadata=key("boxes kept an image after NMS", check=POSITIVE))

class YoloRaw(DetectionAdapter[YoloRawKeys]):
    """Raw YOLO candidates: per candidate a box, an optional objectness, then C class scores; NMS here.

    Each candidate takes its best class (times its objectness, if any); candidates scoring below
    ``candidate_threshold`` are dropped, then greedy NMS (per class unless ``class_agnostic``) at
    ``iou_threshold`` keeps at most ``max_detections`` boxes per image.
    """

    kind = "yolo"
    settings = YoloRawKeys
    layout = ("[B, 4 + C, N] (layout candidates_last) or [B, N, 4 + C] (candidates_first); with objectness "
              "[.., 5 + C]: box, objectness, C class scores per candidate")
    box_keys: ClassVar[tuple[str, ...]] = ("box_format", "coordinates", "layout")

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """The candidates tensor: the first output unless named."""
        options = card.output.settings
        assert isinstance(options, YoloRawKeys)
        width = 4 + int(options.objectness) + len(card.classes)
        dims: tuple[int | str, ...] = ("B", width, "N") if options.layout is CandidateAxis.LAST else ("B", "N", width)
        return (TensorExpectation("output", options.output, dims, FLOATS),)

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """Normalized boxes need a fixed input size."""
        refuse_normalized_native(spec, settings, fail)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """NMS-ed boxes per image."""
        first = self.options.layout is CandidateAxis.FIRST
        return [self._decode_image(candidates if first else candidates.T) for candidates in outputs[0]]

    def _decode_image(self, candidates: NDArray[Any]) -> BoxOutput:
        """(N, 4 [+ 1] + C) candidates of one image to kept boxes."""
        options = self.options
        start = 5 if options.objectness else 4
        class_scores = candidates[:, start:]
        class_indices = np.argmax(class_scores, axis=1).astype(np.int64)
        scores = np.take_along_axis(class_scores, class_indices[:, None], axis=1)[:, 0].astype(np.float64)
        if options.objectness:
            scores = scores * candidates[:, 4].astype(np.float64)
        keep = scores >= options.candidate_threshold
        boxes = to_input_pixels(candidates[keep, :4], options, self.card)
        groups = np.zeros(int(keep.sum()), np.int64) if options.class_agnostic else class_indices[keep]
        kept = nms(boxes, scores[keep], groups, options.iou_threshold, options.max_detections)
        return BoxOutput(boxes=boxes[kept], scores=scores[keep][kept], class_indices=class_indices[keep][kept])


@dataclass(frozen=True, kw_only=True)
class YoloEndToEndKeys(Settings):
    """The ``output`` keys of ``yolo_end_to_end``."""

    box_format: BoxFormat = field(default=BoxFormat.XYXY, metadata=BOX_FORMAT)
    coordinates: Coordinates = field(default=Coordinates.INPUT_PIXELS, metadata=COORDINATES)
    output: str | None = field(default=None, metadata=key("the detections tensor", tensor=True))
    label_offset: int = field(default=0, metadata=key("subtracted from every class value before it indexes 'classes'"))


class YoloEndToEnd(DetectionAdapter[YoloEndToEndKeys]):
    """End-to-end exports (YOLOv10, exports with NMS in the graph): K slots of box, score, class."""

    kind = "yolo_end_to_end"
    settings = YoloEndToEndKeys
    layout = "[B, K, 6]: per slot x1, y1, x2, y2 (in box_format), score, class; NMS already done"
    box_keys: ClassVar[tuple[str, ...]] = ("box_format", "coordinates")

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """[B, K, 6]: the first output unless named."""
        options = card.output.settings
        assert isinstance(options, YoloEndToEndKeys)
        return (TensorExpectation("output", options.output, ("B", "K", 6), FLOATS),)

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """Normalized boxes need a fixed input size."""
        refuse_normalized_native(spec, settings, fail)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """Every slot of every image (padding slots score 0)."""
        return [
            BoxOutput(
                boxes=to_input_pixels(slots[:, :4], self.options, self.card),
                scores=slots[:, 4].astype(np.float64),
                class_indices=labels_to_indices(slots[:, 5], self.options.label_offset),
            )
            for slots in outputs[0]
        ]
