"""Exporting a trained network to a checked, self-contained ONNX checkpoint.

Every checkpoint is checked before it lands in ``models/<name>/checkpoints/``:

1. ``onnx.checker`` (full check, with shape inference) passes;
2. the engine opens it exactly as a run would (``open_model``: onnxruntime session, card merged with the
   file's metadata, the file-versus-card contract check);
3. onnxruntime, through that session, agrees with torch on the given inputs (random and real pictures):
   scores within 1e-4 and boxes within 0.5 px for detectors, logits within 1e-4 for classifiers.

The file is written to a temporary name first and renamed only once all checks pass, so a checkpoint
on disk has always passed them.

The exporter is torch's TorchScript-based one (``dynamo=False``): it exports these small networks in
0.2 s where the torch.export-based exporter takes 3 to 7 s and prints progress on stdout, and it writes
one self-contained file. It warns that it is deprecated; the ``train`` extra pins torch, and the warning
is silenced here and nowhere else.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from visionspec.errors import ModelError
from visionspec.runtime.card import METADATA_KEY, ModelCard, Task
from visionspec.runtime.session import Device, ModelSession, open_model

OPSET = 17
"""ONNX opset of the checkpoints (onnxruntime 1.20 and later run it)."""

SCORE_TOLERANCE = 1e-4
"""Largest accepted difference between torch and onnxruntime on a score or a logit."""

BOX_TOLERANCE_PX = 0.5
"""Largest accepted difference between torch and onnxruntime on a box coordinate, in input pixels."""

COMPARED_SCORE = 0.05
"""Detector slots scoring below this are not compared: near-zero scores tie on many cells, and torch and
onnxruntime break top-K ties differently (boxes in those slots differ by up to 100 px)."""

VALIDATION_KEY = "visionspec.validation"
"""Metadata key of a checkpoint's validation figures (JSON)."""

@dataclass(frozen=True)
class ExportReport:
    """A written, checked checkpoint.

    Attributes:
        path: the ONNX file.
        size_bytes: its size.
        provider: the onnxruntime provider the agreement check ran on.
        differences: the largest torch-versus-onnxruntime difference of each compared quantity
            (``scores``, ``boxes_px`` or ``logits``), over every check input.
        validation: the file's figures on the validation set, measured by the engine (empty without
            a ``validate`` step).
    """

    path: Path
    size_bytes: int
    provider: str
    differences: Mapping[str, float]
    validation: Mapping[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {"path": str(self.path), "size_bytes": self.size_bytes, "provider": self.provider,
                "differences": dict(self.differences), "validation": dict(self.validation)}


def export_checkpoint(
    model: nn.Module,
    *,
    path: Path,
    card: ModelCard,
    card_file: Path,
    metadata: Mapping[str, str],
    check_inputs: Sequence[Tensor],
    validate: Callable[[ModelSession], Mapping[str, float | None]] | None = None,
) -> ExportReport:
    """Export ``model`` to ``path`` with its metadata and card, and check the file.

    Args:
        model: the network; its ``forward`` takes the normalised image batch and returns the outputs in
            the order the card's adapter reads them. Left in the mode it came in.
        path: the checkpoint file to write (its folder is created).
        card: the validated card; it names the input and output tensors.
        card_file: the card on disk, opened by the engine's contract check.
        metadata: ``visionspec.*`` facts stored in the file (the card is added as ``visionspec.card``).
        check_inputs: input batches torch and onnxruntime must agree on (random and real pictures).
        validate: measures the checked file with the engine (the session the checks opened); its figures
            are stored as ``visionspec.validation`` (JSON) and the graph is not touched again.

    Returns:
        What was written and how closely onnxruntime agreed.

    Raises:
        ModelError: the exported graph fails ``onnx.checker`` or the engine's contract check, or
            onnxruntime disagrees with torch beyond the tolerances; nothing is written then.
    """
    was_training = model.training
    model.eval()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.partial")
        try:
            proto = _to_onnx(model, check_inputs[0][:1], card, staging)
            _add_metadata(proto, {**metadata, METADATA_KEY: json.dumps(card.to_dict(), sort_keys=True)})
            try:
                onnx.checker.check_model(proto, full_check=True)
            except onnx.checker.ValidationError as err:
                raise ModelError(f"{path}: the exported graph fails onnx.checker: {err}") from err
            staging.write_bytes(proto.SerializeToString())
            session = open_model(staging, card_path=card_file, device=Device.CPU, threads=torch.get_num_threads())
            differences = _agreement(model, session, check_inputs, path)
            validation = {} if validate is None else dict(validate(session))
            if validation:
                _add_metadata(proto, {VALIDATION_KEY: json.dumps(validation, sort_keys=True)})
                staging.write_bytes(proto.SerializeToString())
            staging.replace(path)
        finally:
            staging.unlink(missing_ok=True)
    finally:
        model.train(was_training)
    return ExportReport(path, path.stat().st_size, session.provider, differences, validation)


def _to_onnx(model: nn.Module, example: Tensor, card: ModelCard, scratch: Path) -> onnx.ModelProto:
    """Trace ``model`` into an ONNX graph with a dynamic batch axis, named as the card says (via ``scratch``)."""
    input_name = card.input.name or "images"
    output_names = _output_names(card)
    with warnings.catch_warnings():
        # the TorchScript exporter's deprecation notices (see the module docstring)
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*legacy TorchScript-based ONNX")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r"The feature will be removed")
        torch.onnx.export(
            model,
            (example,),
            scratch,
            input_names=[input_name],
            output_names=list(output_names),
            dynamic_axes={name: {0: "batch"} for name in (input_name, *output_names)},
            opset_version=OPSET,
            dynamo=False,
        )
    return onnx.load(scratch)


def _output_names(card: ModelCard) -> tuple[str, ...]:
    """The output tensor names, in the order the card's adapter reads them."""
    tensors = card.output.tensors
    if card.task is Task.DETECTION:
        return tuple(tensors.get(role, role) for role in ("boxes", "scores", "labels"))
    return (tensors.get("output", "logits"),)


def _add_metadata(proto: onnx.ModelProto, metadata: Mapping[str, str]) -> None:
    """Set ``metadata_props`` (replacing keys already there)."""
    kept = [entry for entry in proto.metadata_props if entry.key not in metadata]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in sorted(metadata.items()):
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "visionspec.training"


def _agreement(model: nn.Module, session: ModelSession, inputs: Sequence[Tensor], path: Path) -> dict[str, float]:
    """Largest torch-versus-onnxruntime differences over ``inputs``; a ``ModelError`` past the tolerances."""
    compare = compare_detections if session.card.task is Task.DETECTION else compare_logits
    worst: dict[str, float] = {}
    for batch in inputs:
        with torch.no_grad():
            expected = [output.numpy() for output in _as_tuple(model(batch))]
        found = session.run(np.ascontiguousarray(batch.numpy()), images=f"a check batch of {batch.shape[0]}")
        for name, value in compare(expected, found).items():
            worst[name] = max(worst.get(name, 0.0), value)
    limits = {"scores": SCORE_TOLERANCE, "logits": SCORE_TOLERANCE, "boxes_px": BOX_TOLERANCE_PX}
    failed = {name: value for name, value in worst.items() if not value <= limits[name]}
    if failed:
        listed = ", ".join(f"{name} {value:.3g} (allowed {limits[name]})" for name, value in failed.items())
        raise ModelError(f"{path}: onnxruntime disagrees with torch on the exported graph: {listed}; "
                         "fix: look for an operator exported differently (nothing was written)")
    return worst


def _as_tuple(outputs: Tensor | tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """A model's outputs as a tuple."""
    return outputs if isinstance(outputs, tuple) else (outputs,)


def compare_logits(expected: Sequence[NDArray[Any]], found: Sequence[NDArray[Any]]) -> dict[str, float]:
    """Largest difference of (B, C) logits."""
    return {"logits": float(np.max(np.abs(expected[0] - found[0]), initial=0.0))}


def compare_detections(expected: Sequence[NDArray[Any]], found: Sequence[NDArray[Any]]) -> dict[str, float]:
    """Largest differences of fixed-K detector outputs, over the slots that can be paired unambiguously.

    Peak extraction is a comparison of neighbouring cells, so where cells tie (a flat sky gives equal
    scores on neighbouring cells) the two runtimes may keep different cells of the tie: such slots are not
    compared, nor slots under ``COMPARED_SCORE`` or near the K-th score (a near-tie at the cut could drop
    them from one side's top K). Each remaining torch slot has exactly one onnxruntime slot within the
    score tolerance; its label must match and its box is compared.

    Args:
        expected: torch's boxes (B, K, 4), scores (B, K), labels (B, K).
        found: onnxruntime's, the same shapes.

    Returns:
        ``scores``: the largest score difference of a compared slot (the gap to the nearest onnxruntime
        score when it has no partner); ``boxes_px``: the largest box coordinate difference (infinite when a
        compared slot has no partner of its label).
    """
    boxes, scores, labels = (np.asarray(array, dtype=np.float64) for array in expected)
    found_boxes, found_scores, found_labels = (np.asarray(array, dtype=np.float64) for array in found)
    score_gap, box_gap = 0.0, 0.0
    for image in range(scores.shape[0]):
        cut = max(COMPARED_SCORE, float(scores[image, -1]) + 2 * SCORE_TOLERANCE)
        for slot in np.flatnonzero(scores[image] >= cut):
            gaps = np.abs(found_scores[image] - scores[image, slot])
            partners = np.flatnonzero(gaps <= SCORE_TOLERANCE)
            tied = np.count_nonzero(np.abs(scores[image] - scores[image, slot]) <= SCORE_TOLERANCE) > 1
            if tied or len(partners) > 1:
                continue
            if len(partners) == 0 or found_labels[image, partners[0]] != labels[image, slot]:
                return {"scores": max(score_gap, float(gaps.min())), "boxes_px": float("inf")}
            score_gap = max(score_gap, float(gaps[partners[0]]))
            box_gap = max(box_gap, float(np.max(np.abs(found_boxes[image, partners[0]] - boxes[image, slot]))))
    return {"scores": score_gap, "boxes_px": box_gap}
