"""CenterNet-style heads decoded here: a class heatmap, a size head and an optional offset head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from visionspec.errors import ModelCardError
from visionspec.runtime.adapters.base import BoxOutput, DetectionAdapter
from visionspec.runtime.boxes import nms
from visionspec.runtime.card import ModelCard
from visionspec.runtime.card_keys import ANY_NUMBER, POSITIVE, UNIT_INTERVAL, Settings, key
from visionspec.runtime.tensors import FLOATS, TensorExpectation


class Activation(StrEnum):
    """What is applied to the heatmap before it is read as scores."""

    NONE = "none"
    SIGMOID = "sigmoid"


class SizeOrder(StrEnum):
    """The channel order of the size head."""

    WH = "wh"
    HW = "hw"


class SizeEncoding(StrEnum):
    """How a size value becomes model-input pixels."""

    LOG = "log"
    PIXELS = "pixels"
    STRIDE_UNITS = "stride_units"


class OffsetOrder(StrEnum):
    """The channel order of the offset head."""

    XY = "xy"
    YX = "yx"


class Peaks(StrEnum):
    """How heatmap cells become candidate boxes."""

    MAXPOOL = "maxpool"
    NMS = "nms"


@dataclass(frozen=True, kw_only=True)
class CenterNetKeys(Settings):
    """The ``output`` keys of ``centernet``."""

    heatmap: str = field(metadata=key("the heatmap tensor [B, C, H/stride, W/stride]", tensor=True))
    heatmap_activation: Activation = field(
        default=Activation.NONE, metadata=key("sigmoid when the heatmap holds logits"))
    size: str = field(metadata=key("the size tensor [B, 2, H/stride, W/stride]", tensor=True))
    size_order: SizeOrder = field(
        default=SizeOrder.WH, metadata=key("the size head's channels: width then height, or height then width"))
    size_encoding: SizeEncoding = field(metadata=key("log: exp(v) x stride; pixels: v; stride_units: v x stride"))
    offset: str | None = field(default=None, metadata=key(
        "the centre offset tensor [B, 2, H/stride, W/stride], if the model has one", tensor=True,
        shown_default="none"))
    offset_order: OffsetOrder = field(
        default=OffsetOrder.XY, metadata=key("the offset head's channels: x then y, or y then x"))
    centre_shift: float = field(default=0.0, metadata=key(
        "centre = (cell index + offset + centre_shift) x stride (0.5: the cell's centre)", check=ANY_NUMBER))
    stride: float = field(metadata=key("model-input pixels per heatmap cell", check=POSITIVE))
    peaks: Peaks = field(default=Peaks.MAXPOOL, metadata=key(
        "maxpool: 3x3 local maxima, the best max_detections kept; nms: every cell above candidate_threshold, "
        "then greedy NMS"))
    candidate_threshold: float = field(
        default=0.001, metadata=key("cells scoring below this are never boxes", check=UNIT_INTERVAL))
    iou_threshold: float = field(default=0.5, metadata=key("NMS IoU threshold (peaks: nms)", check=UNIT_INTERVAL))
    max_detections: int = field(default=100, metadata=key("boxes kept an image", check=POSITIVE))

class CenterNet(DetectionAdapter[CenterNetKeys]):
    """Raw CenterNet / CenterFace heads, decoded here.

    A peak of the heatmap at cell (row, column) of class c is a box of class c centred at
    ``((column + offset_x + centre_shift) * stride, (row + offset_y + centre_shift) * stride)`` in model-input
    pixels, whose size is read at the same cell of the size head: ``exp(v) * stride`` (``log``), ``v``
    (``pixels``) or ``v * stride`` (``stride_units``). Peaks are cells that are the maximum of their 3x3
    neighbourhood (``maxpool``, as CenterNet), the best ``max_detections`` of them kept; or every cell above
    ``candidate_threshold`` then greedy NMS at ``iou_threshold`` (``nms``, as CenterFace). Outputs the card does
    not name (CenterFace's landmarks) are never fetched.
    """

    kind = "centernet"
    settings = CenterNetKeys
    layout = ("heatmap [B, C, h, w], size [B, 2, h, w], offset [B, 2, h, w] (optional), h = H / stride, "
              "w = W / stride; other outputs ignored")
    box_keys: ClassVar[tuple[str, ...]] = ("size_order", "size_encoding", "offset_order", "stride")

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """heatmap, size and (if named) offset, by name."""
        options = card.output.settings
        assert isinstance(options, CenterNetKeys)
        expected = [TensorExpectation("heatmap", options.heatmap, ("B", len(card.classes), "h", "w"), FLOATS),
                    TensorExpectation("size", options.size, ("B", 2, "h", "w"), FLOATS)]
        if options.offset is not None:
            expected.append(TensorExpectation("offset", options.offset, ("B", 2, "h", "w"), FLOATS))
        return tuple(expected)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """Boxes per image."""
        heatmap = outputs[0].astype(np.float64)
        if self.options.heatmap_activation is Activation.SIGMOID:
            heatmap = 1.0 / (1.0 + np.exp(-heatmap))
        self._check_shapes(outputs)
        offsets = outputs[2] if len(outputs) > 2 else None
        return [self._decode_image(heatmap[row], outputs[1][row], None if offsets is None else offsets[row])
                for row in range(heatmap.shape[0])]

    def _check_shapes(self, outputs: Sequence[NDArray[Any]]) -> None:
        """The heads must share the heatmap's cells (a dynamic-shape file cannot be checked before running)."""
        cells = outputs[0].shape[2:]
        for name, output in zip(("size", "offset"), outputs[1:], strict=False):
            if output.ndim != 4 or output.shape[1] != 2 or output.shape[2:] != cells:
                raise ModelCardError(
                    f"{' + '.join(self.card.sources) or 'model card'}: output.{name} names a tensor of shape "
                    f"{list(output.shape)}, but the heatmap has {list(outputs[0].shape)}: a {name} head is "
                    f"[B, 2, {cells[0]}, {cells[1]}]; fix: output.{name}")

    def _decode_image(self, heatmap: NDArray[np.float64], sizes: NDArray[Any],
                      offsets: NDArray[Any] | None) -> BoxOutput:
        """(C, h, w) heatmap and (2, h, w) heads of one image to boxes."""
        options = self.options
        peak = heatmap >= options.candidate_threshold
        if options.peaks is Peaks.MAXPOOL:
            peak &= heatmap >= _max_pool_3x3(heatmap)
        classes, rows, columns = np.nonzero(peak)
        scores = heatmap[classes, rows, columns]
        order = np.argsort(-scores, kind="stable")
        if options.peaks is Peaks.MAXPOOL:
            order = order[: options.max_detections]
        classes, rows, columns, scores = classes[order], rows[order], columns[order], scores[order]
        boxes = self._boxes(rows, columns, sizes, offsets)
        if options.peaks is Peaks.NMS:
            kept = nms(boxes, scores, classes.astype(np.int64), options.iou_threshold, options.max_detections)
            boxes, scores, classes = boxes[kept], scores[kept], classes[kept]
        return BoxOutput(boxes=boxes, scores=scores.astype(np.float64), class_indices=classes.astype(np.int64))

    def _boxes(self, rows: NDArray[np.intp], columns: NDArray[np.intp], sizes: NDArray[Any],
               offsets: NDArray[Any] | None) -> NDArray[np.float64]:
        """(N, 4) xyxy model-input pixels of the cells ``(rows, columns)``."""
        options = self.options
        first, second = (sizes[channel, rows, columns].astype(np.float64) for channel in (0, 1))
        width, height = (first, second) if options.size_order is SizeOrder.WH else (second, first)
        if options.size_encoding is SizeEncoding.LOG:
            width, height = np.exp(width) * options.stride, np.exp(height) * options.stride
        elif options.size_encoding is SizeEncoding.STRIDE_UNITS:
            width, height = width * options.stride, height * options.stride
        shift_x = np.zeros(rows.shape[0]) if offsets is None else offsets[0, rows, columns].astype(np.float64)
        shift_y = np.zeros(rows.shape[0]) if offsets is None else offsets[1, rows, columns].astype(np.float64)
        if options.offset_order is OffsetOrder.YX:
            shift_x, shift_y = shift_y, shift_x
        centre_x = (columns + shift_x + options.centre_shift) * options.stride
        centre_y = (rows + shift_y + options.centre_shift) * options.stride
        return np.stack([centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2],
                        axis=1).reshape(-1, 4)


def _max_pool_3x3(heatmap: NDArray[np.float64]) -> NDArray[np.float64]:
    """(C, h, w) -> the maximum of each cell's 3x3 neighbourhood (cells past the edge ignored)."""
    padded = np.pad(heatmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    height, width = heatmap.shape[1:]
    pooled = np.full_like(heatmap, -np.inf)
    for dy in range(3):
        for dx in range(3):
            np.maximum(pooled, padded[:, dy : dy + height, dx : dx + width], out=pooled)
    return pooled
