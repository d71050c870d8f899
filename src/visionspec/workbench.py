"""The models and predictions of one run: each model opened once, each inference pass done once.

Every scenario of a run asks the workbench for a model's detections on a data set; the first asks
computes them (or finds them in the on-disk cache), the others share the result. Inference always
runs on the whole data set, so slices ("only the images without balloons") reuse the same pass.
Detectors run on the workbench's inference backend (``local``, or ``ray`` for a cluster); the colour
model's crops run locally.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.dataset import Dataset
from visionspec.detections import Detections
from visionspec.report.allure_files import ModelFile, RunEnvironment
from visionspec.runtime.backend import InferenceBackend, LocalBackend
from visionspec.runtime.cache import PredictionCache
from visionspec.runtime.crops import Classifications, classify_crops
from visionspec.runtime.inference import to_categories
from visionspec.runtime.progress import ProgressCallback, ProgressLine
from visionspec.runtime.session import Device, ModelSession, open_model


def gpu_name() -> str:
    """The NVIDIA GPU's name as ``nvidia-smi`` reports it, or ``GPU`` when it cannot tell."""
    try:
        found = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "GPU"
    return found.stdout.strip().splitlines()[0] if found.stdout.strip() else "GPU"


@runtime_checkable
class RemoteModel(Protocol):
    """A model under test that runs elsewhere (an analysis service: ``visionspec.service.client``)."""

    @property
    def name(self) -> str:
        """Where it runs (the service's address)."""
        ...

    def environment(self) -> Mapping[str, str]:
        """What it says it is (version, model hashes), for the report's environment."""
        ...

    def detections(self, dataset: Dataset, *, cache: PredictionCache | None = None,
                   progress: ProgressCallback | None = None) -> Detections:
        """Its detections on every image of ``dataset``, by the data set's category ids."""
        ...

    def classify(self, dataset: Dataset, image_ids: NDArray[np.int64], boxes: NDArray[np.float64], *,
                 cache: PredictionCache | None = None, progress: ProgressCallback | None = None) -> Classifications:
        """Its class for each box."""
        ...


@dataclass
class Workbench:
    """Opened models and computed predictions, shared by every scenario of a run.

    Attributes:
        device: where the models run (auto, cpu, cuda).
        cache: the prediction cache (memory for the run, and disk).
        threads: intra-op threads per model; None for the runtime's default.
        backend: where detectors run (``make_backend``: local or ray).
    """

    device: Device
    cache: PredictionCache
    threads: int | None = None
    backend: InferenceBackend = field(default_factory=LocalBackend)
    _models: dict[Path, ModelSession] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)
    """Id to digest of every data set a model ran on, for the report's environment."""
    candidate_detector: ModelSession | None = None
    """The detector under test (named by executor.json), once a scenario asked for it."""
    remote: dict[str, RemoteModel] = field(default_factory=dict)
    """Models under test that ran elsewhere (analysis services), by name, for the report's environment."""

    def __repr__(self) -> str:
        # short: Allure and pytest print step arguments; the arrays would take seconds
        return f"Workbench({self.device.value}, {self.backend.name}, {len(self._models)} models)"

    def model(self, path: Path, card: Path | None = None) -> ModelSession:
        """The model at ``path``, opened (and checked against its card, ``card`` or the one found) once per run."""
        resolved = path.resolve()
        if resolved not in self._models:
            self._models[resolved] = open_model(resolved, card_path=card, device=self.device, threads=self.threads)
        return self._models[resolved]

    @property
    def models(self) -> list[ModelSession]:
        """Every model opened so far, for the report's environment."""
        return list(self._models.values())

    def environment(self) -> RunEnvironment:
        """What this run judged and on what, for ``environment.properties``."""
        models = [ModelFile(model.card.name, model.path, model.sha256, card=str(model.card_source))
                  for model in self.models]
        providers = sorted({model.provider for model in self.models}) or ["none (no model ran)"]
        device = gpu_name() if "CUDAExecutionProvider" in providers else "CPU"
        extra = {"Inference backend": self.backend.name,
                 **{key: value for remote in self.remote.values() for key, value in remote.environment().items()}}
        return RunEnvironment(models, dict(self.datasets), ", ".join(providers), device, extra)

    def detections(self, model: ModelSession | RemoteModel, dataset: Dataset) -> Detections:
        """``model``'s detections on every image of ``dataset`` (all scores; thresholds come later)."""
        self.datasets[dataset.id] = dataset.digest
        if isinstance(model, RemoteModel):
            self.remote[model.name] = model
            progress = ProgressLine(sys.stderr, f"{model.name} on {dataset.id}")
            return model.detections(dataset, cache=self.cache, progress=progress)
        progress = ProgressLine(sys.stderr, f"{model.path.name} on {dataset.id}")
        found = self.backend.detect(model, dataset, cache=self.cache, progress=progress)
        return to_categories(found, dataset.categories, model=str(model.path))

    def classify(
        self, model: ModelSession | RemoteModel, dataset: Dataset, image_ids: NDArray[np.int64],
        boxes: NDArray[np.float64],
    ) -> Classifications:
        """``model``'s class for the crop of every box (ground-truth or detected)."""
        self.datasets[dataset.id] = dataset.digest
        if isinstance(model, RemoteModel):
            self.remote[model.name] = model
            return model.classify(dataset, image_ids, boxes, cache=self.cache)
        progress = ProgressLine(sys.stderr, f"{model.path.name} on {len(boxes):,} crops")
        return classify_crops(model, dataset, image_ids, boxes, cache=self.cache, progress=progress)
