"""The second stage: crops rounded outward and padded at the edge, classified in batches, results in the
boxes' order, cached by the boxes too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from runtime_models import FolderDataset, ModelPlan, OutputPlan, build_model, picture_dataset, write_card

from visionspec.errors import DatasetError, InferenceError
from visionspec.runtime import (
    BatchSettings,
    Device,
    ModelSession,
    PredictionCache,
    classify_crops,
    crop_box,
    open_model,
)


def test_crop_inside_the_picture_is_rounded_outward() -> None:
    picture = Image.fromarray(np.arange(20 * 10 * 3, dtype=np.uint8).reshape(10, 20, 3))
    crop = crop_box(picture, [2.5, 1.2, 3.0, 4.6], pad_value=0)
    assert crop.size == (4, 5)  # x 2..6, y 1..6
    np.testing.assert_array_equal(np.asarray(crop), np.asarray(picture)[1:6, 2:6])
    assert crop_box(picture, [3.0, 3.0, 0.0, 0.2], pad_value=0).size == (1, 1)  # degenerate boxes: one pixel


def test_crop_past_the_edge_is_padded_with_the_pad_value() -> None:
    picture = Image.new("RGB", (20, 10), (10, 20, 30))
    crop = np.asarray(crop_box(picture, [-4.0, 6.0, 8.0, 8.0], pad_value=114))
    assert crop.shape == (8, 8, 3)
    assert (crop[:4, 4:] == [10, 20, 30]).all()  # the part on the picture: x 0..4, y 6..10
    assert (crop[:, :4] == 114).all() and (crop[4:, :] == 114).all()
    outside = np.asarray(crop_box(picture, [30.0, 30.0, 5.0, 5.0], pad_value=7))
    assert outside.shape == (5, 5, 3) and (outside == 7).all()


def brightness_classifier(folder: Path, pad_value: int = 114) -> ModelSession:
    """Class 'light' wins for bright crops, 'dark' for dark ones: logits (0.5, brightness)."""
    write_card(folder, {"name": "shade", "task": "classification", "classes": ["dark", "light"],
                        "input": {"size": [16, 16], "pad_value": pad_value}, "output": {"adapter": "logits"}})
    plan = ModelPlan(input_shape=("batch", 3, 16, 16),
                     outputs=[OutputPlan("logits", ("batch", 2), np.array([0.5, 0.0]), np.array([0.0, 1.0]))])
    return open_model(build_model(plan, folder / "model.onnx"), device=Device.CPU, threads=1)


def half_and_half(folder: Path) -> FolderDataset:
    """Two pictures: 40 x 20 with a black left half and a white right half; and an all-white 10 x 10."""
    dataset = picture_dataset(folder, [(40, 20), (10, 10)], [0, 255], ids=[1, 2])
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, 20:] = 255
    Image.fromarray(pixels).save(dataset.image_path(0))
    return dataset


@pytest.mark.parametrize("settings", [BatchSettings(1, 0), BatchSettings(3, 2), BatchSettings(64, 4)])
def test_crops_are_classified_in_the_order_given(tmp_path: Path, settings: BatchSettings) -> None:
    session = brightness_classifier(tmp_path / "model", pad_value=255)
    dataset = half_and_half(tmp_path / "pictures")
    image_ids = [2, 1, 1, 2, 1]
    boxes = [[0, 0, 5, 5], [2, 2, 10, 10], [25, 5, 10, 10], [3, 3, 2, 2], [-30, 0, 30, 20]]
    verdicts = classify_crops(session, dataset, image_ids, boxes, settings=settings)
    # the last box lies wholly left of the picture: all padding (255), so light
    assert verdicts.labels == ("light", "dark", "light", "light", "light")
    assert verdicts.image_ids.tolist() == image_ids
    assert verdicts.boxes.tolist() == boxes
    assert verdicts.probabilities.shape == (5, 2)
    np.testing.assert_allclose(verdicts.probabilities.sum(axis=1), 1.0)
    dark_padding = brightness_classifier(tmp_path / "dark", pad_value=0)
    assert classify_crops(dark_padding, dataset, [1], [[-30, 0, 30, 20]], settings=settings).labels == ("dark",)


def test_no_crops(tmp_path: Path) -> None:
    session = brightness_classifier(tmp_path / "m")
    verdicts = classify_crops(session, half_and_half(tmp_path / "p"), [], np.zeros((0, 4)))
    assert len(verdicts) == 0 and verdicts.probabilities.shape == (0, 2) and verdicts.labels == ()


def test_bad_crop_requests(tmp_path: Path) -> None:
    session = brightness_classifier(tmp_path / "m")
    dataset = half_and_half(tmp_path / "p")
    with pytest.raises(DatasetError) as caught:
        classify_crops(session, dataset, [1, 99], [[0, 0, 1, 1], [0, 0, 1, 1]])
    assert str(caught.value) == ("crop 1: image id 99 is not an image of the data set; fix: take the boxes from the "
                                 "same data set")
    with pytest.raises(InferenceError, match=r"^crop 0: box \[nan, 0.0, 1.0, 1.0\] is not finite$"):
        classify_crops(session, dataset, [1], [[np.nan, 0, 1, 1]])
    with pytest.raises(InferenceError, match="got 1 image ids but 2 boxes"):
        classify_crops(session, dataset, [1], [[0, 0, 1, 1], [0, 0, 1, 1]])


def test_crop_results_are_cached_by_model_data_and_boxes(tmp_path: Path) -> None:
    session = brightness_classifier(tmp_path / "m")
    dataset = half_and_half(tmp_path / "p")
    cache = PredictionCache(tmp_path / "cache")
    first = classify_crops(session, dataset, [1, 2], [[0, 0, 5, 5], [1, 1, 3, 3]], cache=cache)
    reopened = PredictionCache(tmp_path / "cache")
    again = classify_crops(session, dataset, [1, 2], [[0, 0, 5, 5], [1, 1, 3, 3]], cache=reopened)
    assert (reopened.stats.disk_hits, reopened.stats.misses) == (1, 0)
    assert again.labels == first.labels == ("dark", "light")
    other_boxes = PredictionCache(tmp_path / "cache")
    moved = classify_crops(session, dataset, [1, 2], [[30, 0, 5, 5], [1, 1, 3, 3]], cache=other_boxes)
    assert other_boxes.stats.misses == 1 and moved.labels == ("light", "light")
