"""The balloon detector: a small CenterNet-style network whose ONNX graph ends in decoded boxes.

The network predicts, on a grid of stride 4, a heatmap of object centres per class, the log of each
object's width and height (in grid cells) and the sub-cell offset of its centre. ``forward`` decodes
inside the graph (peaks by 3x3 max-pooling, top-K over classes and cells, boxes assembled in input pixels,
a vectorised suppression of duplicate boxes), so the exported file answers with the ``boxes_scores_labels``
adapter's fixed-size tensors and needs no post-processing outside it.

Once its second stage is trained (``verifying``), the graph also cuts every candidate out of the picture
and scores it with the ``CropVerifier``; the final score is the heatmap's times the verifier's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

import torch
import torch.nn.functional as F  # noqa: N812 (the conventional name)
from torch import Tensor, nn

from visionspec.training.layers import Residual, conv_bn_relu
from visionspec.training.verifier import CropVerifier

# CenterNet's prior: a fresh heatmap says 0.1 everywhere, so the focal loss starts calm.
_HEATMAP_PRIOR_BIAS = -2.19
# exp() of an untrained size head must not overflow float32 (e^8 cells = 12,000 px is past any input).
_MAX_LOG_SIZE = 8.0


@dataclass(frozen=True)
class DetectorShape:
    """The architecture of a detector.

    Attributes:
        height: input height in pixels (a multiple of 32).
        width: input width in pixels (a multiple of 32).
        num_classes: heatmap channels, one per class.
        max_detections: K, the fixed number of boxes the exported graph returns per image (32: the busiest
            balloon pictures hold 8, and every candidate costs a verifier pass).
        widths: channels of the stages at stride 4, 8, 16 and 32.
        head_channels: channels of the top-down path and the shared head.
        overlap_iou: a box overlapping a better box of its class by more than this is dropped.
        mirror_average: the exported graph runs the network on the picture and on its mirror image and
            averages the heads (test-time flip augmentation): steadier scores at twice the inference cost,
            no training cost.
    """

    height: int = 256
    width: int = 256
    num_classes: int = 1
    max_detections: int = 32
    widths: tuple[int, int, int, int] = (32, 48, 80, 112)
    head_channels: int = 32
    overlap_iou: float = 0.6
    mirror_average: bool = True

    stride: ClassVar[int] = 4

    def __post_init__(self) -> None:
        if self.height % 32 or self.width % 32:
            raise ValueError(f"detector input {self.height}x{self.width} must be a multiple of 32 on both axes")
        if not 0 < self.max_detections <= self.num_classes * (self.height // 4) * (self.width // 4):
            raise ValueError(f"max_detections {self.max_detections} must be from 1 to the number of heatmap cells")


class BalloonDetector(nn.Module):
    """A CenterNet-style detector: light conv backbone, top-down path, heatmap + size + offset heads (542k weights),
    and a crop verifier as its second stage (47k weights).

    ``verifying`` (False until the second stage is trained) decides whether ``forward``, and so the
    exported graph, rescores the candidates with the verifier.

    Example:
        >>> model = BalloonDetector(DetectorShape()).eval()
        >>> boxes, scores, labels = model(torch.zeros(2, 3, 256, 256))
        >>> tuple(boxes.shape), tuple(scores.shape), labels.dtype
        ((2, 32, 4), (2, 32), torch.int64)
    """

    def __init__(self, shape: DetectorShape) -> None:
        super().__init__()
        self.shape = shape
        w4, w8, w16, w32 = shape.widths
        channels = shape.head_channels
        # space-to-depth: the stride-4 grid without strided convolutions at full resolution (slow on CPU);
        # the 1x1 conv embeds each 4x4 patch, the 3x3 one sees 12x12 pixels
        self.stem = nn.Sequential(nn.PixelUnshuffle(4), conv_bn_relu(48, w4, kernel=1), conv_bn_relu(w4, w4))
        # residual blocks where the grid is coarse: most of the weights for a tenth of the compute
        self.stage8 = nn.Sequential(conv_bn_relu(w4, w8, stride=2), Residual(w8))
        self.stage16 = nn.Sequential(conv_bn_relu(w8, w16, stride=2), Residual(w16))
        self.stage32 = nn.Sequential(conv_bn_relu(w16, w32, stride=2), Residual(w32))
        self.lateral = nn.ModuleList(conv_bn_relu(width, channels, kernel=1) for width in (w4, w8, w16, w32))
        self.trunk = conv_bn_relu(channels, channels)
        self.heatmap = nn.Conv2d(channels, shape.num_classes, 1)
        self.log_size = nn.Conv2d(channels, 2, 1)
        self.offset = nn.Conv2d(channels, 2, 1)
        nn.init.constant_(cast(Tensor, self.heatmap.bias), _HEATMAP_PRIOR_BIAS)
        self.verifier = CropVerifier()
        self.verifying = False

    def heads(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The raw head outputs, for training; any input size that is a multiple of 32.

        Args:
            images: (N, 3, H, W) normalised input.

        Returns:
            Heatmap logits (N, C, H/4, W/4), log width and height in cells (N, 2, H/4, W/4) and centre
            offsets within the cell (N, 2, H/4, W/4).
        """
        c4 = self.stem(images)
        c8 = self.stage8(c4)
        c16 = self.stage16(c8)
        c32 = self.stage32(c16)
        path = self.lateral[3](c32)
        for level, features in ((2, c16), (1, c8), (0, c4)):
            path = F.interpolate(path, scale_factor=2.0, mode="nearest") + self.lateral[level](features)
        trunk = self.trunk(path)
        return self.heatmap(trunk), self.log_size(trunk), self.offset(trunk)

    def mirror_averaged_heads(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The heads averaged with those of the mirrored pictures, mirrored back (same shapes as ``heads``).

        A cell's centre offset ``o`` within the cell reads ``1 - o`` in the mirrored picture (cell ``i`` of
        ``w`` becomes cell ``w - 1 - i``), so mirrored x offsets are turned back before averaging.
        """
        heatmap, log_sizes, offsets = self.heads(images)
        mirrored = [torch.flip(head, dims=[3]) for head in self.heads(torch.flip(images, dims=[3]))]
        mirrored_offsets = torch.cat([1.0 - mirrored[2][:, :1], mirrored[2][:, 1:]], dim=1)
        return (heatmap + mirrored[0]) / 2, (log_sizes + mirrored[1]) / 2, (offsets + mirrored_offsets) / 2

    def candidates(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The first stage: decoded heatmap peaks without duplicates (shapes as ``forward``'s)."""
        heads = self.mirror_averaged_heads(images) if self.shape.mirror_average else self.heads(images)
        boxes, scores, labels = decode(*heads, max_detections=self.shape.max_detections,
                                       input_size=(self.shape.height, self.shape.width))
        return suppress_overlaps(boxes, scores, labels, iou_threshold=self.shape.overlap_iou)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Detect: the exported graph.

        Args:
            images: (N, 3, H, W) normalised input.

        Returns:
            boxes (N, K, 4) float32 xyxy in input pixels, scores (N, K) float32 in [0, 1] by decreasing
            score, labels (N, K) int64 class indices.
        """
        boxes, scores, labels = self.candidates(images)
        if not self.verifying:
            return boxes, scores, labels
        return by_score(boxes, scores * self.verifier.probabilities(images, boxes), labels)


def decode(
    heatmap_logits: Tensor, log_sizes: Tensor, offsets: Tensor, *, max_detections: int, input_size: tuple[int, int]
) -> tuple[Tensor, Tensor, Tensor]:
    """Turn head outputs into the K best boxes per image (traceable: it becomes part of the ONNX graph).

    A cell is a peak when it is the maximum of its 3x3 neighbourhood; the K best peaks over all classes
    and cells become boxes centred at ``(cell + offset) * stride`` with size ``exp(log_size) * stride``,
    clipped to the input. Sizes are Python integers, not read from the tensors, so that the traced graph
    holds them as constants (only the batch axis is dynamic).

    Args:
        heatmap_logits: (N, C, h, w).
        log_sizes: (N, 2, h, w) log width and height in cells.
        offsets: (N, 2, h, w) centre x and y offsets in cells.
        input_size: (H, W) input pixels, ``stride`` times (h, w).
        max_detections: K, at most ``C * h * w``.

    Returns:
        boxes (N, K, 4) xyxy input pixels, scores (N, K), labels (N, K) int64.
    """
    stride = DetectorShape.stride
    limit_y, limit_x = input_size
    height, width = limit_y // stride, limit_x // stride
    heat = torch.sigmoid(heatmap_logits)
    peaks = heat * (F.max_pool2d(heat, kernel_size=3, stride=1, padding=1) == heat).to(heat.dtype)
    scores, flat_indices = torch.topk(peaks.flatten(1), k=max_detections, dim=1)
    cells = flat_indices % (height * width)
    labels = torch.div(flat_indices, height * width, rounding_mode="floor")
    gather_index = cells.unsqueeze(1).expand(-1, 2, -1)
    sizes = torch.exp(log_sizes.flatten(2).gather(2, gather_index).clamp(max=_MAX_LOG_SIZE)) * stride
    shifts = offsets.flatten(2).gather(2, gather_index)
    centre_x = ((cells % width).to(heat.dtype) + shifts[:, 0]) * stride
    centre_y = (torch.div(cells, width, rounding_mode="floor").to(heat.dtype) + shifts[:, 1]) * stride
    half_w, half_h = sizes[:, 0] / 2, sizes[:, 1] / 2
    boxes = torch.stack(
        [
            (centre_x - half_w).clamp(0.0, limit_x),
            (centre_y - half_h).clamp(0.0, limit_y),
            (centre_x + half_w).clamp(0.0, limit_x),
            (centre_y + half_h).clamp(0.0, limit_y),
        ],
        dim=2,
    )
    return boxes, scores, labels


def suppress_overlaps(
    boxes: Tensor, scores: Tensor, labels: Tensor, *, iou_threshold: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Zero the score of every box that overlaps a better box of its class by more than ``iou_threshold``.

    A large balloon can leave two peaks on the heatmap; this drops the weaker one. It is YOLACT's "fast
    NMS": one (K, K) IoU matrix, no loop, so it traces into the graph; a box is dropped even when the
    box that beats it was dropped too, which greedy NMS would not do (slightly stricter, never looser).
    The slots are then sorted again, so the outputs keep their fixed K slots by decreasing score.

    Args:
        boxes: (N, K, 4) xyxy, slots by decreasing score.
        scores: (N, K).
        labels: (N, K).
        iou_threshold: the overlap above which the weaker box goes.

    Returns:
        boxes, scores and labels in the same shapes, suppressed slots last with score 0.
    """
    top_left = torch.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    bottom_right = torch.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    overlap = (bottom_right - top_left).clamp(min=0.0).prod(dim=3)
    areas = (boxes[:, :, 2:] - boxes[:, :, :2]).prod(dim=2)
    iou = overlap / (areas[:, :, None] + areas[:, None, :] - overlap).clamp(min=1e-6)
    same_class = (labels[:, :, None] == labels[:, None, :]).to(iou.dtype)
    # entry (i, j) with i < j: slot j against the better slot i
    beaten = (torch.triu(iou * same_class, diagonal=1) > iou_threshold).any(dim=1)
    return by_score(boxes, scores * (~beaten).to(scores.dtype), labels)


def by_score(boxes: Tensor, scores: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The (N, K) slots sorted again by decreasing score (traceable: a top-K over all K slots)."""
    sorted_scores, order = torch.topk(scores, k=scores.shape[1], dim=1)
    return boxes.gather(1, order.unsqueeze(2).expand(-1, -1, 4)), sorted_scores, labels.gather(1, order)
