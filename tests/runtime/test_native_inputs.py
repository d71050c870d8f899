"""Fully convolutional inputs: pictures at their own size padded up to a multiple (``resize: native``),
batched by size, and a file's placeholder input dimensions freed by the card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_models import ModelPlan, OutputPlan, build_model, picture_dataset, write_card

from visionspec.errors import ModelCardError, ModelError
from visionspec.runtime import BatchSettings, Device, Preprocessor, build_card, detect, open_model

BOXES = np.array([[2, 2, 10, 10], [30, 4, 90, 60]], np.float32)


def plan(input_shape: tuple[int | str, ...], batch: int | str = "batch") -> ModelPlan:
    """Boxes fixed in input pixels; each box's score is the mean of the whole input tensor (padding included)."""
    return ModelPlan(input_shape=input_shape, outputs=[
        OutputPlan("boxes", (batch, 2, 4), BOXES),
        OutputPlan("scores", (batch, 2), np.zeros(2), np.ones(2)),
        OutputPlan("labels", (batch, 2), np.zeros(2), dtype="int64"),
    ])


def card(**input_keys: Any) -> dict[str, Any]:
    return {"name": "fcn", "task": "detection", "classes": ["balloon"], "output": {"adapter": "boxes_scores_labels"},
            "input": {"name": "images", "resize": "native", **input_keys}}


def padded_mean(level: int, width: int, height: int, multiple: int = 32) -> float:
    """The mean of a grey picture padded with 114 up to a multiple, in 0..1."""
    padded_w, padded_h = -(-width // multiple) * multiple, -(-height // multiple) * multiple
    return (level * width * height + 114 * (padded_w * padded_h - width * height)) / (padded_w * padded_h) / 255


def test_native_pictures_run_at_their_own_padded_size_and_boxes_map_back_unchanged(tmp_path: Path) -> None:
    write_card(tmp_path, card())
    session = open_model(build_model(plan(("batch", 3, "height", "width")), tmp_path / "m.onnx"), device=Device.CPU,
                         threads=1)
    sizes, levels = [(40, 20), (64, 32), (70, 33)], [0, 255, 100]
    dataset = picture_dataset(tmp_path / "pictures", sizes, levels)
    found = detect(session, dataset, settings=BatchSettings(batch_size=4, workers=0))
    # the first two are 64 x 32 once padded (one batch), the third 96 x 64 (a batch of its own)
    expected = [padded_mean(level, w, h) for (w, h), level in zip(sizes, levels, strict=True)]
    np.testing.assert_allclose(found.scores, np.repeat(expected, 2), atol=2e-5)  # float32 mean
    assert found.boxes[:2].tolist() == [[2, 2, 8, 8], [30, 4, 10, 16]]  # clipped to the 40 x 20 picture
    assert found.boxes[4:].tolist() == [[2, 2, 8, 8], [30, 4, 40, 29]]  # 70 x 33: only clipping changes them


def test_native_preprocessing_pads_right_and_bottom() -> None:
    from PIL import Image

    spec = build_card([("card", card(multiple=16))]).input
    assert (spec.height, spec.width, spec.multiple) == (None, None, 16)
    array, transform = Preprocessor(spec)(Image.new("RGB", (20, 10), (255, 0, 0)))
    assert array.shape == (3, 16, 32)
    assert array[0, :10, :20].min() == 1.0 and array[0, 10:, :].max() == pytest.approx(114 / 255)
    assert (transform.scale_x, transform.scale_y, transform.pad_x, transform.pad_y) == (1.0, 1.0, 0, 0)


@pytest.mark.parametrize(("input_keys", "message"), [
    ({"size": [32, 32]}, "'input.size' cannot be used with input.resize native"),
    ({"resize": "stretch", "size": [32, 32], "multiple": 32}, "'input.multiple' is used only with input.resize native"),
    ({"multiple": 0}, "bad value 0 for 'input.multiple' (accepted values: a positive integer)"),
])
def test_native_keys_are_checked(input_keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelCardError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_card([("card", card(**input_keys))])


def test_native_refuses_adapters_that_need_a_fixed_size() -> None:
    classifier = {**card(), "task": "classification", "output": {"adapter": "logits"}}
    with pytest.raises(ModelCardError, match=r"'input.resize: native' cannot be used with a classifier"):
        build_card([("card", classifier)])
    normalized = card()
    normalized["output"] = {"adapter": "yolo", "coordinates": "normalized"}
    with pytest.raises(ModelCardError, match=r"'output.coordinates: normalized' cannot be used with 'input.resize: "
                                             r"native'"):
        build_card([("card", normalized)])


def test_placeholder_dims_are_freed_by_the_card(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    model = build_model(plan((10, 3, 32, 32), batch=10), tmp_path / "centerface-like.onnx")
    write_card(tmp_path, card())
    with pytest.raises(ModelError, match=r"fixed height and width, but input.resize is native \(set "
                                         r"input.placeholder_dims: true"):
        open_model(model, device=Device.CPU, threads=1)
    write_card(tmp_path, card(placeholder_dims=True))
    session = open_model(model, device=Device.CPU, threads=1)
    assert session.contract.batch_size is None  # the placeholder batch of 10 is gone too
    dataset = picture_dataset(tmp_path / "pictures", [(40, 20), (100, 70)], [0, 50])
    found = detect(session, dataset, settings=BatchSettings(batch_size=3, workers=0))
    np.testing.assert_allclose(found.scores[::2], [padded_mean(0, 40, 20), padded_mean(50, 100, 70)], atol=2e-5)
