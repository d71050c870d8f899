"""SSD- and RetinaFace-style exports: box deltas against priors (anchors) that the card describes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.adapters.base import BoxOutput, DetectionAdapter, Fail
from visionspec.runtime.boxes import nms
from visionspec.runtime.card import InputSpec, ModelCard, ResizeMode
from visionspec.runtime.card_keys import ANY_NUMBER, POSITIVE, UNIT_INTERVAL, Settings, key
from visionspec.runtime.tensors import FLOATS, TensorExpectation


class ScoreActivation(StrEnum):
    """What is applied to the scores tensor before it is read as probabilities."""

    NONE = "none"
    SOFTMAX = "softmax"
    SIGMOID = "sigmoid"


class Background(StrEnum):
    """Where the scores tensor keeps its background column, if it has one."""

    NONE = "none"
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True, kw_only=True)
class PriorKeys(Settings):
    """The ``output`` keys of ``priors``."""

    boxes: str = field(metadata=key("the box deltas tensor [B, N, 4]: dx, dy, dw, dh per prior", tensor=True))
    scores: str = field(
        metadata=key("the scores tensor [B, N, C] (or C + 1 with a background column)", tensor=True))
    score_activation: ScoreActivation = field(
        default=ScoreActivation.NONE, metadata=key("softmax or sigmoid when the scores are logits"))
    background: Background = field(
        default=Background.FIRST, metadata=key("the scores' background column: none, the first or the last"))
    strides: tuple[float, ...] = field(metadata=key(
        "model-input pixels between prior centres, one a level (e.g. [8, 16, 32])", check=POSITIVE))
    sizes: tuple[tuple[float, ...], ...] = field(metadata=key(
        "prior sides in model-input pixels, one list a level (e.g. [[16, 32], [64, 128], [256, 512]])",
        check=POSITIVE))
    aspect_ratios: tuple[float, ...] = field(default=(1.0,), metadata=key(
        "width / height of the priors, each applied to every size", check=POSITIVE))
    variances: tuple[float, ...] = field(default=(0.1, 0.2), metadata=key(
        "[centre variance, size variance] of the delta encoding", check=POSITIVE))
    centre_shift: float = field(default=0.5, metadata=key(
        "prior centre = (cell index + centre_shift) x stride", check=ANY_NUMBER))
    candidate_threshold: float = field(default=0.001, metadata=key(
        "(prior, class) pairs scoring below this are never boxes", check=UNIT_INTERVAL))
    iou_threshold: float = field(default=0.45, metadata=key("NMS IoU threshold, per class", check=UNIT_INTERVAL))
    max_detections: int = field(default=200, metadata=key("boxes kept an image after NMS", check=POSITIVE))

class Priors(DetectionAdapter[PriorKeys]):
    """Box deltas against priors generated from the card (SSD, RetinaFace).

    The priors are generated from the card, level by level (one level a stride), row by row, column by column,
    then for each size of the level and each aspect ratio: centre ``((column + centre_shift) * stride,
    (row + centre_shift) * stride)``, width ``size * sqrt(ratio)``, height ``size / sqrt(ratio)``, with
    ``ceil(H / stride)`` rows and ``ceil(W / stride)`` columns, in model-input pixels. A delta
    ``(dx, dy, dw, dh)`` against a prior ``(cx, cy, w, h)`` is the box centred at ``(cx + dx * v0 * w,
    cy + dy * v0 * h)`` of size ``(w * exp(dw * v1), h * exp(dh * v1))`` (``variances: [v0, v1]``). Every
    (prior, class) pair scoring at least ``candidate_threshold`` is a candidate; greedy NMS per class keeps the
    best ``max_detections``.
    """

    kind = "priors"
    settings = PriorKeys
    layout = "boxes [B, N, 4] deltas, scores [B, N, C] or [B, N, C + 1]; N = the number of priors the card makes"
    box_keys: ClassVar[tuple[str, ...]] = ("strides", "sizes", "aspect_ratios", "variances")

    @classmethod
    def expectations(cls, card: ModelCard) -> tuple[TensorExpectation, ...]:
        """boxes [B, N, 4] and scores [B, N, C (+ 1)], by name, N from the card's priors."""
        options = card.output.settings
        assert isinstance(options, PriorKeys)
        count = prior_boxes(options, card.input.height or 0, card.input.width or 0).shape[0]
        columns = len(card.classes) + (options.background is not Background.NONE)
        return (TensorExpectation("boxes", options.boxes, ("B", count, 4), FLOATS),
                TensorExpectation("scores", options.scores, ("B", count, columns), FLOATS))

    @classmethod
    def check_card(cls, spec: InputSpec, settings: Settings, fail: Fail) -> None:
        """Priors need a fixed input size; one size list a stride; two variances."""
        assert isinstance(settings, PriorKeys)
        if spec.resize is ResizeMode.NATIVE:
            raise fail("input.resize", "'input.resize: native' cannot be used with adapter priors (the priors "
                       "are laid over a fixed input); fix: stretch or letterbox, with input.size")
        if len(settings.sizes) != len(settings.strides):
            raise fail("output.sizes", f"'output.sizes' has {len(settings.sizes)} list(s) but 'output.strides' "
                       f"has {len(settings.strides)} level(s); fix: one list of sizes a stride")
        if len(settings.variances) != 2:
            raise fail("output.variances", f"'output.variances' needs two numbers, got {list(settings.variances)}")

    def __init__(self, card: ModelCard, output_names: tuple[str, ...]) -> None:
        super().__init__(card, output_names)
        self._priors = prior_boxes(self.options, card.input.height or 0, card.input.width or 0)

    def decode(self, outputs: Sequence[NDArray[Any]]) -> list[BoxOutput]:
        """NMS-ed boxes per image."""
        deltas, scores = outputs
        return [self._decode_image(deltas[row].astype(np.float64), self._probabilities(scores[row]))
                for row in range(deltas.shape[0])]

    def _probabilities(self, scores: NDArray[Any]) -> NDArray[np.float64]:
        """(N, C [+ 1]) raw scores to (N, C) class probabilities."""
        values = scores.astype(np.float64)
        if self.options.score_activation is ScoreActivation.SOFTMAX:
            exponentials = np.exp(values - values.max(axis=1, keepdims=True))
            values = exponentials / exponentials.sum(axis=1, keepdims=True)
        elif self.options.score_activation is ScoreActivation.SIGMOID:
            values = 1.0 / (1.0 + np.exp(-values))
        if self.options.background is Background.FIRST:
            return values[:, 1:]
        return values[:, :-1] if self.options.background is Background.LAST else values

    def _decode_image(self, deltas: NDArray[np.float64], probabilities: NDArray[np.float64]) -> BoxOutput:
        """(N, 4) deltas and (N, C) probabilities of one image to kept boxes."""
        options = self.options
        priors, (centre_variance, size_variance) = self._priors, options.variances
        centres = priors[:, :2] + deltas[:, :2] * centre_variance * priors[:, 2:]
        sizes = priors[:, 2:] * np.exp(deltas[:, 2:] * size_variance)
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        prior_index, classes = np.nonzero(probabilities >= options.candidate_threshold)
        scores = probabilities[prior_index, classes]
        kept = nms(boxes[prior_index], scores, classes.astype(np.int64), options.iou_threshold,
                   options.max_detections)
        return BoxOutput(boxes=boxes[prior_index][kept], scores=scores[kept],
                         class_indices=classes[kept].astype(np.int64))


def prior_boxes(options: PriorKeys, height: int, width: int) -> NDArray[np.float64]:
    """(N, 4) priors ``cx, cy, w, h`` in model-input pixels, in the order ``Priors`` documents."""
    levels = []
    for stride, sizes in zip(options.strides, options.sizes, strict=False):
        rows, columns = math.ceil(height / stride), math.ceil(width / stride)
        shapes = np.array([(side * math.sqrt(ratio), side / math.sqrt(ratio))
                           for side in sizes for ratio in options.aspect_ratios], dtype=np.float64)
        grid_y, grid_x = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
        centres = (np.stack([grid_x.ravel(), grid_y.ravel()], axis=1) + options.centre_shift) * stride
        per_cell = np.concatenate([np.repeat(centres, len(shapes), axis=0), np.tile(shapes, (len(centres), 1))],
                                  axis=1)
        levels.append(per_cell)
    return np.concatenate(levels) if levels else np.zeros((0, 4), dtype=np.float64)
