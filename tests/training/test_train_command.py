"""``visionspec train``: a tiny run of each recipe exports checkpoints the engine loads and runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from training_toys import toy_dataset

from visionspec.cli import main
from visionspec.datasets import DatasetRegistry
from visionspec.detections import Detections
from visionspec.runtime.crops import classify_crops
from visionspec.runtime.inference import predict
from visionspec.runtime.session import Device, open_model

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    toy_dataset(root, "toy-train", images=12, seed=1)
    toy_dataset(root, "toy-val", images=6, seed=2)
    return root


def _train(kind: str, datasets: Path, out: Path, *extra: str) -> int:
    return main(["train", kind, "--epochs", "1", "--limit", "8", "--batch-size", "4", "--seed", "3",
                 "--datasets", str(datasets), "--train-set", "toy-train", "--val-set", "toy-val",
                 "--out", str(out), "--json", *extra])


def test_a_tiny_detector_run_exports_a_checkpoint_the_engine_runs(
    datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "balloon-detector"

    assert _train("detector", datasets, out, "--verifier-epochs", "1") == 0

    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    checkpoint = out / "checkpoints" / "epoch-01.onnx"
    assert (first["epoch"], first["epochs"], second["epoch"], second["epochs"]) == (1, 2, 2, 2)
    assert first["checkpoint"]["path"] == str(checkpoint)
    assert set(first["validation"]) == {"ap50", "recall", "recall_small", "recall_occluded",
                                        "recall_truncated", "false_alarm_images"}
    assert set(second["loss_terms"]) == set()  # the second stage's loss is the verifier's alone
    assert checkpoint.stat().st_size < 3_000_000
    session = open_model(checkpoint, device=Device.CPU, threads=1)
    assert session.card.sources[-1] == str(out / "model.yaml")
    registry = DatasetRegistry(datasets)
    val = registry.load("toy-val")
    assert session.metadata["visionspec.epoch"] == "1"
    assert session.metadata["visionspec.epochs"] == "2"
    assert session.metadata["visionspec.seed"] == "3"
    assert session.metadata["visionspec.train_set"] == "toy-train"
    assert session.metadata["visionspec.val_set"] == "toy-val"
    assert session.metadata["visionspec.val_set_digest"] == val.digest  # all 6 pictures: --limit 8 keeps them
    assert session.metadata["visionspec.torch_version"].startswith("2.")
    assert json.loads(session.metadata["visionspec.validation"]) == first["validation"]
    detections = predict(session, val)
    assert len(detections) == 6 * 32  # K = 32 boxes a picture, all kept in the results
    assert set(np.unique(detections.category_ids).tolist()) == {1}

    onnx = pytest.importorskip("onnx")
    verified = out / "checkpoints" / "epoch-02.onnx"
    graph_ops = {node.op_type for node in onnx.load(verified).graph.node}
    assert "GridSample" in graph_ops and "GridSample" not in {n.op_type for n in onnx.load(checkpoint).graph.node}
    verified_session = open_model(verified, device=Device.CPU, threads=1)
    assert verified_session.metadata["visionspec.epoch"] == "2"
    rescored = predict(verified_session, val)
    # the first stage is frozen: the same candidate boxes, reordered, their scores times a probability
    def by_box(found: Detections) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((found.scores, *found.boxes.T[::-1], found.image_ids))  # ties: by score
        return found.boxes[order], found.scores[order]

    (boxes, scores), (same_boxes, lower_scores) = by_box(detections), by_box(rescored)
    np.testing.assert_allclose(same_boxes, boxes, atol=1e-3)
    assert np.all(lower_scores <= scores + 1e-6)


def test_a_tiny_colour_run_exports_a_checkpoint_the_engine_runs(
    datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "balloon-colour"

    assert _train("colour", datasets, out) == 0

    report = json.loads(capsys.readouterr().out)
    assert set(report["validation"]) == {"accuracy", "red_recall", "non_red_called_red"}
    checkpoint = out / "checkpoints" / "epoch-01.onnx"
    assert checkpoint.stat().st_size < 1_000_000
    session = open_model(checkpoint, device=Device.CPU, threads=1)
    val = DatasetRegistry(datasets).load("toy-val")
    found = classify_crops(session, val, val.annotations.image_ids, val.annotations.boxes)
    assert found.probabilities.shape == (len(val.annotations), 8)
    assert np.allclose(found.probabilities.sum(axis=1), 1.0)


def test_an_unknown_data_set_is_a_broken_run(datasets: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "detector", "--datasets", str(datasets), "--train-set", "nope", "--out", str(tmp_path)])

    assert code == 2
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "checkpoints").exists()


def test_without_torch_the_command_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import visionspec.cli.train as train_cli

    def missing(name: str) -> None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(train_cli, "import_module", missing)

    assert main(["train", "colour"]) == 2
    assert capsys.readouterr().err == (
        "visionspec: error: `visionspec train` needs the training extra (torch is not installed); "
        "fix: pip install 'visionspec[train]'\n"
    )
