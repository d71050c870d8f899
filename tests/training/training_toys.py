"""Tiny balloon data sets drawn in ``tmp_path`` for the training tests: coloured ellipses on plain skies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from visionspec.datasets import spec_from_dict, write_dataset

PAINT = {
    "red": (220, 30, 30), "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 180, 60),
    "blue": (40, 80, 220), "purple": (130, 50, 170), "pink": (240, 130, 190), "white": (245, 245, 245),
}


def toy_dataset(root: Path, dataset_id: str, *, images: int, seed: int, size: tuple[int, int] = (96, 80)) -> Path:
    """Write ``root/<dataset_id>``: ``images`` pictures with 0-2 balloons each; returns the folder.

    Every picture with an odd index holds at least one balloon; boxes are the ellipses' bounding boxes.
    """
    rng = np.random.default_rng(seed)
    folder = root / dataset_id
    (folder / "images").mkdir(parents=True, exist_ok=True)
    width, height = size
    coco: dict[str, Any] = {"images": [], "categories": [{"id": 1, "name": "balloon"}], "annotations": []}
    for index in range(images):
        picture = Image.new("RGB", size, tuple(int(v) for v in rng.integers(90, 200, 3)))
        draw = ImageDraw.Draw(picture)
        for _ in range(int(rng.integers(index % 2, 3))):
            box_w = float(rng.uniform(10, 30))
            box_h = box_w * 1.2
            x, y = float(rng.uniform(0, width - box_w)), float(rng.uniform(0, height - box_h))
            colour = list(PAINT)[int(rng.integers(0, len(PAINT)))]
            draw.ellipse([x, y, x + box_w, y + box_h], fill=PAINT[colour])
            coco["annotations"].append({
                "id": len(coco["annotations"]) + 1, "image_id": index + 1, "category_id": 1,
                "bbox": [x, y, box_w, box_h],
                "attributes": {"colour": colour, "size": "small" if box_w * box_h < 32 * 32 else "medium",
                               "occluded": "no"},
            })
        name = f"{index:04d}.png"
        picture.save(folder / "images" / name)
        coco["images"].append({"id": index + 1, "file_name": name, "width": width, "height": height})
    spec = spec_from_dict({
        "id": dataset_id, "title": "toy balloons", "description": "drawn by the training tests",
        "source": {"kind": "coco", "path": "drawn"}, "classes": ["balloon"],
        "attributes": {"colour": list(PAINT), "size": ["small", "medium", "large"], "occluded": ["yes", "no"]},
    }, source="training_toys")
    write_dataset(folder, spec, coco, expect_as_found=True)
    return folder
