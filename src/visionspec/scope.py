"""What a goal is about: a data set (or a slice of its images) and which of its objects count.

Testers name slices in words ("the images without balloons", "the small balloons", "the balloons
whose colour is red"); this module turns those words into masks over the data set, using only the
classes and attributes the data set declares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.dataset import Dataset
from visionspec.datasets.tables import frozen_array
from visionspec.errors import GoalPhraseError

# Attributes whose values are yes/no read as adjectives: "the occluded balloons".
_YES = "yes"


@dataclass(frozen=True, eq=False)
class Scope:
    """A data set (or image slice) and the objects a goal counts.

    Attributes:
        source: the whole data set (inference runs on it once, whatever the slice).
        dataset: the images under test (``source`` or a slice of its images).
        objects: (N,) bool over ``dataset.annotations``: the objects the goal is about.
        noun: how the objects read in a sentence, e.g. ``balloons`` or ``small balloons``.
        images_noun: how the images read, e.g. ``images`` or ``images without balloons``.
    """

    source: Dataset
    dataset: Dataset
    objects: NDArray[np.bool_]
    noun: str
    images_noun: str

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        images = f"{len(self.dataset.images):,} {self.images_noun}"
        return f"Scope({self.dataset.id!r}, {self.object_count:,} {self.noun}, {images})"

    @classmethod
    def whole(cls, dataset: Dataset) -> Scope:
        """Every image and every object of ``dataset``."""
        everything = frozen_array(np.ones(len(dataset.annotations), bool), np.bool_)
        return cls(dataset, dataset, everything, _plural(dataset), "images")

    def class_name(self, word: str) -> str:
        """The data set class a tester's word names: ``balloons`` or ``balloon`` -> ``balloon``."""
        names = [category.name for category in self.dataset.categories]
        for candidate in (word, word.removesuffix("s"), word.removesuffix("es")):
            if candidate in names:
                return candidate
        raise GoalPhraseError(f'"{word}" is not a class of data set {self.dataset.id}; classes: {", ".join(names)}')

    def images(self, *, with_objects: bool, word: str) -> Scope:
        """The images with (or without) objects of the class ``word`` names."""
        category_id = self.dataset.category_id(self.class_name(word))
        annotations = self.dataset.annotations
        has = np.zeros(len(self.dataset.images), bool)
        has[self.dataset.image_rows(annotations.image_ids[annotations.category_ids == category_id])] = True
        dataset = self.dataset.select_images(has if with_objects else ~has)
        kept = np.isin(self.dataset.annotations.ids[self.objects], dataset.annotations.ids)
        objects = np.isin(dataset.annotations.ids, self.dataset.annotations.ids[self.objects][kept])
        images_noun = f"images {'with' if with_objects else 'without'} {word}"
        return Scope(self.source, dataset, frozen_array(objects, np.bool_), self.noun, images_noun)

    def of_class(self, word: str) -> Scope:
        """Only the objects of the class ``word`` names (``balloons``)."""
        category_id = self.dataset.category_id(self.class_name(word))
        mask = self.objects & (self.dataset.annotations.category_ids == category_id)
        return Scope(self.source, self.dataset, frozen_array(mask, np.bool_), word, self.images_noun)

    def narrowed(self, attribute: str, value: str) -> Scope:
        """Only the objects whose ``attribute`` is ``value`` (a declared attribute and value)."""
        mask = self.objects & self.dataset.objects_where(**{attribute: value})
        adjective = attribute if value == _YES else value
        return Scope(
            self.source, self.dataset, frozen_array(mask, np.bool_), f"{adjective} {self.noun}", self.images_noun
        )

    def narrowed_by_word(self, word: str) -> Scope:
        """``small``, ``red``, ``occluded``: the declared value (or yes/no attribute) this word names."""
        declared = self.dataset.spec.attributes
        owners = [name for name, values in declared.items() if word in values]
        if len(owners) == 1:
            return self.narrowed(owners[0], word)
        if word in declared and _YES in declared[word]:
            return self.narrowed(word, _YES)
        if len(owners) > 1:
            raise GoalPhraseError(
                f'"{word}" is a value of several attributes ({", ".join(owners)}); '
                f'write "the {self.noun} whose <attribute> is {word}"'
            )
        words = sorted(
            {value for values in declared.values() for value in values if value not in ("yes", "no")}
            | {name for name, values in declared.items() if _YES in values}
        )
        raise GoalPhraseError(
            f'"{word}" names no attribute value of data set {self.dataset.id}; accepted: {", ".join(words)}'
        )

    @property
    def object_count(self) -> int:
        """How many objects the goal is about."""
        return int(self.objects.sum())


def _plural(dataset: Dataset) -> str:
    names = [category.name for category in dataset.categories]
    return f"{names[0]}s" if len(names) == 1 else "objects"
