"""Where inference runs: a backend object, passed in (as httpx takes a transport).

Two backends, one interface (``InferenceBackend.detect``), both filling the same ``PredictionCache``
under the same key (``detections_cache_key``: model SHA-256, data set digest, preprocessing, adapter
settings, score floor, onnxruntime version, execution provider):

- ``local``: this process, decoding on threads beside onnxruntime (``visionspec.runtime.inference``).
- ``ray``: Ray Data over a cluster, one onnxruntime session per worker actor
  (``visionspec.runtime.ray_backend``; the ``ray`` extra).

The backend is chosen by name: ``--backend`` (pytest and ``visionspec predict``), the pytest ini value
``visionspec_backend``, else ``VISIONSPEC_BACKEND``, else ``local``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from visionspec.errors import VisionSpecError
from visionspec.runtime.batching import BatchSettings
from visionspec.runtime.cache import PredictionCache
from visionspec.runtime.inference import ImageSource, ModelDetections, detect
from visionspec.runtime.progress import ProgressCallback
from visionspec.runtime.ray_backend import RayBackend
from visionspec.runtime.session import Device, ModelSession

BACKEND_ENV = "VISIONSPEC_BACKEND"
"""Environment variable: the inference backend (``local`` or ``ray``) when no option or ini value names one."""


class InferenceBackend(Protocol):
    """Runs a detector over a data set, somewhere."""

    @property
    def name(self) -> str:
        """The backend's name (``local``, ``ray``)."""
        ...

    def detect(
        self,
        session: ModelSession,
        dataset: ImageSource,
        *,
        cache: PredictionCache | None = None,
        progress: ProgressCallback | None = None,
    ) -> ModelDetections:
        """``session``'s detections on every image of ``dataset`` (from ``cache`` when it holds them).

        Raises:
            ModelCardError: the model is not a detector.
            DatasetError: an image cannot be read.
            InferenceError: the model failed, or (remote backends) a worker's onnxruntime or provider
                differs from the cache key's.
        """
        ...


@dataclass(frozen=True)
class LocalBackend:
    """Inference in this process (decoding on worker threads while onnxruntime runs).

    Attributes:
        settings: batch size and decoding threads.
    """

    settings: BatchSettings = field(default_factory=BatchSettings)

    @property
    def name(self) -> str:
        """``local``."""
        return "local"

    def detect(
        self,
        session: ModelSession,
        dataset: ImageSource,
        *,
        cache: PredictionCache | None = None,
        progress: ProgressCallback | None = None,
    ) -> ModelDetections:
        """See ``InferenceBackend.detect``."""
        return detect(session, dataset, settings=self.settings, cache=cache, progress=progress)


_FACTORIES: Mapping[str, Callable[[Device, BatchSettings], InferenceBackend]] = {
    "local": lambda device, settings: LocalBackend(settings),
    "ray": lambda device, settings: RayBackend(device=device, batch_size=settings.batch_size),
}

BACKEND_NAMES: tuple[str, ...] = tuple(_FACTORIES)
"""The backends ``make_backend`` knows, for option choices."""


def make_backend(name: str | None = None, *, device: Device = Device.AUTO,
                 settings: BatchSettings | None = None) -> InferenceBackend:
    """The backend called ``name`` (None: ``VISIONSPEC_BACKEND``, else ``local``).

    Args:
        name: ``local`` or ``ray``.
        device: where the Ray workers run (auto: GPU workers when the cluster has GPUs); the local backend
            runs where its session was opened.
        settings: batch size (both) and decoding threads (local).

    Raises:
        VisionSpecError: an unknown name.

    Example:
        >>> make_backend("local").name
        'local'
    """
    chosen = (name or os.environ.get(BACKEND_ENV, "").strip() or "local").lower()
    if chosen not in _FACTORIES:
        raise VisionSpecError(f"unknown inference backend {chosen!r} (from --backend, visionspec_backend or "
                              f"{BACKEND_ENV}); fix: use one of {', '.join(BACKEND_NAMES)}")
    return _FACTORIES[chosen](device, settings or BatchSettings())
