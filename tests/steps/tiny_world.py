"""A tiny, fully known world for testing the step library end to end with pytester.

Twenty uniform grey 64 x 64 pictures. Pictures 0-9 hold one annotated balloon at [8, 8, 16, 16]
(0-4 red, 5-9 blue); pictures 10-19 hold none. Bright pictures (grey 200) are 0-7 and 10-11; the
others are dark (grey 20).

The constant detector reports one box, exactly on the balloon, with a score equal to the picture's
brightness (0.78 bright, 0.08 dark; the card's threshold is 0.5). So at the card's threshold it finds
8 of the 10 balloons (8 and 9 are missed) and raises false alarms on 2 of the 10 pictures without
balloons (10 and 11). The colour model calls bright crops red and dark crops blue, so the chain finds
5 of 5 red balloons, and of its 10 red reports 5 are not red balloons (5-7 are blue, 10-11 are empty).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tests.runtime.runtime_models import ModelPlan, OutputPlan, bsl_plan, build_model, write_card

from visionspec.datasets.spec import spec_from_dict
from visionspec.datasets.writer import write_dataset

ROOT = Path(__file__).resolve().parents[2]
SIZE = 64
BRIGHT, DARK = 200, 20
BRIGHT_ROWS = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11}
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white"]


def write_tiny_dataset(datasets: Path, dataset_id: str = "tiny") -> Path:
    folder = datasets / dataset_id
    (folder / "images").mkdir(parents=True)
    images, annotations = [], []
    for row in range(20):
        level = BRIGHT if row in BRIGHT_ROWS else DARK
        name = f"{row:02d}.png"
        Image.new("RGB", (SIZE, SIZE), (level, level, level)).save(folder / "images" / name)
        images.append({"id": row + 1, "file_name": name, "width": SIZE, "height": SIZE})
        if row < 10:
            colour = "red" if row < 5 else "blue"
            annotations.append({
                "id": row + 1, "image_id": row + 1, "category_id": 1, "bbox": [8, 8, 16, 16], "area": 256,
                "iscrowd": 0, "attributes": {"colour": colour, "size": "small"},
            })
    spec = spec_from_dict({
        "id": dataset_id, "title": "Tiny", "description": "step-library test world",
        "source": {"kind": "coco", "path": "annotations.json"}, "classes": ["balloon"],
        "attributes": {"colour": COLOURS, "size": ["small", "medium", "large"]},
    }, source=str(folder / "dataset.yaml"))
    coco = {"images": images, "categories": [{"id": 1, "name": "balloon"}], "annotations": annotations}
    write_dataset(folder, spec, coco, expect_as_found=True)
    return folder


def write_tiny_models(models: Path) -> None:
    detector = models / "balloon-detector"
    write_card(detector, {
        "name": "balloon-detector", "task": "detection", "classes": ["balloon"],
        "input": {"name": "images", "size": [SIZE, SIZE]},
        "output": {"adapter": "boxes_scores_labels"}, "score_threshold": 0.5,
    })
    (detector / "checkpoints").mkdir()
    plan = bsl_plan([[8, 8, 24, 24]], [0.0], [0], height=SIZE, width=SIZE, score_coefficient=1.0)
    build_model(plan, detector / "checkpoints" / "epoch-01.onnx")
    colour = models / "balloon-colour"
    write_card(colour, {
        "name": "balloon-colour", "task": "classification", "classes": COLOURS,
        "input": {"name": "crops", "size": [16, 16]}, "output": {"adapter": "logits"},
    })
    (colour / "checkpoints").mkdir()
    # logits: red = 10 * brightness, blue = 4 (so bright crops are red, dark ones blue)
    constant = np.zeros(len(COLOURS), np.float32)
    constant[COLOURS.index("blue")] = 4.0
    coefficient = np.zeros(len(COLOURS), np.float32)
    coefficient[COLOURS.index("red")] = 10.0
    build_model(ModelPlan(input_name="crops", input_shape=("batch", 3, 16, 16),
                          outputs=[OutputPlan("logits", ("batch", len(COLOURS)), constant, coefficient)]),
                colour / "checkpoints" / "epoch-01.onnx")


def write_project(path: Path) -> None:
    """A project folder as a team has it: features, data sets, models; the installed plugin does the rest."""
    (path / "features").mkdir(exist_ok=True)
    write_tiny_dataset(path / "datasets")
    write_tiny_models(path / "models")
