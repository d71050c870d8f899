"""The models and predictions of one run: each model opened once, each inference pass done once.

Every scenario of a run asks the workbench for a model's detections on a data set; the first asks
computes them (or finds them in the on-disk cache), the others share the result. Inference always
runs on the whole data set, so slices ("only the images without balloons") reuse the same pass.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.dataset import Dataset
from visionspec.detections import Detections
from visionspec.runtime.cache import PredictionCache
from visionspec.runtime.crops import Classifications, classify_crops
from visionspec.runtime.inference import predict
from visionspec.runtime.progress import ProgressLine
from visionspec.runtime.session import Device, ModelSession, open_model


@dataclass
class Workbench:
    """Opened models and computed predictions, shared by every scenario of a run.

    Attributes:
        device: where the models run (auto, cpu, cuda).
        cache: the prediction cache (memory for the run, and disk).
        threads: intra-op threads per model; None for the runtime's default.
    """

    device: Device
    cache: PredictionCache
    threads: int | None = None
    _models: dict[Path, ModelSession] = field(default_factory=dict)

    def model(self, path: Path) -> ModelSession:
        """The model at ``path``, opened (and checked against its card) once per run."""
        resolved = path.resolve()
        if resolved not in self._models:
            self._models[resolved] = open_model(resolved, device=self.device, threads=self.threads)
        return self._models[resolved]

    @property
    def models(self) -> list[ModelSession]:
        """Every model opened so far, for the report's environment."""
        return list(self._models.values())

    def detections(self, model: ModelSession, dataset: Dataset) -> Detections:
        """``model``'s detections on every image of ``dataset`` (all scores; thresholds come later)."""
        progress = ProgressLine(sys.stderr, f"{model.path.name} on {dataset.id}")
        return predict(model, dataset, cache=self.cache, progress=progress)

    def classify(
        self, model: ModelSession, dataset: Dataset, image_ids: NDArray[np.int64], boxes: NDArray[np.float64]
    ) -> Classifications:
        """``model``'s class for the crop of every box (ground-truth or detected)."""
        progress = ProgressLine(sys.stderr, f"{model.path.name} on {len(boxes):,} crops")
        return classify_crops(model, dataset, image_ids, boxes, cache=self.cache, progress=progress)
