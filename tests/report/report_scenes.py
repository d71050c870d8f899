"""Small balloon pictures with known boxes, for the report tests (no data set build needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from visionspec.datasets.tables import AnnotationTable, frozen_array
from visionspec.detections import Detections

COLOURS = {"red": (220, 30, 40), "blue": (40, 80, 220), "yellow": (240, 210, 40), "green": (40, 170, 60)}

# (image id, x, y, w, h, colour) of every annotated balloon; image 3 has none (a look-alike sun).
BALLOONS = [
    (1, 20.0, 20.0, 30.0, 40.0, "red"),
    (1, 90.0, 30.0, 24.0, 32.0, "blue"),
    (2, 50.0, 40.0, 12.0, 16.0, "yellow"),
    (2, 100.0, 10.0, 40.0, 52.0, "green"),
    (4, 5.0, 70.0, 20.0, 28.0, "red"),
]
IMAGE_IDS = (1, 2, 3, 4)
SIZE = (160, 120)


def write_images(folder: Path) -> dict[int, Path]:
    """Draw every image of the scene as a JPEG under ``folder``; return id -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for image_id in IMAGE_IDS:
        image = Image.new("RGB", SIZE, (135, 190, 235))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 95, SIZE[0], SIZE[1]), fill=(90, 150, 70))
        if image_id == 3:
            draw.ellipse((60, 20, 100, 60), fill=(250, 120, 20))  # the sun: a look-alike
        for owner, x, y, w, h, colour in BALLOONS:
            if owner == image_id:
                draw.ellipse((x, y, x + w, y + h * 0.85), fill=COLOURS[colour])
                draw.line((x + w / 2, y + h * 0.85, x + w / 2, y + h), fill=(60, 60, 60))
        path = folder / f"{image_id:03d}.jpg"
        image.save(path, quality=92)
        paths[image_id] = path
    return paths


def annotations() -> AnnotationTable:
    """The balloons as an annotation table with a ``colour`` attribute."""
    boxes = np.array([b[1:5] for b in BALLOONS])
    return AnnotationTable(
        ids=frozen_array(range(1, len(BALLOONS) + 1), np.int64),
        image_ids=frozen_array([b[0] for b in BALLOONS], np.int64),
        category_ids=frozen_array([1] * len(BALLOONS), np.int64),
        boxes=frozen_array(boxes, np.float64),
        areas=frozen_array(boxes[:, 2] * boxes[:, 3], np.float64),
        iscrowd=frozen_array([False] * len(BALLOONS), np.bool_),
        attributes={"colour": frozen_array([b[5] for b in BALLOONS], np.str_)},
    )


def detections() -> Detections:
    """A detector's output: finds the red and blue balloons of image 1, a shifted box on image 2's green one,
    the sun of image 3 and a patch of grass on image 4."""
    return Detections.build(
        image_ids=[1, 1, 2, 3, 4],
        category_ids=[1, 1, 1, 1, 1],
        boxes=[[21, 21, 29, 39], [90, 31, 24, 31], [112, 22, 40, 52], [60, 20, 40, 40], [60, 96, 30, 20]],
        scores=[0.97, 0.91, 0.64, 0.88, 0.41],
    )
