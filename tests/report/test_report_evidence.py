"""Contact sheets: which objects, in which order, how many, and what the picture holds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import report_scenes as scenes
from PIL import Image

from visionspec.datasets.tables import AnnotationTable, frozen_array
from visionspec.detections import Detections
from visionspec.errors import DatasetError
from visionspec.report.evidence import (
    GROUND_TRUTH_COLOUR,
    PREDICTION_COLOUR,
    Focus,
    contact_sheet,
    false_alarm_tiles,
    mislabelled_tiles,
    miss_tiles,
)

HEADER_HEIGHT = 58
CELL_HEIGHT = 160 + 3 + 2 * 15 + 2  # tile, then two caption lines


@pytest.fixture
def images(tmp_path: Path) -> dict[int, Path]:
    return scenes.write_images(tmp_path / "images")


def test_misses_are_ordered_largest_first_with_captions(images: dict[int, Path]) -> None:
    ground_truth, detections = scenes.annotations(), scenes.detections()
    missed = np.array([False, False, True, True, True])

    tile_set = miss_tiles(ground_truth, missed, detections, images.__getitem__, attribute="colour",
                          title="Missed balloons")

    assert [tile.caption for tile in tile_set.tiles] == [
        ("image 2 · green", "40 x 52 px · best IoU 0.37"),
        ("image 4 · red", "20 x 28 px · no box overlaps"),
        ("image 2 · yellow", "12 x 16 px · no box overlaps"),
    ]
    assert [tile.focus for tile in tile_set.tiles] == [(100, 10, 40, 52), (5, 70, 20, 28), (50, 40, 12, 16)]
    assert all(tile.focus_kind is Focus.GROUND_TRUTH for tile in tile_set.tiles)
    assert tile_set.tiles[0].image_path == images[2]
    assert tile_set.tiles[0].ground_truth.shape == (2, 4)  # the other balloon of image 2 is drawn too
    assert tile_set.tiles[0].predictions.shape == (1, 4)
    assert tile_set.heading == "Missed balloons: 3 (all shown, largest first)"


def test_false_alarms_are_ordered_most_confident_first(images: dict[int, Path]) -> None:
    ground_truth, detections = scenes.annotations(), scenes.detections()
    false_alarm = np.array([False, False, True, True, True])

    tile_set = false_alarm_tiles(detections, false_alarm, ground_truth, images.__getitem__,
                                 labels=["red", "blue", "green", "orange", "green"])

    assert [tile.caption for tile in tile_set.tiles] == [
        ("image 3 · score 0.88 · orange", "no object in image"),
        ("image 2 · score 0.64 · green", "best IoU 0.37"),
        ("image 4 · score 0.41 · green", "overlaps no object"),
    ]
    assert all(tile.focus_kind is Focus.PREDICTION for tile in tile_set.tiles)
    assert tile_set.heading == "False alarms: 3 (all shown, most confident first)"


def test_a_wrong_report_names_what_the_object_truly_is(images: dict[int, Path]) -> None:
    ground_truth, detections = scenes.annotations(), scenes.detections()
    tile_set = false_alarm_tiles(detections, np.array([False, False, True, False, False]), ground_truth,
                                 images.__getitem__, labels=["red"] * 5, class_names={1: "balloon"},
                                 attribute="colour")
    assert [tile.caption for tile in tile_set.tiles] == [
        ("image 2 · score 0.64 · red", "IoU 0.37 with a green balloon")]


def test_misread_objects_are_ordered_most_confident_first(images: dict[int, Path]) -> None:
    ground_truth = scenes.annotations()
    misread = np.array([True, False, False, False, True])
    colours = list(ground_truth.attributes["colour"])

    tile_set = mislabelled_tiles(ground_truth, misread, colours, ["orange", "blue", "yellow", "green", "purple"],
                                 np.array([0.55, 0.9, 0.8, 0.7, 0.93]), images.__getitem__, title="Wrong colour")

    assert [tile.caption for tile in tile_set.tiles] == [
        ("image 4", "red read as purple (93%)"),
        ("image 1", "red read as orange (55%)"),
    ]


def test_the_cap_keeps_the_worst_and_counts_the_rest(tmp_path: Path) -> None:
    image = tmp_path / "one.png"
    Image.new("RGB", (400, 300), (135, 190, 235)).save(image)
    sizes = np.arange(10, 40)  # 30 objects; the largest are the worst misses
    ground_truth = _objects(np.array([[5.0 + s, 5.0, s, s] for s in sizes]))

    tile_set = miss_tiles(ground_truth, np.ones(30, dtype=bool), Detections.empty(), lambda _: image)
    sheet = contact_sheet(tile_set)

    assert len(tile_set.tiles) == 24
    assert tile_set.total == 30
    assert [tile.focus[2] for tile in tile_set.tiles] == list(range(39, 15, -1))
    assert tile_set.heading == "Missed objects: 30 (24 shown, largest first)"
    assert (sheet.width, sheet.height) == (6 * 168 + 8, HEADER_HEIGHT + 4 * (CELL_HEIGHT + 8))
    assert sheet.media_type == "image/jpeg"
    assert Image.open(io.BytesIO(sheet.data)).size == (sheet.width, sheet.height)


def test_sheet_draws_ground_truth_green_and_predictions_orange(images: dict[int, Path]) -> None:
    ground_truth, detections = scenes.annotations(), scenes.detections()
    tile_set = miss_tiles(ground_truth, np.array([False, False, False, True, False]), detections, images.__getitem__)

    sheet = contact_sheet(tile_set, picture_format="png")
    pixels = np.asarray(Image.open(io.BytesIO(sheet.data)).convert("RGB"))
    tile = pixels[HEADER_HEIGHT : HEADER_HEIGHT + 160, 8 : 8 + 160].reshape(-1, 3)

    assert sheet.media_type == "image/png"
    assert (tile == GROUND_TRUTH_COLOUR).all(axis=1).sum() > 200
    assert (tile == PREDICTION_COLOUR).all(axis=1).sum() > 100


def test_sheet_decodes_each_image_once(images: dict[int, Path]) -> None:
    opened: list[Path] = []

    def opener(path: Path) -> Image.Image:
        opened.append(path)
        return Image.open(path).convert("RGB")

    tile_set = miss_tiles(scenes.annotations(), np.ones(5, dtype=bool), scenes.detections(), images.__getitem__)
    contact_sheet(tile_set, open_image=opener)

    assert sorted(opened) == [images[1], images[2], images[4]]


def test_an_object_at_the_edge_is_padded_grey_not_black(tmp_path: Path) -> None:
    image = tmp_path / "strip.png"  # a wide strip: the square crop around the object sticks out above and below
    Image.new("RGB", (80, 20), (255, 255, 255)).save(image)
    ground_truth = _objects(np.array([[0.0, 0.0, 20.0, 20.0]]))

    sheet = contact_sheet(miss_tiles(ground_truth, np.array([True]), Detections.empty(), lambda _: image),
                          picture_format="png")
    pixels = np.asarray(Image.open(io.BytesIO(sheet.data)).convert("RGB"))

    assert tuple(pixels[HEADER_HEIGHT + 150, 8 + 80]) == (110, 110, 110)  # below the image: padding
    assert tuple(pixels[HEADER_HEIGHT + 80, 8 + 140]) == (255, 255, 255)  # inside the image


def test_no_objects_gives_a_sheet_that_says_none(images: dict[int, Path]) -> None:
    tile_set = miss_tiles(scenes.annotations(), np.zeros(5, dtype=bool), scenes.detections(), images.__getitem__)

    sheet = contact_sheet(tile_set)

    assert tile_set.heading == "Missed objects: none"
    assert sheet.height == HEADER_HEIGHT


def test_a_missing_image_is_a_dataset_error_naming_it(tmp_path: Path) -> None:
    ground_truth = _objects(np.array([[1.0, 1.0, 5.0, 5.0]]))
    missing = tmp_path / "images" / "000017.jpg"

    with pytest.raises(DatasetError, match=r"000017\.jpg: image file not found"):
        contact_sheet(miss_tiles(ground_truth, np.array([True]), Detections.empty(), lambda _: missing))


def test_a_mask_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match=r"missed has shape \(4,\), expected \(5,\)"):
        miss_tiles(scenes.annotations(), np.ones(4, dtype=bool), scenes.detections(), lambda _: Path("x"))


def test_an_unknown_attribute_is_refused() -> None:
    with pytest.raises(ValueError, match="no attribute 'shape'; the annotations have \\['colour'\\]"):
        miss_tiles(scenes.annotations(), np.ones(5, dtype=bool), scenes.detections(), lambda _: Path("x"),
                   attribute="shape")


def _objects(boxes: np.ndarray) -> AnnotationTable:
    count = len(boxes)
    return AnnotationTable(
        ids=frozen_array(range(1, count + 1), np.int64),
        image_ids=frozen_array([1] * count, np.int64),
        category_ids=frozen_array([1] * count, np.int64),
        boxes=frozen_array(boxes, np.float64),
        areas=frozen_array(boxes[:, 2] * boxes[:, 3], np.float64),
        iscrowd=frozen_array([False] * count, np.bool_),
    )
