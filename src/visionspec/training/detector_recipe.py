"""The balloon detector's recipe: its card, its data, its losses and its validation, in two stages.

1. ``DetectorRecipe`` trains ``BalloonDetector`` on random 160x160 crops of the training pictures (see
   ``DetectorBatches``) with CenterNet's loss.
2. ``VerifierRecipe`` mines the trained first stage's candidates on the training pictures (see
   ``visionspec.training.candidates``) and trains the crop verifier on them with the first stage frozen;
   its checkpoints rescore every candidate.

Each checkpoint of both stages is judged with the engine on the validation set: AP50, recall at the
card's threshold (all, small, occluded balloons) and false alarms on pictures without balloons.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the conventional name)
from torch import Tensor

from visionspec.datasets.images import open_image
from visionspec.runtime.batching import BatchSettings
from visionspec.runtime.card import InputSpec, build_card
from visionspec.runtime.inference import predict
from visionspec.runtime.preprocess import Preprocessor
from visionspec.runtime.session import ModelSession
from visionspec.training.candidates import VerifierCrops, crop_batches, mine_crops
from visionspec.training.centres import CentreTargets, centre_loss
from visionspec.training.data import DetectorBatches, place_images
from visionspec.training.detector import BalloonDetector, DetectorShape
from visionspec.training.figures import Figures, detector_figures
from visionspec.training.loop import EpochReport, Progress, Step, TrainingData, TrainOptions, run_training
from visionspec.training.verifier import CropVerifier

NAME = "balloon-detector"

SHAPE = DetectorShape()

CARD: Mapping[str, Any] = {
    "name": NAME,
    "task": "detection",
    "classes": ["balloon"],
    "description": (
        "Reference balloon detector: a small CenterNet-style network (stride-4 centre heatmap, size and "
        "offset heads, averaged with the mirrored picture's) with the decode (3x3 max-pool peaks, top-32, "
        "boxes, suppression of overlapping duplicates) inside the graph; from the second training stage on, "
        "a crop verifier rescores every candidate (score = heatmap peak x verifier probability)."
    ),
    "score_threshold": 0.3,
    "input": {
        "name": "images",
        "size": [SHAPE.height, SHAPE.width],
        "layout": "NCHW",
        "dtype": "float32",
        "scale": "1/255",
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "channel_order": "RGB",
        "resize": "stretch",
    },
    "output": {
        "adapter": "boxes_scores_labels",
        "box_format": "xyxy",
        "coordinates": "input_pixels",
        "boxes": "boxes",
        "scores": "scores",
        "labels": "labels",
    },
}

BATCH_SIZE = 32
CROP = 160
LEARNING_RATE = 3e-3
VERIFIER_EPOCHS = 6
VERIFIER_BATCH_SIZE = 128
VERIFIER_LEARNING_RATE = 3e-3
# Torch and onnxruntime must agree on this many real validation pictures (plus as many random inputs).
_CHECK_PICTURES = 4


def train_detector(options: TrainOptions, progress: Progress | None = None) -> tuple[EpochReport, ...]:
    """Train the balloon detector: one checked checkpoint an epoch in ``options.out``.

    ``options.epochs`` epochs of the first stage (checkpoints ``epoch-01`` on), then
    ``options.second_stage_epochs`` (default ``VERIFIER_EPOCHS``) of the verifier, numbered on.

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
        ...                        val_set="balloons-val", out=Path("models/balloon-detector"), limit=64)
        >>> reports = train_detector(options)  # doctest: +SKIP
    """
    data = TrainingData.load(options)
    first = DetectorRecipe(data, options)
    second_epochs = VERIFIER_EPOCHS if options.second_stage_epochs is None else options.second_stage_epochs
    total = options.epochs + second_epochs
    reports = run_training(first, data, options, progress=progress, total_epochs=total)
    if not second_epochs:
        return reports
    second = VerifierRecipe(first, options)
    return reports + run_training(second, data, replace(options, epochs=second_epochs), progress=progress,
                                  first_epoch=options.epochs + 1, total_epochs=total)


class DetectorRecipe:
    """The detector's part of the training loop (see ``visionspec.training.loop.Recipe``)."""

    card = CARD

    def __init__(self, data: TrainingData, options: TrainOptions) -> None:
        self._card = build_card([("the detector recipe", CARD)])
        self._val = data.val
        self._threads = options.threads
        self.placed = place_images(data.train, self._card.input, self._card.classes,
                                   np.arange(len(data.train.images)), threads=options.threads)
        self._batches = DetectorBatches(self.placed, spec=self._card.input,
                                        batch_size=options.batch_size or BATCH_SIZE, crop=CROP,
                                        num_classes=len(self._card.classes), seed=options.seed)
        self.samples = len(self.placed)
        self.steps_per_epoch = len(self._batches)
        self.learning_rate = options.learning_rate or LEARNING_RATE
        self._seed = options.seed
        self.model: BalloonDetector | None = None

    @property
    def input_spec(self) -> InputSpec:
        """The card's input: size and normalisation."""
        return self._card.input

    def network(self) -> BalloonDetector:
        """A fresh detector, kept as ``model`` for the second stage."""
        self.model = BalloonDetector(SHAPE)
        return self.model

    def batches(self) -> Iterator[tuple[Tensor, CentreTargets]]:
        """One epoch of augmented crops."""
        return self._batches.epoch()

    def step(self, network: BalloonDetector, inputs: Tensor, targets: CentreTargets) -> Step:
        """CenterNet's loss on one batch."""
        parts = centre_loss(*network.heads(inputs), targets)
        return Step(parts.total, {"heatmap": parts.heatmap, "size": parts.size, "offset": parts.offset})

    def check_inputs(self) -> Sequence[Tensor]:
        """Random noise and the first validation pictures, as the engine preprocesses them."""
        generator = torch.Generator().manual_seed(self._seed)
        noise = torch.rand((2, 3, SHAPE.height, SHAPE.width), generator=generator)
        preprocess = Preprocessor(self._card.input)
        count = min(_CHECK_PICTURES, len(self._val.images))
        pictures = np.stack([preprocess(open_image(self._val.image_path(row)))[0] for row in range(count)])
        return [noise, torch.from_numpy(pictures)]

    def validate(self, session: ModelSession) -> Figures:
        """The checkpoint's figures on the validation set, through the engine's predict."""
        settings = BatchSettings(batch_size=BATCH_SIZE, workers=self._threads)
        detections = predict(session, self._val, settings=settings)
        return detector_figures(self._val, detections, score=session.card.score_threshold)


class VerifierRecipe:
    """The second stage: the crop verifier trained on the first stage's own candidates, the rest frozen.

    Mining runs when the recipe is made (a pass of the first stage over the training pictures).
    """

    card = CARD

    def __init__(self, first: DetectorRecipe, options: TrainOptions) -> None:
        if first.model is None:
            raise ValueError("the second stage needs the first stage trained (run_training on it first)")
        self._first = first
        self._detector = first.model
        self._crops: VerifierCrops = mine_crops(self._detector, first.placed, first.input_spec, seed=options.seed)
        self._rng = np.random.default_rng(options.seed)
        self.samples = len(self._crops)
        self.steps_per_epoch = -(-self.samples // VERIFIER_BATCH_SIZE)
        self.learning_rate = VERIFIER_LEARNING_RATE

    def network(self) -> BalloonDetector:
        """The trained detector with its verifier switched on; only the verifier's weights learn."""
        self._detector.requires_grad_(False)
        self._detector.verifier.requires_grad_(True)
        # fresh weights drawn after the loop re-seeds torch: the second stage starts from its own seed, as
        # the shipped checkpoints were trained
        self._detector.verifier.load_state_dict(CropVerifier().state_dict())
        self._detector.verifying = True
        return self._detector

    def batches(self) -> Iterator[tuple[Tensor, Tensor]]:
        """One epoch of mirrored, brightness-jittered crops."""
        return crop_batches(self._crops, batch_size=VERIFIER_BATCH_SIZE, rng=self._rng)

    def step(self, network: BalloonDetector, inputs: Tensor, targets: Tensor) -> Step:
        """Binary cross-entropy of the verifier on one batch of crops."""
        return Step(F.binary_cross_entropy_with_logits(network.verifier(inputs), targets))

    def check_inputs(self) -> Sequence[Tensor]:
        """The first stage's check inputs."""
        return self._first.check_inputs()

    def validate(self, session: ModelSession) -> Figures:
        """The first stage's validation."""
        return self._first.validate(session)
