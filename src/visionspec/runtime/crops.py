"""The second stage: a classifier on box crops (ground-truth boxes to judge it alone, detections for the chain).

A crop is the box rounded outward to whole pixels (left/top down, right/bottom up; at least 1 x 1); the
part of it past the picture's edge is filled with the card's ``pad_value`` (Pillow's ``resize(box=)`` refuses
boxes past the edge, so the crop is padded first). The crop then goes through the classifier's own
preprocessing (resize or letterbox to its input size, normalisation). Training code should crop with
``crop_box`` too, so that the model sees at run time what it saw in training.

Each picture is decoded once for all its crops, on worker threads, and the crops are batched like images.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from PIL import Image

from visionspec.datasets.images import open_image
from visionspec.datasets.tables import frozen_array
from visionspec.errors import DatasetError, InferenceError
from visionspec.runtime.batching import BatchSettings, Prepared, run_batches
from visionspec.runtime.cache import PredictionCache, cache_key
from visionspec.runtime.inference import ImageSource
from visionspec.runtime.preprocess import Preprocessor
from visionspec.runtime.progress import ProgressCallback
from visionspec.runtime.session import ModelSession


@dataclass(frozen=True, eq=False)
class Classifications:
    """A classifier's verdict on each crop, in the order the boxes were given.

    Attributes:
        classes: the card's class names.
        image_ids: (N,) int64 the image of each crop.
        boxes: (N, 4) float64 ``x, y, width, height`` of each crop's box in original image pixels.
        label_indices: (N,) int64 the most probable class of each crop (ties: the lowest index).
        probabilities: (N, C) float64.
        provider: the execution provider that computed them.
    """

    classes: tuple[str, ...]
    image_ids: NDArray[np.int64]
    boxes: NDArray[np.float64]
    label_indices: NDArray[np.int64]
    probabilities: NDArray[np.float64]
    provider: str

    def __len__(self) -> int:
        return int(self.image_ids.shape[0])

    @property
    def labels(self) -> tuple[str, ...]:
        """The most probable class name of each crop."""
        return tuple(self.classes[index] for index in self.label_indices)

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The cache payload."""
        return {
            "classes": np.array(self.classes, dtype=np.str_),
            "image_ids": self.image_ids,
            "boxes": self.boxes,
            "label_indices": self.label_indices,
            "probabilities": self.probabilities,
            "provider": np.array(self.provider),
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> Classifications:
        """From a cache payload."""
        classes = tuple(str(name) for name in arrays["classes"])
        return cls(
            classes=classes,
            image_ids=frozen_array(arrays["image_ids"], np.int64),
            boxes=frozen_array(np.asarray(arrays["boxes"]).reshape(-1, 4), np.float64),
            label_indices=frozen_array(arrays["label_indices"], np.int64),
            probabilities=frozen_array(np.asarray(arrays["probabilities"]).reshape(-1, len(classes)), np.float64),
            provider=str(arrays["provider"]),
        )


def crop_box(image: Image.Image, box: Sequence[float], pad_value: int) -> Image.Image:
    """The crop of an ``x, y, width, height`` box, rounded outward and padded past the picture's edge."""
    x, y, width, height = (float(value) for value in box)
    left, top = math.floor(x), math.floor(y)
    right, bottom = max(math.ceil(x + width), left + 1), max(math.ceil(y + height), top + 1)
    if left >= 0 and top >= 0 and right <= image.width and bottom <= image.height:
        return image.crop((left, top, right, bottom))
    canvas = Image.new("RGB", (right - left, bottom - top), (pad_value, pad_value, pad_value))
    inside = (max(left, 0), max(top, 0), min(right, image.width), min(bottom, image.height))
    if inside[0] < inside[2] and inside[1] < inside[3]:
        canvas.paste(image.crop(inside), (inside[0] - left, inside[1] - top))
    return canvas


def classify_crops(
    session: ModelSession,
    dataset: ImageSource,
    image_ids: NDArray[np.int64] | Sequence[int],
    boxes: NDArray[np.float64] | Sequence[Sequence[float]],
    *,
    settings: BatchSettings | None = None,
    cache: PredictionCache | None = None,
    progress: ProgressCallback | None = None,
) -> Classifications:
    """Classify the crop of every box.

    Args:
        session: an opened classification model.
        dataset: the images the boxes are on.
        image_ids: (N,) the image of each box (ids of ``dataset.images``).
        boxes: (N, 4) ``x, y, width, height`` in original image pixels (an ``AnnotationTable``'s or a
            ``Detections``' columns).
        settings: batch size and workers.
        cache: where to look up and store the result; None computes every time.
        progress: called with (crops done, crops) after each batch.

    Raises:
        ModelCardError: the model is not a classifier.
        DatasetError: an image id is not in the data set, or an image cannot be read.
        InferenceError: a box is not finite, or the model failed or returned NaN/infinity.

    Example:
        >>> colours = classify_crops(colour_model, dataset, dataset.annotations.image_ids,  # doctest: +SKIP
        ...                          dataset.annotations.boxes)
        >>> colours.labels[:3]  # doctest: +SKIP
        ('red', 'blue', 'white')
    """
    ids = frozen_array(image_ids, np.int64)
    box_array = frozen_array(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.float64)
    _validate(dataset, ids, box_array)
    session.classification_adapter()  # fails early, before any image is read, for a detector

    def compute() -> dict[str, NDArray[Any]]:
        return _run_classifier(session, dataset, ids, box_array, settings or BatchSettings(), progress).to_arrays()

    if cache is None:
        return Classifications.from_arrays(compute())
    key = cache_key({
        "kind": "crops",
        "model_sha256": session.sha256,
        "dataset_digest": dataset.digest,
        "crops_sha256": hashlib.sha256(ids.tobytes() + box_array.tobytes()).hexdigest(),
        "input": session.card.input.to_dict(),
        "output": session.card.output.to_dict(),
        "classes": list(session.card.classes),
        "onnxruntime": ort.__version__,
        "provider": session.provider,
    })
    return Classifications.from_arrays(cache.get_or_compute(key, compute))


def _validate(dataset: ImageSource, image_ids: NDArray[np.int64], boxes: NDArray[np.float64]) -> None:
    """Every image id known, every box finite."""
    if image_ids.shape[0] != boxes.shape[0]:
        raise InferenceError(f"classify_crops got {image_ids.shape[0]} image ids but {boxes.shape[0]} boxes")
    unknown = ~np.isin(image_ids, dataset.images.ids)
    if unknown.any():
        raise DatasetError(f"crop {int(np.flatnonzero(unknown)[0])}: image id {int(image_ids[unknown][0])} is not "
                           "an image of the data set; fix: take the boxes from the same data set")
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        raise InferenceError(f"crop {int(np.flatnonzero(bad)[0])}: box {boxes[bad][0].tolist()} is not finite")


def _run_classifier(
    session: ModelSession,
    dataset: ImageSource,
    image_ids: NDArray[np.int64],
    boxes: NDArray[np.float64],
    settings: BatchSettings,
    progress: ProgressCallback | None,
) -> Classifications:
    """The inference pass behind ``classify_crops``."""
    images = dataset.images
    order = np.argsort(images.ids, kind="stable")
    rows = order[np.searchsorted(images.ids[order], image_ids)]
    crop_order = np.argsort(rows, kind="stable")
    # one work item per picture: decoded once for all its crops
    groups = np.split(crop_order, np.flatnonzero(np.diff(rows[crop_order])) + 1) if len(rows) else []
    preprocessor = Preprocessor(session.card.input)
    pad_value = session.card.input.pad_value

    def prepare(crops: NDArray[np.intp]) -> list[Prepared[int]]:
        picture = open_image(dataset.image_path(int(rows[crops[0]])))
        return [Prepared(preprocessor(crop_box(picture, boxes[crop], pad_value))[0], int(crop)) for crop in crops]

    def describe(crop: int) -> str:
        row = int(rows[crop])
        return f"{images.file_names[row]} (id {int(images.ids[row])}), crop {crop} box {boxes[crop].tolist()}"

    probabilities = np.zeros((len(image_ids), len(session.card.classes)), dtype=np.float64)
    for crop, output in run_batches(session, session.classification_adapter(), groups, prepare, total=len(image_ids),
                                    describe=describe, settings=settings, progress=progress):
        probabilities[crop] = output
    return Classifications(
        classes=session.card.classes,
        image_ids=image_ids,
        boxes=boxes,
        label_indices=np.argmax(probabilities, axis=1).astype(np.int64),
        probabilities=probabilities,
        provider=session.provider,
    )
