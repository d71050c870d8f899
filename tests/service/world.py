"""The tiny world of tests/steps/tiny_world.py with every picture's bytes distinct.

The service's answers are cached by picture digest, and the tiny world has two distinct pictures (bright
and dark grey); here each picture gets one corner pixel of its own, far from the balloon, so that each is
uploaded (a service can die half-way through) and every figure stays that of the tiny world.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from PIL import Image
from tests.steps.tiny_world import write_project

from visionspec.datasets.registry import DatasetRegistry
from visionspec.datasets.writer import write_dataset


def write_distinct_project(path: Path) -> None:
    write_project(path)
    registry = DatasetRegistry(path / "datasets")
    folder = registry.folder("tiny")
    coco = json.loads((folder / "annotations.json").read_text(encoding="utf-8"))
    for row, image in enumerate(coco["images"]):
        picture_path = folder / "images" / image["file_name"]
        with Image.open(picture_path) as opened:
            picture = opened.convert("RGB")
        picture.putpixel((63, 63), (row, row, row))
        picture.save(picture_path)
        image.pop("sha256", None)
    write_dataset(folder, dataclasses.replace(registry.spec("tiny"), manifest=None), coco, expect_as_found=True)
