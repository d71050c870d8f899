"""A proposed model card for an ONNX file nobody wrote a card for (``visionspec card init``).

The file is inspected (inputs, outputs, shapes, element types, metadata) and the adapter that fits its
outputs is chosen; every value the file cannot tell (normalisation, class names, a CenterNet size encoding,
SSD priors) gets a plausible default and a ``# check:`` comment saying what to look up. A card in the file's
own ``visionspec.card`` metadata, and Ultralytics' ``names`` metadata, are used where present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort

from visionspec.errors import ModelCardError, ModelError
from visionspec.runtime.card import METADATA_KEY
from visionspec.runtime.tensors import TensorInfo
from visionspec.yamlfile import load_yaml_text


@dataclass
class Proposal:
    """A card being proposed: its keys and, by key path (``output.stride``), what could not be told."""

    card: dict[str, Any]
    unsure: dict[str, str] = field(default_factory=dict)

    def set(self, path: str, value: Any, unsure: str | None = None) -> None:
        """Set ``input.size`` style key paths, with a note when the value is a guess."""
        section, _, name = path.rpartition(".")
        target = self.card.setdefault(section, {}) if section else self.card
        target[name] = value
        if unsure:
            self.unsure[path] = unsure

    def to_yaml(self, model: Path) -> str:
        """The card as YAML, each guessed key followed by a ``# check:`` comment."""
        lines = [f"# Proposed by `visionspec card init {model}`: review every line marked 'check:', then run",
                 f"# `visionspec card check <this file> --model {model}`. Keys: `visionspec cards`."]
        for key, value in self.card.items():
            if isinstance(value, dict):
                lines.append(f"{key}:")
                lines += [self._line(f"{key}.{name}", f"  {name}", inner) for name, inner in value.items()]
            else:
                lines.append(self._line(key, key, value))
        return "\n".join(lines) + "\n"

    def _line(self, path: str, label: str, value: Any) -> str:
        note = self.unsure.get(path)
        return f"{label}: {json.dumps(value)}" + (f"  # check: {note}" if note else "")


def propose_card(model: Path) -> Proposal:
    """Inspect ``model`` and propose its card.

    Raises:
        ModelError: the file cannot be loaded, or has no image-like input.
        ModelCardError: no adapter fits its outputs.
    """
    try:
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime's exception classes share no base besides Exception
        raise ModelError(f"{model}: onnxruntime cannot load this model: {str(err).strip()[:300]}") from err
    inputs = [TensorInfo.from_ort(node) for node in session.get_inputs()]
    outputs = [TensorInfo.from_ort(node) for node in session.get_outputs()]
    metadata = dict(session.get_modelmeta().custom_metadata_map)
    proposal = Proposal({"name": model.stem})
    names = _class_names(metadata)
    _propose_input(proposal, inputs, model)
    _propose_output(proposal, outputs, inputs[0], names)
    if METADATA_KEY in metadata:
        proposal.unsure["name"] = (f"the file also carries a card in its metadata {METADATA_KEY!r}: this file's keys "
                                   "win over it key by key")
    return proposal


def _class_names(metadata: Mapping[str, str]) -> list[str] | None:
    """Class names from Ultralytics' ``names`` metadata (``{0: 'person', 1: 'bicycle'}``), if any."""
    text = metadata.get("names")
    if text is None:
        return None
    try:
        names = load_yaml_text(text, "metadata 'names'", ModelCardError)
    except ModelCardError:
        return None
    if isinstance(names, dict) and all(isinstance(key, int) for key in names):
        return [str(names[key]) for key in sorted(names)]
    return [str(name) for name in names] if isinstance(names, list) else None


def _propose_input(proposal: Proposal, inputs: Sequence[TensorInfo], model: Path) -> None:
    """The ``input`` section from the first input's declaration."""
    image = next((tensor for tensor in inputs if len(tensor.shape) in (3, 4)), None)
    if image is None:
        raise ModelError(f"{model}: no input of rank 3 or 4 (an image): inputs "
                         f"{', '.join(f'{t.name!r} {t.describe()}' for t in inputs)}")
    shape = image.shape if len(image.shape) == 4 else (1, *image.shape)
    nhwc = shape[3] == 3 and shape[1] != 3
    proposal.set("task", "detection")
    proposal.set("classes", [])
    proposal.set("input.name", image.name)
    height, width = (shape[1], shape[2]) if nhwc else (shape[2], shape[3])
    placeholder = isinstance(shape[0], int) and shape[0] > 1
    if isinstance(height, int) and isinstance(width, int) and not placeholder:
        proposal.set("input.size", [height, width])
    else:
        proposal.set("input.resize", "native", "the file declares no usable fixed size "
                     f"({image.describe()}): pictures run at their own size, padded to a multiple of 32")
        if placeholder:
            proposal.set("input.placeholder_dims", True, f"the file declares a fixed batch of {shape[0]} and "
                         f"{height} x {width}: read as placeholders to free")
    if nhwc:
        proposal.set("input.layout", "NHWC")
    proposal.set("input.dtype", "uint8" if image.dtype == "uint8" else "float32",
                 None if image.dtype in ("uint8", "float32") else f"the file's input is {image.dtype}")
    if image.dtype != "uint8":
        proposal.set("input.scale", "1/255", "how the model was trained: 0..1 (1/255) or 0..255 (1), and any "
                     "mean/std and channel_order (RGB or BGR)")


def _propose_output(proposal: Proposal, outputs: Sequence[TensorInfo], image: TensorInfo,
                    names: list[str] | None) -> None:
    """The adapter that fits the outputs, its keys, and ``classes``."""
    by_name = {tensor.name.lower(): tensor for tensor in outputs}
    rank4 = [tensor for tensor in outputs if len(tensor.shape) == 4]
    if {"boxes", "scores", "labels"} <= by_name.keys():
        adapter = "torchvision" if len(image.shape) == 3 else "boxes_scores_labels"
        proposal.set("output.adapter", adapter)
        for role in ("boxes", "scores", "labels"):
            proposal.set(f"output.{role}", by_name[role].name)
        _classes(proposal, names, None, "output.label_offset: 1 if label 0 is the background")
    elif len(outputs) == 1 and len(outputs[0].shape) == 2:
        proposal.set("task", "classification")
        proposal.set("output.adapter", "logits", "logits (softmax applied here) or probabilities (used as they are)")
        proposal.set("output.output", outputs[0].name)
        _classes(proposal, names, _static(outputs[0].shape[1]), None)
    elif len(rank4) >= 2:
        _propose_centernet(proposal, rank4, image, names)
    elif len(outputs) >= 2 and all(len(tensor.shape) == 3 for tensor in outputs[:2]):
        _propose_priors(proposal, outputs, names)
    elif outputs and len(outputs[0].shape) == 3:
        _propose_yolo(proposal, outputs[0], names)
    else:
        listing = ", ".join(f"{tensor.name!r} {tensor.describe()}" for tensor in outputs)
        raise ModelCardError(f"no output adapter fits these outputs ({listing}); write the card by hand from "
                             "`visionspec cards`")


def _propose_yolo(proposal: Proposal, output: TensorInfo, names: list[str] | None) -> None:
    """``yolo`` ([B, 4 + C, N] or [B, N, 4 (+ 1) + C]) or ``yolo_end_to_end`` ([B, K, 6])."""
    proposal.set("output.output", output.name)
    rows, columns = _static(output.shape[1]), _static(output.shape[2])
    if columns == 6 and rows != 6:
        proposal.set("output.adapter", "yolo_end_to_end")
        proposal.set("output.box_format", "xyxy", "the slots' box encoding (xyxy for YOLOv10 and Ultralytics "
                     "exports with nms)")
        _classes(proposal, names, None, None)
        return
    proposal.set("output.adapter", "yolo")
    first = rows is not None and columns is not None and rows > columns
    width = columns if first else rows
    if first:
        proposal.set("output.layout", "candidates_first")
    objectness = first and (names is None or (width is not None and width - 5 == len(names)))
    proposal.set("output.objectness", objectness, None if names else
                 "whether each candidate has an objectness value after its box (YOLOv5, YOLOX: [.., 5 + C])")
    _classes(proposal, names, None if width is None else width - 4 - int(objectness), None)


def _propose_centernet(proposal: Proposal, heads: Sequence[TensorInfo], image: TensorInfo,
                       names: list[str] | None) -> None:
    """``centernet``: the heatmap is the head not of 2 channels (or named so), size and offset the 2-channel ones."""
    def named(pattern: str) -> TensorInfo | None:
        return next((head for head in heads if re.search(pattern, head.name, re.IGNORECASE)), None)

    pairs = [head for head in heads if head.shape[1] == 2]
    heatmap = named("heat|hm") or next((head for head in heads if head.shape[1] != 2), heads[0])
    size = named("size|wh|scale") or (pairs[0] if pairs else heads[1])
    offset = named("off|reg") or next((head for head in pairs if head is not size), None)
    proposal.set("output.adapter", "centernet")
    proposal.set("output.heatmap", heatmap.name, "the heatmap head (one channel a class)")
    proposal.set("output.size", size.name, "the size head (2 channels)")
    if offset is not None:
        proposal.set("output.offset", offset.name, "the offset head (2 channels)")
    proposal.set("output.size_encoding", "log", "log (exp(v) x stride), pixels (v) or stride_units (v x stride)")
    proposal.set("output.size_order", "wh", "wh or hw: which size channel is the width")
    input_height, cells = _static(image.shape[-2]), _static(heatmap.shape[2])
    stride = input_height // cells if input_height and cells else 4
    proposal.set("output.stride", stride, None if input_height and cells else "input pixels per heatmap cell")
    _classes(proposal, names, _static(heatmap.shape[1]), None)


def _propose_priors(proposal: Proposal, outputs: Sequence[TensorInfo], names: list[str] | None) -> None:
    """``priors``: deltas [B, N, 4] against priors the file does not describe, scores [B, N, C (+ 1)]."""
    boxes = next((tensor for tensor in outputs if tensor.shape[2] == 4), outputs[0])
    scores = next((tensor for tensor in outputs if tensor is not boxes and tensor.shape[1] == boxes.shape[1]),
                  outputs[1])
    proposal.set("output.adapter", "priors")
    proposal.set("output.boxes", boxes.name)
    proposal.set("output.scores", scores.name)
    unknown = "the priors are not in the file: take them from the model's training configuration"
    proposal.set("output.strides", [8, 16, 32], unknown)
    proposal.set("output.sizes", [[16, 32], [64, 128], [256, 512]], unknown)
    proposal.set("output.background", "first", "whether the scores have a background column (first, last, none)")
    columns = _static(scores.shape[2])
    _classes(proposal, names, None if columns is None else columns - 1, None)


def _classes(proposal: Proposal, names: list[str] | None, count: int | None, note: str | None) -> None:
    """``classes`` from the metadata names, else placeholders of the count the outputs show."""
    if names:
        proposal.set("classes", names, note)
        return
    placeholders = [f"class_{index}" for index in range(max(count or 1, 1))]
    proposal.set("classes", placeholders, "the class names, in the model's class order, as the data set names "
                 "them" + ("" if count else " (the outputs do not show how many)") + (f"; {note}" if note else ""))


def _static(dim: object) -> int | None:
    """A declared size, or None when the dimension is free."""
    return dim if isinstance(dim, int) and dim > 0 else None
