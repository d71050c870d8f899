"""A COCO annotation file and its images into a data set: validate, check sizes, copy.

SRC is the annotation file; the ``file_name`` of its images are relative to SRC's folder, or to
``--images``. Ids, categories, attributes and any other keys (``segmentation``, ``info``) are kept as
they are. Every image is decoded: its EXIF-upright size must equal the annotated ``width`` and
``height``. Attributes are declared as the values found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from visionspec.datasets.coco import read_coco
from visionspec.datasets.importers.common import Conversion, measure_images
from visionspec.errors import DatasetError


def convert(source: Path, images: Path | None = None, *, workers: int | None = None) -> Conversion:
    """Read the COCO file ``source`` with its images (under ``images`` or ``source``'s folder)."""
    coco = read_coco(source)
    images_folder = images or source.parent
    paths = [images_folder / name for name in coco.images.file_names]
    sizes = measure_images(paths, workers=workers)
    for row, (width, height) in enumerate(sizes):
        annotated = (int(coco.images.widths[row]), int(coco.images.heights[row]))
        if annotated != (width, height):
            raise DatasetError(f"{source}: images[{row}] (id {coco.images.ids[row]}, file_name "
                               f"{coco.images.file_names[row]!r}) says {annotated[0]}x{annotated[1]} but the file is "
                               f"{width}x{height} (after EXIF rotation); fix: correct width and height, or the image's "
                               "EXIF orientation")
    data: dict[str, Any] = json.loads(source.read_bytes())
    # The copies are hashed afresh: a sha256 carried over from elsewhere proves nothing about them.
    data["images"] = [{key: value for key, value in image.items() if key != "sha256"} for image in data["images"]]
    attributes = {
        name: tuple(sorted(set(column.tolist()) - {""})) for name, column in coco.annotations.attributes.items()
    }
    return Conversion(
        coco=data,
        sources=tuple(paths),
        classes=tuple(category.name for category in coco.categories),
        attributes=attributes,
    )
