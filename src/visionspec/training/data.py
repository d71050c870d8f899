"""Training data for the detector: a data set's pictures placed in the model input, and augmented batches.

Pictures come through the registry's ``Dataset`` and ``open_image`` and are placed in the model input by
the runtime's own ``Preprocessor`` (same resize, same padding), so the network trains on exactly the
pixels the engine will feed it. They are decoded once and kept as uint8 (a 6,000-picture 256x256 set is
1.2 GB): decoding every epoch would cost more than a tenth of the training time on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from visionspec.datasets.dataset import Dataset
from visionspec.datasets.images import open_image
from visionspec.errors import DatasetError
from visionspec.runtime.boxes import xywh_to_xyxy
from visionspec.runtime.card import InputDType, InputSpec, Layout
from visionspec.runtime.preprocess import ImageTransform, Preprocessor
from visionspec.training.centres import CentreTargets, encode_targets

# Photometric jitter of training pictures: brightness and contrast factors drawn from 1 +- this.
_BRIGHTNESS_JITTER = 0.2
_CONTRAST_JITTER = 0.2
# A box cut by a training crop is kept only while this many pixels of it remain on each axis.
_MIN_KEPT_PIXELS = 2.0


@dataclass(frozen=True, eq=False)
class PlacedImages:
    """Pictures of a data set placed in the model input frame, with their objects in input pixels.

    Attributes:
        pixels: (I, H, W, 3) uint8 RGB, as the runtime's preprocessing places each picture.
        boxes: per picture, (n, 4) float64 xyxy in input pixels.
        labels: per picture, (n,) int64 indices into the model's classes.
        transforms: per picture, how it was placed (maps boxes back to picture pixels).
        rows: (I,) the picture rows in the data set.
    """

    pixels: NDArray[np.uint8]
    boxes: tuple[NDArray[np.float64], ...]
    labels: tuple[NDArray[np.int64], ...]
    transforms: tuple[ImageTransform, ...]
    rows: NDArray[np.intp]

    def __len__(self) -> int:
        return int(self.pixels.shape[0])


def selected_rows(dataset: Dataset, limit: int | None) -> NDArray[np.intp]:
    """The picture rows to use: all of them, or the first ``limit`` (tiny runs)."""
    count = len(dataset.images) if limit is None else min(limit, len(dataset.images))
    return np.arange(count, dtype=np.intp)


def place_images(
    dataset: Dataset, spec: InputSpec, classes: Sequence[str], rows: NDArray[np.intp], *, threads: int
) -> PlacedImages:
    """Decode pictures and place them in the model input frame.

    Args:
        dataset: the data set, from the registry.
        spec: the model card's input (size, resize mode, padding).
        classes: the model's classes; objects of other classes are left out.
        rows: the picture rows to decode.
        threads: decoding threads (Pillow releases the GIL while decoding).

    Raises:
        DatasetError: a picture cannot be decoded, or the data set has none of ``classes``.
    """
    placer = Preprocessor(replace(spec, layout=Layout.NHWC, dtype=InputDType.UINT8))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        placed = list(pool.map(lambda row: placer(open_image(dataset.image_path(int(row)))), rows))
    transforms = tuple(transform for _, transform in placed)
    height, width = spec.fixed_size
    pixels = np.stack([array for array, _ in placed]) if placed else np.zeros((0, height, width, 3))
    class_of_category = _class_indices(dataset, classes)
    annotations = dataset.annotations
    wanted = np.flatnonzero(np.isin(annotations.category_ids, list(class_of_category)))
    # the objects of each picture: a contiguous run once sorted by picture row
    object_rows = dataset.image_rows(annotations.image_ids[wanted])
    wanted = wanted[np.argsort(object_rows, kind="stable")]
    bounds = np.searchsorted(np.sort(object_rows), np.stack([rows, rows + 1]))
    boxes: list[NDArray[np.float64]] = []
    labels: list[NDArray[np.int64]] = []
    for start, stop, transform in zip(bounds[0], bounds[1], transforms, strict=True):
        objects = wanted[start:stop]
        boxes.append(transform.to_input(xywh_to_xyxy(annotations.boxes[objects])))
        labels.append(np.array([class_of_category[int(c)] for c in annotations.category_ids[objects]], np.int64))
    return PlacedImages(pixels.astype(np.uint8), tuple(boxes), tuple(labels), transforms, rows)


def _class_indices(dataset: Dataset, classes: Sequence[str]) -> dict[int, int]:
    """Model class index of each data set category id, matched by name."""
    indices = {category.id: classes.index(category.name) for category in dataset.categories
               if category.name in classes}
    if not indices:
        known = ", ".join(category.name for category in dataset.categories)
        raise DatasetError(f"data set {dataset.id} has none of the model's classes ({', '.join(classes)}); "
                           f"its classes are {known}; fix: train on a data set of these classes")
    return indices


def to_input_tensor(pixels: Tensor, spec: InputSpec) -> Tensor:
    """(N, H, W, 3) pixels (uint8 or float 0..255) as the model's normalised (N, 3, H, W) float input.

    The result is a channels-last view (no copy of the layout), which trains about a fifth faster on CPU.
    """
    scale = torch.tensor(spec.scale, dtype=torch.float32)
    mean = torch.tensor(spec.mean, dtype=torch.float32)
    std = torch.tensor(spec.std, dtype=torch.float32)
    normalised = (pixels.to(torch.float32) * scale - mean) / std
    return normalised.permute(0, 3, 1, 2)


class DetectorBatches:
    """Seeded, augmented detector batches: random crops, horizontal flips, brightness and contrast.

    The network is fully convolutional, so it trains on crops (a quarter to a half of the picture) at the
    picture's own scale and runs on whole pictures: the same objects, several times cheaper per step.
    """

    def __init__(self, images: PlacedImages, *, spec: InputSpec, batch_size: int, crop: int, num_classes: int,
                 seed: int) -> None:
        if crop % 32 or crop > min(spec.fixed_size):
            raise ValueError(f"crop {crop} must be a multiple of 32 and at most the input size")
        self._images = images
        self._spec = spec
        self._batch_size = batch_size
        self._crop = crop
        self._num_classes = num_classes
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self._images) // self._batch_size)

    def epoch(self) -> Iterator[tuple[Tensor, CentreTargets]]:
        """One pass over the pictures in a fresh random order: (input (B, 3, crop, crop), targets)."""
        order = self._rng.permutation(len(self._images))
        for start in range(0, len(order), self._batch_size):
            yield self._batch(order[start : start + self._batch_size])

    def _batch(self, picks: NDArray[np.int64]) -> tuple[Tensor, CentreTargets]:
        """Crop, flip and jitter the picked pictures."""
        crop = self._crop
        height, width = self._spec.fixed_size
        corners = self._rng.integers(0, [width - crop + 1, height - crop + 1],
                                     size=(len(picks), 2))
        flips = self._rng.random(len(picks)) < 0.5
        pixels = np.stack([self._images.pixels[pick, y : y + crop, x : x + crop]
                           for pick, (x, y) in zip(picks, corners, strict=True)])
        pixels[flips] = pixels[flips, :, ::-1]
        boxes, labels = [], []
        for pick, (x, y), flip in zip(picks, corners, flips, strict=True):
            kept, kept_labels = _boxes_in_crop(self._images.boxes[pick], self._images.labels[pick], x, y, crop)
            if flip:
                kept = np.stack([crop - kept[:, 2], kept[:, 1], crop - kept[:, 0], kept[:, 3]], axis=1)
            boxes.append(kept)
            labels.append(kept_labels)
        targets = encode_targets(boxes, labels, grid=(crop // 4, crop // 4), stride=4, num_classes=self._num_classes)
        return to_input_tensor(self._jitter(torch.from_numpy(pixels)), self._spec), targets

    def _jitter(self, pixels: Tensor) -> Tensor:
        """Random brightness and contrast per picture, on (B, H, W, 3) uint8; float 0..255 out."""
        count = pixels.shape[0]
        brightness = torch.from_numpy(1 + self._rng.uniform(-_BRIGHTNESS_JITTER, _BRIGHTNESS_JITTER, count))
        contrast = torch.from_numpy(1 + self._rng.uniform(-_CONTRAST_JITTER, _CONTRAST_JITTER, count))
        values = pixels.to(torch.float32)
        means = values.mean(dim=(1, 2, 3), keepdim=True)
        shape = (count, 1, 1, 1)
        values = (values - means) * contrast.to(torch.float32).view(shape) + means
        return (values * brightness.to(torch.float32).view(shape)).clamp(0.0, 255.0)


def _boxes_in_crop(
    boxes: NDArray[np.float64], labels: NDArray[np.int64], x: int, y: int, crop: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The (n, 4) xyxy boxes whose centre lies in the crop, shifted into it and clipped to it."""
    shifted = boxes - np.array([x, y, x, y], dtype=np.float64)
    centres = (shifted[:, :2] + shifted[:, 2:]) / 2
    clipped = np.clip(shifted, 0.0, float(crop))
    keep = (
        np.all((centres >= 0) & (centres < crop), axis=1)
        & np.all(clipped[:, 2:] - clipped[:, :2] >= _MIN_KEPT_PIXELS, axis=1)
    )
    return clipped[keep].reshape(-1, 4), labels[keep]
