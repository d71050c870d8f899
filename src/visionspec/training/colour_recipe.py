"""The balloon colour model's recipe: its card, its crops, its loss and its validation.

Trains ``ColourClassifier`` with cross-entropy on jittered ground-truth crops (see ``CropBatches``) and
judges each checkpoint with the engine's ``classify_crops`` on the validation set's ground-truth boxes:
accuracy, red recall and the share of other colours called red.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the conventional name)
from torch import Tensor

from visionspec.runtime.batching import BatchSettings
from visionspec.runtime.card import build_card
from visionspec.runtime.crops import classify_crops
from visionspec.runtime.session import ModelSession
from visionspec.training.colour import ColourClassifier
from visionspec.training.crop_data import CropBatches, labelled_boxes
from visionspec.training.figures import Figures, colour_figures
from visionspec.training.loop import EpochReport, Progress, Step, TrainingData, TrainOptions, run_training

NAME = "balloon-colour"

COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")
"""The classes, in output order: the balloon world's colours."""

ATTRIBUTE = "colour"
"""The object attribute holding each balloon's true colour."""

CROP_SIZE = 32

CARD: Mapping[str, Any] = {
    "name": NAME,
    "task": "classification",
    "classes": list(COLOURS),
    "description": (
        "Reference balloon colour model: a small convolutional classifier of balloon crops (box rounded "
        "outward, padded past the picture's edge, stretched to 32x32) into the eight colours."
    ),
    "score_threshold": 0.5,
    "input": {
        "name": "crops",
        "size": [CROP_SIZE, CROP_SIZE],
        "layout": "NCHW",
        "dtype": "float32",
        "scale": "1/255",
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "channel_order": "RGB",
        "resize": "stretch",
        "pad_value": 114,
    },
    "output": {"adapter": "logits", "output": "logits"},
}

BATCH_SIZE = 64
LEARNING_RATE = 3e-3
_LABEL_SMOOTHING = 0.05
_CHECK_CROPS = 64


def train_colour(options: TrainOptions, progress: Progress | None = None) -> tuple[EpochReport, ...]:
    """Train the balloon colour model: one checked checkpoint an epoch in ``options.out``.

    Args:
        options: epochs, seed, threads, data sets, output folder.
        progress: called with each epoch's report.

    Returns:
        One report per epoch.

    Raises:
        DatasetError: a data set is unknown, unbuilt, fails verification or lacks what the recipe needs.
        ModelError: an exported checkpoint fails its checks.

    Example:
        >>> options = TrainOptions(epochs=1, seed=0, threads=1, train_set="balloons-train",  # doctest: +SKIP
        ...                        val_set="balloons-val", out=Path("models/balloon-colour"), limit=64)
        >>> reports = train_colour(options)  # doctest: +SKIP
    """
    data = TrainingData.load(options)
    return run_training(ColourRecipe(data, options), data, options, progress=progress)


class ColourRecipe:
    """The colour model's part of the training loop (see ``visionspec.training.loop.Recipe``)."""

    card = CARD

    def __init__(self, data: TrainingData, options: TrainOptions) -> None:
        self._card = build_card([("the colour recipe", CARD)])
        self._val = data.val
        self._threads = options.threads
        objects = labelled_boxes(data.train, COLOURS, attribute=ATTRIBUTE, threads=options.threads)
        self._batches = CropBatches(objects, spec=self._card.input, batch_size=options.batch_size or BATCH_SIZE,
                                    seed=options.seed)
        self._check_batches = CropBatches(objects, spec=self._card.input, batch_size=_CHECK_CROPS, seed=options.seed)
        self.samples = len(objects)
        self.steps_per_epoch = len(self._batches)
        self.learning_rate = options.learning_rate or LEARNING_RATE
        self._seed = options.seed

    def network(self) -> ColourClassifier:
        """A fresh classifier."""
        return ColourClassifier(len(COLOURS))

    def batches(self) -> Iterator[tuple[Tensor, Tensor]]:
        """One epoch of jittered crops."""
        return self._batches.epoch()

    def step(self, network: ColourClassifier, inputs: Tensor, targets: Tensor) -> Step:
        """Cross-entropy (lightly label-smoothed: lighting makes some crops truly ambiguous)."""
        return Step(F.cross_entropy(network(inputs), targets, label_smoothing=_LABEL_SMOOTHING))

    def check_inputs(self) -> Sequence[Tensor]:
        """Random noise and real training crops."""
        generator = torch.Generator().manual_seed(self._seed)
        noise = torch.rand((8, 3, CROP_SIZE, CROP_SIZE), generator=generator)
        crops, _ = next(self._check_batches.epoch())
        return [noise, crops.contiguous()]

    def validate(self, session: ModelSession) -> Figures:
        """Accuracy and red figures on the validation set's ground-truth crops, through the engine."""
        annotations = self._val.annotations
        settings = BatchSettings(batch_size=256, workers=self._threads)
        found = classify_crops(session, self._val, annotations.image_ids, annotations.boxes, settings=settings)
        return colour_figures(np.asarray(annotations.attributes[ATTRIBUTE]), np.asarray(found.labels), COLOURS)
