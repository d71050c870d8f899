"""A card the outputs contradict is broken (ModelCardError, exit 2), not a worse model: boxes of negative size
under the declared box_format, or nearly all boxes outside the picture under the declared coordinates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_models import bsl_plan, build_model, detector_card, picture_dataset, write_card

from visionspec.errors import ModelCardError
from visionspec.runtime import BatchSettings, Device, detect, open_model

SERIAL = BatchSettings(batch_size=4, workers=0)
CENTRE_SIZE = [[12, 8, 8, 8], [30, 20, 6, 6], [40, 24, 10, 12]]  # cxcywh in a 48 x 32 input
PIXEL_CORNERS = [[4, 4, 20, 12], [10, 10, 30, 30], [26, 2, 47, 31]]  # xyxy input pixels


def run(tmp_path: Path, boxes: list[list[float]], output: dict[str, Any]) -> Any:
    card = write_card(tmp_path, detector_card(output=output))
    model = build_model(bsl_plan(boxes, [0.9, 0.5, 0.2], [0, 0, 1]), tmp_path / "model.onnx")
    session = open_model(model, device=Device.CPU, threads=1)
    return card, detect(session, picture_dataset(tmp_path / "pictures", [(96, 64), (48, 32)], [0, 9]),
                        settings=SERIAL)


def test_xyxy_declared_on_a_centre_size_output_is_a_broken_card(tmp_path: Path) -> None:
    with pytest.raises(ModelCardError) as caught:
        run(tmp_path, CENTRE_SIZE, {"box_format": "xyxy"})
    assert str(caught.value) == (
        f"{tmp_path / 'model.yaml'}: the model's outputs do not fit the card (adapter 'boxes_scores_labels'): "
        "3 of 3 boxes of image image-000.png (id 100) have a negative width or height, e.g. [12, 8, 8, 8] "
        "(x1, y1, x2, y2 in model-input pixels); this is a wrong card, not a weak model; fix: output.box_format "
        "(declared 'xyxy'; accepted: xyxy, xywh, cxcywh)"
    )
    _, found = run(tmp_path / "fixed", CENTRE_SIZE, {"box_format": "cxcywh"})
    assert len(found) == 6


def test_normalized_declared_on_pixel_outputs_is_a_broken_card(tmp_path: Path) -> None:
    with pytest.raises(ModelCardError) as caught:
        run(tmp_path, PIXEL_CORNERS, {"coordinates": "normalized"})
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'model.yaml'}: the model's outputs do not fit the card")
    assert ("6 of 6 boxes lie entirely outside their pictures (e.g. [192, 128, 960, 384] for image image-000.png "
            "(id 100), whose picture spans [0, 0, 48, 32] of the model input)") in message
    assert message.endswith("fix: output.coordinates (declared 'normalized': the values look like pixels, try "
                            "input_pixels)")
    _, found = run(tmp_path / "fixed", PIXEL_CORNERS, {"coordinates": "input_pixels"})
    assert len(found) == 6


def test_a_few_boxes_outside_and_padding_slots_are_a_model_matter(tmp_path: Path) -> None:
    # one box past the picture's edge and zero-sized padding slots: nothing the card could have got wrong
    boxes = [[60, 40, 90, 60], [4, 4, 20, 12], [0, 0, 0, 0]]
    _, found = run(tmp_path, boxes, {})
    assert np.all(found.boxes[:, 2:] >= 0)
    assert len(found) == 6
