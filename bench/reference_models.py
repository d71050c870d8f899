"""The reference models' checkpoints judged by the engine: the table of docs/reference-models.md.

For every checkpoint of ``balloon-detector`` and ``balloon-colour`` (in training order) it runs the
engine's inference (``predict`` / ``classify_crops``, with the prediction cache) and metrics and prints
one Markdown table per model with the product's figures on data set 12345 and the box mAP on
balloons-crowd. The chain (detector then colour model) is measured for each detector checkpoint with the
newest colour model and for each colour checkpoint with the newest detector.

    python bench/reference_models.py [--models models] [--datasets datasets] [--threads 2]

Needs no torch: only the run-only install and the built data sets (``visionspec datasets build 12345``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from visionspec.checkpoints import checkpoints_of
from visionspec.datasets import Dataset, DatasetRegistry
from visionspec.detections import Detections
from visionspec.metrics import evaluate_coco
from visionspec.runtime.batching import BatchSettings
from visionspec.runtime.cache import PredictionCache
from visionspec.runtime.crops import classify_crops
from visionspec.runtime.inference import predict
from visionspec.runtime.session import Device, ModelSession, open_model
from visionspec.training.figures import chain_figures, colour_figures, detector_figures

DETECTOR = "balloon-detector"
COLOUR = "balloon-colour"


class Judge:
    """Opens checkpoints and runs the engine on the data sets, sharing the prediction cache."""

    def __init__(self, registry: DatasetRegistry, threads: int, product_set: str, crowd_set: str) -> None:
        self.product = registry.load(product_set)
        self.crowd = registry.load(crowd_set) if crowd_set in registry.ids() else None
        self._threads = threads
        self._cache = PredictionCache.from_environment()
        self._settings = BatchSettings(batch_size=64, workers=threads)

    def open(self, path: Path) -> ModelSession:
        return open_model(path, device=Device.CPU, threads=self._threads)

    def detections(self, detector: ModelSession, dataset: Dataset) -> Detections:
        return predict(detector, dataset, settings=self._settings, cache=self._cache)

    def colours(self, colour_model: ModelSession, image_ids: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        found = classify_crops(colour_model, self.product, image_ids, boxes, settings=self._settings,
                               cache=self._cache)
        return np.asarray(found.labels, dtype=np.str_)

    def chain(self, detector: ModelSession, colour_model: ModelSession) -> dict[str, float | None]:
        detections = self.detections(detector, self.product)
        score = detector.card.score_threshold
        kept = detections.scores >= score
        labels = np.full(len(detections), "", dtype=object)
        labels[kept] = self.colours(colour_model, detections.image_ids[kept], detections.boxes[kept])
        return chain_figures(self.product, detections, labels.astype(np.str_), score=score)

    def detector_row(self, path: Path, colour_model: ModelSession | None) -> dict[str, float | None]:
        detector = self.open(path)
        score = detector.card.score_threshold
        row = detector_figures(self.product, self.detections(detector, self.product), score=score)
        if self.crowd is not None:
            crowd = self.detections(detector, self.crowd)
            summary = evaluate_coco(self.crowd.annotations, self.crowd.images.ids,
                                    [category.id for category in self.crowd.categories], crowd).summary
            row.update({"crowd_ap": summary.ap, "crowd_ap50": summary.ap50})
        if colour_model is not None:
            row.update(self.chain(detector, colour_model))
        return row

    def colour_row(self, path: Path, detector: ModelSession | None) -> dict[str, float | None]:
        colour_model = self.open(path)
        annotations = self.product.annotations
        predicted = self.colours(colour_model, annotations.image_ids, annotations.boxes)
        row = colour_figures(annotations.attributes["colour"], predicted, colour_model.card.classes)
        if detector is not None:
            row.update(self.chain(detector, colour_model))
        return row


def _cell(value: float | None, name: str) -> str:
    if value is None:
        return "n/a"
    if name.endswith(("_found", "_objects", "_reports")):
        return f"{value:.0f}"
    return f"{value:.3f}"


def print_table(title: str, rows: Sequence[tuple[str, dict[str, float | None], float]]) -> None:
    """One Markdown table: a row per checkpoint, a column per figure, and the seconds it took."""
    if not rows:
        print(f"\n{title}: no checkpoints\n")
        return
    names = list(rows[0][1])
    print(f"\n{title}\n")
    print("| checkpoint | " + " | ".join(names) + " | seconds |")
    print("|---" * (len(names) + 2) + "|")
    for checkpoint, figures, seconds in rows:
        print(f"| {checkpoint} | " + " | ".join(_cell(figures.get(n), n) for n in names) + f" | {seconds:.1f} |")


def _rows(paths: Sequence[Path], measure: Callable[[Path], dict[str, float | None]]
          ) -> list[tuple[str, dict[str, float | None], float]]:
    """Measure each checkpoint, timing it."""
    rows = []
    for path in paths:
        started = time.perf_counter()
        figures = measure(path)
        rows.append((path.name, figures, time.perf_counter() - started))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--datasets", type=Path, default=None)
    parser.add_argument("--product-set", default="12345")
    parser.add_argument("--crowd-set", default="balloons-crowd")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    judge = Judge(DatasetRegistry(args.datasets), args.threads, args.product_set, args.crowd_set)
    detectors = checkpoints_of(args.models, DETECTOR)
    colour_models = checkpoints_of(args.models, COLOUR)
    newest_detector = judge.open(detectors[-1]) if detectors else None
    newest_colour = judge.open(colour_models[-1]) if colour_models else None

    colour_name = colour_models[-1].name if colour_models else "none"
    detector_name = detectors[-1].name if detectors else "none"
    print_table(f"{DETECTOR} on {args.product_set} (chain with {COLOUR} {colour_name})",
                _rows(detectors, lambda path: judge.detector_row(path, newest_colour)))
    print_table(f"{COLOUR} on {args.product_set} (chain with {DETECTOR} {detector_name})",
                _rows(colour_models, lambda path: judge.colour_row(path, newest_detector)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
