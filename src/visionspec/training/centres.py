"""What the detector learns: CenterNet targets (centre heatmaps, sizes, offsets) and the loss against them.

Each object becomes a Gaussian bump on its class's heatmap, peaking at exactly 1 on the cell that holds
its centre, with spreads proportional to its width and height (TTFNet's elliptical Gaussian, so a long
box gets a long bump). The loss is CenterNet's: a penalty-reduced focal loss on the heatmap (cells near
a centre are punished less for firing), and L1 on the log size and the sub-cell offset at centre cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the conventional name)
from numpy.typing import NDArray
from torch import Tensor

# TTFNet's alpha: sigma = alpha * size / 6; a floor keeps the bump of a 2-cell balloon wider than one cell.
_GAUSSIAN_ALPHA = 0.54
_MIN_SIGMA = 0.5
# CenterNet's focal loss exponents: (1 - p)^2 on positives and p^2 (1 - y)^4 on negatives.
_FOCUS = 2.0
_NEAR_CENTRE_RELIEF = 4.0


@dataclass(frozen=True)
class CentreTargets:
    """A batch of detector targets.

    Attributes:
        heatmap: (N, C, h, w) float32, 1 on centre cells, Gaussian bumps around them.
        cells: (N, M) int64 flat cell index ``y * w + x`` of each object's centre (0 for padding slots).
        log_sizes: (N, M, 2) float32 log width and height in cells.
        offsets: (N, M, 2) float32 centre offset within its cell, in cells.
        present: (N, M) float32, 1 for real objects, 0 for padding slots.
    """

    heatmap: Tensor
    cells: Tensor
    log_sizes: Tensor
    offsets: Tensor
    present: Tensor


@dataclass(frozen=True)
class LossParts:
    """The detector loss and its three terms (detached, for progress lines).

    Attributes:
        total: the loss to minimise.
        heatmap: focal loss per object.
        size: mean L1 error of the log sizes.
        offset: mean L1 error of the centre offsets.
    """

    total: Tensor
    heatmap: float
    size: float
    offset: float


def encode_targets(
    boxes: Sequence[NDArray[np.float64]],
    labels: Sequence[NDArray[np.int64]],
    *,
    grid: tuple[int, int],
    stride: int,
    num_classes: int,
) -> CentreTargets:
    """Encode a batch of ground truth as CenterNet targets.

    Args:
        boxes: per image, (n, 4) xyxy boxes in input pixels, inside the input.
        labels: per image, (n,) class indices.
        grid: (h, w) heatmap cells.
        stride: input pixels per cell.
        num_classes: heatmap channels.

    Returns:
        The targets; M is the largest object count of the batch (at least 1).
    """
    height, width = grid
    slots = max(1, max((len(image_boxes) for image_boxes in boxes), default=0))
    batch = len(boxes)
    heatmap = np.zeros((batch, num_classes, height, width), dtype=np.float32)
    cells = np.zeros((batch, slots), dtype=np.int64)
    log_sizes = np.zeros((batch, slots, 2), dtype=np.float32)
    offsets = np.zeros((batch, slots, 2), dtype=np.float32)
    present = np.zeros((batch, slots), dtype=np.float32)
    rows = np.arange(height, dtype=np.float64)[:, None]
    columns = np.arange(width, dtype=np.float64)[None, :]
    for image, (image_boxes, image_labels) in enumerate(zip(boxes, labels, strict=True)):
        count = len(image_boxes)
        if count == 0:
            continue
        centres = (image_boxes[:, :2] + image_boxes[:, 2:]) / (2 * stride)
        sizes = np.maximum(image_boxes[:, 2:] - image_boxes[:, :2], 1.0) / stride
        cell_xy = np.clip(np.floor(centres).astype(np.int64), 0, [width - 1, height - 1])
        cells[image, :count] = cell_xy[:, 1] * width + cell_xy[:, 0]
        log_sizes[image, :count] = np.log(sizes)
        offsets[image, :count] = centres - cell_xy
        present[image, :count] = 1.0
        sigmas = np.maximum(sizes * _GAUSSIAN_ALPHA / 6.0, _MIN_SIGMA)
        for (x, y), (sigma_x, sigma_y), label in zip(cell_xy, sigmas, image_labels, strict=True):
            bump = np.exp(-((columns - x) ** 2) / (2 * sigma_x**2) - ((rows - y) ** 2) / (2 * sigma_y**2))
            np.maximum(heatmap[image, label], bump, out=heatmap[image, label])
    return CentreTargets(
        heatmap=torch.from_numpy(heatmap),
        cells=torch.from_numpy(cells),
        log_sizes=torch.from_numpy(log_sizes),
        offsets=torch.from_numpy(offsets),
        present=torch.from_numpy(present),
    )


def centre_loss(heatmap_logits: Tensor, log_sizes: Tensor, offsets: Tensor, targets: CentreTargets) -> LossParts:
    """CenterNet's loss: focal loss on the heatmap plus L1 on log sizes and offsets at centre cells.

    Args:
        heatmap_logits: (N, C, h, w).
        log_sizes: (N, 2, h, w).
        offsets: (N, 2, h, w).
        targets: the encoded ground truth of the batch.
    """
    positives = targets.heatmap.eq(1.0).to(heatmap_logits.dtype)
    probabilities = torch.sigmoid(heatmap_logits)
    positive_term = F.logsigmoid(heatmap_logits) * (1 - probabilities) ** _FOCUS * positives
    negative_term = (
        F.logsigmoid(-heatmap_logits)
        * probabilities**_FOCUS
        * (1 - targets.heatmap) ** _NEAR_CENTRE_RELIEF
        * (1 - positives)
    )
    objects = targets.present.sum().clamp(min=1.0)
    heatmap_loss = -(positive_term.sum() + negative_term.sum()) / objects
    size_loss = _l1_at_centres(log_sizes, targets.log_sizes, targets) / objects
    offset_loss = _l1_at_centres(offsets, targets.offsets, targets) / objects
    total = heatmap_loss + size_loss + offset_loss
    return LossParts(total, float(heatmap_loss.detach()), float(size_loss.detach()), float(offset_loss.detach()))


def _l1_at_centres(predicted: Tensor, wanted: Tensor, targets: CentreTargets) -> Tensor:
    """Summed L1 error of (N, 2, h, w) ``predicted`` against (N, M, 2) ``wanted`` at the objects' cells."""
    index = targets.cells.unsqueeze(1).expand(-1, 2, -1)
    at_centres = predicted.flatten(2).gather(2, index).transpose(1, 2)
    return ((at_centres - wanted).abs() * targets.present.unsqueeze(2)).sum() / 2
