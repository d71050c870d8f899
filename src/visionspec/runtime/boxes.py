"""Box encodings and non-maximum suppression, vectorised with NumPy (the run-only install has no torch)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.card import BoxFormat


def to_xyxy(boxes: NDArray[np.floating], box_format: BoxFormat) -> NDArray[np.float64]:
    """Convert (N, 4) boxes in ``box_format`` to float64 xyxy."""
    values = np.asarray(boxes, dtype=np.float64)
    if box_format is BoxFormat.XYXY:
        return values
    if box_format is BoxFormat.XYWH:
        return xywh_to_xyxy(values)
    half = values[:, 2:] / 2.0
    return np.concatenate([values[:, :2] - half, values[:, :2] + half], axis=1)


def xyxy_to_xywh(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Convert (N, 4) xyxy boxes to COCO ``x, y, width, height``."""
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def xywh_to_xyxy(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Convert (N, 4) COCO ``x, y, width, height`` boxes to xyxy."""
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def nms(
    boxes: NDArray[np.float64],
    scores: NDArray[np.floating],
    class_indices: NDArray[np.int64],
    iou_threshold: float,
    max_kept: int,
) -> NDArray[np.int64]:
    """Greedy per-class non-maximum suppression.

    A box is dropped when it overlaps a higher-scoring kept box of the same class with IoU above
    ``iou_threshold`` (as torchvision's ``batched_nms``). Equal scores keep the lower index first.

    Args:
        boxes: (N, 4) xyxy.
        scores: (N,).
        class_indices: (N,) class of each box; boxes of different classes never suppress each other.
        iou_threshold: IoU above which the lower-scoring box is dropped.
        max_kept: stop after this many boxes are kept.

    Returns:
        (M,) indices of the kept boxes, by decreasing score; M <= max_kept.
    """
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    # shifting each class to its own region makes boxes of different classes disjoint: one pass for all classes
    span = float(np.max(boxes) - np.min(boxes)) + 1.0
    shifted = boxes + (class_indices.astype(np.float64) * span)[:, None]
    areas = (shifted[:, 2] - shifted[:, 0]).clip(min=0) * (shifted[:, 3] - shifted[:, 1]).clip(min=0)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    kept: list[int] = []
    while order.size and len(kept) < max_kept:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        top_left = np.maximum(shifted[best, :2], shifted[rest, :2])
        bottom_right = np.minimum(shifted[best, 2:], shifted[rest, 2:])
        intersection = np.prod((bottom_right - top_left).clip(min=0), axis=1)
        union = areas[best] + areas[rest] - intersection
        iou = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.array(kept, dtype=np.int64)
