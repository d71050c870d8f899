"""The score floor's price: detections stored and COCO figures with every slot kept against the floor.

Runs the detector once over a data set with the floor switched off (every slot the adapter gives), then
applies the floor (``score_floor``: the card's candidate floor, never above its score threshold; a
per-detection filter, so applying it afterwards is what the pass itself stores) and prints:

- detections stored, and their bytes (56 a detection: id, class, box, score);
- the twelve COCO figures of both, and their differences (AP uses every score, so only the tail of the
  precision-recall curve below the floor can move);
- TP / FP / FN at the card's score threshold (the goals' default): identical by construction.

    .venv/bin/python bench/bench_floor.py --datasets /tmp/vsds --dataset balloons-val
    .venv/bin/python bench/bench_floor.py --dataset 12345 --model models/balloon-detector/checkpoints/epoch-22.onnx
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from unittest import mock

import numpy as np

from visionspec.checkpoints import REFERENCE_DETECTOR, newest_checkpoint
from visionspec.datasets import DatasetRegistry
from visionspec.detections import Detections
from visionspec.metrics.coco import evaluate_coco
from visionspec.metrics.threshold import counts_at
from visionspec.runtime import BatchSettings, Device, detect, inference, open_model, to_categories
from visionspec.runtime.inference import score_floor

BYTES_PER_DETECTION = 8 + 8 + 4 * 8 + 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=None)
    parser.add_argument("--dataset", default="balloons-val")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sweep", type=float, nargs="*", default=[0.01, 0.05, 0.1],
                        help="other floors to price (detections a picture, AP, AP50, AR100 against every slot)")
    args = parser.parse_args()
    model = args.model or newest_checkpoint(Path("models"), REFERENCE_DETECTOR)
    session = open_model(model, device=Device.CPU, threads=args.threads)
    dataset = DatasetRegistry(args.datasets).load(args.dataset)
    with mock.patch.object(inference, "score_floor", lambda card: -math.inf):
        found = detect(session, dataset, settings=BatchSettings(16, 1))
    every = to_categories(found, dataset.categories, model=str(model))
    floor = score_floor(session.card)
    kept = every.above(floor)
    images = len(dataset.images)
    print(f"{model.name} on {dataset.id} ({images:,} pictures); floor {floor} (card threshold "
          f"{session.card.score_threshold})")
    for label, detections in (("every slot", every), ("at the floor", kept)):
        print(f"  {label:<13} {len(detections):>9,} detections, {len(detections) / images:6.2f} a picture, "
              f"{len(detections) * BYTES_PER_DETECTION / images:8.0f} bytes a picture; "
              f"scores exactly 0: {int((detections.scores == 0).sum()):,}")
    summaries = [evaluate(dataset, detections) for detections in (every, kept)]
    print(f"  {'figure':<7} {'every slot':>12} {'at the floor':>12} {'difference':>12}")
    for name, value in summaries[0].items():
        other = summaries[1][name]
        difference = "" if value is None or other is None else f"{other - value:+.2e}"
        print(f"  {name:<7} {fmt(value):>12} {fmt(other):>12} {difference:>12}")
    for other in args.sweep:
        figures = evaluate(dataset, every.above(other))
        changes = ", ".join(f"{name} {figures[name] - summaries[0][name]:+.2e}" for name in ("AP", "AP50", "AR100")
                            if figures[name] is not None and summaries[0][name] is not None)
        print(f"  floor {other:<6} {int((every.scores >= other).sum()) / images:6.2f} a picture; {changes}")
    threshold = session.card.score_threshold
    for label, detections in (("every slot", every), ("at the floor", kept)):
        counts = counts_at(dataset.annotations, dataset.images.ids, [c.id for c in dataset.categories], detections,
                           score=threshold, iou=0.5).overall
        print(f"  at the card's threshold {threshold}, {label:<13}: TP {counts.tp} FP {counts.fp} FN {counts.fn}")


def evaluate(dataset: object, detections: Detections) -> dict[str, float | None]:
    """The twelve COCO figures."""
    ids = [category.id for category in dataset.categories]  # type: ignore[attr-defined]
    result = evaluate_coco(dataset.annotations, dataset.images.ids, ids, detections)  # type: ignore[attr-defined]
    return result.summary.to_dict()


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
