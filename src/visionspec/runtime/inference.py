"""A detector over a data set: batched, cached, boxes back in original image pixels.

``detect`` gives the model's view (class indices of the card's ``classes``); ``predict`` maps those to the
data set's category ids by class NAME (exact, case-sensitive). Card classes that the data set does not have
are dropped (a detector may know more classes than a data set annotates); a card that shares no class name
with the data set is a ``ModelCardError``, since every goal on it would silently see no detections.

Every box the adapter gives at or above the card's candidate floor is kept (``score_floor``: the card's
``output.candidate_threshold``, default 0.001, never above its ``score_threshold``), clipped to the picture;
padding slots (a negative class index) and boxes below the floor are dropped. A fixed-K detector pads
every picture to K slots, most of them near zero: storing them would make memory grow with K, not with
what the model found. Goals judge at a score threshold at or above the floor, so no verdict changes;
COCO AP, which uses every score, loses only the precision-recall tail below the floor (measured on the
reference detector: docs/scale.md).

Inference runs behind a backend (``visionspec.runtime.backend``): ``detect`` here is the local one; the
same pass over a list of picture files (``run_detector``) is what each Ray worker runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from visionspec.datasets.images import open_image
from visionspec.datasets.tables import Category, ImageTable, frozen_array
from visionspec.detections import Detections
from visionspec.errors import InferenceError, ModelCardError
from visionspec.runtime.adapters import BoxOutput, OutputAdapter
from visionspec.runtime.batching import BatchSettings, Prepared, run_batches
from visionspec.runtime.boxes import xyxy_to_xywh
from visionspec.runtime.cache import PredictionCache, cache_key
from visionspec.runtime.card import ModelCard
from visionspec.runtime.plausibility import BoxPlausibility
from visionspec.runtime.preprocess import ImageTransform, Preprocessor
from visionspec.runtime.progress import ProgressCallback
from visionspec.runtime.session import ModelSession


class ImageSource(Protocol):
    """What inference needs of a data set (``visionspec.datasets.Dataset`` is one)."""

    @property
    def images(self) -> ImageTable:
        """The images, one row an image."""
        ...

    @property
    def categories(self) -> tuple[Category, ...]:
        """The data set's classes."""
        ...

    @property
    def digest(self) -> str:
        """The identity of the data set for caches."""
        ...

    def image_path(self, row: int) -> Path:
        """The file of image ``row``."""
        ...


@dataclass(frozen=True, eq=False)
class ModelDetections:
    """A detector's boxes on a data set, in the model's class indices.

    Attributes:
        classes: the card's class names; ``class_indices`` index them.
        image_ids: (D,) int64.
        class_indices: (D,) int64.
        boxes: (D, 4) float64 ``x, y, width, height`` in original image pixels.
        scores: (D,) float64.
        provider: the execution provider that computed them (from the cache entry on a hit).
    """

    classes: tuple[str, ...]
    image_ids: NDArray[np.int64]
    class_indices: NDArray[np.int64]
    boxes: NDArray[np.float64]
    scores: NDArray[np.float64]
    provider: str

    def __len__(self) -> int:
        return int(self.image_ids.shape[0])

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The cache payload."""
        return {
            "classes": np.array(self.classes, dtype=np.str_),
            "image_ids": self.image_ids,
            "class_indices": self.class_indices,
            "boxes": self.boxes,
            "scores": self.scores,
            "provider": np.array(self.provider),
        }

    @classmethod
    def from_arrays(cls, arrays: Any) -> ModelDetections:
        """From a cache payload."""
        return cls(
            classes=tuple(str(name) for name in arrays["classes"]),
            image_ids=frozen_array(arrays["image_ids"], np.int64),
            class_indices=frozen_array(arrays["class_indices"], np.int64),
            boxes=frozen_array(np.asarray(arrays["boxes"]).reshape(-1, 4), np.float64),
            scores=frozen_array(arrays["scores"], np.float64),
            provider=str(arrays["provider"]),
        )


class ModelFacts(Protocol):
    """What identifies a model's predictions without running it (an opened ``ModelSession`` is one)."""

    @property
    def card(self) -> ModelCard:
        """The validated card."""
        ...

    @property
    def sha256(self) -> str:
        """Hex digest of the model file."""
        ...

    @property
    def provider(self) -> str:
        """The execution provider that runs it."""
        ...


def score_floor(card: ModelCard) -> float:
    """The lowest score stored: the card's candidate floor, never above the card's score threshold.

    Example:
        >>> from visionspec.runtime.card import build_card
        >>> card = build_card([("card", {"name": "m", "task": "detection", "classes": ["a"],
        ...                              "input": {"size": [8, 8]}, "output": {"adapter": "yolo"}})])
        >>> score_floor(card)
        0.001
    """
    return min(card.output.candidate_threshold, card.score_threshold)


def detections_cache_key(model: ModelFacts, dataset: ImageSource, *, provider: str | None = None) -> str:
    """Everything that can change a detector's predictions on a data set.

    ``provider`` is where the pass runs (default: ``model.provider``); a Ray backend gives its workers'.
    """
    return cache_key({
        "kind": "detections",
        "model_sha256": model.sha256,
        "dataset_digest": dataset.digest,
        "input": model.card.input.to_dict(),
        "output": model.card.output.to_dict(),
        "classes": list(model.card.classes),
        "score_floor": score_floor(model.card),
        "onnxruntime": ort.__version__,
        "provider": model.provider if provider is None else provider,
    })


def detect(
    session: ModelSession,
    dataset: ImageSource,
    *,
    settings: BatchSettings | None = None,
    cache: PredictionCache | None = None,
    progress: ProgressCallback | None = None,
) -> ModelDetections:
    """Run a detector over every image of a data set.

    Args:
        session: an opened detection model.
        dataset: the images.
        settings: batch size and workers (default ``BatchSettings()``).
        cache: where to look up and store the result; None computes every time.
        progress: called with (images done, images) after each batch.

    Returns:
        The boxes in original image pixels, in the model's class indices.

    Raises:
        ModelCardError: the model is not a detector.
        DatasetError: an image cannot be read.
        InferenceError: the model failed, returned NaN/infinity, or a class index past the card's classes.
    """
    adapter = session.detection_adapter()

    def compute() -> dict[str, NDArray[Any]]:
        return _run_detector(session, adapter, dataset, settings or BatchSettings(), progress).to_arrays()

    if cache is None:
        return ModelDetections.from_arrays(compute())
    return ModelDetections.from_arrays(cache.get_or_compute(detections_cache_key(session, dataset), compute))


def predict(
    session: ModelSession,
    dataset: ImageSource,
    *,
    settings: BatchSettings | None = None,
    cache: PredictionCache | None = None,
    progress: ProgressCallback | None = None,
) -> Detections:
    """Run a detector over a data set and return its detections in the data set's category ids.

    The arguments and errors are those of ``detect``; see the module docstring for the class mapping.

    Example:
        >>> session = open_model("models/balloon-detector/checkpoints/epoch-05.onnx")  # doctest: +SKIP
        >>> detections = predict(session, DatasetRegistry().load("12345"), cache=PredictionCache(None))
    """
    found = detect(session, dataset, settings=settings, cache=cache, progress=progress)
    return to_categories(found, dataset.categories, model=str(session.path))


def to_categories(found: ModelDetections, categories: Sequence[Category], *, model: str) -> Detections:
    """Map class indices to the data set's category ids by class name, dropping classes it lacks."""
    ids_by_name = {category.name: category.id for category in categories}
    lookup = np.array([ids_by_name.get(name, -1) for name in found.classes], dtype=np.int64)
    if not (lookup >= 0).any():
        raise ModelCardError(
            f"{model}: none of the model's classes ({', '.join(found.classes)}) is a class of the data set "
            f"({', '.join(ids_by_name)}); fix: name the classes in the card as the data set does"
        )
    category_ids = lookup[found.class_indices]
    keep = category_ids >= 0
    return Detections.build(found.image_ids[keep], category_ids[keep], found.boxes[keep], found.scores[keep])


def _run_detector(
    session: ModelSession,
    adapter: OutputAdapter[BoxOutput],
    dataset: ImageSource,
    settings: BatchSettings,
    progress: ProgressCallback | None,
) -> ModelDetections:
    """The inference pass behind ``detect``."""
    images = dataset.images
    return run_detector(session, adapter, dataset.image_path, images.ids, images.file_names, settings=settings,
                        progress=progress)


def run_detector(
    session: ModelSession,
    adapter: OutputAdapter[BoxOutput],
    image_path: Callable[[int], Path],
    image_ids: NDArray[np.int64],
    names: Sequence[str],
    *,
    settings: BatchSettings,
    progress: ProgressCallback | None = None,
) -> ModelDetections:
    """A detector over pictures ``0 .. len(image_ids) - 1``: ``image_path(i)`` is the file of picture ``i``.

    The one inference pass of every backend: decoding (``open_image``), preprocessing, batching, the
    adapter and the score floor, so that each backend gives the same detections for the same pictures.

    Args:
        session: an opened detection model.
        adapter: its detection adapter.
        image_path: the file of picture ``i``.
        image_ids: (N,) the id given to each picture's detections.
        names: (N,) the pictures' file names, for messages.
        settings: batch size and decoding threads.
        progress: called with (pictures done, pictures) after each batch.
    """
    preprocessor = Preprocessor(session.card.input)

    def prepare(row: int) -> list[Prepared[tuple[int, ImageTransform]]]:
        tensor, transform = preprocessor(open_image(image_path(row)))
        return [Prepared(tensor, (row, transform))]

    def describe(tag: tuple[int, ImageTransform]) -> str:
        return f"{names[tag[0]]} (id {int(image_ids[tag[0]])})"

    collected = _Collector(session, score_floor(session.card))
    total = len(image_ids)
    for (row, transform), output in run_batches(session, adapter, range(total), prepare, total=total,
                                                describe=describe, settings=settings, progress=progress):
        collected.add(int(image_ids[row]), transform, output, describe((row, transform)))
    return collected.result()


_Part = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]


class _Collector:
    """Accumulates per-image boxes at or above the score floor, mapped back to picture pixels."""

    def __init__(self, session: ModelSession, floor: float) -> None:
        self._session = session
        self._floor = floor
        self._parts: list[_Part] = []
        self._plausibility = BoxPlausibility(session.card)  # a card the boxes contradict is broken

    def add(self, image_id: int, transform: ImageTransform, output: BoxOutput, image: str) -> None:
        """One image's decoded output."""
        classes = self._session.card.classes
        indices = output.class_indices
        too_large = indices >= len(classes)
        if too_large.any():
            raise InferenceError(
                f"{self._session.path}: the model gave class index {int(indices[too_large][0])} for image {image}, "
                f"but its card lists {len(classes)} class(es) ({', '.join(classes)}); fix: the card's classes "
                "(or output.label_offset)"
            )
        keep = (indices >= 0) & (output.scores >= self._floor)
        picture = transform.to_input(np.array([[0.0, 0.0, transform.width, transform.height]]))[0]
        self._plausibility.add(output.boxes[keep & (output.scores > 0)], picture, image)
        count = int(keep.sum())
        if count == 0:
            return
        boxes = transform.clip(transform.to_original(output.boxes[keep]))
        self._parts.append((np.full(count, image_id, dtype=np.int64), indices[keep], xyxy_to_xywh(boxes),
                            output.scores[keep]))

    def result(self) -> ModelDetections:
        """Everything collected, as one table."""
        self._plausibility.finish()

        def column(index: int, empty_shape: tuple[int, ...], dtype: type) -> NDArray[Any]:
            if not self._parts:
                return np.zeros(empty_shape, dtype=dtype)
            return np.concatenate([part[index] for part in self._parts])

        return ModelDetections(
            classes=self._session.card.classes,
            image_ids=column(0, (0,), np.int64),
            class_indices=column(1, (0,), np.int64),
            boxes=column(2, (0, 4), np.float64),
            scores=column(3, (0,), np.float64),
            provider=self._session.provider,
        )
