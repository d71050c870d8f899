"""Output adapters: one class per way a model lays out its outputs, behind one registry.

The card's ``output.adapter`` names the class (its ``kind``); the class owns its task, its ``output`` keys
with their types and defaults (``settings``), the outputs it expects (``expectations``), whether the model
takes a batch axis (``batched``), the input it needs (``input_dims``, ``check_card``) and the decoding of one
batch of outputs (``decode``): ``BoxOutput`` in model-input pixels for detectors, a (C,) probability vector
for classifiers. ``visionspec cards`` prints each adapter's keys and expected outputs.

Adding an adapter is one module in this package (and its test): every module here is imported below, and
the import fails if one is left out of ``_MODULES`` or defines no adapter.

Labels are class indices into the card's ``classes``; a negative index marks an unused (padding) slot and
is dropped by the caller.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.runtime.adapters.base import (
    REGISTRY,
    Adapter,
    BoxOutput,
    ClassificationAdapter,
    DetectionAdapter,
    OutputAdapter,
    adapter_class,
)
from visionspec.runtime.card import ModelCard, Task
from visionspec.runtime.tensors import TensorExpectation

_MODULES = ("fixed", "yolo", "centernet", "priors", "classifiers")


def _import_adapters() -> None:
    """Import every adapter module; fail if one is missing from ``_MODULES`` or registers nothing."""
    found = {module.name for module in pkgutil.iter_modules(__path__)} - {"base"}
    if found != set(_MODULES):
        raise ImportError(f"visionspec.runtime.adapters: modules {sorted(found)} but _MODULES lists "
                          f"{sorted(_MODULES)}: list every adapter module in _MODULES")
    for name in _MODULES:
        module = import_module(f"{__name__}.{name}")
        if not any(cls.__module__ == module.__name__ for cls in REGISTRY.values()):
            raise ImportError(f"{module.__name__} defines no output adapter")


_import_adapters()


def adapters_for(task: Task) -> tuple[type[Adapter[Any, Any]], ...]:
    """The adapter classes of a task, in registry order."""
    return tuple(cls for cls in REGISTRY.values() if cls.task is task)


def expectations(card: ModelCard) -> tuple[TensorExpectation, ...]:
    """What the card's adapter expects of the file's outputs."""
    return card.output.adapter.expectations(card)


def detection_adapter(card: ModelCard, output_names: Sequence[str]) -> OutputAdapter[BoxOutput]:
    """The detection adapter of ``card``, reading the resolved ``output_names`` (one per expectation)."""
    cls = card.output.adapter
    if not issubclass(cls, DetectionAdapter):
        raise TypeError(f"adapter {cls.kind!r} is not a detection adapter")
    adapter: OutputAdapter[BoxOutput] = cls(card, tuple(output_names))
    return adapter


def classification_adapter(card: ModelCard, output_names: Sequence[str]) -> OutputAdapter[NDArray[np.float64]]:
    """The classification adapter of ``card``, reading the resolved ``output_names``."""
    cls = card.output.adapter
    if not issubclass(cls, ClassificationAdapter):
        raise TypeError(f"adapter {cls.kind!r} is not a classification adapter")
    adapter: OutputAdapter[NDArray[np.float64]] = cls(card, tuple(output_names))
    return adapter


__all__ = [
    "REGISTRY",
    "Adapter",
    "BoxOutput",
    "ClassificationAdapter",
    "DetectionAdapter",
    "OutputAdapter",
    "adapter_class",
    "adapters_for",
    "classification_adapter",
    "detection_adapter",
    "expectations",
]
