"""Box IoU: hand values, crowd regions, and bit-for-bit agreement with pycocotools' ``maskUtils.iou``."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from visionspec.metrics import box_iou


def test_hand_values() -> None:
    detections = np.array([[0.0, 0, 10, 10], [5, 5, 10, 10], [20, 20, 5, 5]])
    objects = np.array([[0.0, 0, 10, 10], [0, 0, 20, 20]])
    ious = box_iou(detections, objects)
    assert ious.shape == (3, 2)
    assert ious[0].tolist() == [1.0, 0.25]
    assert ious[1, 0] == pytest.approx(25 / 175)
    assert ious[1, 1] == pytest.approx(100 / 400)
    assert ious[2].tolist() == [0.0, 0.0]  # touching at a corner is no overlap


def test_crowd_region_divides_by_the_detection_area() -> None:
    ious = box_iou(np.array([[10.0, 10, 10, 10], [90, 90, 20, 20]]), np.array([[0.0, 0, 100, 100]]), crowd=[True])
    assert ious[:, 0].tolist() == [1.0, 0.25]


def test_empty_inputs() -> None:
    assert box_iou(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)
    assert box_iou(np.ones((2, 4)), np.zeros((0, 4))).shape == (2, 0)


def test_bit_identical_to_pycocotools() -> None:
    rng = np.random.default_rng(0)
    detections = np.column_stack([rng.uniform(0, 50, (40, 2)), rng.uniform(0.5, 40, (40, 2))])
    objects = np.column_stack([rng.uniform(0, 50, (30, 2)), rng.uniform(0.5, 40, (30, 2))])
    crowd = rng.random(30) < 0.3
    reference = mask_utils.iou(detections.tolist(), objects.tolist(), crowd.astype(np.uint8).tolist())
    ours = box_iou(detections, objects, crowd=crowd)
    assert (ours > 0).sum() > 100
    assert np.array_equal(ours, reference)
