"""Checkpoints of a model in the registry: finding them and putting them in training order."""

from __future__ import annotations

import re
from pathlib import Path

from visionspec.errors import ModelError

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: Path) -> tuple[object, ...]:
    """Sort key that puts ``epoch-10`` after ``epoch-9`` (numbers compared as numbers)."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(path.name))


def checkpoints_of(models_dir: Path, name: str) -> list[Path]:
    """The ONNX checkpoints of model ``name`` (``models/<name>/checkpoints/*.onnx``), in natural order."""
    return sorted((models_dir / name / "checkpoints").glob("*.onnx"), key=natural_key)


def newest_checkpoint(models_dir: Path, name: str) -> Path:
    """The last checkpoint of model ``name`` in natural order.

    Raises:
        ModelError: the model has no checkpoint; the message says where they were looked for.
    """
    found = checkpoints_of(models_dir, name)
    if not found:
        raise ModelError(
            f"no checkpoint of {name!r} in {models_dir / name / 'checkpoints'}; "
            f"fix: train one (visionspec train) or pass the ONNX file explicitly"
        )
    return found[-1]
