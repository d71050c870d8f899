"""Small fixtures for the data set tests, generated in ``tmp_path`` (shared by the test modules here)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from PIL import Image

from visionspec.datasets import DatasetSpec, spec_from_dict, write_dataset

COLOURS = ("red", "blue", "green")


def make_image(path: Path, size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    """An RGB image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def tiny_coco(images: int = 4, size: tuple[int, int] = (32, 24)) -> dict[str, Any]:
    """COCO data: ``images`` images, objects on the first two (a red and a blue balloon, one green on image 1)."""
    width, height = size
    return {
        "images": [{"id": i + 1, "file_name": f"img{i}.png", "width": width, "height": height} for i in range(images)],
        "categories": [{"id": 1, "name": "balloon"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 5], "attributes": {"colour": "red"}},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [12, 2, 8, 8], "attributes": {"colour": "green"}},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0.5, 0, 31.5, 24], "attributes": {"colour": "blue"}},
        ],
    }


def tiny_spec(dataset_id: str = "tiny", **overrides: Any) -> DatasetSpec:
    """A definition matching ``tiny_coco``."""
    data: dict[str, Any] = {
        "id": dataset_id,
        "title": "Tiny",
        "description": "test",
        "source": {"kind": "coco", "path": "made-up.json"},
        "classes": ["balloon"],
        "attributes": {"colour": list(COLOURS)},
    }
    data.update(overrides)
    return spec_from_dict(data, source="tiny_spec")


def write_coco(path: Path, coco: dict[str, Any]) -> Path:
    """Write ``coco`` as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path


def make_dataset(root: Path, dataset_id: str = "tiny", coco: dict[str, Any] | None = None) -> Path:
    """A built, verified-consistent data set ``root/<dataset_id>`` from ``tiny_coco``; returns its folder."""
    coco = copy.deepcopy(coco or tiny_coco())
    folder = root / dataset_id
    for image in coco["images"]:
        make_image(folder / "images" / image["file_name"], (image["width"], image["height"]),
                   (image["id"] * 20 % 256, 40, 90))
    write_dataset(folder, tiny_spec(dataset_id), coco, expect_as_found=True)
    return folder
