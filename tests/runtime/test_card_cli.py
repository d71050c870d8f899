"""The model-card reference (``visionspec cards``) generated from the code and committed as
docs/model-card.md; ``visionspec card init`` proposing a card from a file and ``card check`` validating one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from runtime_models import ModelPlan, OutputPlan, bsl_plan, build_model, detector_card, write_card

from visionspec.cli import main
from visionspec.runtime import ADAPTERS, build_card
from visionspec.runtime.card import INPUT_KEYS, TOP_KEYS
from visionspec.runtime.card_reference import _EXAMPLE, card_reference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "model-card.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    assert DOCS.read_text(encoding="utf-8") == card_reference(markdown=True), (
        "docs/model-card.md is stale: regenerate it with `visionspec cards --markdown > docs/model-card.md`")


def test_the_reference_names_every_adapter_and_key() -> None:
    page = card_reference(markdown=True)
    text = card_reference(markdown=False)
    for kind, cls in ADAPTERS.items():
        assert f"### `{kind}` ({cls.task.value})" in page and f"ADAPTER {kind} (" in text
        for field in dataclasses.fields(cls.settings):
            assert f"| `{field.name}` |" in page
    for entry in (*TOP_KEYS, *INPUT_KEYS):
        assert f"| `{entry.name}` |" in page


def test_documented_input_defaults_are_the_defaults() -> None:
    stretch = build_card([("c", {**detector_card(), "input": {"size": [8, 8]}})]).input.to_dict()
    native = build_card([("c", {**detector_card(), "input": {"resize": "native"}})]).input.to_dict()
    documented = {entry.name: entry.default for entry in INPUT_KEYS}
    for name in ("layout", "dtype", "channel_order", "resize", "pad_value"):
        assert documented[name] == str(stretch[name])
    assert documented["placeholder_dims"] == "false" and "placeholder_dims" not in stretch
    assert documented["multiple"] == str(native["multiple"])
    assert stretch["scale"] == 1 / 255 and documented["scale"] == "1/255"


def test_the_centerface_example_is_a_valid_card() -> None:
    card = build_card([("example", yaml.safe_load(_EXAMPLE))])
    assert card.output.kind == "centernet" and card.input.placeholder_dims


def centerface_like(path: Path) -> Path:
    cells = (8, 8)
    return build_model(ModelPlan(input_name="input.1", input_shape=(10, 3, 32, 32), outputs=[
        OutputPlan("537", (10, 1, *cells), np.zeros((1, *cells))),
        OutputPlan("538", (10, 2, *cells), np.zeros((2, *cells))),
        OutputPlan("539", (10, 2, *cells), np.zeros((2, *cells))),
        OutputPlan("540", (10, 10, *cells), np.zeros((10, *cells))),
    ]), path)


def test_card_init_proposes_centernet_for_centerface_like_heads(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    model = centerface_like(tmp_path / "centerface.onnx")
    assert main(["card", "init", str(model)]) == 0
    written = (tmp_path / "centerface.yaml").read_text(encoding="utf-8")
    proposed = yaml.safe_load(written)
    assert proposed["output"] == {"adapter": "centernet", "heatmap": "537", "size": "538", "offset": "539",
                                  "size_encoding": "log", "size_order": "wh", "stride": 4}
    assert proposed["input"]["resize"] == "native" and proposed["input"]["placeholder_dims"] is True
    assert 'size_encoding: "log"  # check: log (exp(v) x stride)' in written
    out = capsys.readouterr().out
    assert f"ok: {tmp_path / 'centerface.yaml'} fits {model} (adapter centernet" in out
    assert main(["card", "init", str(model)]) == 2  # never overwrites without --force
    assert "exists: pass --force" in capsys.readouterr().err


@pytest.mark.parametrize(("outputs", "adapter", "classes"), [
    ([OutputPlan("output0", ("batch", 7, 20), np.zeros((7, 20)))], "yolo", 3),
    ([OutputPlan("output0", ("batch", 20, 8), np.zeros((20, 8)))], "yolo", 3),  # YOLOv5: objectness, 3 classes
    ([OutputPlan("output0", ("batch", 30, 6), np.zeros((30, 6)))], "yolo_end_to_end", 1),
    ([OutputPlan("logits", ("batch", 5), np.zeros(5))], "logits", 5),
])
def test_card_init_picks_the_adapter_the_outputs_fit(tmp_path: Path, outputs: list[OutputPlan], adapter: str,
                                                      classes: int) -> None:
    model = build_model(ModelPlan(input_shape=("batch", 3, 32, 48), outputs=outputs), tmp_path / "m.onnx")
    assert main(["card", "init", str(model), "--out", str(tmp_path / "card.yaml")]) == 0
    proposed = yaml.safe_load((tmp_path / "card.yaml").read_text(encoding="utf-8"))
    assert proposed["output"]["adapter"] == adapter
    assert len(proposed["classes"]) == classes
    assert proposed["input"]["size"] == [32, 48]
    assert main(["card", "check", str(tmp_path / "card.yaml"), "--model", str(model)]) == 0


def test_card_check_names_what_does_not_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "checkpoints").mkdir()
    model = build_model(bsl_plan([[0, 0, 4, 4]], [0.5], [0]), tmp_path / "checkpoints" / "epoch-01.onnx")
    card = write_card(tmp_path, detector_card())
    assert main(["card", "check", str(card)]) == 0
    assert f"ok: {card} fits {model} (adapter boxes_scores_labels" in capsys.readouterr().out
    write_card(tmp_path, detector_card(output={"boxes": "boxes_xyxy"}))
    assert main(["card", "check", str(card)]) == 2
    assert "no output named 'boxes_xyxy' (card key output.boxes)" in capsys.readouterr().err
    write_card(tmp_path, detector_card(output={"adapter": "centernet"}))
    assert main(["card", "check", str(card), "--model", str(model)]) == 2
    assert "missing key 'output.heatmap'" in capsys.readouterr().err


def test_cards_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cards"]) == 0
    assert "ADAPTER centernet (detection)" in capsys.readouterr().out
