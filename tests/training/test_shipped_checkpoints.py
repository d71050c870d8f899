"""The committed reference checkpoints: their cards validate, the engine opens them, they carry their facts.

No torch needed: this is what the run-only install sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from visionspec.checkpoints import checkpoints_of
from visionspec.runtime.card import build_card, read_card_file
from visionspec.runtime.session import Device, open_model

MODELS = Path(__file__).resolve().parents[2] / "models"
# model name -> (largest file in bytes, validation figures every checkpoint records)
SHIPPED = {
    "balloon-detector": (3_000_000, {"ap50", "recall", "recall_small", "recall_occluded", "recall_truncated",
                                     "false_alarm_images"}),
    "balloon-colour": (1_000_000, {"accuracy", "red_recall", "non_red_called_red"}),
}
FACTS = ("visionspec.epoch", "visionspec.epochs", "visionspec.seed", "visionspec.train_set",
         "visionspec.train_set_digest", "visionspec.val_set", "visionspec.val_set_digest",
         "visionspec.torch_version", "visionspec.card")


def _checkpoints() -> list[Path]:
    return [path for name in SHIPPED for path in checkpoints_of(MODELS, name)]


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_reference_model_ships_a_series(name: str) -> None:
    card = build_card([(f"models/{name}/model.yaml", read_card_file(MODELS / name / "model.yaml"))])
    assert card.name == name
    epochs = [int(path.stem.removeprefix("epoch-")) for path in checkpoints_of(MODELS, name)]
    assert len(epochs) >= 3
    assert epochs == sorted(epochs)


@pytest.mark.parametrize("checkpoint", _checkpoints(), ids=lambda path: f"{path.parent.parent.name}/{path.name}")
def test_a_shipped_checkpoint_opens_and_records_its_training(checkpoint: Path) -> None:
    name = checkpoint.parent.parent.name
    largest, figures = SHIPPED[name]

    session = open_model(checkpoint, device=Device.CPU, threads=1)

    assert checkpoint.stat().st_size < largest
    assert all(key in session.metadata for key in FACTS)
    assert f"epoch-{int(session.metadata['visionspec.epoch']):02d}.onnx" == checkpoint.name
    assert set(json.loads(session.metadata["visionspec.validation"])) == figures
    assert json.loads(session.metadata["visionspec.card"]) == session.card.to_dict()  # the file agrees with its card
    height, width = session.card.input.height, session.card.input.width
    outputs = session.run(np.zeros((2, 3, height, width), dtype=np.float32), images="two blank inputs")
    assert all(output.shape[0] == 2 for output in outputs)
