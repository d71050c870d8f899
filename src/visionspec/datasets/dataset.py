"""A loaded data set: its definition, its images and its objects, typed and immutable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.manifest import sha256_bytes
from visionspec.datasets.paths import IMAGES_FOLDER
from visionspec.datasets.spec import DatasetSpec
from visionspec.datasets.tables import AnnotationTable, Category, ImageTable, frozen_array
from visionspec.errors import DatasetError


@dataclass(frozen=True, eq=False)
class Dataset:
    """One data set, validated, ready for inference and metrics. Nothing in it can be changed.

    Attributes:
        spec: the definition (``dataset.yaml``).
        folder: the data set folder (``datasets/<id>``); images are under ``folder / "images"``.
        images: the images (all of them, or a slice after ``select_images``).
        categories: the object classes with their COCO ids.
        annotations: the annotated objects of these images, with attribute columns.
        image_attributes: image-level attribute columns by name, each (I,) of ``str``.
        digest: the identity of this data set (or slice) for caches: the manifest's images digest
            combined with the annotation file's SHA-256 (and, for a slice, the selected image ids).

    Example:
        >>> dataset = DatasetRegistry().load("12345")  # doctest: +SKIP
        >>> int(dataset.objects_where(colour="red").sum())
        100
        >>> len(dataset.select_images(dataset.images_without_objects()).images)
        4000
    """

    spec: DatasetSpec
    folder: Path
    images: ImageTable
    categories: tuple[Category, ...]
    annotations: AnnotationTable
    image_attributes: Mapping[str, NDArray[np.str_]]
    digest: str

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        return f"Dataset({self.id!r}, {len(self.images):,} images, {len(self.annotations):,} objects)"

    @property
    def id(self) -> str:
        """The data set id."""
        return self.spec.id

    @property
    def images_folder(self) -> Path:
        """The folder the images' ``file_name`` are relative to."""
        return self.folder / IMAGES_FOLDER

    def image_path(self, row: int) -> Path:
        """The file of image ``row`` (a row of ``images``, not an image id)."""
        return self.images_folder / self.images.file_names[row]

    def category_id(self, name: str) -> int:
        """The COCO id of the class ``name``.

        Raises:
            DatasetError: no class has this name; the message lists the classes.
        """
        for category in self.categories:
            if category.name == name:
                return category.id
        known = ", ".join(category.name for category in self.categories)
        raise DatasetError(f"data set {self.id}: no class {name!r}; fix: use one of {known}")

    def image_rows(self, image_ids: NDArray[np.int64]) -> NDArray[np.intp]:
        """The row in ``images`` of each image id (every id must be one of ``images.ids``)."""
        order = np.argsort(self.images.ids, kind="stable")
        return order[np.searchsorted(self.images.ids[order], image_ids)]

    def objects_per_image(self) -> NDArray[np.int64]:
        """(I,) the number of annotated objects of each image."""
        counts = np.bincount(self.image_rows(self.annotations.image_ids), minlength=len(self.images))
        return frozen_array(counts, np.int64)

    def images_without_objects(self) -> NDArray[np.bool_]:
        """(I,) true for the images that have no annotated object."""
        return frozen_array(self.objects_per_image() == 0, np.bool_)

    def objects_where(self, **attribute_values: str) -> NDArray[np.bool_]:
        """(N,) true for the objects whose attributes have all the given values.

        ``category`` (a class name) may be given as well as the declared attributes.

        Raises:
            DatasetError: an attribute is not declared, or a value is not one of its declared values;
                the message lists the declared ones.

        Example:
            >>> red_balloons = dataset.objects_where(colour="red", category="balloon")  # doctest: +SKIP
        """
        mask = np.ones(len(self.annotations), dtype=bool)
        for name, value in attribute_values.items():
            if name == "category":
                mask &= self.annotations.category_ids == self.category_id(value)
                continue
            allowed = self._allowed_values(name)
            if value not in allowed:
                raise DatasetError(f"data set {self.id}: {name} {value!r} is not a declared value; "
                                   f"fix: use one of {', '.join(allowed)}")
            mask &= self.annotations.attributes[name] == value
        return frozen_array(mask, np.bool_)

    def _allowed_values(self, name: str) -> tuple[str, ...]:
        """The declared values of attribute ``name`` (or those found, where the spec declares none)."""
        if name in self.spec.attributes:
            return self.spec.attributes[name]
        if not self.spec.attributes and name in self.annotations.attributes:
            return tuple(sorted(set(self.annotations.attributes[name].tolist()) - {""}))
        declared = ", ".join(self.spec.attributes or self.annotations.attributes) or "(none)"
        raise DatasetError(f"data set {self.id}: no attribute {name!r}; fix: use one of {declared}, or category")

    def select_images(self, mask: NDArray[np.bool_]) -> Dataset:
        """A slice: only the images where ``mask`` (I,) is true, with their objects.

        Raises:
            DatasetError: ``mask`` is not a boolean array with one value per image.
        """
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self.images),):
            raise DatasetError(f"data set {self.id}: select_images needs a boolean mask of shape "
                               f"({len(self.images)},), got {mask.dtype} {mask.shape}; fix: build it from images")
        if mask.all():
            return self
        rows = np.flatnonzero(mask)
        images = ImageTable(
            ids=frozen_array(self.images.ids[rows], np.int64),
            file_names=tuple(self.images.file_names[row] for row in rows),
            widths=frozen_array(self.images.widths[rows], np.int64),
            heights=frozen_array(self.images.heights[rows], np.int64),
            sha256=tuple(self.images.sha256[row] for row in rows),
        )
        annotations = self.annotations.take(np.isin(self.annotations.image_ids, images.ids))
        selection = sha256_bytes(self.digest.encode() + b":" + np.ascontiguousarray(images.ids).tobytes())
        return replace(
            self,
            images=images,
            annotations=annotations,
            image_attributes=MappingProxyType(
                {name: frozen_array(column[rows], np.str_) for name, column in self.image_attributes.items()}
            ),
            digest=selection,
        )
