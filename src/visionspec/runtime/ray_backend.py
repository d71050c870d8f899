"""The Ray backend: a detector over a data set with Ray Data, one onnxruntime session per worker actor.

The driver turns the data set into rows (picture file, id, position) in blocks of ``BLOCK_ROWS``;
``map_batches`` hands batches of rows to ``DetectorWorker`` actors. Each actor opens the model once (the
bytes the driver hashed, shipped with the actor, and the driver's validated card) and runs visionspec's
own pass (``run_detector``: ``open_image``, the card's preprocessing, the adapter, the score floor), so
its inputs and outputs are those of the local backend, bit for bit. The driver gathers the detections
and puts them back in data set order (a detection's position and its rank within its batch), then stores
them in the same prediction cache under the same key as the local backend would, with the workers'
execution provider.

A worker first checks that it runs the model the key names: the same file SHA-256, card, onnxruntime
version and execution provider; otherwise it fails with an ``InferenceError`` that the driver re-raises
(a broken verdict, never predictions cached under another setup's key).

Workers read the pictures at the driver's paths: on a cluster the data sets (and, to share predictions
between runs, ``VISIONSPEC_CACHE``) live on storage every node mounts at the same path. See docs/scale.md.
"""

from __future__ import annotations

import importlib
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import yaml
from numpy.typing import NDArray

from visionspec.errors import DeviceError, InferenceError, VisionSpecError
from visionspec.runtime.batching import DEFAULT_BATCH_SIZE, BatchSettings
from visionspec.runtime.cache import PredictionCache
from visionspec.runtime.inference import ImageSource, ModelDetections, detections_cache_key, run_detector
from visionspec.runtime.progress import ProgressCallback
from visionspec.runtime.session import Device, ModelSession, open_model

BLOCK_ROWS = 1024
"""Rows per Ray block: a multiple of every batch size, so that workers batch pictures as the local run does."""

CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"

_RAY_ADVICE = "\nFailed to apply UDF transform"  # what Ray Data appends to a map task's exception

_COLUMNS = ("row", "rank", "class_index", "x", "y", "width", "height", "score")


@dataclass(frozen=True)
class RayBackend:
    """Inference on a Ray cluster (or a local Ray runtime) with Ray Data.

    Attributes:
        address: ``ray.init(address=...)``; None: the runtime already initialised in this process, else
            ``RAY_ADDRESS``, else a new local runtime.
        device: cpu, cuda (one GPU per worker; an error if the cluster has none) or auto (GPU workers
            when the cluster has GPUs).
        workers: worker actors; None lets Ray Data scale the pool to the cluster.
        cpus_per_worker: CPUs each actor reserves; also its onnxruntime intra-op and decoding threads.
        batch_size: pictures per model run (as the local backend's).
    """

    address: str | None = None
    device: Device = Device.AUTO
    workers: int | None = None
    cpus_per_worker: int = 1
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def name(self) -> str:
        """``ray``."""
        return "ray"

    def detect(
        self,
        session: ModelSession,
        dataset: ImageSource,
        *,
        cache: PredictionCache | None = None,
        progress: ProgressCallback | None = None,
    ) -> ModelDetections:
        """See ``InferenceBackend.detect``; the driver's ``session`` gives the model file, card and SHA-256."""
        session.detection_adapter()  # a classifier fails here, before Ray starts
        gpus = self._gpus_per_worker()
        provider = CUDA_PROVIDER if gpus else CPU_PROVIDER

        def compute() -> dict[str, NDArray[Any]]:
            return self._run(session, dataset, gpus, provider, progress).to_arrays()

        if cache is None:
            return ModelDetections.from_arrays(compute())
        key = detections_cache_key(session, dataset, provider=provider)
        return ModelDetections.from_arrays(cache.get_or_compute(key, compute))

    def _gpus_per_worker(self) -> int:
        """1 for GPU workers, 0 for CPU workers (asks the cluster only for ``auto`` and ``cuda``)."""
        if self.device is Device.CPU:
            return 0
        gpus = float(_connected(self.address).cluster_resources().get("GPU", 0))
        if self.device is Device.CUDA and gpus < 1:
            raise DeviceError("CUDA was requested for the Ray backend but the Ray cluster has no GPU; "
                              "fix: add GPU nodes, or use --device cpu or auto")
        return 1 if gpus >= 1 else 0

    def _run(self, session: ModelSession, dataset: ImageSource, gpus: int, provider: str,
             progress: ProgressCallback | None) -> ModelDetections:
        """The Ray Data pass: rows in, detections gathered in data set order."""
        images = dataset.images
        total = len(images)
        if total == 0:
            return _detections(session, provider, images.ids, {name: np.zeros(0) for name in _COLUMNS})
        ray = _connected(self.address)
        expected = {"sha256": session.sha256, "card": session.card.to_dict(), "onnxruntime": ort.__version__,
                    "provider": provider}
        worker_args = {"model": session.path.read_bytes(), "model_path": str(session.path), "expected": expected,
                       "device": Device.CUDA.value if gpus else Device.CPU.value,
                       "threads": self.cpus_per_worker, "batch_size": self.batch_size}
        options: dict[str, Any] = {"num_cpus": self.cpus_per_worker}
        if gpus:
            options["num_gpus"] = gpus
        if self.workers is not None:
            options["compute"] = ray.data.ActorPoolStrategy(size=self.workers)
        context = ray.data.DataContext.get_current()
        raising = context.raise_original_map_exception
        context.raise_original_map_exception = True  # a worker's DatasetError reaches the driver whole, not as text
        try:
            found = ray.data.from_arrow(_row_blocks(dataset)).map_batches(
                DetectorWorker, batch_size=self.batch_size * max(1, BLOCK_ROWS // (8 * self.batch_size)),
                batch_format="numpy", fn_constructor_kwargs=worker_args, **options)
        finally:
            context.raise_original_map_exception = raising
        parts: dict[str, list[NDArray[Any]]] = {name: [] for name in _COLUMNS}
        try:
            for batch in found.iter_batches(batch_format="numpy", batch_size=None):
                for name in _COLUMNS:
                    parts[name].append(np.asarray(batch[name]))
        except Exception as err:  # Ray wraps a worker's exception in its own types; re-raise ours
            raise _worker_error(err, ray) from err
        if progress is not None:
            progress(total, total)
        columns = {name: np.concatenate(chunks) if chunks else np.zeros(0) for name, chunks in parts.items()}
        return _detections(session, provider, images.ids, columns)


class DetectorWorker:
    """One Ray actor: the model opened once, run on each batch of rows with visionspec's own pass."""

    def __init__(self, model: bytes, model_path: str, expected: dict[str, Any], device: str, threads: int,
                 batch_size: int) -> None:
        self._settings = BatchSettings(batch_size, workers=threads)
        self._problem: VisionSpecError | None = None
        try:
            self._session = _open_copy(model, Path(model_path), expected["card"], Device(device), threads)
            check_worker(self._session, expected)
            self._adapter = self._session.detection_adapter()
        except VisionSpecError as err:
            # raised with the first batch: Ray passes a task's exception back whole, an actor's only as text
            self._problem = err

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        """Detections of a batch of rows (``row``, ``image_id``, ``path``, ``name``), one output row each."""
        if self._problem is not None:
            raise self._problem
        paths = [Path(str(path)) for path in batch["path"]]
        image_ids = np.asarray(batch["image_id"], dtype=np.int64)
        found = run_detector(self._session, self._adapter, paths.__getitem__, image_ids,
                             [str(name) for name in batch["name"]], settings=self._settings)
        row_of = dict(zip(image_ids.tolist(), np.asarray(batch["row"], dtype=np.int64).tolist(), strict=True))
        return {
            "row": np.array([row_of[image_id] for image_id in found.image_ids.tolist()], dtype=np.int64),
            "rank": np.arange(len(found), dtype=np.int64),
            "class_index": found.class_indices,
            "x": found.boxes[:, 0], "y": found.boxes[:, 1], "width": found.boxes[:, 2], "height": found.boxes[:, 3],
            "score": found.scores,
        }


def _open_copy(model: bytes, path: Path, card: dict[str, Any], device: Device, threads: int) -> ModelSession:
    """The driver's model bytes and card, opened on this worker (messages name the driver's path)."""
    with tempfile.TemporaryDirectory(prefix="visionspec-ray-") as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(model)
        card_copy = Path(folder) / "model.yaml"
        card_copy.write_text(yaml.safe_dump(card, sort_keys=False), encoding="utf-8")
        session = open_model(copy, card_path=card_copy, device=device, threads=threads)
    session.path = path
    return session


def check_worker(session: ModelSession, expected: dict[str, Any]) -> None:
    """Raise ``InferenceError`` unless the worker runs the model, card, onnxruntime and provider of the key."""
    actual = {"sha256": session.sha256, "card": session.card.to_dict(), "onnxruntime": ort.__version__,
              "provider": session.provider}
    differing = [name for name in expected if actual.get(name) != expected[name]]
    if differing:
        listed = "; ".join(f"{name} {actual.get(name)!r}, the driver's {expected[name]!r}" for name in differing)
        raise InferenceError(
            f"{session.path}: the Ray worker on {socket.gethostname()} does not run what the prediction cache key "
            f"names ({listed}); fix: install the same onnxruntime build on every node (and GPUs where "
            "the driver expects them), so that predictions are cached under the setup that computed them"
        )


def _row_blocks(dataset: ImageSource) -> list[Any]:
    """The data set as Arrow tables of ``BLOCK_ROWS`` rows: position, image id, file, file name."""
    pyarrow = importlib.import_module("pyarrow")
    images = dataset.images
    blocks = []
    for start in range(0, len(images), BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, len(images))
        blocks.append(pyarrow.table({
            "row": np.arange(start, stop, dtype=np.int64),
            "image_id": np.asarray(images.ids[start:stop], dtype=np.int64),
            "path": [str(dataset.image_path(row)) for row in range(start, stop)],
            "name": list(images.file_names[start:stop]),
        }))
    return blocks


def _detections(session: ModelSession, provider: str, ids: NDArray[np.int64],
                columns: dict[str, NDArray[Any]]) -> ModelDetections:
    """The gathered columns in data set order (position, then rank within the worker's batch)."""
    order = np.lexsort((columns["rank"], columns["row"]))
    boxes = np.stack([columns[name][order] for name in ("x", "y", "width", "height")], axis=1)
    return ModelDetections(
        classes=session.card.classes,
        image_ids=np.asarray(ids, dtype=np.int64)[columns["row"][order].astype(np.int64)],
        class_indices=columns["class_index"][order].astype(np.int64),
        boxes=boxes.astype(np.float64).reshape(-1, 4),
        scores=columns["score"][order].astype(np.float64),
        provider=provider,
    )


def _connected(address: str | None) -> Any:
    """The ``ray`` module, initialised (``address``, else ``RAY_ADDRESS``, else a local runtime)."""
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError as err:
        raise VisionSpecError("the Ray backend needs Ray Data: pip install 'visionspec[ray]' "
                              f"(or choose --backend local); {err}") from err
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False)
    return ray


def _worker_error(err: Exception, ray: Any) -> Exception:
    """The visionspec error a worker raised (Ray wraps it, and appends its retry advice), else an ``InferenceError``."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, VisionSpecError):
        return type(cause)(str(cause).split(_RAY_ADVICE)[0])
    if isinstance(err, ray.exceptions.RayError):
        text = str(cause or err).strip()
        return InferenceError(f"the Ray backend failed: {text.splitlines()[0][:400] if text else type(err).__name__}")
    return err
