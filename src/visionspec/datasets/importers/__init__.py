"""Importing COCO, YOLO and Pascal VOC data sets into the visionspec data set contract.

Each format is one module with ``convert(source, images, *, workers) -> Conversion``; ``install``
(shared) copies the images and writes the data set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from visionspec.datasets.importers import coco, voc, yolo
from visionspec.datasets.importers.common import Conversion, install
from visionspec.datasets.spec import DatasetSpec

ImportFormat = Literal["coco", "yolo", "voc"]
FORMATS: tuple[ImportFormat, ...] = ("coco", "yolo", "voc")
_CONVERTERS: dict[str, Callable[..., Conversion]] = {"coco": coco.convert, "yolo": yolo.convert, "voc": voc.convert}


def import_dataset(
    source_format: ImportFormat,
    source: Path,
    dataset_id: str,
    *,
    root: Path,
    images: Path | None = None,
    title: str | None = None,
    workers: int | None = None,
) -> DatasetSpec:
    """Convert ``source`` into the new data set ``root/<dataset_id>``, validating everything on the way in.

    Args:
        source_format: ``coco`` (``source`` is the annotation file), ``yolo`` (the folder with
            ``images/``, ``labels/`` and ``classes.txt`` or ``data.yaml``) or ``voc`` (the folder with
            ``JPEGImages/`` and ``Annotations/``).
        source: see ``source_format``.
        dataset_id: the new data set's id and folder name.
        root: the folder holding the data sets.
        images: where the images are, when not where the format puts them.
        title: the new data set's title.
        workers: threads decoding and hashing images.

    Returns:
        The new definition (also written to ``root/<dataset_id>/dataset.yaml``).

    Raises:
        DatasetError: bad input, naming the offending file and item; nothing is left behind.

    Example:
        >>> import_dataset("yolo", Path("exports/balloons"), "balloons-yolo", root=Path("datasets"))  # doctest: +SKIP
    """
    conversion = _CONVERTERS[source_format](source, images, workers=workers)
    return install(conversion, dataset_id, root=root, source={"kind": source_format, "path": str(source)},
                   title=title, workers=workers)


__all__ = ["FORMATS", "Conversion", "ImportFormat", "import_dataset"]
