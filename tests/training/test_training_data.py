"""Training data: pictures placed as the engine places them, augmented detector batches, jittered crops."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training_toys import toy_dataset  # noqa: E402

from visionspec.datasets import DatasetRegistry  # noqa: E402
from visionspec.errors import DatasetError  # noqa: E402
from visionspec.runtime.card import InputSpec  # noqa: E402
from visionspec.runtime.preprocess import ImageTransform  # noqa: E402
from visionspec.training.colour_recipe import COLOURS  # noqa: E402
from visionspec.training.crop_data import CropBatches, jitter_boxes, labelled_boxes  # noqa: E402
from visionspec.training.data import DetectorBatches, PlacedImages, place_images  # noqa: E402

pytestmark = pytest.mark.train

SPEC = InputSpec(name="images", height=256, width=256)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> DatasetRegistry:
    root = tmp_path_factory.mktemp("datasets")
    toy_dataset(root, "toy", images=6, seed=3)
    return DatasetRegistry(root)


def test_pictures_are_placed_and_boxes_scaled_as_the_engine_does(toy: DatasetRegistry) -> None:
    dataset = toy.load("toy")
    placed = place_images(dataset, SPEC, ["balloon"], np.arange(6), threads=1)

    assert placed.pixels.shape == (6, 256, 256, 3)
    assert placed.pixels.dtype == np.uint8
    scale = np.array([256 / 96, 256 / 80, 256 / 96, 256 / 80])
    first = dataset.annotations.boxes[dataset.annotations.image_ids == dataset.images.ids[1]]
    xyxy = np.concatenate([first[:, :2], first[:, :2] + first[:, 2:]], axis=1)
    np.testing.assert_allclose(placed.boxes[1], xyxy * scale)
    assert sum(len(boxes) for boxes in placed.boxes) == len(dataset.annotations)
    assert {int(label) for labels in placed.labels for label in labels} == {0}


def test_a_data_set_without_the_model_classes_is_refused(toy: DatasetRegistry) -> None:
    with pytest.raises(DatasetError, match=r"data set toy has none of the model's classes \(kite\); its classes are "
                                           r"balloon; fix: train on a data set of these classes"):
        place_images(toy.load("toy"), SPEC, ["kite"], np.arange(2), threads=1)


def _white_square_picture() -> PlacedImages:
    """One black 256x256 picture with a white 40x40 square at x 150..190, y 100..140."""
    pixels = np.zeros((1, 256, 256, 3), dtype=np.uint8)
    pixels[0, 100:140, 150:190] = 255
    return PlacedImages(pixels, (np.array([[150.0, 100.0, 190.0, 140.0]]),), (np.array([0]),),
                        (ImageTransform(256, 256, 1.0, 1.0),), np.arange(1))


def test_detector_batches_move_boxes_with_the_crop_and_the_flip() -> None:
    batches = DetectorBatches(_white_square_picture(), spec=SPEC, batch_size=1, crop=160, num_classes=1, seed=0)
    seen_objects = 0
    for _ in range(12):
        (inputs, targets), = list(batches.epoch())
        assert tuple(inputs.shape) == (1, 3, 160, 160)
        assert tuple(targets.heatmap.shape) == (1, 1, 40, 40)
        if targets.present.sum() == 0:
            continue
        seen_objects += 1
        cell = int(targets.cells[0, 0])
        centre_x = (cell % 40 + float(targets.offsets[0, 0, 0])) * 4
        centre_y = (cell // 40 + float(targets.offsets[0, 0, 1])) * 4
        width, height = (float(size) * 4 for size in np.exp(targets.log_sizes[0, 0].numpy()))
        left, top = round(centre_x - width / 2), round(centre_y - height / 2)
        right, bottom = round(centre_x + width / 2), round(centre_y + height / 2)
        square = inputs[0, 0, top:bottom, left:right]
        assert float(square.min()) > float(inputs[0, 0].min())  # the box covers the (jittered) white square
        assert float(inputs[0, 0, top:bottom, left:right].mean()) == pytest.approx(float(square.max()), rel=1e-5)
    assert seen_objects >= 3


def test_jittered_boxes_stay_near_the_original() -> None:
    boxes = np.tile([[10.0, 20.0, 40.0, 30.0]], (2000, 1))
    jittered = jitter_boxes(boxes, np.random.default_rng(0))
    centres = jittered[:, :2] + jittered[:, 2:] / 2
    assert np.all(np.abs(centres - [30.0, 35.0]) <= [4.0 + 1e-9, 3.0 + 1e-9])
    assert np.all((jittered[:, 2:] >= [34.0 - 1e-9, 25.5 - 1e-9]) & (jittered[:, 2:] <= [48.0 + 1e-9, 36.0 + 1e-9]))
    assert np.std(jittered[:, 2]) > 1.0


def test_crop_batches_label_each_crop_with_its_colour(toy: DatasetRegistry) -> None:
    dataset = toy.load("toy")
    objects = labelled_boxes(dataset, COLOURS, attribute="colour", threads=1)
    spec = InputSpec(name="crops", height=32, width=32)
    batches = list(CropBatches(objects, spec=spec, batch_size=4, seed=0).epoch())

    labels = torch.cat([labels for _, labels in batches])
    assert sorted(COLOURS[int(label)] for label in labels) == sorted(dataset.annotations.attributes["colour"])
    assert tuple(batches[0][0].shape) == (min(4, len(objects)), 3, 32, 32)
    assert len(objects.pictures) == len(set(dataset.annotations.image_ids.tolist()))


def test_a_colour_outside_the_model_classes_is_refused(toy: DatasetRegistry) -> None:
    with pytest.raises(DatasetError, match=r"data set toy: colour values \[.*\] are not among the model's classes "
                                           r"\(red, blue\); fix: train on a data set with these colour values"):
        labelled_boxes(toy.load("toy"), ("red", "blue"), attribute="colour", threads=1)
