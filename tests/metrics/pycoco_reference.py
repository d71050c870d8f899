"""Helpers for the metric tests: random COCO problems and the two reference implementations.

pycocotools is the reference; faster-coco-eval the second one. Both print, both mutate what they are
given: every call here hands them fresh copies and silences them.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.tables import AnnotationTable, frozen_array
from visionspec.detections import Detections


@dataclass(frozen=True, eq=False)
class Problem:
    """A ground truth and a set of detections."""

    ground_truth: AnnotationTable
    image_ids: NDArray[np.int64]
    category_ids: NDArray[np.int64]
    detections: Detections


def annotation_table(
    ids: Any, image_ids: Any, category_ids: Any, boxes: Any, areas: Any = None, iscrowd: Any = None
) -> AnnotationTable:
    """An AnnotationTable from lists; areas default to width * height, iscrowd to False."""
    boxes_array = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    n = boxes_array.shape[0]
    return AnnotationTable(
        ids=frozen_array(ids, np.int64),
        image_ids=frozen_array(image_ids, np.int64),
        category_ids=frozen_array(category_ids, np.int64),
        boxes=frozen_array(boxes_array, np.float64),
        areas=frozen_array(boxes_array[:, 2] * boxes_array[:, 3] if areas is None else areas, np.float64),
        iscrowd=frozen_array(np.zeros(n, bool) if iscrowd is None else iscrowd, np.bool_),
    )


def _snap(boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Boxes on an 8-pixel grid in a 128-pixel square: many equal IoUs and overlaps."""
    snapped = np.round(np.asarray(boxes, dtype=np.float64).reshape(-1, 4) / 8) * 8
    snapped[:, :2] %= 128
    snapped[:, 2:] = np.clip(snapped[:, 2:], 8, 96)
    return snapped


_Row = tuple[int, int, list[float], float, bool]  # image id, category id, box, area, crowd


def _random_box(rng: np.random.Generator, smallest: float = 4, largest: float = 300) -> list[float]:
    w, h = np.exp(rng.uniform(np.log(smallest), np.log(largest), size=2))
    return [float(rng.uniform(0, 400)), float(rng.uniform(0, 400)), float(w), float(h)]


def _random_objects(rng: np.random.Generator, image_ids: NDArray[np.int64], classes: NDArray[np.int64]) -> list[_Row]:
    rows: list[_Row] = []
    for image_id in image_ids:
        for _ in range(rng.poisson(4)):
            box = _random_box(rng)
            crowd = bool(rng.random() < 0.08)
            rows.append((int(image_id), int(rng.choice(classes)), box, box[2] * box[3] * rng.uniform(0.5, 1), crowd))
            if rng.random() < 0.1:  # an identical twin: tied IoUs
                rows.append((int(image_id), rows[-1][1], list(box), rows[-1][3], False))
    return rows


def _random_detections(
    rng: np.random.Generator, rows: list[_Row], image_ids: NDArray[np.int64], classes: NDArray[np.int64]
) -> tuple[list[int], list[int], list[list[float]]]:
    images: list[int] = []
    categories: list[int] = []
    boxes: list[list[float]] = []
    for image_id, category_id, box, _, _ in rows:
        for _ in range(rng.choice([0, 1, 1, 1, 2])):
            x, y, w, h = box
            jitter = rng.normal(0, 0.12, size=4) * [w, h, w, h]
            images.append(image_id)
            categories.append(category_id if rng.random() < 0.9 else int(rng.choice(classes)))
            boxes.append([x + jitter[0], y + jitter[1], max(w + jitter[2], 1.0), max(h + jitter[3], 1.0)])
            if rng.random() < 0.1:  # an exact duplicate detection
                images.append(images[-1])
                categories.append(categories[-1])
                boxes.append(list(boxes[-1]))
    for _ in range(image_ids.shape[0] * 2):  # strays
        box = _random_box(rng)
        images.append(int(rng.choice(image_ids)))
        categories.append(int(rng.choice(classes)))
        boxes.append(box)
    return images, categories, boxes


def random_problem(seed: int, *, images: int = 40, crowded_image: bool = True, grid: bool = False) -> Problem:
    """A random problem with every case the agreement must cover.

    Non-contiguous image and category ids, a category without objects, crowd regions, objects in all
    three area ranges (areas below the box area, as masks are), annotation id 0, scores rounded to
    0.05 so that ties are common, duplicated boxes (tied IoUs), wrong-class and stray detections, and
    one image with more than 100 detections of one class. With ``grid``, every box is snapped to an
    8-pixel grid in a small square, so objects overlap heavily and IoUs tie often.
    """
    rng = np.random.default_rng(seed)
    image_ids = np.sort(rng.choice(1_000_000, size=images, replace=False)).astype(np.int64)
    category_ids = np.array([3, 7, 12, 40, 41], dtype=np.int64)  # 41 never has objects
    rows = _random_objects(rng, image_ids, category_ids[:4])
    ann_ids = rng.permutation(np.arange(1, len(rows) * 3))[: len(rows)]
    ann_ids[rng.integers(len(rows))] = 0
    object_boxes = np.array([r[2] for r in rows]).reshape(-1, 4)
    ground_truth = annotation_table(
        ann_ids,
        [r[0] for r in rows],
        [r[1] for r in rows],
        _snap(object_boxes) if grid else object_boxes,
        [r[3] for r in rows],
        [r[4] for r in rows],
    )
    det_images, det_classes, det_boxes = _random_detections(rng, rows, image_ids, category_ids)
    if crowded_image:
        for _ in range(130):
            det_images.append(int(image_ids[0]))
            det_classes.append(3)
            det_boxes.append(_random_box(rng, 8, 120))
    detection_boxes = _snap(np.array(det_boxes)) if grid else np.array(det_boxes)
    order = rng.permutation(len(det_images))
    scores = np.round(rng.uniform(0.05, 1.0, size=len(det_images)) * 20) / 20
    detections = Detections.build(
        np.array(det_images)[order], np.array(det_classes)[order], detection_boxes[order], scores
    )
    return Problem(ground_truth, image_ids, category_ids, detections)


def coco_dicts(problem: Problem, *, id_shift: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ground truth as a COCO dict (annotation ids + ``id_shift``, away from pycocotools' id-0 trap)
    and the detections as a COCO results list."""
    gt = problem.ground_truth
    images = [{"id": int(i), "width": 1000, "height": 1000, "file_name": f"{int(i)}.jpg"} for i in problem.image_ids]
    categories = [{"id": int(c), "name": f"class{int(c)}"} for c in problem.category_ids]
    annotations = [
        {
            "id": int(ann_id) + id_shift,
            "image_id": int(image_id),
            "category_id": int(category_id),
            "bbox": [float(v) for v in box],
            "area": float(area),
            "iscrowd": int(crowd),
        }
        for ann_id, image_id, category_id, box, area, crowd in zip(
            gt.ids, gt.image_ids, gt.category_ids, gt.boxes, gt.areas, gt.iscrowd, strict=True
        )
    ]
    ground_truth = {"images": images, "categories": categories, "annotations": annotations}
    return ground_truth, problem.detections.to_coco_results()


def run_pycocotools(
    ground_truth: dict[str, Any],
    results: list[dict[str, Any]],
    *,
    iou_thresholds: list[float] | None = None,
    max_dets: list[int] | None = None,
) -> Any:
    """pycocotools' COCOeval after evaluate, accumulate and summarize, silenced."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(ground_truth)
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        else:  # pycocotools' loadRes fails on an empty list (it reads results[0])
            coco_dt = COCO()
            coco_dt.dataset = {**ground_truth, "annotations": []}
            coco_dt.createIndex()
        evaluator = COCOeval(coco_gt, coco_dt, "bbox")
        if iou_thresholds is not None:
            evaluator.params.iouThrs = np.array(iou_thresholds, dtype=np.float64)
        if max_dets is not None:
            evaluator.params.maxDets = list(max_dets)
        evaluator.evaluate()
        evaluator.accumulate()
        if iou_thresholds is None:
            evaluator.summarize()
    return evaluator


def run_faster_coco_eval(ground_truth: dict[str, Any], results: list[dict[str, Any]]) -> Any:
    """faster-coco-eval's COCOeval_faster after evaluate, accumulate and summarize, silenced."""
    from faster_coco_eval import COCO, COCOeval_faster

    logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)
    coco_gt = COCO(copy.deepcopy(ground_truth))
    coco_dt = coco_gt.loadRes(copy.deepcopy(results))
    evaluator = COCOeval_faster(coco_gt, coco_dt, "bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return evaluator


def nan_to_minus_one(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Our arrays with pycocotools' -1 for undefined."""
    return np.where(np.isnan(values), -1.0, values)


def per_class_ap(precision: NDArray[np.float64]) -> list[float]:
    """pycocotools-style per-class AP from its precision array (area all, largest maxDets), -1 if undefined."""
    result = []
    for k in range(precision.shape[2]):
        cells = precision[:, :, k, 0, -1]
        defined = cells[cells > -1]
        result.append(float(np.mean(defined)) if defined.size else -1.0)
    return result
