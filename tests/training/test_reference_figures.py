"""The product's figures of the reference models, on a hand-made data set with hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from visionspec.datasets import DatasetRegistry, spec_from_dict, write_dataset
from visionspec.datasets.dataset import Dataset
from visionspec.detections import Detections
from visionspec.training.figures import chain_figures, colour_figures, detector_figures

COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white"]


@pytest.fixture(scope="module")
def balloons(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Picture 1: red A and blue B (small); picture 2: red C (medium, occluded); pictures 3 and 4: none."""
    root = tmp_path_factory.mktemp("datasets")
    folder = root / "hand"
    (folder / "images").mkdir(parents=True)
    for index in range(1, 5):
        Image.new("RGB", (64, 64), (100, 150, 220)).save(folder / "images" / f"{index}.png")

    def balloon(ann_id: int, image_id: int, box: list[float], colour: str, size: str, occluded: str) -> dict:
        return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": box,
                "attributes": {"colour": colour, "size": size, "occluded": occluded, "truncated": "no"}}

    coco = {
        "images": [{"id": i, "file_name": f"{i}.png", "width": 64, "height": 64} for i in range(1, 5)],
        "categories": [{"id": 1, "name": "balloon"}],
        "annotations": [
            balloon(1, 1, [10, 10, 20, 24], "red", "small", "no"),
            balloon(2, 1, [35, 30, 20, 24], "blue", "small", "no"),
            balloon(3, 2, [5, 5, 30, 36], "red", "medium", "yes"),
        ],
    }
    spec = spec_from_dict({
        "id": "hand", "title": "hand-made", "description": "figures test", "source": {"kind": "coco", "path": "x"},
        "classes": ["balloon"],
        "attributes": {"colour": COLOURS, "size": ["small", "medium", "large"], "occluded": ["yes", "no"],
                       "truncated": ["yes", "no"]},
    }, source="test")
    write_dataset(folder, spec, coco, expect_as_found=True)
    return DatasetRegistry(root).load("hand")


# A and B exactly; C's box shifted away (IoU < 0.5); a false alarm on picture 3; a weak box on picture 4
DETECTIONS = Detections.build(
    image_ids=[1, 1, 2, 3, 4],
    category_ids=[1, 1, 1, 1, 1],
    boxes=[[10, 10, 20, 24], [35, 30, 20, 24], [25, 25, 30, 36], [0, 0, 10, 10], [5, 5, 10, 10]],
    scores=[0.9, 0.8, 0.7, 0.6, 0.1],
)


def test_detector_figures(balloons: Dataset) -> None:
    figures = detector_figures(balloons, DETECTIONS, score=0.5)

    assert figures == {
        "ap50": pytest.approx(67 / 101),  # precision 1 up to recall 2/3: 67 of the 101 recall points
        "recall": pytest.approx(2 / 3),
        "recall_small": 1.0,
        "recall_occluded": 0.0,
        "recall_truncated": None,  # no truncated balloon
        "false_alarm_images": 0.5,  # picture 3; picture 4's box is under the threshold
    }


def test_colour_figures() -> None:
    figures = colour_figures(["red", "red", "blue", "green"], ["red", "orange", "red", "green"], COLOURS)

    assert figures == {"accuracy": 0.5, "red_recall": 0.5, "non_red_called_red": 0.5}


def test_chain_figures(balloons: Dataset) -> None:
    # A found; B (blue) called red; C's detection matches nothing; the false alarm called red; the weak box ignored
    colours = np.array(["red", "red", "red", "red", "red"])

    figures = chain_figures(balloons, DETECTIONS, colours, score=0.5)

    assert figures == {"red_found": 1.0, "red_objects": 2.0, "red_wrong_reports": 3.0}


def test_chain_figures_blame_the_colour_model_too(balloons: Dataset) -> None:
    colours = np.array(["orange", "blue", "red", "white", "red"])

    figures = chain_figures(balloons, DETECTIONS, colours, score=0.5)

    assert figures == {"red_found": 0.0, "red_objects": 2.0, "red_wrong_reports": 1.0}


def test_empty_paths(balloons: Dataset) -> None:
    none = Detections.empty()
    assert detector_figures(balloons, none, score=0.5)["recall"] == 0.0
    assert chain_figures(balloons, none, np.array([], dtype=np.str_), score=0.5)["red_found"] == 0.0
