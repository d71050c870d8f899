"""Each output adapter on a small ONNX model the test builds: decoded boxes in original pixels, class
indices, NMS against torchvision's, softmax; and wrong-shape outputs refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_models import ModelPlan, OutputPlan, bsl_plan, build_model, detector_card, picture_dataset, write_card

from visionspec.errors import ModelError
from visionspec.runtime import BatchSettings, Device, ModelSession, detect, open_model
from visionspec.runtime.boxes import nms

SERIAL = BatchSettings(batch_size=4, workers=0)


def session_for(tmp_path: Path, plan: ModelPlan, card: dict[str, Any]) -> ModelSession:
    write_card(tmp_path, card)
    return open_model(build_model(plan, tmp_path / "model.onnx"), device=Device.CPU, threads=1)


def test_boxes_scores_labels_in_original_pixels_per_image(tmp_path: Path) -> None:
    # two boxes in a 48 x 32 input; pictures of three sizes; scores rise with brightness
    plan = bsl_plan([[0, 0, 24, 16], [12, 8, 36, 24]], [0.5, 0.25], [0, 1], score_coefficient=0.25)
    session = session_for(tmp_path, plan, detector_card())
    dataset = picture_dataset(tmp_path / "pictures", [(96, 64), (48, 48), (24, 16)], [0, 255, 51])
    found = detect(session, dataset, settings=SERIAL)
    assert found.image_ids.tolist() == [100, 100, 101, 101, 102, 102]
    assert found.class_indices.tolist() == [0, 1] * 3
    assert found.boxes.tolist() == [
        [0.0, 0.0, 48.0, 32.0], [24.0, 16.0, 48.0, 32.0],  # 96 x 64: twice the input
        [0.0, 0.0, 24.0, 24.0], [12.0, 12.0, 24.0, 24.0],  # 48 x 48: stretched vertically
        [0.0, 0.0, 12.0, 8.0], [6.0, 4.0, 12.0, 8.0],  # 24 x 16: half
    ]
    np.testing.assert_allclose(found.scores, [0.5, 0.25, 0.75, 0.5, 0.55, 0.3], atol=1e-6)
    assert found.provider == "CPUExecutionProvider"


def test_normalized_xywh_boxes_label_offset_and_padding_slots(tmp_path: Path) -> None:
    plan = bsl_plan([[0.25, 0.5, 0.5, 0.25], [0, 0, 1, 1], [0, 0, 0, 0]], [0.9, 0.8, 0.0], [1, 2, 0])
    card = detector_card(output={"box_format": "xywh", "coordinates": "normalized", "label_offset": 1})
    session = session_for(tmp_path, plan, card)
    found = detect(session, picture_dataset(tmp_path / "pictures", [(48, 32)], [10]), settings=SERIAL)
    assert found.boxes.tolist() == [[12.0, 16.0, 24.0, 8.0], [0.0, 0.0, 48.0, 32.0]]  # label 0 - 1 < 0: padding
    assert found.class_indices.tolist() == [0, 1]


def test_torchvision_one_image_per_run_with_background_offset(tmp_path: Path) -> None:
    plan = ModelPlan(
        input_shape=(3, 32, 48),
        batched=False,
        outputs=[
            OutputPlan("boxes", ("N", 4), np.array([[4, 4, 20, 12], [0, 0, 48, 32]], np.float32)),
            OutputPlan("labels", ("N",), np.array([2, 1], np.float32), dtype="int64"),
            OutputPlan("scores", ("N",), np.array([0.75, 0.5], np.float32)),
        ],
    )
    card = detector_card(output={"adapter": "torchvision", "label_offset": 1})
    session = session_for(tmp_path, plan, card)
    assert session.contract.batched is False
    dataset = picture_dataset(tmp_path / "pictures", [(96, 64), (48, 32)], [0, 0])
    found = detect(session, dataset, settings=BatchSettings(batch_size=8, workers=2))
    assert found.image_ids.tolist() == [100, 100, 101, 101]
    assert found.class_indices.tolist() == [1, 0, 1, 0]
    assert found.boxes[:2].tolist() == [[8.0, 8.0, 32.0, 16.0], [0.0, 0.0, 96.0, 64.0]]
    assert found.scores.tolist() == [0.75, 0.5, 0.75, 0.5]


def test_torchvision_wrong_output_rank(tmp_path: Path) -> None:
    plan = ModelPlan(input_shape=(3, 32, 48), batched=False, outputs=[
        OutputPlan("boxes", ("N", 4), np.zeros((1, 4))),
        OutputPlan("labels", ("N",), np.zeros(1), dtype="int64"),
        OutputPlan("scores", ("N", 1), np.zeros((1, 1))),
    ])
    write_card(tmp_path, detector_card(output={"adapter": "torchvision"}))
    with pytest.raises(ModelError, match=r"scores tensor 'scores'; fix: .*\n  card expects:  float32 or float64 "
                                         r"or float16 \[N\]\n  file declares: float32 \[\w+, 1\]"):
        open_model(build_model(plan, tmp_path / "model.onnx"), device=Device.CPU, threads=1)


def yolo_candidates() -> np.ndarray:
    """(4 + 2, 5) candidates in cxcywh input pixels: two overlapping class-0 boxes, one class-1 box on top of
    them, one weak box, one separate class-0 box."""
    boxes = np.array([[12, 8, 8, 8], [13, 8, 8, 8], [12, 8, 8, 8], [30, 20, 4, 4], [36, 24, 6, 6]], np.float32)
    scores = np.array([[0.9, 0.1], [0.8, 0.05], [0.2, 0.7], [0.0005, 0.0], [0.6, 0.3]], np.float32)
    return np.concatenate([boxes, scores], axis=1).T


def test_yolo_raw_output_with_per_class_nms(tmp_path: Path) -> None:
    plan = ModelPlan(input_shape=("batch", 3, 32, 48),
                     outputs=[OutputPlan("output0", ("batch", 6, 5), yolo_candidates())])
    session = session_for(tmp_path, plan, detector_card(output={"adapter": "yolo", "iou_threshold": 0.5}))
    found = detect(session, picture_dataset(tmp_path / "pictures", [(96, 64)], [0]), settings=SERIAL)
    # the second class-0 box overlaps the first (IoU 7/9 > 0.5) and goes; the class-1 box stays; 0.0005 < 0.001
    np.testing.assert_allclose(found.scores, [0.9, 0.7, 0.6], atol=1e-6)
    assert found.class_indices.tolist() == [0, 1, 0]
    assert found.boxes.tolist() == [[16.0, 8.0, 16.0, 16.0], [16.0, 8.0, 16.0, 16.0], [66.0, 42.0, 12.0, 12.0]]


def test_yolo_max_detections_and_class_count_check(tmp_path: Path) -> None:
    plan = ModelPlan(input_shape=("batch", 3, 32, 48),
                     outputs=[OutputPlan("output0", ("batch", 6, 5), yolo_candidates())])
    session = session_for(tmp_path, plan, detector_card(output={"adapter": "yolo", "max_detections": 2}))
    assert len(detect(session, picture_dataset(tmp_path / "p", [(48, 32)], [0]), settings=SERIAL)) == 2
    write_card(tmp_path, detector_card(classes=["a", "b", "c"], output={"adapter": "yolo"}))
    with pytest.raises(ModelError, match=r"output tensor 'output0', axis 1; fix: .*\n  card expects:  "
                                         r"float32 or float64 or float16 \[B, 7, N\]\n"
                                         r"  file declares: float32 \[batch, 6, 5\]"):
        open_model(tmp_path / "model.onnx", device=Device.CPU, threads=1)


def random_nms_problem(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 300))
    corners = rng.uniform(0, 200, size=(count, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(1, 60, size=(count, 2))], axis=1)
    scores = rng.choice(np.linspace(0.05, 1.0, 40), size=count)  # ties on purpose
    return boxes, scores, rng.integers(0, 4, size=count), float(rng.uniform(0.2, 0.8))


def reference_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS, one box at a time, in plain Python."""
    def iou(a: np.ndarray, b: np.ndarray) -> float:
        width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
        return width * height / union

    kept: list[int] = []
    for index in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
        if all(classes[k] != classes[index] or iou(boxes[k], boxes[index]) <= threshold for k in kept):
            kept.append(index)
    return kept


@pytest.mark.parametrize("seed", range(30))
def test_numpy_nms_agrees_with_a_plain_reference(seed: int) -> None:
    boxes, scores, classes, threshold = random_nms_problem(seed)
    assert nms(boxes, scores, classes, threshold, max_kept=len(scores)).tolist() == \
        reference_nms(boxes, scores, classes, threshold)
    assert nms(boxes, scores, classes, threshold, max_kept=3).tolist() == \
        reference_nms(boxes, scores, classes, threshold)[:3]


@pytest.mark.slow
@pytest.mark.train
def test_numpy_nms_agrees_with_torchvision() -> None:
    torch = pytest.importorskip("torch")  # importing torch takes seconds: one test for all problems
    ops = pytest.importorskip("torchvision.ops")
    for seed in range(20):
        boxes, scores, classes, threshold = random_nms_problem(seed)
        expected = ops.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(classes),
                                   threshold)
        kept = nms(boxes, scores, classes, threshold, max_kept=len(scores))
        # torchvision orders score ties its own way: compare the kept sets and the score order
        assert sorted(kept.tolist()) == sorted(expected.numpy().tolist())
        assert np.all(np.diff(scores[kept]) <= 0)


def test_logits_become_probabilities_and_probabilities_pass_through(tmp_path: Path) -> None:
    from visionspec.runtime import classify_crops

    card = {"name": "colour", "task": "classification", "classes": ["red", "green", "blue"],
            "input": {"size": [8, 8]}, "output": {"adapter": "logits"}}
    plan = ModelPlan(input_shape=("batch", 3, 8, 8),
                     outputs=[OutputPlan("logits", ("batch", 3), np.array([1.0, 2.0, 3.0]), np.array([4.0, 0, 0]))])
    session = session_for(tmp_path / "logits", plan, card)
    dataset = picture_dataset(tmp_path / "pictures", [(20, 10)], [255])
    verdicts = classify_crops(session, dataset, [100, 100], [[0, 0, 10, 10], [10, 0, 10, 10]], settings=SERIAL)
    exp = np.exp([5.0, 2.0, 3.0])
    np.testing.assert_allclose(verdicts.probabilities, [exp / exp.sum()] * 2, atol=1e-6)
    assert verdicts.labels == ("red", "red")
    card["output"] = {"adapter": "probabilities"}
    plan.outputs[0] = OutputPlan("probs", ("batch", 3), np.array([0.2, 0.5, 0.3]))
    session = session_for(tmp_path / "probabilities", plan, card)
    verdicts = classify_crops(session, dataset, [100], [[0, 0, 10, 10]], settings=SERIAL)
    np.testing.assert_allclose(verdicts.probabilities, [[0.2, 0.5, 0.3]], atol=1e-7)
    assert verdicts.labels == ("green",) and verdicts.label_indices.tolist() == [1]
