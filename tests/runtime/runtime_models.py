"""Small ONNX models and data sets that the runtime tests build themselves (onnx.helper graphs: milliseconds).

Every model computes its outputs as ``constant + brightness * coefficient`` where ``brightness`` is the mean
of one image's input tensor, so a test can tell which image an output row came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import yaml
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from visionspec.datasets.tables import Category, ImageTable, frozen_array

IR_VERSION = 10  # onnx 1.23 writes IR 14 by default; onnxruntime 1.31 reads up to 13
OPSET = 18

_TYPES = {"float32": TensorProto.FLOAT, "uint8": TensorProto.UINT8, "int64": TensorProto.INT64}


@dataclass
class OutputPlan:
    """One output: its name, declared shape, element type, and value ``constant + brightness * coefficient``.

    ``constant`` and ``coefficient`` have the output's shape without the batch axis (for batched models).
    """

    name: str
    shape: Sequence[int | str]
    constant: NDArray[Any]
    coefficient: NDArray[Any] | None = None
    dtype: str = "float32"
    nan_below: float | None = None  # outputs NaN for images whose brightness is below this


@dataclass
class ModelPlan:
    """A whole test model."""

    input_name: str = "images"
    input_shape: Sequence[int | str] = ("batch", 3, 32, 48)
    input_dtype: str = "float32"
    outputs: list[OutputPlan] = field(default_factory=list)
    batched: bool = True
    opset: int = OPSET
    metadata: Mapping[str, str] = field(default_factory=dict)


def build_model(plan: ModelPlan, path: Path) -> Path:
    """Write the planned model to ``path``."""
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    rank = len(plan.input_shape)
    source = plan.input_name
    if plan.input_dtype != "float32":
        nodes.append(helper.make_node("Cast", [source], ["input_float"], to=TensorProto.FLOAT))
        source = "input_float"
    reduce_axes = list(range(1, rank)) if plan.batched else list(range(rank))
    initializers.append(numpy_helper.from_array(np.array(reduce_axes, dtype=np.int64), "reduce_axes"))
    nodes.append(helper.make_node("ReduceMean", [source, "reduce_axes"], ["brightness"], keepdims=0))
    outputs = []
    for index, output in enumerate(plan.outputs):
        nodes.extend(_output_nodes(output, index, plan.batched, initializers))
        outputs.append(helper.make_tensor_value_info(output.name, _TYPES[output.dtype], list(output.shape)))
    graph = helper.make_graph(
        nodes, "test-model",
        [helper.make_tensor_value_info(plan.input_name, _TYPES[plan.input_dtype], list(plan.input_shape))],
        outputs, initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", plan.opset)], ir_version=IR_VERSION)
    for key, value in plan.metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def _output_nodes(output: OutputPlan, index: int, batched: bool, initializers: list[onnx.TensorProto]) -> list[Any]:
    """brightness (B,) -> output (B, ...) = constant + brightness * coefficient, cast to the output type."""
    constant = np.asarray(output.constant, dtype=np.float32)
    coefficient = np.zeros_like(constant) if output.coefficient is None else np.asarray(output.coefficient, np.float32)
    prefix = f"o{index}"
    initializers += [
        numpy_helper.from_array(constant[None] if batched else constant, f"{prefix}_constant"),
        numpy_helper.from_array(coefficient[None] if batched else coefficient, f"{prefix}_coefficient"),
        numpy_helper.from_array(np.array([-1] + [1] * constant.ndim if batched else [1] * max(constant.ndim, 1),
                                         dtype=np.int64), f"{prefix}_shape"),
    ]
    nodes = [
        helper.make_node("Reshape", ["brightness", f"{prefix}_shape"], [f"{prefix}_b"]),
        helper.make_node("Mul", [f"{prefix}_b", f"{prefix}_coefficient"], [f"{prefix}_scaled"]),
        helper.make_node("Add", [f"{prefix}_scaled", f"{prefix}_constant"], [f"{prefix}_value"]),
    ]
    value = f"{prefix}_value"
    if output.nan_below is not None:
        # sqrt(brightness - threshold) is NaN for darker images; times 0 keeps the values otherwise
        initializers.append(numpy_helper.from_array(np.array(output.nan_below, np.float32), f"{prefix}_threshold"))
        initializers.append(numpy_helper.from_array(np.array(0.0, np.float32), f"{prefix}_zero"))
        nodes += [
            helper.make_node("Sub", [f"{prefix}_b", f"{prefix}_threshold"], [f"{prefix}_shifted"]),
            helper.make_node("Sqrt", [f"{prefix}_shifted"], [f"{prefix}_root"]),
            helper.make_node("Mul", [f"{prefix}_root", f"{prefix}_zero"], [f"{prefix}_nan"]),
            helper.make_node("Add", [value, f"{prefix}_nan"], [f"{prefix}_checked"]),
        ]
        value = f"{prefix}_checked"
    if output.dtype == "float32":
        nodes.append(helper.make_node("Identity", [value], [output.name]))
    else:
        nodes.append(helper.make_node("Cast", [value], [output.name], to=_TYPES[output.dtype]))
    return nodes


def bsl_plan(boxes: NDArray[Any], scores: NDArray[Any], labels: NDArray[Any], *, height: int = 32, width: int = 48,
             batch: int | str = "batch", score_coefficient: float = 0.0) -> ModelPlan:
    """A boxes_scores_labels detector with fixed K outputs (the same boxes for every image)."""
    k = len(scores)
    return ModelPlan(
        input_shape=(batch, 3, height, width),
        outputs=[
            OutputPlan("boxes", (batch, k, 4), np.asarray(boxes, np.float32)),
            OutputPlan("scores", (batch, k), np.asarray(scores, np.float32),
                       np.full(k, score_coefficient, np.float32)),
            OutputPlan("labels", (batch, k), np.asarray(labels, np.float32), dtype="int64"),
        ],
    )


def write_card(folder: Path, card: Mapping[str, Any]) -> Path:
    """Write ``model.yaml`` into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.yaml"
    path.write_text(yaml.safe_dump(dict(card), sort_keys=False), encoding="utf-8")
    return path


def detector_card(**overrides: Any) -> dict[str, Any]:
    """A valid detection card for ``bsl_plan`` models; ``input``/``output`` overrides merge."""
    card: dict[str, Any] = {
        "name": "test-detector",
        "task": "detection",
        "classes": ["balloon", "ball"],
        "input": {"name": "images", "size": [32, 48]},
        "output": {"adapter": "boxes_scores_labels"},
        "score_threshold": 0.5,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(card.get(key), dict):
            card[key] = {**card[key], **value}
        else:
            card[key] = value
    return card


@dataclass(frozen=True, eq=False)
class FolderDataset:
    """A stand-in for ``visionspec.datasets.Dataset``: pictures in a folder, with their ids."""

    folder: Path
    images: ImageTable
    categories: tuple[Category, ...]
    digest: str

    def image_path(self, row: int) -> Path:
        return self.folder / self.images.file_names[row]


def picture_dataset(folder: Path, sizes: Sequence[tuple[int, int]], brightness: Sequence[int], *,
                    ids: Sequence[int] | None = None, suffix: str = ".png",
                    categories: Sequence[tuple[int, str]] = ((7, "balloon"),)) -> FolderDataset:
    """Uniform grey pictures of the given (width, height) and grey level, written as PNG (lossless)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for index, ((width, height), level) in enumerate(zip(sizes, brightness, strict=True)):
        name = f"image-{index:03d}{suffix}"
        Image.new("RGB", (width, height), (level, level, level)).save(folder / name)
        names.append(name)
    image_ids = list(ids) if ids is not None else [100 + index for index in range(len(sizes))]
    table = ImageTable(
        ids=frozen_array(image_ids, np.int64),
        file_names=tuple(names),
        widths=frozen_array([w for w, _ in sizes], np.int64),
        heights=frozen_array([h for _, h in sizes], np.int64),
        sha256=tuple("" for _ in names),
    )
    digest = f"test:{folder}:{','.join(map(str, brightness))}"
    return FolderDataset(folder, table, tuple(Category(i, n) for i, n in categories), digest)
