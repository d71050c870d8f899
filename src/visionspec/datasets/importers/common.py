"""What every importer shares: finding and measuring source images, and installing the converted data set.

An importer turns its source into a ``Conversion`` (COCO data whose ``file_name`` are the names the
images will have under ``datasets/<id>/images/``, and where each comes from). ``install`` then copies
the images into a temporary folder next to the target, writes the annotations and ``dataset.yaml``
through ``write_dataset`` (so the import is validated like any data set), and only then renames the
folder into place: a failed import leaves nothing behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visionspec.datasets.images import open_image
from visionspec.datasets.manifest import default_workers
from visionspec.datasets.paths import IMAGES_FOLDER, SPEC_FILE
from visionspec.datasets.spec import DatasetSpec, Expect, spec_from_dict
from visionspec.datasets.writer import write_dataset
from visionspec.errors import DatasetError

IMAGE_SUFFIXES = frozenset({".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class Conversion:
    """A source data set converted to COCO, before its images are copied.

    Attributes:
        coco: ``images`` (``file_name`` as they will be under ``images/``), ``categories``,
            ``annotations``; plain JSON types.
        sources: for each entry of ``coco["images"]``, in the same order, the file to copy.
        classes: the class names, in category id order.
        attributes: the declared per-object attributes and their values.
    """

    coco: Mapping[str, Any]
    sources: tuple[Path, ...]
    classes: tuple[str, ...]
    attributes: Mapping[str, tuple[str, ...]]


def find_images(folder: Path) -> list[str]:
    """The image files under ``folder`` (by suffix, any case), as sorted ``/``-separated relative names."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: image folder not found; fix: check the source path")
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    )


def measure_images(paths: Sequence[Path], *, workers: int | None = None) -> list[tuple[int, int]]:
    """``(width, height)`` of each image as ``open_image`` sees it (EXIF-upright), decoding every one.

    Decoding is the validation: a missing, truncated, corrupt or oversized image raises
    ``DatasetError`` naming it.
    """

    def measure(path: Path) -> tuple[int, int]:
        with open_image(path) as image:
            return image.size

    if not paths:
        return []
    with ThreadPoolExecutor(max_workers=min(workers or default_workers(), len(paths))) as pool:
        return list(pool.map(measure, paths))


def install(
    conversion: Conversion,
    dataset_id: str,
    *,
    root: Path,
    source: Mapping[str, Any],
    title: str | None = None,
    workers: int | None = None,
) -> DatasetSpec:
    """Copy the images into ``root/<dataset_id>/images/``, write annotations and ``dataset.yaml``.

    Returns:
        The new definition, ``expect`` as found and the manifest filled.

    Raises:
        DatasetError: the id is taken or invalid, or the converted data does not validate.
    """
    target = root / dataset_id
    if not dataset_id or dataset_id.startswith(".") or "/" in dataset_id or "\\" in dataset_id:
        raise DatasetError(f"data set id {dataset_id!r} is not a plain folder name; fix: use letters, digits and '-'")
    if target.exists():
        raise DatasetError(f"{target} already exists; fix: choose another id, or remove that folder first")
    spec = spec_from_dict(
        {
            "id": dataset_id,
            "title": title or f"Imported from {source.get('path', '?')}",
            "description": f"Imported with visionspec datasets import --format {source.get('kind', '?')}.",
            "source": dict(source),
            "classes": list(conversion.classes),
            "attributes": {name: list(values) for name, values in conversion.attributes.items()},
        },
        source=f"the definition of imported data set {dataset_id}",
    )
    staging = root / f".{dataset_id}.importing"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _copy_images(conversion, staging / IMAGES_FOLDER)
        written = write_dataset(staging, spec.with_build(Expect(), None), conversion.coco, expect_as_found=True,
                                workers=workers)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    assert (target / SPEC_FILE).is_file()
    return written


def _copy_images(conversion: Conversion, images_folder: Path) -> None:
    """Copy each source image to its ``file_name`` under ``images_folder``."""
    for record, source in zip(conversion.coco["images"], conversion.sources, strict=True):
        destination = images_folder / record["file_name"]
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        except OSError as err:
            raise DatasetError(f"{source}: cannot be copied to {destination} ({err}); fix: check that the image "
                               "exists and the data set folder is writable") from err
