"""The epoch loop both recipes share: seeding, threads, optimiser and schedule, one checkpoint an epoch.

A recipe supplies the network, its batches, its loss and the engine-side validation of a checkpoint; the
loop trains, exports ``<out>/checkpoints/epoch-NN.onnx`` at the end of every epoch (checked, with the
training facts in its metadata) and reports one ``EpochReport`` per epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
import yaml
from torch import Tensor, nn

from visionspec.datasets.dataset import Dataset
from visionspec.datasets.registry import DatasetRegistry
from visionspec.runtime.card import ModelCard, build_card
from visionspec.runtime.session import ModelSession
from visionspec.training.export import ExportReport, export_checkpoint

# Learning rate: linear warm-up over the first steps (batch norm statistics and the focal loss settle),
# then a cosine decay to this fraction of the peak at the last step, so the last epochs converge.
_WARMUP_STEPS = 100
_FINAL_LR_FRACTION = 0.02
_WEIGHT_DECAY = 1e-4

Figures = Mapping[str, float | None]


@dataclass(frozen=True)
class TrainOptions:
    """How to run a recipe.

    Attributes:
        epochs: passes over the training set; one checkpoint each.
        seed: seeds torch and the batch order and augmentation (same seed and threads: same losses).
        threads: torch and onnxruntime threads (1 when other work shares the machine: 2-thread OpenMP
            training slows 5 to 20 times under contention, 1 thread degrades gracefully).
        train_set: data set id to train on.
        val_set: data set id to validate each checkpoint on.
        out: the model folder: ``<out>/model.yaml`` and ``<out>/checkpoints/epoch-NN.onnx``.
        datasets: data set root; None for the registry's default (``$VISIONSPEC_DATASETS`` or ./datasets).
        limit: use only the first ``limit`` pictures of each set (tiny runs); None for all.
        batch_size: pictures (detector) or crops (colour model) per step; None for the recipe's default.
        learning_rate: peak learning rate; None for the recipe's default.
        second_stage_epochs: epochs of a recipe's second stage (the detector's verifier), after ``epochs``;
            None for the recipe's default, 0 for none.
    """

    epochs: int
    seed: int
    threads: int
    train_set: str
    val_set: str
    out: Path
    datasets: Path | None = None
    limit: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    second_stage_epochs: int | None = None


@dataclass(frozen=True)
class EpochReport:
    """One epoch: its training loss, its checkpoint and that checkpoint's validation figures.

    Attributes:
        epoch: 1-based epoch number.
        epochs: epochs in the run.
        loss: mean training loss over the epoch.
        loss_terms: mean of each loss term.
        samples_per_second: training throughput (pictures or crops), excluding validation and export.
        seconds: wall time of the whole epoch, validation and export included.
        checkpoint: the exported file and its torch-versus-onnxruntime agreement.
    """

    epoch: int
    epochs: int
    loss: float
    loss_terms: Mapping[str, float]
    samples_per_second: float
    seconds: float
    checkpoint: ExportReport

    @property
    def validation(self) -> Figures:
        """The checkpoint's figures on the validation set, as measured by the engine."""
        return self.checkpoint.validation

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "epoch": self.epoch,
            "epochs": self.epochs,
            "loss": self.loss,
            "loss_terms": dict(self.loss_terms),
            "validation": dict(self.validation),
            "samples_per_second": self.samples_per_second,
            "seconds": self.seconds,
            "checkpoint": self.checkpoint.to_dict(),
        }

    def __str__(self) -> str:
        terms = " ".join(f"{name} {value:.3f}" for name, value in self.loss_terms.items())
        figures = "  ".join(f"{name} {_figure(value)}" for name, value in self.validation.items())
        return (
            f"epoch {self.epoch}/{self.epochs}  loss {self.loss:.3f}{f' ({terms})' if terms else ''}  val {figures}  "
            f"{self.samples_per_second:,.0f}/s  {self.seconds:.0f} s  -> {self.checkpoint.path}"
        )


def _figure(value: float | None) -> str:
    """A validation figure for the progress line."""
    return "n/a" if value is None else f"{value:.3f}"


@dataclass(frozen=True)
class Step:
    """One optimisation step's loss and its terms."""

    loss: Tensor
    terms: Mapping[str, float] = field(default_factory=dict)


_Network = TypeVar("_Network", bound=nn.Module)
_Targets = TypeVar("_Targets")


class Recipe(Protocol[_Network, _Targets]):
    """What a model brings to the shared loop: ``_Network`` its network class, ``_Targets`` its batch targets."""

    @property
    def card(self) -> Mapping[str, Any]:
        """The model card, as written to ``model.yaml``."""
        ...

    @property
    def samples(self) -> int:
        """Training samples (pictures or crops) per epoch."""
        ...

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch."""
        ...

    @property
    def learning_rate(self) -> float:
        """Peak learning rate of the schedule."""
        ...

    def network(self) -> _Network:
        """A freshly initialised network (torch's seed is set before this is called)."""
        ...

    def batches(self) -> Iterable[tuple[Tensor, _Targets]]:
        """One epoch of (input, targets) batches, in a fresh seeded random order."""
        ...

    def step(self, network: _Network, inputs: Tensor, targets: _Targets) -> Step:
        """The loss of one batch."""
        ...

    def check_inputs(self) -> Sequence[Tensor]:
        """Input batches (random and real) that torch and onnxruntime must agree on."""
        ...

    def validate(self, session: ModelSession) -> Figures:
        """The checkpoint's figures on the validation set, measured by the engine."""
        ...


Progress = Callable[[EpochReport], None]


@dataclass(frozen=True)
class TrainingData:
    """The data sets of a run, loaded through the registry (limited for tiny runs)."""

    train: Dataset
    val: Dataset

    @classmethod
    def load(cls, options: TrainOptions) -> TrainingData:
        """Load and verify both sets; ``limit`` keeps the first pictures of each."""
        registry = DatasetRegistry(options.datasets)
        return cls(_first(registry.load(options.train_set), options.limit),
                   _first(registry.load(options.val_set), options.limit))

    def metadata(self) -> dict[str, str]:
        """The data set facts stored in every checkpoint."""
        return {
            "visionspec.train_set": self.train.id,
            "visionspec.train_set_digest": self.train.digest,
            "visionspec.val_set": self.val.id,
            "visionspec.val_set_digest": self.val.digest,
        }


def _first(dataset: Dataset, limit: int | None) -> Dataset:
    """The first ``limit`` pictures of ``dataset`` (all of them when None)."""
    if limit is None or limit >= len(dataset.images):
        return dataset
    return dataset.select_images(np.arange(len(dataset.images)) < limit)


def write_card(path: Path, card: Mapping[str, Any]) -> ModelCard:
    """Write ``model.yaml`` (when its content changes) and return it validated."""
    text = "# Written by `visionspec train`; the recipe in visionspec.training holds the source of truth.\n"
    text += yaml.safe_dump(dict(card), sort_keys=False, allow_unicode=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return build_card([(str(path), card)])


def run_training(
    recipe: Recipe[_Network, _Targets],
    data: TrainingData,
    options: TrainOptions,
    *,
    progress: Progress | None = None,
    first_epoch: int = 1,
    total_epochs: int | None = None,
) -> tuple[EpochReport, ...]:
    """Train ``recipe`` for ``options.epochs`` epochs, exporting and validating a checkpoint after each.

    Args:
        recipe: the model's recipe, its data already prepared.
        data: the data sets (their ids and digests go into every checkpoint).
        options: epochs, seed, threads, output folder.
        progress: called with each epoch's report as soon as it is known.
        first_epoch: the number of the first epoch (a second stage goes on counting where the first ended).
        total_epochs: epochs of the whole run, all stages; None when this is the whole run.

    Returns:
        One report per epoch.
    """
    torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    network = recipe.network().to(memory_format=torch.channels_last)
    card_file = options.out / "model.yaml"
    card = write_card(card_file, recipe.card)
    optimiser = torch.optim.AdamW(network.parameters(), lr=recipe.learning_rate, weight_decay=_WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, _warmup_cosine(recipe.steps_per_epoch * options.epochs))
    last_epoch = first_epoch + options.epochs - 1
    all_epochs = total_epochs or last_epoch
    facts = {
        **data.metadata(),
        "visionspec.seed": str(options.seed),
        "visionspec.epochs": str(all_epochs),
        "visionspec.torch_version": torch.__version__,
    }
    check_inputs = recipe.check_inputs()
    reports = []
    for epoch in range(first_epoch, last_epoch + 1):
        started = time.perf_counter()
        network.train()
        totals: dict[str, float] = {}
        steps = 0
        for inputs, targets in recipe.batches():
            result = recipe.step(network, inputs, targets)
            optimiser.zero_grad(set_to_none=True)
            result.loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            steps += 1
            for name, value in {"loss": float(result.loss.detach()), **result.terms}.items():
                totals[name] = totals.get(name, 0.0) + value
        trained = time.perf_counter() - started
        checkpoint = export_checkpoint(
            network,
            path=options.out / "checkpoints" / f"epoch-{epoch:02d}.onnx",
            card=card,
            card_file=card_file,
            metadata={**facts, "visionspec.epoch": str(epoch)},
            check_inputs=check_inputs,
            validate=recipe.validate,
        )
        means = {name: total / max(1, steps) for name, total in totals.items()}
        report = EpochReport(
            epoch=epoch,
            epochs=all_epochs,
            loss=means.pop("loss", math.nan),
            loss_terms=means,
            samples_per_second=recipe.samples / trained if trained > 0 else math.nan,
            seconds=time.perf_counter() - started,
            checkpoint=checkpoint,
        )
        reports.append(report)
        if progress is not None:
            progress(report)
    return tuple(reports)


def _warmup_cosine(total_steps: int) -> Callable[[int], float]:
    """Learning-rate factor of each step: linear warm-up, then cosine decay to ``_FINAL_LR_FRACTION``."""
    warmup = min(_WARMUP_STEPS, max(1, total_steps // 4))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return _FINAL_LR_FRACTION + (1 - _FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor
