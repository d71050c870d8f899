"""What a goal is about: a data set (or a slice of its images) and which of its objects count.

Testers name slices in words ("the images without balloons", "the small balloons", "the balloons
whose colour is red"); this module turns those words into masks over the data set, using only the
classes and attributes the data set declares. Words match in any case ("Red", "BALLOONS").

A scope remembers how its objects were narrowed, because not every figure can be computed on every
slice (see ``docs/goals.md``):

- an **image slice** (``images with`` / ``without``) keeps whole images: every figure is computed on them;
- a **class** keeps one class: detections of other classes do not count;
- a **size** (``small``, ``medium``, ``large``) is COCO's area range (below 32², 32² to 96², above 96²,
  bounds inclusive, as pycocotools): detections matched to objects outside it are ignored, unmatched
  detections count only when their own box falls in it;
- any other **attribute** (colour, occluded, truncated) is a property a detection does not carry, so
  figures over detections (precision, F1, mAP, counting error) cannot be computed on it and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.dataset import Dataset
from visionspec.datasets.tables import frozen_array
from visionspec.errors import GoalPhraseError
from visionspec.metrics.results import Area

# Attributes whose values are yes/no read as adjectives: "the occluded balloons".
_YES = "yes"
_SIZE_ATTRIBUTE = "size"
SIZES = {"small": Area.SMALL, "medium": Area.MEDIUM, "large": Area.LARGE}


@dataclass(frozen=True, eq=False)
class Scope:
    """A data set (or image slice) and the objects a goal counts.

    Attributes:
        source: the whole data set (inference runs on it once, whatever the slice).
        dataset: the images under test (``source`` or a slice of its images).
        objects: (N,) bool over ``dataset.annotations``: the objects the goal is about.
        noun: how the objects read in a sentence, e.g. ``balloons`` or ``small balloons``.
        images_noun: how the images read, e.g. ``images`` or ``images without balloons``.
        category_ids: the classes whose objects and detections count.
        area: COCO's area range of a size slice (``Area.ALL`` otherwise).
        hidden: attribute narrowings a detection does not carry, as (attribute, value) pairs.
    """

    source: Dataset
    dataset: Dataset
    objects: NDArray[np.bool_]
    noun: str
    images_noun: str
    category_ids: tuple[int, ...]
    area: Area = Area.ALL
    hidden: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        images = f"{len(self.dataset.images):,} {self.images_noun}"
        return f"Scope({self.dataset.id!r}, {self.object_count:,} {self.noun}, {images})"

    @classmethod
    def whole(cls, dataset: Dataset) -> Scope:
        """Every image and every object of ``dataset``."""
        everything = frozen_array(np.ones(len(dataset.annotations), bool), np.bool_)
        categories = tuple(category.id for category in dataset.categories)
        return cls(dataset, dataset, everything, _plural(dataset), "images", categories)

    @property
    def narrowed_objects(self) -> bool:
        """True when the objects were narrowed below whole classes (by size or another attribute)."""
        return self.area is not Area.ALL or bool(self.hidden)

    def class_name(self, word: str) -> str:
        """The data set class a tester's word names: ``balloons``, ``Balloon`` -> ``balloon``."""
        names = {category.name.lower(): category.name for category in self.dataset.categories}
        lowered = word.lower()
        for candidate in (lowered, lowered.removesuffix("s"), lowered.removesuffix("es")):
            if candidate in names:
                return names[candidate]
        raise GoalPhraseError(
            f'"{word}" is not a class of data set {self.dataset.id}; classes: {", ".join(names.values())}'
        )

    def images(self, *, with_objects: bool, word: str) -> Scope:
        """The images with (or without) objects of the class ``word`` names."""
        category_id = self.dataset.category_id(self.class_name(word))
        annotations = self.dataset.annotations
        has = np.zeros(len(self.dataset.images), bool)
        has[self.dataset.image_rows(annotations.image_ids[annotations.category_ids == category_id])] = True
        dataset = self.dataset.select_images(has if with_objects else ~has)
        kept = np.isin(self.dataset.annotations.ids[self.objects], dataset.annotations.ids)
        objects = np.isin(dataset.annotations.ids, self.dataset.annotations.ids[self.objects][kept])
        images_noun = f"images {'with' if with_objects else 'without'} {word.lower()}"
        return replace(self, dataset=dataset, objects=frozen_array(objects, np.bool_), images_noun=images_noun)

    def of_class(self, word: str) -> Scope:
        """Only the objects of the class ``word`` names (``balloons``)."""
        category_id = self.dataset.category_id(self.class_name(word))
        mask = self.objects & (self.dataset.annotations.category_ids == category_id)
        return replace(self, objects=frozen_array(mask, np.bool_), noun=word.lower(), category_ids=(category_id,))

    def narrowed(self, attribute: str, value: str) -> Scope:
        """Only the objects whose ``attribute`` is ``value`` (a declared attribute and value, any case)."""
        attribute, value = self._declared(attribute, value)
        if (attribute, value) in self.hidden:
            return self  # "Given only the red balloons" then "at least 80 red balloons": the same slice
        adjective = attribute if value == _YES else value
        noun = f"{adjective} {self.noun}"
        if attribute == _SIZE_ATTRIBUTE and value in SIZES:
            return self._sized(SIZES[value], noun)
        mask = self.objects & self.dataset.objects_where(**{attribute: value})
        return replace(self, objects=frozen_array(mask, np.bool_), noun=noun, hidden=(*self.hidden, (attribute, value)))

    def narrowed_by_word(self, word: str) -> Scope:
        """``small``, ``red``, ``occluded``: the declared value (or yes/no attribute) this word names."""
        declared = {name.lower(): name for name in self.dataset.spec.attributes}
        lowered = word.lower()
        owners = [name for name, values in self.dataset.spec.attributes.items()
                  if lowered in (value.lower() for value in values)]
        if len(owners) == 1:
            return self.narrowed(owners[0], lowered)
        if lowered in SIZES and not owners:
            return self._sized(SIZES[lowered], f"{lowered} {self.noun}")  # COCO's sizes need no declaration
        if lowered in declared and _YES in self.dataset.spec.attributes[declared[lowered]]:
            return self.narrowed(declared[lowered], _YES)
        if len(owners) > 1:
            raise GoalPhraseError(
                f'"{word}" is a value of several attributes ({", ".join(owners)}); '
                f'write "the {self.noun} whose <attribute> is {word}"'
            )
        raise GoalPhraseError(
            f'"{word}" names no attribute value of data set {self.dataset.id}; accepted: {", ".join(self.words())}'
        )

    def words(self) -> list[str]:
        """Every word that narrows objects on this data set: attribute values, yes/no attributes, sizes."""
        declared = self.dataset.spec.attributes
        return sorted(
            {value for values in declared.values() for value in values if value not in ("yes", "no")}
            | {name for name, values in declared.items() if _YES in values}
            | set(SIZES)
        )

    def _declared(self, attribute: str, value: str) -> tuple[str, str]:
        """The data set's own spelling of an attribute and value written in any case."""
        for name, values in self.dataset.spec.attributes.items():
            if name.lower() == attribute.lower():
                for declared in values:
                    if declared.lower() == value.lower():
                        return name, declared
                raise GoalPhraseError(
                    f'"{value}" is not a value of {name} in data set {self.dataset.id}; accepted: {", ".join(values)}'
                )
        if attribute.lower() == _SIZE_ATTRIBUTE and value.lower() in SIZES:
            return _SIZE_ATTRIBUTE, value.lower()
        accepted = ", ".join(self.dataset.spec.attributes) or "none declared"
        raise GoalPhraseError(
            f'"{attribute}" is not an attribute of data set {self.dataset.id}; attributes: {accepted}'
        )

    def _sized(self, area: Area, noun: str) -> Scope:
        """COCO's area range: the objects whose ``area`` lies in it (bounds inclusive, as pycocotools)."""
        if self.area is area:
            return self
        if self.area is not Area.ALL:
            raise GoalPhraseError(f"the {self.noun} cannot also be {noun.split()[0]}: sizes do not overlap")
        areas = self.dataset.annotations.areas
        mask = self.objects & (areas >= area.low) & (areas <= area.high)
        return replace(self, objects=frozen_array(mask, np.bool_), noun=noun, area=area)

    def refuse_detection_figure(self, figure: str) -> None:
        """Raise when ``figure`` (a figure over detections) cannot be computed on this scope's objects.

        Raises:
            GoalPhraseError: the objects are narrowed by an attribute that a detection does not carry.
        """
        if self.hidden:
            attribute, value = self.hidden[-1]
            raise GoalPhraseError(
                f"{figure} cannot be computed on the {self.noun}: a detection does not say whether its object's "
                f"{attribute} is {value}, so a false alarm belongs to no such slice. Judge recall (or \"it should "
                f"find\") on this slice, or {figure} on whole images, a class or a size"
            )

    @property
    def object_count(self) -> int:
        """How many objects the goal is about."""
        return int(self.objects.sum())


def _plural(dataset: Dataset) -> str:
    names = [category.name for category in dataset.categories]
    return f"{names[0]}s" if len(names) == 1 else "objects"
