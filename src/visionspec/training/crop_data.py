"""Training data for the colour model: ground-truth boxes, jittered, cut the way the engine cuts crops.

Crops are cut with the runtime's ``crop_box`` and brought to the model input by its ``Preprocessor``, so
the model trains on exactly what ``classify_crops`` will feed it. Boxes are jittered (shifted and
rescaled per axis) so that the model also copes with the detector's looser boxes in the chain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor

from visionspec.datasets.dataset import Dataset
from visionspec.datasets.images import open_image
from visionspec.errors import DatasetError
from visionspec.runtime.card import InputDType, InputSpec, Layout
from visionspec.runtime.crops import crop_box
from visionspec.runtime.preprocess import Preprocessor
from visionspec.training.data import to_input_tensor

# Box jitter: the centre moves by up to this share of the box size, each side scales within this range.
_SHIFT = 0.1
_SCALE = (0.85, 1.2)
# Brightness factor drawn from 1 +- this (no hue or saturation jitter: the colour is the label).
_BRIGHTNESS_JITTER = 0.1


@dataclass(frozen=True, eq=False)
class LabelledBoxes:
    """The objects of a data set with their colour, and the decoded pictures they lie on.

    Attributes:
        pictures: the decoded pictures that hold at least one object.
        picture_of: (N,) index into ``pictures`` of each object.
        boxes: (N, 4) float64 ``x, y, width, height`` in picture pixels.
        labels: (N,) int64 index of each object's colour among the model's classes.
    """

    pictures: tuple[Image.Image, ...]
    picture_of: NDArray[np.intp]
    boxes: NDArray[np.float64]
    labels: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.boxes.shape[0])


def labelled_boxes(dataset: Dataset, classes: Sequence[str], *, attribute: str, threads: int) -> LabelledBoxes:
    """Decode the pictures of ``dataset`` that hold objects and label each object by ``attribute``.

    Raises:
        DatasetError: the data set has no such attribute, or an object's value is not one of ``classes``.
    """
    annotations = dataset.annotations
    if attribute not in annotations.attributes:
        raise DatasetError(f"data set {dataset.id} has no object attribute {attribute!r}; fix: train the colour "
                           "model on a data set whose objects carry it")
    values = annotations.attributes[attribute]
    unknown = sorted(set(values.tolist()) - set(classes))
    if unknown:
        raise DatasetError(f"data set {dataset.id}: {attribute} values {unknown} are not among the model's classes "
                           f"({', '.join(classes)}); fix: train on a data set with these {attribute} values")
    object_rows = dataset.image_rows(annotations.image_ids)
    picture_rows, picture_of = np.unique(object_rows, return_inverse=True)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pictures = tuple(pool.map(lambda row: open_image(dataset.image_path(int(row))), picture_rows))
    labels = np.array([classes.index(value) for value in values.tolist()], dtype=np.int64)
    return LabelledBoxes(pictures, picture_of.astype(np.intp), np.asarray(annotations.boxes, np.float64), labels)


class CropBatches:
    """Seeded batches of jittered, flipped, brightness-jittered crops with their labels."""

    def __init__(self, objects: LabelledBoxes, *, spec: InputSpec, batch_size: int, seed: int) -> None:
        self._objects = objects
        self._spec = spec
        self._cutter = Preprocessor(replace(spec, layout=Layout.NHWC, dtype=InputDType.UINT8))
        self._batch_size = batch_size
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self._objects) // self._batch_size)

    def epoch(self) -> Iterator[tuple[Tensor, Tensor]]:
        """One pass over the objects in a fresh random order: (input (B, 3, h, w), labels (B,))."""
        order = self._rng.permutation(len(self._objects))
        for start in range(0, len(order), self._batch_size):
            yield self._batch(order[start : start + self._batch_size])

    def _batch(self, picks: NDArray[np.int64]) -> tuple[Tensor, Tensor]:
        """Cut, flip and jitter the picked objects' crops."""
        objects = self._objects
        boxes = jitter_boxes(objects.boxes[picks], self._rng)
        pad = self._spec.pad_value
        crops: NDArray[np.uint8] = np.stack([
            self._cutter(crop_box(objects.pictures[objects.picture_of[pick]], box, pad))[0]
            for pick, box in zip(picks, boxes, strict=True)
        ])
        flips = self._rng.random(len(picks)) < 0.5
        crops[flips] = crops[flips, :, ::-1]
        brightness = 1 + self._rng.uniform(-_BRIGHTNESS_JITTER, _BRIGHTNESS_JITTER, (len(picks), 1, 1, 1))
        pixels = torch.from_numpy(np.clip(crops * brightness, 0.0, 255.0).astype(np.float32))
        return to_input_tensor(pixels, self._spec), torch.from_numpy(objects.labels[picks])


def jitter_boxes(boxes: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
    """(N, 4) ``x, y, width, height`` boxes with their centres shifted and sides rescaled at random."""
    sizes = boxes[:, 2:]
    centres = boxes[:, :2] + sizes / 2 + rng.uniform(-_SHIFT, _SHIFT, sizes.shape) * sizes
    new_sizes = np.maximum(sizes * rng.uniform(*_SCALE, sizes.shape), 1.0)
    return np.concatenate([centres - new_sizes / 2, new_sizes], axis=1)
