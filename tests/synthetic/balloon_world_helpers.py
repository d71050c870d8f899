"""Small synthetic data set definitions for the balloon world's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visionspec.datasets.spec import DatasetSpec, load_spec, spec_from_dict
from visionspec.datasets.synthetic import COLOURS

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "datasets"
EVALUATION_SETS = ("12345", "balloons-smoke", "balloons-crowd")
TRAINING_SETS = ("balloons-train", "balloons-val")

ATTRIBUTES = {
    "colour": list(COLOURS),
    "size": ["small", "medium", "large"],
    "occluded": ["yes", "no"],
    "truncated": ["yes", "no"],
}


def small_spec(params: dict[str, Any], *, seed: int = 7, dataset_id: str = "tiny") -> DatasetSpec:
    """A synthetic definition with the given parameters and no promised counts."""
    return spec_from_dict(
        {
            "id": dataset_id,
            "source": {"kind": "synthetic", "generator": "balloon-world", "seed": seed, "params": params},
            "classes": ["balloon"],
            "attributes": ATTRIBUTES,
        },
        source="test",
    )


def committed_spec(dataset_id: str) -> DatasetSpec:
    """A committed definition from ``datasets/<id>/dataset.yaml``."""
    return load_spec(COMMITTED / dataset_id / "dataset.yaml")


def scaled_params(spec: DatasetSpec, images: int) -> dict[str, Any]:
    """The definition's parameters with ``images`` pictures and its exact counts scaled to match."""
    params = dict(spec.source["params"])
    ratio = images / params["images"]
    params["images"] = images
    for key in ("balloon_images", "red_balloons"):
        if params.get(key) is not None:
            params[key] = max(1, round(params[key] * ratio))
    return params
