"""Benchmark: the cost of a Then step's evidence, and the picture formats side by side.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_report.py [--images 60] [--repeat 3] [--keep DIR]

Draws a small synthetic balloon world (the data set generator, ``--images`` pictures of 256 x 256),
makes a detector's output from its annotations (every fourth balloon missed, the others found with
jittered boxes, one false alarm a picture), then times, best of ``--repeat``:

- a 24-tile contact sheet of misses encoded as JPEG q80 4:2:0 (the default), PNG at ``compress_level=1`` and
  PNG at Pillow's default level: seconds and bytes, with ratios to JPEG;
- the PR curve, the confusion matrix and a 12-goal by 10-checkpoint trend plot (matplotlib).

``--keep DIR`` writes the pictures there to look at.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from visionspec.datasets.synthetic.build import build_world
from visionspec.datasets.synthetic.params import WorldParams
from visionspec.datasets.tables import AnnotationTable, frozen_array
from visionspec.detections import Detections
from visionspec.report.evidence import contact_sheet, false_alarm_tiles, miss_tiles
from visionspec.report.picture import Picture
from visionspec.report.plots import PrCurve, TrendSeries, confusion_matrix_plot, pr_curve_plot, trend_plot


def world(images: int, folder: Path) -> tuple[AnnotationTable, dict[int, Path]]:
    """Draw the pictures; return the balloons and image id -> path."""
    coco = build_world(WorldParams(images=images, balloons_per_image=(1, 4)), seed=7, folder=folder, workers=1)
    objects = coco["annotations"]
    boxes = np.array([a["bbox"] for a in objects], dtype=np.float64).reshape(-1, 4)
    table = AnnotationTable(
        ids=frozen_array([a["id"] for a in objects], np.int64),
        image_ids=frozen_array([a["image_id"] for a in objects], np.int64),
        category_ids=frozen_array([a["category_id"] for a in objects], np.int64),
        boxes=frozen_array(boxes, np.float64),
        areas=frozen_array([a["area"] for a in objects], np.float64),
        iscrowd=frozen_array([bool(a.get("iscrowd", 0)) for a in objects], np.bool_),
        attributes={"colour": frozen_array([a.get("attributes", {}).get("colour", "") for a in objects], np.str_)},
    )
    paths = {int(image["id"]): folder / "images" / image["file_name"] for image in coco["images"]}
    return table, paths


def detector(truth: AnnotationTable, image_ids: list[int], seed: int = 0) -> tuple[Detections, np.ndarray, np.ndarray]:
    """Found balloons with jittered boxes plus one false alarm a picture; the missed and false-alarm masks."""
    rng = np.random.default_rng(seed)
    missed = np.arange(len(truth)) % 4 == 3
    found = truth.boxes[~missed] + rng.normal(0, 2, size=(int((~missed).sum()), 4))
    alarms = np.column_stack([rng.uniform(0, 200, len(image_ids)), rng.uniform(0, 200, len(image_ids)),
                              rng.uniform(15, 50, len(image_ids)), rng.uniform(15, 50, len(image_ids))])
    detections = Detections.build(
        np.concatenate([truth.image_ids[~missed], image_ids]), np.ones(len(found) + len(image_ids), np.int64),
        np.vstack([found, alarms]),
        np.concatenate([rng.uniform(0.5, 1, len(found)), rng.uniform(0.3, 0.9, len(image_ids))]),
    )
    false_alarm = np.arange(len(detections)) >= len(found)
    return detections, missed, false_alarm


def best_of(repeat: int, make: Callable[[], Picture]) -> tuple[float, Picture]:
    """The fastest of ``repeat`` runs, and its picture."""
    best, picture = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        picture = make()
        best = min(best, time.perf_counter() - start)
    assert picture is not None
    return best, picture


def main() -> int:
    """Run the measurements and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        truth, paths = world(args.images, Path(scratch))
        detections, missed, false_alarm = detector(truth, sorted(paths))
        tiles = miss_tiles(truth, missed, detections, paths.__getitem__, attribute="colour", title="Missed balloons")
        alarms = false_alarm_tiles(detections, false_alarm, truth, paths.__getitem__, title="False alarms")
        print(f"world: {len(paths)} pictures, {len(truth)} balloons, {int(missed.sum())} missed, "
              f"{int(false_alarm.sum())} false alarms; sheets of {len(tiles.tiles)} tiles")
        results: dict[str, tuple[float, Picture]] = {
            "sheet JPEG q80": best_of(args.repeat, lambda: contact_sheet(tiles)),
            "sheet PNG level 1": best_of(args.repeat, lambda: contact_sheet(tiles, picture_format="png")),
            "sheet PNG level 6": best_of(args.repeat, lambda: _png_default(contact_sheet(tiles, picture_format="png"))),
            "false-alarm sheet": best_of(args.repeat, lambda: contact_sheet(alarms)),
        }
    results.update(_plots(args.repeat))
    base_seconds, base_picture = results["sheet JPEG q80"]
    print(f"{'picture':<22} {'seconds':>8} {'x JPEG':>7} {'bytes':>10} {'x JPEG':>7} {'pixels':>11}")
    for name, (seconds, picture) in results.items():
        print(f"{name:<22} {seconds:8.3f} {seconds / base_seconds:7.2f} {len(picture.data):10,} "
              f"{len(picture.data) / len(base_picture.data):7.2f} {picture.width:>5}x{picture.height:<5}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, (_, picture) in results.items():
            (args.keep / f"{name.replace(' ', '-')}.{picture.extension}").write_bytes(picture.data)
    return 0


def _png_default(picture: Picture) -> Picture:
    """Re-encode at Pillow's default PNG level (the decode is excluded by re-timing the whole path)."""
    image = Image.open(io.BytesIO(picture.data))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Picture(buffer.getvalue(), picture.media_type, picture.extension, picture.width, picture.height)


def _plots(repeat: int) -> dict[str, Any]:
    recall = np.linspace(0, 0.95, 200)
    curves = [PrCurve(name, recall, 1 - recall**power, 0.8) for name, power in (("balloon", 4), ("red", 2.5))]
    labels = ["red", "orange", "yellow", "green", "blue", "purple", "white"]
    counts = np.diag(np.full(len(labels), 90)) + np.random.default_rng(0).integers(0, 4, (len(labels), len(labels)))
    checkpoints = [f"epoch-{n:02d}" for n in range(1, 11)]
    series = [TrendSeries(f"goal {n}: recall of colour {n} at least 80%", list(np.linspace(0.5, 0.9, 10)), 0.8,
                          as_percent=True) for n in range(12)]
    return {
        "PR curve": best_of(repeat, lambda: pr_curve_plot(curves)),
        "confusion matrix 7x7": best_of(repeat, lambda: confusion_matrix_plot(counts, labels, labels)),
        "trend 12 goals x 10": best_of(repeat, lambda: trend_plot(checkpoints, series)),
    }


if __name__ == "__main__":
    sys.exit(main())
