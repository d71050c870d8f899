"""Model card validation: every bad key or value is a ModelCardError naming the key, its source and the
accepted values; the card file wins over the ONNX metadata key by key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from runtime_models import bsl_plan, build_model, detector_card, write_card

from visionspec.errors import ModelCardError
from visionspec.runtime import (
    BoxFormat,
    ChannelOrder,
    Coordinates,
    Device,
    InputDType,
    Layout,
    ResizeMode,
    Task,
    build_card,
    card_path_for,
    open_model,
)

SOURCE = "models/m/model.yaml"


def card_error(data: dict[str, Any]) -> str:
    with pytest.raises(ModelCardError) as caught:
        build_card([(SOURCE, data)])
    return str(caught.value)


def test_defaults_are_filled_in() -> None:
    card = build_card([(SOURCE, {"name": "m", "task": "detection", "classes": ["balloon"],
                                 "input": {"size": [256, 320]}, "output": {"adapter": "boxes_scores_labels"}})])
    assert card.task is Task.DETECTION
    assert (card.input.height, card.input.width) == (256, 320)
    assert card.input.name is None
    assert card.input.layout is Layout.NCHW
    assert card.input.dtype is InputDType.FLOAT32
    assert card.input.scale == 1 / 255
    assert card.input.mean == (0.0, 0.0, 0.0)
    assert card.input.std == (1.0, 1.0, 1.0)
    assert card.input.channel_order is ChannelOrder.RGB
    assert card.input.resize is ResizeMode.STRETCH
    assert card.input.pad_value == 114
    assert card.output.kind == "boxes_scores_labels"
    assert card.output.box_format is BoxFormat.XYXY
    assert card.output.coordinates is Coordinates.INPUT_PIXELS
    assert card.score_threshold == 0.5
    assert card.sources == (SOURCE,)


def test_yolo_defaults_to_centre_boxes_and_classifiers_have_no_box_format() -> None:
    yolo = build_card([(SOURCE, detector_card(output={"adapter": "yolo"}))])
    assert yolo.output.box_format is BoxFormat.CXCYWH
    settings = yolo.output.settings
    assert (settings.iou_threshold, settings.candidate_threshold, settings.max_detections) == (0.7, 0.001, 300)
    colour = build_card([(SOURCE, detector_card(task="classification", output={"adapter": "logits"}))])
    assert colour.output.box_format is None and colour.output.coordinates is None
    assert colour.output.to_dict() == {"adapter": "logits", "output": None}


@pytest.mark.parametrize(("scale", "expected"), [("1/255", 1 / 255), (" 1 / 255 ", 1 / 255),
                                                  (0.00392156862745098, 0.00392156862745098), (1, 1.0), ("2", 2.0)])
def test_scale_is_a_number_or_a_fraction(scale: object, expected: float) -> None:
    assert build_card([(SOURCE, detector_card(input={"scale": scale}))]).input.scale == expected


def test_mean_and_std_take_one_number_or_three() -> None:
    card = build_card([(SOURCE, detector_card(input={"mean": 0.5, "std": [0.229, 0.224, 0.225]}))])
    assert card.input.mean == (0.5, 0.5, 0.5)
    assert card.input.std == (0.229, 0.224, 0.225)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"colour": "red"}, "models/m/model.yaml: unknown key 'colour' (accepted keys: name, task, classes, "
                            "description, score_threshold, input, output)"),
        ({"input": {"colour_order": "RGB"}},
         "models/m/model.yaml: unknown key 'input.colour_order' (accepted keys: name, size, layout, dtype, scale, "
         "mean, std, channel_order, resize, multiple, placeholder_dims, pad_value)"),
        ({"output": {"iou_threshold": 0.5}},
         "models/m/model.yaml: unknown key 'output.iou_threshold' (accepted keys: adapter, box_format, coordinates, "
         "boxes, scores, labels, label_offset)"),
        ({"task": "segmentation"},
         "models/m/model.yaml: bad value 'segmentation' for 'task' (accepted values: detection, classification)"),
        ({"input": {"layout": "CHW"}},
         "models/m/model.yaml: bad value 'CHW' for 'input.layout' (accepted values: NCHW, NHWC)"),
        ({"input": {"dtype": "float16"}},
         "models/m/model.yaml: bad value 'float16' for 'input.dtype' (accepted values: float32, uint8)"),
        ({"input": {"channel_order": "rgb"}},
         "models/m/model.yaml: bad value 'rgb' for 'input.channel_order' (accepted values: RGB, BGR)"),
        ({"input": {"resize": "crop"}},
         "models/m/model.yaml: bad value 'crop' for 'input.resize' (accepted values: stretch, letterbox, native)"),
        ({"output": {"adapter": "ssd"}},
         "models/m/model.yaml: bad value 'ssd' for 'output.adapter' (accepted values: boxes_scores_labels, "
         "torchvision, yolo, yolo_end_to_end, centernet, priors, logits, probabilities)"),
        ({"output": {"box_format": "ltrb"}},
         "models/m/model.yaml: bad value 'ltrb' for 'output.box_format' (accepted values: xyxy, xywh, cxcywh)"),
        ({"output": {"coordinates": "pixels"}},
         "models/m/model.yaml: bad value 'pixels' for 'output.coordinates' (accepted values: input_pixels, "
         "normalized)"),
        ({"input": {"size": [256]}},
         "models/m/model.yaml: bad value [256] for 'input.size' (accepted values: [height, width], two positive "
         "integers)"),
        ({"input": {"size": [256, 0]}},
         "models/m/model.yaml: bad value [256, 0] for 'input.size' (accepted values: [height, width], two positive "
         "integers)"),
        ({"input": {"scale": "1/0"}},
         "models/m/model.yaml: bad value '1/0' for 'input.scale' (accepted values: a positive number such as "
         "0.00392156862745098, or a fraction such as 1/255)"),
        ({"input": {"scale": "eval('1')"}},
         "models/m/model.yaml: bad value \"eval('1')\" for 'input.scale' (accepted values: a positive number such as "
         "0.00392156862745098, or a fraction such as 1/255)"),
        ({"input": {"std": [1, 0, 1]}},
         "models/m/model.yaml: bad value [1, 0, 1] for 'input.std' (accepted values: a positive number or a list "
         "of three)"),
        ({"input": {"mean": [0.5, 0.5]}},
         "models/m/model.yaml: bad value [0.5, 0.5] for 'input.mean' (accepted values: a number or a list of "
         "three numbers)"),
        ({"input": {"pad_value": 300}},
         "models/m/model.yaml: bad value 300 for 'input.pad_value' (accepted values: an integer 0..255)"),
        ({"score_threshold": 1.5},
         "models/m/model.yaml: bad value 1.5 for 'score_threshold' (accepted values: a number from 0 to 1)"),
        ({"score_threshold": True},
         "models/m/model.yaml: bad value True for 'score_threshold' (accepted values: a number from 0 to 1)"),
        ({"classes": []},
         "models/m/model.yaml: bad value [] for 'classes' (accepted values: a non-empty list of names)"),
        ({"classes": ["red", "blue", "red"]}, "models/m/model.yaml: 'classes' lists 'red' more than once"),
        ({"input": {"dtype": "uint8", "mean": [0, 0, 0]}},
         "models/m/model.yaml: 'input.mean' cannot be used with input.dtype uint8 (the model is fed raw 0..255 "
         "pixels): remove it"),
        ({"output": {"adapter": "logits"}},
         "models/m/model.yaml: adapter 'logits' does not fit task 'detection' (accepted values for "
         "'output.adapter': boxes_scores_labels, torchvision, yolo, yolo_end_to_end, centernet, priors)"),
        ({"output": {"adapter": "torchvision"}, "input": {"layout": "NHWC"}},
         "models/m/model.yaml: bad value 'NHWC' for 'input.layout' with adapter torchvision (accepted values: NCHW; "
         "torchvision exports take one CHW image)"),
        ({"output": {"adapter": "yolo", "max_detections": 0}},
         "models/m/model.yaml: bad value 0 for 'output.max_detections' (accepted values: a positive integer)"),
        ({"output": {"boxes": ""}},
         "models/m/model.yaml: bad value '' for 'output.boxes' (accepted values: a non-empty string)"),
        ({"input": "images"}, "models/m/model.yaml: 'input' must be a mapping of keys, got 'images'"),
    ],
)
def test_bad_keys_and_values_name_the_key_and_the_accepted_values(overrides: dict[str, Any], message: str) -> None:
    data = detector_card()
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    assert card_error(data) == message


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("name", "models/m/model.yaml: missing key 'name' (the model's name)"),
        ("task", "models/m/model.yaml: missing key 'task' (accepted values: detection, classification)"),
        ("classes", "models/m/model.yaml: missing key 'classes' (a list of class names)"),
        ("input", "models/m/model.yaml: missing key 'input' (the input tensor: at least 'size')"),
        ("output", "models/m/model.yaml: missing key 'output' (the output adapter)"),
    ],
)
def test_missing_keys_are_named(missing: str, message: str) -> None:
    data = detector_card()
    del data[missing]
    assert card_error(data) == message


def test_missing_size_and_adapter_are_named() -> None:
    data = detector_card()
    data["input"] = {"name": "images"}
    assert card_error(data) == "models/m/model.yaml: missing key 'input.size' ([height, width] of the model input)"
    data = detector_card()
    data["output"] = {"box_format": "xyxy"}
    assert card_error(data) == ("models/m/model.yaml: missing key 'output.adapter' (accepted values: "
                                "boxes_scores_labels, torchvision, yolo, yolo_end_to_end, centernet, priors, logits, "
                                "probabilities)")


def test_card_file_wins_over_metadata_key_by_key_and_errors_name_the_layer() -> None:
    metadata = {"name": "from-metadata", "task": "detection", "classes": ["balloon"],
                "input": {"size": [64, 64], "mean": [0.1, 0.2, 0.3], "layout": "NHWC"},
                "output": {"adapter": "boxes_scores_labels"}}
    card_file = {"name": "from-card", "input": {"size": [32, 48]}}
    card = build_card([("metadata", metadata), ("card.yaml", card_file)])
    assert card.name == "from-card"
    assert (card.input.height, card.input.width) == (32, 48)  # the card file's
    assert card.input.mean == (0.1, 0.2, 0.3)  # the metadata's, the card file is silent on it
    assert card.input.layout is Layout.NHWC
    assert card.sources == ("metadata", "card.yaml")
    with pytest.raises(ModelCardError, match=r"^metadata: bad value 'CHW' for 'input.layout'"):
        build_card([("metadata", {**metadata, "input": {"layout": "CHW"}}), ("card.yaml", card_file)])
    with pytest.raises(ModelCardError, match=r"^card.yaml: unknown key 'input.sizes'"):
        build_card([("metadata", metadata), ("card.yaml", {"input": {"sizes": [1, 1]}})])


def test_card_lookup_follows_the_models_layout(tmp_path: Path) -> None:
    assert card_path_for(Path("models/det/checkpoints/epoch-01.onnx")) == Path("models/det/model.yaml")
    assert card_path_for(Path("elsewhere/det.onnx")) == Path("elsewhere/model.yaml")


def test_open_model_reads_the_card_from_metadata_when_there_is_no_card_file(tmp_path: Path) -> None:
    plan = bsl_plan([[0, 0, 4, 4]], [0.5], [0])
    plan.metadata = {"visionspec.card": json.dumps(detector_card(name="embedded"))}
    model = build_model(plan, tmp_path / "model.onnx")
    session = open_model(model, device=Device.CPU, threads=1)
    assert session.card.name == "embedded"
    assert session.card.sources == (f"metadata 'visionspec.card' of {model}",)
    assert session.card_source.to_dict() == {"path": None, "origin": "metadata", "explicit": False}
    write_card(tmp_path, {"name": "on-disk", "input": {"pad_value": 0}})
    session = open_model(model, device=Device.CPU, threads=1)
    assert (session.card.name, session.card.input.pad_value) == ("on-disk", 0)
    assert session.card.sources == (f"metadata 'visionspec.card' of {model}", str(tmp_path / "model.yaml"))
    assert session.card_source.origin == "file + metadata"
    assert str(session.card_source) == f"{tmp_path / 'model.yaml'} (found, over the ONNX metadata 'visionspec.card')"
    assert session.describe()["card_source"]["path"] == str(tmp_path / "model.yaml")


def test_a_card_named_after_the_file_comes_first_and_an_explicit_card_wins(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "det" / "checkpoints"
    folder.mkdir(parents=True)
    model = build_model(bsl_plan([[0, 0, 4, 4]], [0.5], [0]), folder / "epoch-01.onnx")
    write_card(tmp_path / "models" / "det", detector_card(name="folder-card"))
    assert open_model(model, device=Device.CPU, threads=1).card.name == "folder-card"
    (folder / "epoch-01.yaml").write_text(yaml.safe_dump(detector_card(name="file-card")), encoding="utf-8")
    session = open_model(model, device=Device.CPU, threads=1)
    assert (session.card.name, session.card_source.path, session.card_source.origin) == (
        "file-card", folder / "epoch-01.yaml", "file")
    explicit = write_card(tmp_path / "elsewhere", detector_card(name="explicit"))
    session = open_model(model, card_path=explicit, device=Device.CPU, threads=1)
    assert (session.card.name, session.card_source.explicit) == ("explicit", True)
    assert str(session.card_source) == f"{explicit} (given)"


def test_a_model_without_any_card_is_refused(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    model = build_model(bsl_plan([[0, 0, 4, 4]], [0.5], [0]), tmp_path / "checkpoints" / "x.onnx")
    with pytest.raises(ModelCardError) as caught:
        open_model(model, device=Device.CPU, threads=1)
    assert str(caught.value) == (
        f"{model}: no model card: expected {tmp_path / 'checkpoints' / 'x.yaml'} or {tmp_path / 'model.yaml'} "
        "(models/<name>/model.yaml beside "
        "checkpoints/), an explicit card path, or the card in the file's metadata key 'visionspec.card'"
    )


def test_unreadable_and_malformed_card_files(tmp_path: Path) -> None:
    model = build_model(bsl_plan([[0, 0, 4, 4]], [0.5], [0]), tmp_path / "x.onnx")
    with pytest.raises(ModelCardError, match=r"missing\.yaml: cannot read the model card \(No such file"):
        open_model(model, card_path=tmp_path / "missing.yaml", device=Device.CPU)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ModelCardError, match=r"broken\.yaml: not valid YAML"):
        open_model(model, card_path=broken, device=Device.CPU)
    listing = tmp_path / "list.yaml"
    listing.write_text("- name\n", encoding="utf-8")
    with pytest.raises(ModelCardError, match=r"list\.yaml: a model card must be a mapping of keys, got list"):
        open_model(model, card_path=listing, device=Device.CPU)
