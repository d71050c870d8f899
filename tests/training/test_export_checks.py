"""Exporting a checkpoint: metadata, the engine's contract check, and torch-versus-onnxruntime agreement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from visionspec.errors import ModelError  # noqa: E402
from visionspec.runtime.card import ModelCard  # noqa: E402
from visionspec.runtime.session import open_model  # noqa: E402
from visionspec.training.detector import BalloonDetector, DetectorShape  # noqa: E402
from visionspec.training.export import VALIDATION_KEY, compare_detections, export_checkpoint  # noqa: E402
from visionspec.training.loop import write_card  # noqa: E402

pytestmark = pytest.mark.train

SHAPE = DetectorShape(height=64, width=64, max_detections=10)


def _card(size: int = 64) -> dict[str, Any]:
    return {
        "name": "tiny-detector", "task": "detection", "classes": ["balloon"], "score_threshold": 0.3,
        "input": {"name": "images", "size": [size, size]},
        "output": {"adapter": "boxes_scores_labels", "box_format": "xyxy", "coordinates": "input_pixels"},
    }


def _export(folder: Path, model: torch.nn.Module, card: dict[str, Any], **extra: Any) -> Any:
    card_file = folder / "model.yaml"
    validated: ModelCard = write_card(card_file, card)
    return export_checkpoint(
        model,
        path=folder / "checkpoints" / "epoch-01.onnx",
        card=validated,
        card_file=card_file,
        metadata={"visionspec.epoch": "1", "visionspec.seed": "7"},
        check_inputs=[torch.rand(3, 3, 64, 64), torch.rand(2, 3, 64, 64)],
        **extra,
    )


def test_export_writes_a_checked_file_the_engine_opens(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BalloonDetector(SHAPE)

    report = _export(tmp_path, model, _card(), validate=lambda session: {"recall": 0.5, "ap50": None})

    assert report.path == tmp_path / "checkpoints" / "epoch-01.onnx"
    assert report.differences["scores"] <= 1e-4
    assert report.differences["boxes_px"] <= 0.5
    assert report.validation == {"recall": 0.5, "ap50": None}
    assert model.training  # left in the mode it came in
    assert sorted(path.name for path in (tmp_path / "checkpoints").iterdir()) == ["epoch-01.onnx"]
    proto = onnx.load(report.path)
    onnx.checker.check_model(proto, full_check=True)
    metadata = {entry.key: entry.value for entry in proto.metadata_props}
    assert metadata["visionspec.epoch"] == "1"
    assert metadata["visionspec.seed"] == "7"
    assert json.loads(metadata[VALIDATION_KEY]) == {"ap50": None, "recall": 0.5}
    assert json.loads(metadata["visionspec.card"])["input"]["size"] == [64, 64]
    # the card inside the file is enough for the engine: no model.yaml needed beside it
    alone = tmp_path / "alone.onnx"
    alone.write_bytes(report.path.read_bytes())
    session = open_model(alone)
    assert session.card.name == "tiny-detector"
    boxes, scores, labels = session.run(np.zeros((5, 3, 64, 64), dtype=np.float32), images="five blank pictures")
    assert boxes.shape == (5, 10, 4)
    assert scores.shape == (5, 10)
    assert labels.dtype == np.int64


def test_export_refuses_a_model_that_does_not_match_its_card(tmp_path: Path) -> None:
    expected = r"does not match its model card .*\n  card expects:  float32 \[B, 3, 96, 96\]"
    with pytest.raises(ModelError, match=expected):
        _export(tmp_path, BalloonDetector(SHAPE), _card(size=96))
    assert list((tmp_path / "checkpoints").iterdir()) == []


class _Unstable(torch.nn.Module):
    """Returns a random logit: the exported graph draws different numbers than torch did."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3)) + torch.rand_like(images.mean(dim=(2, 3)))


def test_export_refuses_a_graph_onnxruntime_runs_differently(tmp_path: Path) -> None:
    card = {"name": "unstable", "task": "classification", "classes": ["a", "b", "c"],
            "input": {"name": "images", "size": [64, 64]}, "output": {"adapter": "logits", "output": "logits"}}
    with pytest.raises(ModelError, match=r"epoch-01.onnx: onnxruntime disagrees with torch on the exported graph: "
                                         r"logits 0\.\d+ \(allowed 0\.0001\)"):
        _export(tmp_path, _Unstable(), card)
    assert list((tmp_path / "checkpoints").iterdir()) == []


def _outputs(scores: list[float], boxes: list[list[float]]) -> list[np.ndarray]:
    return [np.array([boxes], dtype=np.float32), np.array([scores], dtype=np.float32),
            np.zeros((1, len(scores)), dtype=np.int64)]


BOXES = [[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50], [60, 60, 70, 70]]


def test_compare_detections_measures_box_and_score_differences() -> None:
    expected = _outputs([0.9, 0.6, 0.3, 0.01], BOXES)
    moved = _outputs([0.90005, 0.6, 0.3, 0.01], [[0, 0, 10, 10], [20, 21.5, 30, 30], [40, 40, 50, 50], [0, 0, 1, 1]])

    assert compare_detections(expected, expected) == {"scores": 0.0, "boxes_px": 0.0}
    differences = compare_detections(expected, moved)
    assert differences["scores"] == pytest.approx(5e-5, abs=1e-6)
    assert differences["boxes_px"] == 1.5  # the last slot scores under COMPARED_SCORE: not compared


def test_compare_detections_skips_ties_and_flags_missing_boxes() -> None:
    tied = _outputs([0.9, 0.6, 0.6, 0.01], BOXES)
    tie_broken_the_other_way = _outputs([0.9, 0.6, 0.6, 0.01], [BOXES[0], BOXES[2], BOXES[1], BOXES[3]])
    lost = _outputs([0.9, 0.5, 0.3, 0.01], BOXES)

    assert compare_detections(tied, tie_broken_the_other_way) == {"scores": 0.0, "boxes_px": 0.0}
    assert compare_detections(_outputs([0.9, 0.6, 0.3, 0.01], BOXES), lost)["boxes_px"] == float("inf")
