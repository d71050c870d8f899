"""Typed, immutable, columnar views of a data set's images and annotations.

Everything downstream (inference, metrics, goals) reads these; nothing mutates them: every array is
made read-only when the table is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


def frozen_array(values: object, dtype: type | np.dtype | str) -> NDArray:  # type: ignore[type-arg]
    """Return a read-only copy of ``values`` as an array of ``dtype``."""
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Category:
    """One object class of a data set."""

    id: int
    name: str


@dataclass(frozen=True, eq=False)
class ImageTable:
    """The images of a data set, one row an image.

    Attributes:
        ids: (I,) int64 image ids, unique.
        file_names: I paths relative to the data set's ``images/`` folder (COCO ``file_name``); use
            ``Dataset.image_path(row)`` for the file.
        widths: (I,) int64 pixels.
        heights: (I,) int64 pixels.
        sha256: I hex digests of the image files (from the annotation file), or empty strings
            where the annotation file does not record them.
    """

    ids: NDArray[np.int64]
    file_names: tuple[str, ...]
    widths: NDArray[np.int64]
    heights: NDArray[np.int64]
    sha256: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, eq=False)
class AnnotationTable:
    """The annotated objects of a data set, one row an object.

    Attributes:
        ids: (N,) int64 annotation ids, unique.
        image_ids: (N,) int64, each one of ``ImageTable.ids``.
        category_ids: (N,) int64, each one of the data set's category ids.
        boxes: (N, 4) float64 ``x, y, width, height`` in image pixels (COCO ``bbox``).
        areas: (N,) float64 COCO ``area`` (used for the small / medium / large ranges).
        iscrowd: (N,) bool.
        attributes: per-object attribute columns by name, each (N,) of ``str`` (``""`` where the
            object does not carry that attribute).
    """

    ids: NDArray[np.int64]
    image_ids: NDArray[np.int64]
    category_ids: NDArray[np.int64]
    boxes: NDArray[np.float64]
    areas: NDArray[np.float64]
    iscrowd: NDArray[np.bool_]
    attributes: Mapping[str, NDArray[np.str_]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def take(self, mask: NDArray[np.bool_]) -> AnnotationTable:
        """Return the rows where ``mask`` (N,) is true, as a new table."""
        return AnnotationTable(
            ids=frozen_array(self.ids[mask], np.int64),
            image_ids=frozen_array(self.image_ids[mask], np.int64),
            category_ids=frozen_array(self.category_ids[mask], np.int64),
            boxes=frozen_array(self.boxes[mask].reshape(-1, 4), np.float64),
            areas=frozen_array(self.areas[mask], np.float64),
            iscrowd=frozen_array(self.iscrowd[mask], np.bool_),
            attributes={name: frozen_array(column[mask], np.str_) for name, column in self.attributes.items()},
        )
