"""Box intersection over union, computed exactly as pycocotools' ``bbIou`` (C) does.

The same floating-point operations in the same order, so that IoUs, and thus every match, are
bit-identical to the reference. For a crowd region the union is the detection's own area: a detection
inside a crowd region has IoU 1 with it, whatever the region's size.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def paired_iou(
    detection_boxes: NDArray[np.float64], object_boxes: NDArray[np.float64], crowd: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """IoU of row-aligned pairs.

    Args:
        detection_boxes: (P, 4) xywh.
        object_boxes: (P, 4) xywh.
        crowd: (P,) whether each object is a crowd region.

    Returns:
        (P,) IoU in [0, 1]; 0 where the boxes do not overlap.
    """
    dx, dy, dw, dh = (detection_boxes[:, i] for i in range(4))
    gx, gy, gw, gh = (object_boxes[:, i] for i in range(4))
    # pycocotools: w = min(D[2]+D[0], G[2]+G[0]) - max(D[0], G[0]); float addition commutes exactly.
    width = np.minimum(dx + dw, gx + gw) - np.maximum(dx, gx)
    height = np.minimum(dy + dh, gy + gh) - np.maximum(dy, gy)
    overlaps = (width > 0) & (height > 0)
    intersection = width * height
    detection_area = dw * dh
    union = np.where(crowd, detection_area, detection_area + (gw * gh) - intersection)
    result = np.zeros(width.shape, dtype=np.float64)
    np.divide(intersection, union, out=result, where=overlaps)
    return result


def box_iou(
    detection_boxes: NDArray[np.float64], object_boxes: NDArray[np.float64], crowd: NDArray[np.bool_] | None = None
) -> NDArray[np.float64]:
    """IoU of every detection with every object.

    Args:
        detection_boxes: (D, 4) xywh.
        object_boxes: (G, 4) xywh.
        crowd: (G,) whether each object is a crowd region; ``None`` for none.

    Returns:
        (D, G) IoU, pycocotools' ``maskUtils.iou(d, g, iscrowd)`` for boxes.

    Example:
        >>> box_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 10, 10]])).tolist()
        [[0.3333333333333333]]
    """
    detection_boxes = np.asarray(detection_boxes, dtype=np.float64).reshape(-1, 4)
    object_boxes = np.asarray(object_boxes, dtype=np.float64).reshape(-1, 4)
    crowd_flags = np.zeros(object_boxes.shape[0], dtype=bool) if crowd is None else np.asarray(crowd, dtype=bool)
    n_det, n_obj = detection_boxes.shape[0], object_boxes.shape[0]
    pairs = paired_iou(
        np.repeat(detection_boxes, n_obj, axis=0),
        np.tile(object_boxes, (n_det, 1)),
        np.tile(crowd_flags, n_det),
    )
    return pairs.reshape(n_det, n_obj)
