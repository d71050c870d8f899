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
      resize: stretch                    # stretch | letterbox (keep aspect, pad centred) | native [stretch]
      multiple: 32                       # resize native: each side padded up to a multiple of this [32]
      placeholder_dims: false            # the file's fixed batch/height/width are placeholders: free them [false]
      pad_value: 114                     # 0..255, fill of letterbox padding and of crops past the edge [114]
    output:
      adapter: boxes_scores_labels       # an output adapter's kind (visionspec.runtime.adapters)
      ...                                # that adapter's keys: `visionspec cards` lists them

The reference page (every key, type, default and accepted values, per adapter) is generated from this
module and the adapters: ``visionspec cards --markdown`` (docs/model-card.md).

A float32 input is ``(pixel * scale - mean) / std`` per channel, in the card's channel order; a uint8
input is fed raw pixels, so ``scale``, ``mean`` and ``std`` must be left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from visionspec.errors import ModelCardError, shown
from visionspec.runtime.card_keys import Settings, key_names, read_settings
from visionspec.yamlfile import load_yaml_text, read_yaml_file

if TYPE_CHECKING:
    from visionspec.runtime.adapters.base import Adapter

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
    NATIVE = "native"


class BoxFormat(StrEnum):
    """Box encoding of a detector's outputs."""

    XYXY = "xyxy"
    XYWH = "xywh"
    CXCYWH = "cxcywh"


class Coordinates(StrEnum):
    """Space of a detector's box coordinates."""

    INPUT_PIXELS = "input_pixels"
    NORMALIZED = "normalized"


DEFAULT_CANDIDATE_THRESHOLD = 0.001
"""The score floor of adapters that have no ``candidate_threshold`` key."""


@dataclass(frozen=True)
class KeyDoc:
    """A top-level or ``input`` key as the reference page shows it (the adapters' keys document themselves).

    Attributes:
        name: the key.
        type: its type in words.
        default: its default in words, or None for a required key.
        accepted: the accepted values in words.
        doc: what it means.
    """

    name: str
    type: str
    default: str | None
    accepted: str
    doc: str


TOP_KEYS: tuple[KeyDoc, ...] = (
    KeyDoc("name", "text", None, "a non-empty string", "the model's name"),
    KeyDoc("task", "one of", None, "detection, classification", "what the model does"),
    KeyDoc("classes", "list of names", None, "a non-empty list of distinct names",
           "index i of the model's class output is classes[i]; named as the data set names them"),
    KeyDoc("description", "text", '""', "text", "free text, shown in reports"),
    KeyDoc("score_threshold", "number", "0.5", "a number from 0 to 1",
           "the threshold of goals stated at the card's threshold"),
    KeyDoc("input", "mapping", None, "the keys below", "the image input tensor"),
    KeyDoc("output", "mapping", None, "adapter and that adapter's keys", "how the outputs are read"),
)
"""The card's top-level keys."""

INPUT_KEYS: tuple[KeyDoc, ...] = (
    KeyDoc("name", "tensor name", "the model's only input", "an input tensor's name", "the image input tensor"),
    KeyDoc("size", "[height, width]", None, "two positive integers",
           "the model input's size in pixels; required unless resize is native (then not allowed)"),
    KeyDoc("layout", "one of", "NCHW", "NCHW, NHWC", "axis order of the input tensor"),
    KeyDoc("dtype", "one of", "float32", "float32, uint8", "element type; uint8 is fed raw 0..255 pixels"),
    KeyDoc("scale", "number or fraction", "1/255", "a positive number, or a fraction such as 1/255",
           "float32 input = (pixel x scale - mean) / std; not with dtype uint8"),
    KeyDoc("mean", "number or list of three", "0", "finite numbers", "subtracted after scaling, per channel"),
    KeyDoc("std", "number or list of three", "1", "positive numbers", "divided by after the mean, per channel"),
    KeyDoc("channel_order", "one of", "RGB", "RGB, BGR", "order of the colour channels"),
    KeyDoc("resize", "one of", "stretch", "stretch, letterbox, native",
           "stretch to size; letterbox: keep the aspect ratio, pad centred; native: each picture at its own "
           "size, padded right and bottom up to a multiple (pictures of one size are batched together)"),
    KeyDoc("multiple", "integer", "32", "a positive integer", "resize native only: each side rounded up to this"),
    KeyDoc("placeholder_dims", "true or false", "false", "true, false",
           "the file's fixed batch, height and width are placeholders (CenterFace declares 10 x 3 x 32 x 32): "
           "visionspec frees them, and the outputs' dimensions, before loading (needs the onnx package)"),
    KeyDoc("pad_value", "integer", "114", "an integer 0..255",
           "grey level of letterbox and native padding, and of crop areas past the picture's edge"),
)
"""The ``input`` keys."""

_TOP_KEYS = tuple(entry.name for entry in TOP_KEYS)
_INPUT_KEYS = tuple(entry.name for entry in INPUT_KEYS)


@dataclass(frozen=True)
class InputSpec:
    """The image input of a model.

    Attributes:
        name: input tensor name, or None for "the model's only input".
        height: input height in pixels; None with ``resize`` native (each picture at its own size).
        width: input width in pixels; None with ``resize`` native.
        layout: axis order.
        dtype: element type.
        scale: multiplier applied to 0..255 pixels (float32 inputs).
        mean: per-channel value subtracted after scaling, in ``channel_order``.
        std: per-channel divisor applied after the mean, in ``channel_order``.
        channel_order: RGB or BGR.
        resize: stretch, letterbox or native.
        pad_value: 0..255 grey level of letterbox and native padding and of crop areas past the image edge.
        multiple: with ``resize`` native, each side is padded up to a multiple of this.
        placeholder_dims: the file's fixed batch, height and width are placeholders to free before loading.
    """

    name: str | None
    height: int | None
    width: int | None
    layout: Layout = Layout.NCHW
    dtype: InputDType = InputDType.FLOAT32
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channel_order: ChannelOrder = ChannelOrder.RGB
    resize: ResizeMode = ResizeMode.STRETCH
    pad_value: int = 114
    multiple: int = 32
    placeholder_dims: bool = False

    @property
    def fixed_size(self) -> tuple[int, int]:
        """(height, width) of a card with a fixed input size.

        Raises:
            ModelCardError: the card runs pictures at their own size (``resize: native``).
        """
        if self.height is None or self.width is None:
            raise ModelCardError(f"input {self.name!r}: resize native has no fixed size; fix: give input.size")
        return self.height, self.width

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON, cache keys and reports (a card of these values reads back the same; keys
        that only apply to native inputs or placeholder dims appear only when used)."""
        size: dict[str, Any] = (
            {"multiple": self.multiple} if self.resize is ResizeMode.NATIVE else {"size": [self.height, self.width]}
        )
        return {
            "name": self.name,
            **size,
            "layout": self.layout.value,
            "dtype": self.dtype.value,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "channel_order": self.channel_order.value,
            "resize": self.resize.value,
            "pad_value": self.pad_value,
            **({"placeholder_dims": True} if self.placeholder_dims else {}),
        }


@dataclass(frozen=True)
class OutputSpec:
    """How to read a model's outputs.

    Attributes:
        adapter: the output adapter class (``visionspec.runtime.adapters``); its ``kind`` is the card's
            ``output.adapter``.
        settings: the adapter's validated ``output`` keys, defaults filled in.
    """

    adapter: type[Adapter[Any, Any]]
    settings: Settings

    @property
    def kind(self) -> str:
        """The card's ``output.adapter``."""
        return self.adapter.kind

    @property
    def box_format(self) -> BoxFormat | None:
        """The box encoding, for adapters that read boxes as written; else None."""
        value = getattr(self.settings, "box_format", None)
        return value if isinstance(value, BoxFormat) else None

    @property
    def coordinates(self) -> Coordinates | None:
        """The box coordinate space, for adapters that read boxes as written; else None."""
        value = getattr(self.settings, "coordinates", None)
        return value if isinstance(value, Coordinates) else None

    @property
    def tensors(self) -> Mapping[str, str]:
        """Output tensor names by role, as the card gives them."""
        return self.settings.tensor_names()

    @property
    def candidate_threshold(self) -> float:
        """Scores below this are never kept: the adapter's ``candidate_threshold``, else 0.001."""
        value = getattr(self.settings, "candidate_threshold", DEFAULT_CANDIDATE_THRESHOLD)
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        """Plain values of the adapter's keys, for JSON, cache keys and reports."""
        return {"adapter": self.kind, **self.settings.to_dict()}


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


def card_candidates(checkpoint: Path) -> tuple[Path, Path]:
    """Where a checkpoint's card is looked up, in order: ``<file name>.yaml`` beside the file (``x.onnx`` ->
    ``x.yaml``), then ``model.yaml`` of the model's folder (``models/<name>/model.yaml`` for
    ``models/<name>/checkpoints/x.onnx``; ``model.yaml`` beside a file outside a ``checkpoints`` folder).
    """
    folder = checkpoint.parent
    if folder.name == "checkpoints":
        folder = folder.parent
    return checkpoint.with_suffix(".yaml"), folder / "model.yaml"


def card_path_for(checkpoint: Path) -> Path:
    """The card file of a checkpoint: the first of ``card_candidates`` that exists, else the model folder's.

    Example:
        >>> card_path_for(Path("models/det/checkpoints/epoch-01.onnx"))
        PosixPath('models/det/model.yaml')
    """
    candidates = card_candidates(checkpoint)
    return next((path for path in candidates if path.is_file()), candidates[-1])


@dataclass(frozen=True)
class CardSource:
    """Where a model's card came from: a card file, the ONNX file's metadata, or both (the file wins).

    Attributes:
        path: the card file, or None when the metadata carried the whole card.
        metadata: whether the ONNX file's ``visionspec.card`` metadata was a layer of the card.
        explicit: whether the card file was given explicitly (``--card``) rather than looked up.
    """

    path: Path | None
    metadata: bool
    explicit: bool = False

    @property
    def origin(self) -> str:
        """``file``, ``metadata`` or ``file + metadata``."""
        return " + ".join(name for name, used in (("file", self.path is not None), ("metadata", self.metadata))
                          if used)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for reports and run records."""
        return {"path": None if self.path is None else str(self.path), "origin": self.origin,
                "explicit": self.explicit}

    def __str__(self) -> str:
        if self.path is None:
            return f"ONNX metadata {METADATA_KEY!r}"
        suffix = f", over the ONNX metadata {METADATA_KEY!r}" if self.metadata else ""
        return f"{self.path} ({'given' if self.explicit else 'found'}{suffix})"


def load_card(model: Path, card_path: Path | None, metadata: Mapping[str, str]) -> tuple[ModelCard, CardSource]:
    """A model's card: its metadata card overlaid by its card file (explicit, or looked up), key by key.

    Args:
        model: the ONNX file (for the lookup and for messages).
        card_path: an explicit card file, or None to look one up (``card_candidates``).
        metadata: the file's custom metadata.

    Raises:
        ModelCardError: no card anywhere, or an unreadable or invalid one.
    """
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if METADATA_KEY in metadata:
        source = f"metadata {METADATA_KEY!r} of {model}"
        layers.append((source, parse_metadata_card(metadata[METADATA_KEY], source)))
    found = card_path if card_path is not None else next((p for p in card_candidates(model) if p.is_file()), None)
    if found is not None:
        layers.append((str(found), read_card_file(found)))
    if not layers:
        tried = " or ".join(str(path) for path in card_candidates(model))
        raise ModelCardError(
            f"{model}: no model card: expected {tried} (models/<name>/model.yaml beside checkpoints/), "
            f"an explicit card path, or the card in the file's metadata key {METADATA_KEY!r}"
        )
    return build_card(layers), CardSource(found, METADATA_KEY in metadata, card_path is not None)


def read_card_file(path: Path) -> dict[str, Any]:
    """Read a card file as a raw mapping (validated later by ``build_card``); see ``visionspec.yamlfile``."""
    try:
        data = read_yaml_file(path, ModelCardError)
    except FileNotFoundError as err:
        raise ModelCardError(f"{path}: cannot read the model card ({err.strerror or err})") from err
    return _as_mapping(data, str(path))


def parse_metadata_card(text: str, source: str) -> dict[str, Any]:
    """Parse the ``visionspec.card`` metadata value (YAML or JSON) as a raw mapping."""
    return _parse_mapping(text, source)


def _parse_mapping(text: str, source: str) -> dict[str, Any]:
    """YAML text that must hold a mapping."""
    return _as_mapping(load_yaml_text(text, source, ModelCardError), source)


def _as_mapping(data: object, source: str) -> dict[str, Any]:
    """Parsed YAML that must be a mapping."""
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
                raise self.fail(path, f"unknown key {shown(path)} (accepted keys: {', '.join(accepted)})")

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
            raise self.fail(path, f"bad value {shown(value)} for '{path}' (accepted values: {_choices(kind)})") \
                from None

    def number(self, data: Mapping[str, Any], key: str, prefix: str, default: float, check: _Check) -> float:
        """A finite number satisfying ``check``."""
        path = f"{prefix}{key}"
        value = data.get(key, default)
        finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not finite or not check[0](value):
            raise self.fail(path, f"bad value {shown(value)} for '{path}' (accepted values: {check[1]})")
        return float(value)

    def integer(self, data: Mapping[str, Any], key: str, prefix: str, default: int, check: _Check) -> int:
        """An integer satisfying ``check``."""
        path = f"{prefix}{key}"
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not check[0](value):
            raise self.fail(path, f"bad value {shown(value)} for '{path}' (accepted values: {check[1]})")
        return value

    def text(self, data: Mapping[str, Any], key: str, prefix: str, default: str | None) -> str | None:
        """A non-empty string (or the default when absent)."""
        path = f"{prefix}{key}"
        value = data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"bad value {shown(value)} for '{path}' (accepted values: a non-empty string)")
        return value

    def card(self, data: Mapping[str, Any], sources: tuple[str, ...]) -> ModelCard:
        """Validate the whole merged card."""
        self.check_keys(data, _TOP_KEYS, "")
        name = self.required(data, "name", "", "the model's name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", f"bad value {shown(name)} for 'name' (accepted values: a non-empty string)")
        task = self.enum(data, "task", "", Task, None)
        classes = self.classes(self.required(data, "classes", "", "a list of class names"))
        description = data.get("description", "")
        if not isinstance(description, str):
            raise self.fail("description", f"bad value {shown(description)} for 'description' (accepted values: text)")
        output = self.output(self.section(data, "output", "the output adapter"), task)
        input_spec = self.input(self.section(data, "input", "the input tensor: at least 'size'"))
        output.adapter.check_card(input_spec, output.settings, self.fail)
        return ModelCard(
            name=name,
            task=task,
            classes=classes,
            input=input_spec,
            output=output,
            score_threshold=self.number(data, "score_threshold", "", 0.5, _UNIT_INTERVAL),
            description=description,
            sources=sources,
        )

    def section(self, data: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
        """A required nested mapping."""
        value = self.required(data, key, "", what)
        if not isinstance(value, Mapping):
            raise self.fail(key, f"'{key}' must be a mapping of keys, got {shown(value)}")
        return value

    def classes(self, value: Any) -> tuple[str, ...]:
        """A non-empty list of distinct class names."""
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail("classes", f"bad value {shown(value)} for 'classes' "
                            "(accepted values: a non-empty list of names)")
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise self.fail("classes", f"'classes' lists {', '.join(map(shown, duplicates))} more than once")
        return tuple(value)

    def input(self, data: Mapping[str, Any]) -> InputSpec:
        """Validate the ``input`` section."""
        self.check_keys(data, _INPUT_KEYS, "input.")
        resize = self.enum(data, "resize", "input.", ResizeMode, ResizeMode.STRETCH)
        height, width = self.input_size(data, resize)
        dtype = self.enum(data, "dtype", "input.", InputDType, InputDType.FLOAT32)
        layout = self.enum(data, "layout", "input.", Layout, Layout.NCHW)
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
            resize=resize,
            pad_value=self.integer(data, "pad_value", "input.", 114, (lambda v: 0 <= v <= 255, "an integer 0..255")),
            multiple=self.integer(data, "multiple", "input.", 32, (lambda v: v > 0, "a positive integer")),
            placeholder_dims=self.flag(data, "placeholder_dims", "input.", False),
        )

    def input_size(self, data: Mapping[str, Any], resize: ResizeMode) -> tuple[int | None, int | None]:
        """``input.size``: required, except with ``resize: native`` where it must be left out (and
        ``input.multiple`` is only accepted there)."""
        if resize is ResizeMode.NATIVE:
            if "size" in data:
                raise self.fail("input.size", "'input.size' cannot be used with input.resize native (each picture "
                                "runs at its own size, rounded up to input.multiple): remove it")
            return None, None
        if "multiple" in data:
            raise self.fail("input.multiple", "'input.multiple' is used only with input.resize native: remove it, "
                            "or set input.resize: native")
        return self.size(self.required(data, "size", "input.", "[height, width] of the model input"))

    def flag(self, data: Mapping[str, Any], key: str, prefix: str, default: bool) -> bool:
        """A true/false value."""
        path = f"{prefix}{key}"
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path, f"bad value {shown(value)} for '{path}' (accepted values: true, false)")
        return value

    def size(self, value: Any) -> tuple[int, int]:
        """``[height, width]``, two positive integers."""
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise self.fail("input.size", f"bad value {shown(value)} for 'input.size' "
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
            raise self.fail("input.scale", f"bad value {shown(value)} for 'input.scale' "
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
            raise self.fail(f"input.{key}", f"bad value {shown(value)} for 'input.{key}' (accepted values: {accepted})")
        return float(values[0]), float(values[1]), float(values[2])

    def output(self, data: Mapping[str, Any], task: Task) -> OutputSpec:
        """Validate the ``output`` section for ``task``: the adapter's own keys, as it declares them."""
        from visionspec.runtime.adapters import REGISTRY  # the adapters import this module: import at call time

        kind = data.get("adapter")
        if kind is None or kind not in REGISTRY:
            problem = ("missing key 'output.adapter'" if kind is None
                       else f"bad value {shown(kind)} for 'output.adapter'")
            raise self.fail("output.adapter", f"{problem} (accepted values: {', '.join(REGISTRY)})")
        adapter = REGISTRY[kind]
        if adapter.task is not task:
            fitting = ", ".join(name for name, cls in REGISTRY.items() if cls.task is task)
            raise self.fail("output.adapter", f"adapter {shown(kind)} does not fit task {task.value!r} "
                            f"(accepted values for 'output.adapter': {fitting})")
        self.check_keys(data, ("adapter", *key_names(adapter.settings)), "output.")
        return OutputSpec(adapter, read_settings(adapter.settings, data, "output.", self.fail))


_UNIT_INTERVAL: _Check = (lambda v: 0.0 <= v <= 1.0, "a number from 0 to 1")


def _choices(kind: type[StrEnum]) -> str:
    """The accepted values of a closed set, for messages."""
    return ", ".join(member.value for member in kind)
