"""``Dataset``: filters, slices and ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasets_testkit import make_dataset

from visionspec.datasets import Dataset, DatasetRegistry
from visionspec.errors import DatasetError


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    make_dataset(tmp_path)
    return DatasetRegistry(tmp_path).load("tiny")


def test_images_without_objects(dataset: Dataset) -> None:
    assert dataset.images_without_objects().tolist() == [False, False, True, True]
    assert dataset.objects_per_image().tolist() == [2, 1, 0, 0]


def test_objects_where(dataset: Dataset) -> None:
    assert dataset.objects_where(colour="red").tolist() == [True, False, False]
    assert dataset.objects_where(colour="green", category="balloon").tolist() == [False, True, False]
    assert dataset.objects_where().tolist() == [True, True, True]


def test_objects_where_unknown_attribute_lists_the_declared(dataset: Dataset) -> None:
    with pytest.raises(DatasetError, match=r"data set tiny: no attribute 'shape'; fix: use one of colour, or category"):
        dataset.objects_where(shape="round")


def test_objects_where_unknown_value_lists_the_declared(dataset: Dataset) -> None:
    with pytest.raises(DatasetError, match=r"colour 'mauve' is not a declared value; fix: use one of red, blue, green"):
        dataset.objects_where(colour="mauve")


def test_category_id(dataset: Dataset) -> None:
    assert dataset.category_id("balloon") == 1
    with pytest.raises(DatasetError, match=r"data set tiny: no class 'kite'; fix: use one of balloon"):
        dataset.category_id("kite")


def test_select_images_keeps_their_objects(dataset: Dataset) -> None:
    second = dataset.select_images(np.array([False, True, False, True]))
    assert second.images.ids.tolist() == [2, 4]
    assert second.images.file_names == ("img1.png", "img3.png")
    assert second.annotations.ids.tolist() == [3]
    assert second.annotations.attributes["colour"].tolist() == ["blue"]
    assert second.image_path(0) == dataset.image_path(1)
    assert second.digest != dataset.digest
    assert dataset.select_images(np.array([False, True, False, True])).digest == second.digest
    assert len(dataset.images) == 4 and len(dataset.annotations) == 3  # the original is untouched


def test_select_images_without_objects(dataset: Dataset) -> None:
    empty = dataset.select_images(dataset.images_without_objects())
    assert empty.images.ids.tolist() == [3, 4] and len(empty.annotations) == 0
    assert empty.images_without_objects().tolist() == [True, True]


def test_select_all_is_the_same_data_set(dataset: Dataset) -> None:
    assert dataset.select_images(np.ones(4, dtype=bool)) is dataset


def test_select_images_refuses_a_wrong_mask(dataset: Dataset) -> None:
    with pytest.raises(DatasetError, match=r"select_images needs a boolean mask of shape \(4,\), got int64 \(2,\)"):
        dataset.select_images(np.array([1, 2]))


def test_arrays_are_read_only(dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="read-only"):
        dataset.images_without_objects()[0] = True
    with pytest.raises(ValueError, match="read-only"):
        dataset.annotations.attributes["colour"][0] = "blue"
