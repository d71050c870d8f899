"""Benchmark: visionspec's COCO evaluation against pycocotools, faster-coco-eval and hotcoco, side by side.

    .venv/bin/python bench/bench_metrics.py [--images 20000] [--repeat 3] [--skip-pycocotools]

One random problem (default 20,000 images, about 100,000 objects and 100,000 detections, 20 classes,
crowd regions, tied scores) is evaluated by all four in the same process. Timed for each: the
evaluation proper, that is pycocotools' and faster-coco-eval's ``evaluate() + accumulate() +
summarize()`` on COCO objects built beforehand, and visionspec's ``evaluate_coco`` on tables built
beforehand (hotcoco, Rust: the same three calls). Reading JSON and building the COCO objects or tables
is excluded for all (it costs
about as much as the evaluation and is not what is compared). Each figure is the best of
``--repeat`` runs (pycocotools: one run, it takes half a minute). The script also checks that the
twelve figures agree and prints the largest difference.

Set ``OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1`` for a fair single-core comparison (pycocotools is
single-threaded; hotcoco runs on Rayon threads). The CPU seconds of each are printed beside the wall time.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from visionspec.datasets.tables import AnnotationTable, frozen_array
from visionspec.detections import Detections
from visionspec.metrics import evaluate_coco


def make_problem(images: int, seed: int = 0) -> tuple[AnnotationTable, np.ndarray, np.ndarray, Detections]:
    """About 5 objects and 5 detections an image; 85% of objects found (10% with the wrong class)."""
    rng = np.random.default_rng(seed)
    image_ids = np.sort(rng.choice(10 * images, size=images, replace=False)).astype(np.int64)
    category_ids = np.arange(20, dtype=np.int64) * 3 + 1
    per_image = rng.poisson(5, size=images)
    n = int(per_image.sum())
    object_images = np.repeat(image_ids, per_image)
    sizes = np.exp(rng.uniform(np.log(6), np.log(400), size=(n, 2)))
    corners = rng.uniform(0, 600, size=(n, 2))
    boxes = np.column_stack([corners, sizes])
    ground_truth = AnnotationTable(
        ids=frozen_array(rng.permutation(n) + 1, np.int64),
        image_ids=frozen_array(object_images, np.int64),
        category_ids=frozen_array(rng.choice(category_ids, size=n), np.int64),
        boxes=frozen_array(boxes, np.float64),
        areas=frozen_array(sizes[:, 0] * sizes[:, 1] * rng.uniform(0.6, 1.0, size=n), np.float64),
        iscrowd=frozen_array(rng.random(n) < 0.01, np.bool_),
    )
    found = rng.random(n) < 0.85
    jitter = rng.normal(0, 0.1, size=(int(found.sum()), 4)) * np.column_stack([sizes[found], sizes[found]])
    hit_boxes = boxes[found] + jitter
    hit_boxes[:, 2:] = np.maximum(hit_boxes[:, 2:], 1.0)
    hit_classes = np.where(rng.random(hit_boxes.shape[0]) < 0.9, ground_truth.category_ids[found],
                           rng.choice(category_ids, size=hit_boxes.shape[0]))
    strays = int(0.15 * n)
    stray_boxes = np.column_stack([rng.uniform(0, 600, size=(strays, 2)),
                                   np.exp(rng.uniform(np.log(6), np.log(400), size=(strays, 2)))])
    detections = Detections.build(
        np.concatenate([object_images[found], rng.choice(image_ids, size=strays)]),
        np.concatenate([hit_classes, rng.choice(category_ids, size=strays)]),
        np.concatenate([hit_boxes, stray_boxes]),
        np.round(np.concatenate([rng.uniform(0.3, 1.0, hit_boxes.shape[0]), rng.uniform(0.0, 0.7, strays)]), 3),
    )
    order = rng.permutation(len(detections))
    detections = Detections.build(
        detections.image_ids[order], detections.category_ids[order], detections.boxes[order], detections.scores[order]
    )
    return ground_truth, image_ids, category_ids, detections


def coco_dicts(ground_truth: AnnotationTable, image_ids: np.ndarray, category_ids: np.ndarray,
               detections: Detections) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The same problem as a COCO ground-truth dict and a COCO results list."""
    images = [{"id": int(i), "width": 1000, "height": 1000, "file_name": f"{int(i)}.jpg"} for i in image_ids]
    categories = [{"id": int(c), "name": f"class{int(c)}"} for c in category_ids]
    annotations = [
        {"id": int(a), "image_id": int(i), "category_id": int(c), "bbox": b.tolist(), "area": float(s),
         "iscrowd": int(z)}
        for a, i, c, b, s, z in zip(ground_truth.ids, ground_truth.image_ids, ground_truth.category_ids,
                                    ground_truth.boxes, ground_truth.areas, ground_truth.iscrowd, strict=True)
    ]
    return {"images": images, "categories": categories, "annotations": annotations}, detections.to_coco_results()


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def time_pycocotools(gt: dict[str, Any], results: list[dict[str, Any]]) -> tuple[float, np.ndarray]:
    """evaluate + accumulate + summarize of pycocotools, on COCO objects built untimed."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        start = time.perf_counter()
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        elapsed = time.perf_counter() - start
    return elapsed, np.asarray(evaluator.stats)


def time_faster_coco_eval(gt: dict[str, Any], results: list[dict[str, Any]], repeat: int) -> tuple[float, np.ndarray]:
    """evaluate + accumulate + summarize of faster-coco-eval, on COCO objects built untimed."""
    from faster_coco_eval import COCO, COCOeval_faster

    logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)
    coco_gt = COCO(copy.deepcopy(gt))
    coco_dt = coco_gt.loadRes(copy.deepcopy(results))
    best, stats = float("inf"), np.zeros(12)
    for _ in range(repeat):
        evaluator = COCOeval_faster(coco_gt, coco_dt, "bbox")
        start = time.perf_counter()
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        best = min(best, time.perf_counter() - start)
        stats = np.asarray(evaluator.stats)
    return best, stats


def time_hotcoco(gt: dict[str, Any], results: list[dict[str, Any]], repeat: int) -> tuple[float, np.ndarray]:
    """evaluate + accumulate + summarize of hotcoco, on COCO objects built untimed (its summary print silenced)."""
    import hotcoco

    coco_gt = hotcoco.COCO(copy.deepcopy(gt))
    coco_dt = coco_gt.loadRes(copy.deepcopy(results))
    best, stats = float("inf"), np.zeros(12)
    for _ in range(repeat):
        evaluator = hotcoco.COCOeval(coco_gt, coco_dt, "bbox")
        with _silenced_stdout():
            start = time.perf_counter()
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
            best = min(best, time.perf_counter() - start)
        stats = np.asarray(evaluator.stats)
    return best, stats


@contextlib.contextmanager
def _silenced_stdout() -> Any:
    """Standard output closed at the file-descriptor level (Rust prints past ``sys.stdout``)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with Path(os.devnull).open("w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def cpu_seconds(run: Callable[[], tuple[float, np.ndarray]]) -> tuple[float, np.ndarray, float]:
    """``run()``'s wall time and stats, and the process CPU seconds the whole call took (all threads)."""
    start = time.process_time()
    seconds, stats = run()
    return seconds, stats, time.process_time() - start


def main() -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pycocotools", action="store_true")
    args = parser.parse_args()

    ground_truth, image_ids, category_ids, detections = make_problem(args.images)
    gt, results = coco_dicts(ground_truth, image_ids, category_ids, detections)
    print(f"problem: {len(image_ids):,} images, {len(ground_truth):,} objects, {len(detections):,} detections, "
          f"{len(category_ids)} classes")

    cpu = time.process_time()
    ours_time, ours = best_of(args.repeat, lambda: evaluate_coco(ground_truth, image_ids, category_ids, detections))
    ours_cpu = time.process_time() - cpu
    ours_stats = np.array([-1.0 if v is None else v for v in ours.summary.to_dict().values()])
    rows = [("visionspec", ours_time, ours_stats, ours_cpu)]
    rows.append(("hotcoco", *cpu_seconds(lambda: time_hotcoco(gt, results, args.repeat))))
    rows.append(("faster-coco-eval", *cpu_seconds(lambda: time_faster_coco_eval(gt, results, args.repeat))))
    if not args.skip_pycocotools:
        rows.append(("pycocotools", *cpu_seconds(lambda: time_pycocotools(gt, results))))

    print(f"{'implementation':<18} {'seconds':>8} {'x visionspec':>13} {'CPU s (all calls)':>18} "
          f"{'max |stats - visionspec|':>25}")
    for name, seconds, stats, cpu_s in rows:
        print(f"{name:<18} {seconds:8.3f} {seconds / ours_time:13.2f} {cpu_s:18.2f} "
              f"{np.abs(stats - ours_stats).max():25.3g}")
    print("AP", " ".join(f"{v:.4f}" for v in ours_stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
