"""Counting what a data set holds, and comparing the counts with what its ``expect`` promises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from visionspec.datasets.coco import CocoFile
from visionspec.datasets.spec import Expect


@dataclass(frozen=True)
class CountMismatch:
    """One promised count that the data does not keep.

    Attributes:
        name: the count as named in ``dataset.yaml`` (``images``, ``objects.balloon``,
            ``attributes.colour.red``).
        expected: the promised value.
        found: the value in the data.
    """

    name: str
    expected: int
    found: int

    def __str__(self) -> str:
        return f"{self.name}: expected {self.expected:,}, found {self.found:,}"


def count_expect(coco: CocoFile, *, declared_attributes: Mapping[str, Sequence[str]] | None = None) -> Expect:
    """Every count of ``coco`` in the shape of ``expect``.

    Args:
        coco: a validated annotation file.
        declared_attributes: when given, every declared value is counted, zero included; otherwise
            only the values found.

    Returns:
        Images, images without objects, objects per class and objects per attribute value.
    """
    annotations = coco.annotations
    with_objects = np.isin(coco.images.ids, annotations.image_ids)
    objects = {
        category.name: int(np.count_nonzero(annotations.category_ids == category.id)) for category in coco.categories
    }
    attributes: dict[str, Mapping[str, int]] = {}
    for name, column in annotations.attributes.items():
        values, counts = np.unique(column[column != ""], return_counts=True)
        found = {str(value): int(count) for value, count in zip(values, counts, strict=True)}
        listed = declared_attributes[name] if declared_attributes and name in declared_attributes else sorted(found)
        attributes[name] = MappingProxyType({value: found.get(value, 0) for value in listed})
    return Expect(
        images=len(coco.images),
        images_without_objects=int(np.count_nonzero(~with_objects)),
        objects=MappingProxyType(objects),
        attributes=MappingProxyType(attributes),
    )


def compare_expect(promised: Expect, found: Expect) -> tuple[CountMismatch, ...]:
    """Each count ``promised`` that ``found`` does not match (a count absent from ``found`` is 0)."""
    found_counts = dict(found.items())
    return tuple(
        CountMismatch(name=name, expected=value, found=found_counts.get(name, 0))
        for name, value in promised.items()
        if found_counts.get(name, 0) != value
    )
