"""Figures on a slice, recounted by independent code: a plain-Python COCO matcher with the area-range rule
for precision, recall and F1, and pycocotools (``areaRng``) for box mAP.

The world: 40 pictures of 160 x 160 with one to three balloons each, from 8 to 120 pixels wide (so every
COCO size range is populated), red or blue; 8 pictures without balloons. The detections are the
balloons jittered, some dropped, plus false alarms of every size, with random scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.metrics.pycoco_reference import run_pycocotools

from visionspec.datasets.registry import DatasetRegistry
from visionspec.datasets.spec import spec_from_dict
from visionspec.datasets.writer import write_dataset
from visionspec.detections import Detections
from visionspec.errors import GoalPhraseError
from visionspec.evaluation import DetectionResult, Thresholds
from visionspec.scope import Scope

SIZE = 160
SCORE = 0.4


def _world(folder: Path) -> tuple[dict[str, object], Detections]:
    rng = np.random.default_rng(20261204)
    images, annotations, detections = [], [], []
    for image_id in range(1, 49):
        (folder / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (SIZE, SIZE), (90, 90, 90)).save(folder / "images" / f"{image_id}.png")
        images.append({"id": image_id, "file_name": f"{image_id}.png", "width": SIZE, "height": SIZE})
        for _ in range(int(rng.integers(1, 4)) if image_id <= 40 else 0):
            w = float(rng.uniform(8, 120))
            h = w * float(rng.uniform(0.8, 1.2))
            x, y = float(rng.uniform(0, SIZE - w)), float(rng.uniform(0, SIZE - min(h, SIZE - 1)))
            box = [round(x, 2), round(y, 2), round(w, 2), round(min(h, SIZE - y), 2)]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "bbox": box,
                                "area": round(box[2] * box[3], 2), "iscrowd": 0,
                                "attributes": {"colour": str(rng.choice(["red", "blue"]))}})
            if rng.random() < 0.8:
                jitter = rng.normal(0, 0.06, 4) * [w, w, w, w]
                detections.append((image_id, [box[0] + jitter[0], box[1] + jitter[1], box[2] + jitter[2],
                                              box[3] + jitter[3]], float(rng.uniform(0.05, 1))))
        for _ in range(int(rng.integers(0, 3))):
            w = float(rng.uniform(6, 110))
            detections.append((image_id, [float(rng.uniform(0, SIZE - w)), float(rng.uniform(0, SIZE - w)), w, w],
                               float(rng.uniform(0.05, 1))))
    coco = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "balloon"}]}
    spec = spec_from_dict({"id": "slices", "title": "Slices", "description": "recount world",
                           "source": {"kind": "coco", "path": "annotations.json"}, "classes": ["balloon"],
                           "attributes": {"colour": ["red", "blue"]}}, source=str(folder / "dataset.yaml"))
    write_dataset(folder, spec, coco, expect_as_found=True)
    found = Detections.build([d[0] for d in detections], [1] * len(detections), [d[1] for d in detections],
                             [d[2] for d in detections])
    return coco, found


def _iou(a: list[float], b: list[float]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    inter = max(0.0, min(ax2, bx2) - max(a[0], b[0])) * max(0.0, min(ay2, by2) - max(a[1], b[1]))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _recount(coco: dict[str, object], detections: Detections, low: float, high: float) -> tuple[int, int, int]:
    """TP, FP, FN at SCORE and IoU 0.5 under COCO's area-range rule, one image at a time, in plain Python."""
    tp = fp = fn = 0
    annotations = coco["annotations"]
    assert isinstance(annotations, list)
    for image_id in range(1, 49):
        objects = [(a["bbox"], not low <= a["area"] <= high) for a in annotations if a["image_id"] == image_id]
        rows = [r for r in range(len(detections)) if detections.image_ids[r] == image_id
                and detections.scores[r] >= SCORE]
        rows.sort(key=lambda r: -detections.scores[r])
        taken = [False] * len(objects)
        for row in rows:
            box = detections.boxes[row].tolist()
            best, best_iou = -1, 0.5
            for wanted_ignored in (False, True):
                for k, (obj, ignored) in enumerate(objects):
                    if ignored == wanted_ignored and not taken[k] and _iou(box, obj) >= best_iou:
                        best, best_iou = k, _iou(box, obj)
                if best >= 0:
                    break
            if best >= 0:
                taken[best] = True
                tp += not objects[best][1]
            elif low <= box[2] * box[3] <= high:
                fp += 1
        fn += sum(1 for k, (_, ignored) in enumerate(objects) if not ignored and not taken[k])
    return tp, fp, fn


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Detections, Scope]:
    root = tmp_path_factory.mktemp("datasets")
    coco, detections = _world(root / "slices")
    return coco, detections, Scope.whole(DatasetRegistry(root).load("slices"))


@pytest.mark.parametrize(("size", "low", "high", "area_index"), [
    ("small", 0, 32**2, 1), ("medium", 32**2, 96**2, 2), ("large", 96**2, 1e10, 3), (None, 0, 1e10, 0),
])
def test_precision_recall_f1_and_map_on_size_slices_agree_with_independent_code(
    world: tuple[dict[str, object], Detections, Scope], size: str | None, low: float, high: float, area_index: int
) -> None:
    coco, detections, whole = world
    scope = whole.of_class("balloons").narrowed_by_word(size) if size else whole
    result = DetectionResult.on(scope, detections, Thresholds(SCORE, 0.5))
    tp, fp, fn = _recount(coco, detections, low, high)
    assert tp > 0 and fp > 0 and fn > 0

    precision, recall, f1 = result.precision(), result.recall(), result.f1()
    assert (precision.count, precision.total) == (tp, tp + fp)
    assert (recall.count, recall.total) == (tp, tp + fn)
    assert f1.value == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-12)

    results = [{"image_id": int(i), "category_id": 1, "bbox": [float(v) for v in box], "score": float(s)}
               for i, box, s in zip(detections.image_ids, detections.boxes, detections.scores, strict=True)]
    evaluator = run_pycocotools(coco, results)
    cells = evaluator.eval["precision"][:, :, 0, area_index, 2]  # (T, R) for the one class, maxDets 100
    assert result.mean_average_precision(at_50=True).value == pytest.approx(
        cells[0][cells[0] > -1].mean(), abs=1e-12)
    assert result.mean_average_precision(at_50=False).value == pytest.approx(cells[cells > -1].mean(), abs=1e-12)


def test_an_image_slice_counts_every_detection_on_its_images(
    world: tuple[dict[str, object], Detections, Scope]
) -> None:
    _, detections, whole = world
    empty = whole.images(with_objects=False, word="balloons")
    result = DetectionResult.on(empty, detections, Thresholds(SCORE, 0.5))
    on_empty = int(((detections.image_ids > 40) & (detections.scores >= SCORE)).sum())
    assert on_empty > 0
    assert (result.precision().count, result.precision().total) == (0, on_empty)
    kept = zip(detections.image_ids, detections.scores, strict=True)
    flagged = len({int(i) for i, s in kept if i > 40 and s >= SCORE})
    assert result.images_with_detection().count == flagged


def test_a_slice_a_detection_cannot_see_is_refused_for_figures_over_detections(
    world: tuple[dict[str, object], Detections, Scope]
) -> None:
    _, detections, whole = world
    red = DetectionResult.on(whole.of_class("balloons").narrowed_by_word("red"), detections, Thresholds(SCORE, 0.5))
    assert red.recall().total == sum(1 for value in whole.dataset.annotations.attributes["colour"] if value == "red")
    for figure in (red.precision, red.f1, lambda: red.mean_average_precision(at_50=True), red.mean_counting_error,
                   red.images_with_detection):
        with pytest.raises(GoalPhraseError):
            figure()
