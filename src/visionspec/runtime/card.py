"""Model cards: what a model expects as input and how to read its outputs, validated once.

A card is ``models/<name>/model.yaml`` beside ``models/<name>/checkpoints/*.onnx``, or an explicit path.
The ONNX file may carry the same schema (YAML or JSON) in its metadata under the key ``visionspec.card``;
the card file wins, key by key (``input.mean`` from the file, ``input.size`` from the metadata, ...).

Schema (defaults in brackets)::

    name: balloon-detector
    task: detection                      # detection | classification
    classes: [balloon]                   # index i of the model's output is classes[i]
    description: free text               # [""]
    score_threshold: 0.5                 # default threshold of goals stated "at the card's threshold" [0.5]
    input:
      name: images                       # [the model's only input]
      size: [256, 256]                   # [height, width] of the model input
      layout: NCHW                       # NCHW | NHWC [NCHW]
      dtype: float32                     # float32 | uint8 [float32]
      scale: 1/255                       # a number or a fraction "N/D" [1/255 for float32]
      mean: [0.0, 0.0, 0.0]              # one number or three, subtracted after scaling [0]
      std: [1.0, 1.0, 1.0]               # one number or three, divided by after the mean [1]
      channel_order: RGB                 # RGB | BGR [RGB]
      resize: stretch                    # stretch | letterbox (keep aspect, pad centred) [stretch]
      pad_value: 114                     # 0..255, fill of letterbox padding and of crops past the edge [114]
    output:
      adapter: boxes_scores_labels       # boxes_scores_labels | torchvision | yolo | logits | probabilities
      box_format: xyxy                   # xyxy | xywh | cxcywh (detection) [xyxy; yolo: cxcywh]
      coordinates: input_pixels          # input_pixels | normalized (0..1 of the input size) [input_pixels]
      ...                                # adapter keys: see ``ADAPTER_KEYS``

A float32 input is ``(pixel * scale - mean) / std`` per channel, in the card's channel order; a uint8
input is fed raw pixels, so ``scale``, ``mean`` and ``std`` must be left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import yaml

from visionspec.errors import ModelCardError

_E = TypeVar("_E", bound=StrEnum)
_Check: TypeAlias = tuple[Callable[[float], bool], str]

METADATA_KEY = "visionspec.card"
"""The ONNX metadata key holding a card (YAML or JSON of the same schema)."""


class Task(StrEnum):
    """What the model does."""

    DETECTION = "detection"
    CLASSIFICATION = "classification"


class Layout(StrEnum):
    """Axis order of the image input tensor."""

    NCHW = "NCHW"
    NHWC = "NHWC"


class InputDType(StrEnum):
    """Element type of the image input tensor."""

    FLOAT32 = "float32"
    UINT8 = "uint8"


class ChannelOrder(StrEnum):
    """Order of the colour channels in the input tensor."""

    RGB = "RGB"
    BGR = "BGR"


class ResizeMode(StrEnum):
    """How an image is brought to the input size."""

    STRETCH = "stretch"
    LETTERBOX = "letterbox"


class AdapterKind(StrEnum):
    """How the model's outputs are read."""

    BOXES_SCORES_LABELS = "boxes_scores_labels"
    TORCHVISION = "torchvision"
    YOLO = "yolo"
    LOGITS = "logits"
    PROBABILITIES = "probabilities"


class BoxFormat(StrEnum):
    """Box encoding of a detector's outputs."""

    XYXY = "xyxy"
    XYWH = "xywh"
    CXCYWH = "cxcywh"


class Coordinates(StrEnum):
    """Space of a detector's box coordinates."""

    INPUT_PIXELS = "input_pixels"
    NORMALIZED = "normalized"


ADAPTER_TASK: Mapping[AdapterKind, Task] = {
    AdapterKind.BOXES_SCORES_LABELS: Task.DETECTION,
    AdapterKind.TORCHVISION: Task.DETECTION,
    AdapterKind.YOLO: Task.DETECTION,
    AdapterKind.LOGITS: Task.CLASSIFICATION,
    AdapterKind.PROBABILITIES: Task.CLASSIFICATION,
}

_DETECTION_KEYS = ("box_format", "coordinates")
ADAPTER_KEYS: Mapping[AdapterKind, tuple[str, ...]] = {
    # boxes (B, K, 4), scores (B, K), labels (B, K): output tensor names; label_offset is subtracted
    AdapterKind.BOXES_SCORES_LABELS: (*_DETECTION_KEYS, "boxes", "scores", "labels", "label_offset"),
    # one image, no batch axis: boxes (N, 4), labels (N,), scores (N,)
    AdapterKind.TORCHVISION: (*_DETECTION_KEYS, "boxes", "scores", "labels", "label_offset"),
    # raw (B, 4 + C, N) with NMS done here
    AdapterKind.YOLO: (*_DETECTION_KEYS, "output", "iou_threshold", "candidate_threshold", "max_detections"),
    AdapterKind.LOGITS: ("output",),
    AdapterKind.PROBABILITIES: ("output",),
}
"""The ``output`` keys each adapter accepts besides ``adapter``."""

_TOP_KEYS = ("name", "task", "classes", "description", "score_threshold", "input", "output")
_INPUT_KEYS = ("name", "size", "layout", "dtype", "scale", "mean", "std", "channel_order", "resize", "pad_value")


@dataclass(frozen=True)
class InputSpec:
    """The image input of a model.

    Attributes:
        name: input tensor name, or None for "the model's only input".
        height: input height in pixels.
        width: input width in pixels.
        layout: axis order.
        dtype: element type.
        scale: multiplier applied to 0..255 pixels (float32 inputs).
        mean: per-channel value subtracted after scaling, in ``channel_order``.
        std: per-channel divisor applied after the mean, in ``channel_order``.
        channel_order: RGB or BGR.
        resize: stretch or letterbox.
        pad_value: 0..255 grey level of letterbox padding and of crop areas past the image edge.
    """

    name: str | None
    height: int
    width: int
    layout: Layout = Layout.NCHW
    dtype: InputDType = InputDType.FLOAT32
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channel_order: ChannelOrder = ChannelOrder.RGB
    resize: ResizeMode = ResizeMode.STRETCH
    pad_value: int = 114

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON, cache keys and reports."""
        return {
            "name": self.name,
            "size": [self.height, self.width],
            "layout": self.layout.value,
            "dtype": self.dtype.value,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "channel_order": self.channel_order.value,
            "resize": self.resize.value,
            "pad_value": self.pad_value,
        }


@dataclass(frozen=True)
class OutputSpec:
    """How to read a model's outputs.

    Attributes:
        adapter: the output adapter.
        box_format: box encoding (detection adapters), else None.
        coordinates: box coordinate space (detection adapters), else None.
        tensors: output tensor names by role (``boxes``, ``scores``, ``labels`` or ``output``) as the card
            gives them; roles the card leaves out take the adapter's default.
        label_offset: subtracted from label values before indexing ``classes``.
        iou_threshold: NMS IoU threshold (yolo).
        candidate_threshold: scores below this never enter NMS (yolo).
        max_detections: boxes kept per image after NMS (yolo).
    """

    adapter: AdapterKind
    box_format: BoxFormat | None = None
    coordinates: Coordinates | None = None
    tensors: Mapping[str, str] = field(default_factory=dict)
    label_offset: int = 0
    iou_threshold: float = 0.7
    candidate_threshold: float = 0.001
    max_detections: int = 300

    def to_dict(self) -> dict[str, Any]:
        """Plain values of the keys this adapter uses, for JSON, cache keys and reports."""
        values: dict[str, Any] = {
            "adapter": self.adapter.value,
            "box_format": None if self.box_format is None else self.box_format.value,
            "coordinates": None if self.coordinates is None else self.coordinates.value,
            "label_offset": self.label_offset,
            "iou_threshold": self.iou_threshold,
            "candidate_threshold": self.candidate_threshold,
            "max_detections": self.max_detections,
            **dict(sorted(self.tensors.items())),
        }
        return {key: value for key, value in values.items() if key == "adapter" or key in ADAPTER_KEYS[self.adapter]}


@dataclass(frozen=True)
class ModelCard:
    """A validated model card.

    Attributes:
        name: model name.
        task: detection or classification.
        classes: class names; the model's class index i is ``classes[i]``.
        input: the image input.
        output: how to read the outputs.
        score_threshold: the default score threshold of goals.
        description: free text.
        sources: where the keys came from (card file path, ONNX metadata), for messages and reports.
    """

    name: str
    task: Task
    classes: tuple[str, ...]
    input: InputSpec
    output: OutputSpec
    score_threshold: float = 0.5
    description: str = ""
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the card schema with every default filled in)."""
        return {
            "name": self.name,
            "task": self.task.value,
            "classes": list(self.classes),
            "description": self.description,
            "score_threshold": self.score_threshold,
            "input": self.input.to_dict(),
            "output": self.output.to_dict(),
        }


def card_path_for(checkpoint: Path) -> Path:
    """The conventional card of a checkpoint: ``models/<name>/checkpoints/x.onnx`` -> ``models/<name>/model.yaml``.

    A checkpoint outside a ``checkpoints`` folder looks for ``model.yaml`` beside itself.
    """
    folder = checkpoint.parent
    if folder.name == "checkpoints":
        folder = folder.parent
    return folder / "model.yaml"


def read_card_file(path: Path) -> dict[str, Any]:
    """Read a card file as a raw mapping (validated later by ``build_card``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ModelCardError(f"{path}: cannot read the model card ({err.strerror or err})") from err
    return _parse_mapping(text, str(path))


def parse_metadata_card(text: str, source: str) -> dict[str, Any]:
    """Parse the ``visionspec.card`` metadata value (YAML or JSON) as a raw mapping."""
    return _parse_mapping(text, source)


def _parse_mapping(text: str, source: str) -> dict[str, Any]:
    """YAML text that must hold a mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ModelCardError(f"{source}: not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelCardError(f"{source}: a model card must be a mapping of keys, got {type(data).__name__}")
    return data


def build_card(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> ModelCard:
    """Merge raw card layers key by key and validate the result.

    Args:
        layers: ``(source, mapping)`` pairs from lowest to highest priority, e.g.
            ``[("metadata 'visionspec.card' of x.onnx", {...}), ("models/x/model.yaml", {...})]``.

    Returns:
        The validated card.

    Raises:
        ModelCardError: an unknown key, a missing key or a bad value; the message names the key, its source
            and the accepted values.

    Example:
        >>> card = build_card([("model.yaml", {"name": "m", "task": "classification", "classes": ["a", "b"],
        ...     "input": {"size": [32, 32]}, "output": {"adapter": "logits"}})])
        >>> card.input.scale == 1 / 255
        True
    """
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for source, mapping in layers:
        _merge_into(merged, origins, mapping, source, prefix="")
    reader = _Reader(origins, " + ".join(source for source, _ in layers) or "model card")
    return reader.card(merged, tuple(source for source, _ in layers))


def _merge_into(
    merged: dict[str, Any], origins: dict[str, str], layer: Mapping[str, Any], source: str, prefix: str
) -> None:
    """Overlay ``layer`` on ``merged``: nested mappings merge key by key, other values replace."""
    for key, value in layer.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            _merge_into(merged[key], origins, value, source, prefix=f"{path}.")
        else:
            merged[key] = dict(value) if isinstance(value, Mapping) else value
            _record_origins(origins, value, source, path)


def _record_origins(origins: dict[str, str], value: Any, source: str, path: str) -> None:
    """Remember which layer each key path came from."""
    origins[path] = source
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _record_origins(origins, inner, source, f"{path}.{key}")


class _Reader:
    """Typed access to a merged card mapping, with messages naming the key and its source."""

    def __init__(self, origins: Mapping[str, str], fallback: str) -> None:
        self._origins = origins
        self._fallback = fallback

    def fail(self, path: str, problem: str) -> ModelCardError:
        """A ModelCardError naming the source of ``path``."""
        return ModelCardError(f"{self._origins.get(path, self._fallback)}: {problem}")

    def check_keys(self, data: Mapping[str, Any], accepted: Sequence[str], prefix: str) -> None:
        """Reject keys outside ``accepted``."""
        for key in data:
            if key not in accepted:
                path = f"{prefix}{key}"
                raise self.fail(path, f"unknown key '{path}' (accepted keys: {', '.join(accepted)})")

    def required(self, data: Mapping[str, Any], key: str, prefix: str, what: str) -> Any:
        """The value of a required key."""
        if key not in data or data[key] is None:
            raise self.fail(f"{prefix}{key}", f"missing key '{prefix}{key}' ({what})")
        return data[key]

    def enum(self, data: Mapping[str, Any], key: str, prefix: str, kind: type[_E], default: _E | None) -> _E:
        """A closed-set value."""
        path = f"{prefix}{key}"
        value = data.get(key)
        if value is None:
            if default is None:
                raise self.fail(path, f"missing key '{path}' (accepted values: {_choices(kind)})")
            return default
        try:
            return kind(value)
        except ValueError:
            raise self.fail(path, f"bad value {value!r} for '{path}' (accepted values: {_choices(kind)})") from None

    def number(self, data: Mapping[str, Any], key: str, prefix: str, default: float, check: _Check) -> float:
        """A finite number satisfying ``check``."""
        path = f"{prefix}{key}"
        value = data.get(key, default)
        finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not finite or not check[0](value):
            raise self.fail(path, f"bad value {value!r} for '{path}' (accepted values: {check[1]})")
        return float(value)

    def integer(self, data: Mapping[str, Any], key: str, prefix: str, default: int, check: _Check) -> int:
        """An integer satisfying ``check``."""
        path = f"{prefix}{key}"
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not check[0](value):
            raise self.fail(path, f"bad value {value!r} for '{path}' (accepted values: {check[1]})")
        return value

    def text(self, data: Mapping[str, Any], key: str, prefix: str, default: str | None) -> str | None:
        """A non-empty string (or the default when absent)."""
        path = f"{prefix}{key}"
        value = data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"bad value {value!r} for '{path}' (accepted values: a non-empty string)")
        return value

    def card(self, data: Mapping[str, Any], sources: tuple[str, ...]) -> ModelCard:
        """Validate the whole merged card."""
        self.check_keys(data, _TOP_KEYS, "")
        name = self.required(data, "name", "", "the model's name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", f"bad value {name!r} for 'name' (accepted values: a non-empty string)")
        task = self.enum(data, "task", "", Task, None)
        classes = self.classes(self.required(data, "classes", "", "a list of class names"))
        description = data.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", f"bad value {description!r} for 'description' (accepted values: text)")
        output = self.output(self.section(data, "output", "the output adapter"), task)
        return ModelCard(
            name=name,
            task=task,
            classes=classes,
            input=self.input(self.section(data, "input", "the input tensor: at least 'size'"), output.adapter),
            output=output,
            score_threshold=self.number(data, "score_threshold", "", 0.5, _UNIT_INTERVAL),
            description=description,
            sources=sources,
        )

    def section(self, data: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
        """A required nested mapping."""
        value = self.required(data, key, "", what)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"'{key}' must be a mapping of keys, got {value!r}")
        return value

    def classes(self, value: Any) -> tuple[str, ...]:
        """A non-empty list of distinct class names."""
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail("classes", f"bad value {value!r} for 'classes' "
                            "(accepted values: a non-empty list of names)")
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise self.fail("classes", f"'classes' lists {', '.join(map(repr, duplicates))} more than once")
        return tuple(value)

    def input(self, data: Mapping[str, Any], adapter: AdapterKind) -> InputSpec:
        """Validate the ``input`` section."""
        self.check_keys(data, _INPUT_KEYS, "input.")
        height, width = self.size(self.required(data, "size", "input.", "[height, width] of the model input"))
        dtype = self.enum(data, "dtype", "input.", InputDType, InputDType.FLOAT32)
        layout = self.enum(data, "layout", "input.", Layout, Layout.NCHW)
        if adapter is AdapterKind.TORCHVISION and layout is not Layout.NCHW:
            raise self.fail("input.layout", "bad value 'NHWC' for 'input.layout' with adapter torchvision "
                            "(accepted values: NCHW; torchvision exports take one CHW image)")
        if dtype is InputDType.UINT8:
            given = [key for key in ("scale", "mean", "std") if key in data]
            if given:
                raise self.fail(f"input.{given[0]}", f"'input.{given[0]}' cannot be used with input.dtype uint8 "
                                "(the model is fed raw 0..255 pixels): remove it")
        return InputSpec(
            name=self.text(data, "name", "input.", None),
            height=height,
            width=width,
            layout=layout,
            dtype=dtype,
            scale=self.scale(data.get("scale")) if dtype is InputDType.FLOAT32 else 1.0,
            mean=self.triple(data, "mean", 0.0, lambda v: True, "a number or a list of three numbers"),
            std=self.triple(data, "std", 1.0, lambda v: v > 0, "a positive number or a list of three"),
            channel_order=self.enum(data, "channel_order", "input.", ChannelOrder, ChannelOrder.RGB),
            resize=self.enum(data, "resize", "input.", ResizeMode, ResizeMode.STRETCH),
            pad_value=self.integer(data, "pad_value", "input.", 114, (lambda v: 0 <= v <= 255, "an integer 0..255")),
        )

    def size(self, value: Any) -> tuple[int, int]:
        """``[height, width]``, two positive integers."""
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise self.fail("input.size", f"bad value {value!r} for 'input.size' "
                            "(accepted values: [height, width], two positive integers)")
        return value[0], value[1]

    def scale(self, value: Any) -> float:
        """A positive number, or a fraction written ``"N/D"``."""
        if value is None:
            return 1 / 255
        number: float | None = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(Fraction(value.replace(" ", "")))
            except (ValueError, ZeroDivisionError):
                number = None
        if number is None or not math.isfinite(number) or number <= 0:
            raise self.fail("input.scale", f"bad value {value!r} for 'input.scale' "
                            "(accepted values: a positive number such as 0.00392156862745098, "
                            "or a fraction such as 1/255)")
        return number

    def triple(self, data: Mapping[str, Any], key: str, default: float,
               check: Callable[[float], bool], accepted: str) -> tuple[float, float, float]:
        """One number or three, each satisfying ``check``."""
        value = data.get(key, default)
        values = value if isinstance(value, list) else [value]
        if len(values) == 1:
            values = values * 3
        if len(values) != 3 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and check(v) for v in values
        ):
            raise self.fail(f"input.{key}", f"bad value {value!r} for 'input.{key}' (accepted values: {accepted})")
        return float(values[0]), float(values[1]), float(values[2])

    def output(self, data: Mapping[str, Any], task: Task) -> OutputSpec:
        """Validate the ``output`` section for ``task``."""
        adapter = self.enum(data, "adapter", "output.", AdapterKind, None)
        if ADAPTER_TASK[adapter] is not task:
            fitting = ", ".join(kind.value for kind, kind_task in ADAPTER_TASK.items() if kind_task is task)
            raise self.fail("output.adapter", f"adapter {adapter.value!r} does not fit task {task.value!r} "
                            f"(accepted values for 'output.adapter': {fitting})")
        self.check_keys(data, ("adapter", *ADAPTER_KEYS[adapter]), "output.")
        detection = task is Task.DETECTION
        default_format = BoxFormat.CXCYWH if adapter is AdapterKind.YOLO else BoxFormat.XYXY
        tensors = {role: name for role in ("boxes", "scores", "labels", "output")
                   if (name := self.text(data, role, "output.", None)) is not None}
        return OutputSpec(
            adapter=adapter,
            box_format=self.enum(data, "box_format", "output.", BoxFormat, default_format) if detection else None,
            coordinates=self.enum(data, "coordinates", "output.", Coordinates, Coordinates.INPUT_PIXELS)
            if detection else None,
            tensors=tensors,
            label_offset=self.integer(data, "label_offset", "output.", 0, (lambda v: True, "an integer")),
            iou_threshold=self.number(data, "iou_threshold", "output.", 0.7, _UNIT_INTERVAL),
            candidate_threshold=self.number(data, "candidate_threshold", "output.", 0.001, _UNIT_INTERVAL),
            max_detections=self.integer(data, "max_detections", "output.", 300,
                                        (lambda v: v > 0, "a positive integer")),
        )


_UNIT_INTERVAL: _Check = (lambda v: 0.0 <= v <= 1.0, "a number from 0 to 1")


def _choices(kind: type[StrEnum]) -> str:
    """The accepted values of a closed set, for messages."""
    return ", ".join(member.value for member in kind)
