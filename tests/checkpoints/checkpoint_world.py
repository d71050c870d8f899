"""A tiny world with three detector checkpoints that get better, for testing sequences, trends and flips.

Twenty uniform grey 64 x 64 pictures. Pictures 0-9 hold one balloon at [8, 8, 16, 16] (even rows red,
odd rows blue), grey level 105 + 15 * row (brightness 0.41 to 0.94). Pictures 10-19 hold none, grey
level 10 + 9 * (row - 10) (brightness 0.04 to 0.36). Every detector reports one box, exactly on the
balloon, with a score that is a straight line in the picture's brightness b (card threshold 0.5):

- epoch-1: 0.6 b        -> finds balloons 8 and 9 (b >= 0.83); no false alarm;
- epoch-2: 1 - 0.75 b   -> finds balloons 0-4 (b <= 0.67) and raises a false alarm on all 10 empty pictures;
- epoch-10: 0.3 + 0.5 b -> finds all 10 balloons; no false alarm.

So epoch-2 against epoch-1: 5 newly found (0-4), 2 newly missed (8, 9), 10 new false alarms; recall
20% -> 50%; red 1 of 5 -> 3 of 5, blue 1 of 5 -> 2 of 5. epoch-10 against epoch-2: 5 newly found
(5-9), none newly missed, 10 false alarms gone. Box mAP@.50: 1.0, lower, 1.0 (epoch-2 ranks its
false alarms above the balloons).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tests.runtime.runtime_models import bsl_plan, build_model, write_card

from visionspec.datasets.spec import spec_from_dict
from visionspec.datasets.writer import write_dataset

ROOT = Path(__file__).resolve().parents[2]
SIZE = 64
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white"]
# (name, constant, brightness coefficient) of each detector checkpoint's score
DETECTORS = (("epoch-1", 0.0, 0.6), ("epoch-2", 1.0, -0.75), ("epoch-10", 0.3, 0.5))

GOALS = """
Feature: Tiny balloons, checkpoint by checkpoint

  Scenario: Enough balloons are found
    Given data set "steps"
    And the candidate detector
    When the detector ingests the images
    Then it should find at least 8 balloons

  Scenario: Few false alarms
    Given data set "steps"
    And the candidate detector
    And only the images without balloons
    When the detector ingests the images
    Then at most 10% of the images without balloons contain a detection
"""

BASELINE_GOALS = """
Feature: Tiny balloons against the previous checkpoint

  Background:
    Given data set "steps"
    And the candidate detector
    And the previous checkpoint as the baseline

  Scenario: Recall does not drop
    When the detector ingests the images
    Then the recall should not drop by more than 1 point against the baseline
    And no colour should lose more than 2 points of recall against the baseline

  Scenario: mAP improves
    When the detector ingests the images
    Then the box mAP@.50 should improve on the baseline
"""


def grey_level(row: int) -> int:
    """The grey level of picture ``row``: balloons bright, empty pictures dark."""
    return 105 + 15 * row if row < 10 else 10 + 9 * (row - 10)


def write_dataset_steps(datasets: Path, dataset_id: str = "steps") -> Path:
    folder = datasets / dataset_id
    (folder / "images").mkdir(parents=True)
    images, annotations = [], []
    for row in range(20):
        level = grey_level(row)
        name = f"{row:02d}.png"
        Image.new("RGB", (SIZE, SIZE), (level, level, level)).save(folder / "images" / name)
        images.append({"id": row + 1, "file_name": name, "width": SIZE, "height": SIZE})
        if row < 10:
            annotations.append({
                "id": row + 1, "image_id": row + 1, "category_id": 1, "bbox": [8, 8, 16, 16], "area": 256,
                "iscrowd": 0, "attributes": {"colour": "red" if row % 2 == 0 else "blue"},
            })
    spec = spec_from_dict({
        "id": dataset_id, "title": "Steps", "description": "checkpoint test world",
        "source": {"kind": "coco", "path": "annotations.json"}, "classes": ["balloon"],
        "attributes": {"colour": COLOURS},
    }, source=str(folder / "dataset.yaml"))
    coco = {"images": images, "categories": [{"id": 1, "name": "balloon"}], "annotations": annotations}
    write_dataset(folder, spec, coco, expect_as_found=True)
    return folder


def write_detector(path: Path, constant: float, coefficient: float) -> Path:
    """One detector checkpoint: one box on the balloon, score ``constant + coefficient * brightness``."""
    plan = bsl_plan([[8, 8, 24, 24]], [constant], [0], height=SIZE, width=SIZE, score_coefficient=coefficient)
    return build_model(plan, path)


def write_models(models: Path) -> Path:
    """The detector card and its three checkpoints; the colour card with one checkpoint. Returns the checkpoints."""
    detector = models / "balloon-detector"
    write_card(detector, {
        "name": "balloon-detector", "task": "detection", "classes": ["balloon"],
        "input": {"name": "images", "size": [SIZE, SIZE]},
        "output": {"adapter": "boxes_scores_labels"}, "score_threshold": 0.5,
    })
    checkpoints = detector / "checkpoints"
    checkpoints.mkdir()
    for name, constant, coefficient in DETECTORS:
        write_detector(checkpoints / f"{name}.onnx", constant, coefficient)
    colour = models / "balloon-colour"
    write_card(colour, {
        "name": "balloon-colour", "task": "classification", "classes": COLOURS,
        "input": {"name": "crops", "size": [16, 16]}, "output": {"adapter": "logits"},
    })
    (colour / "checkpoints").mkdir()
    from tests.runtime.runtime_models import ModelPlan, OutputPlan

    build_model(ModelPlan(input_name="crops", input_shape=("batch", 3, 16, 16),
                          outputs=[OutputPlan("logits", ("batch", len(COLOURS)), np.zeros(len(COLOURS), np.float32))]),
                colour / "checkpoints" / "epoch-1.onnx")
    return checkpoints


def write_project(path: Path, *, baseline_goals: bool = True) -> Path:
    """A project folder: goals, data set, models (the installed plugin does the rest); returns checkpoints."""
    (path / "features").mkdir(exist_ok=True)
    (path / "features" / "goals.feature").write_text(GOALS, encoding="utf-8")
    if baseline_goals:
        (path / "features" / "baseline.feature").write_text(BASELINE_GOALS, encoding="utf-8")
    write_dataset_steps(path / "datasets")
    return write_models(path / "models")
