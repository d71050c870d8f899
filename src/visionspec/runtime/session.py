"""Opening a model: the ONNX session on a known provider, its card, and the file-versus-card contract.

onnxruntime-gpu lists CUDA as available and falls back to CPU silently when the CUDA libraries or the GPU
are missing, so the provider is read back from the session after creation: ``Device.CUDA`` that ended up
on CPU is a ``DeviceError``; ``Device.AUTO`` takes CUDA when it really works and records what it got.

Session options are set deliberately: ``threads`` intra-op threads (default: ``VISIONSPEC_THREADS``, else
the number of cores) that sleep rather than spin when idle (the decoding threads need those cycles), one
inter-op thread, sequential execution, every graph optimisation. onnxruntime's
own log is silenced below FATAL: every problem it reports reaches the caller as an exception or as the
provider check, so its log lines (the CUDA fallback prints several) would only repeat them as noise.

The model file is read once: its SHA-256 and the session come from the same bytes, so a file replaced while
it is being opened cannot put one model's predictions in the cache under the other's hash. External
weights (``<name>.onnx.data``) are looked up beside the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import io
import os
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from visionspec.errors import DeviceError, InferenceError, ModelCardError, ModelError
from visionspec.runtime.adapters import BoxOutput, OutputAdapter, classification_adapter, detection_adapter
from visionspec.runtime.card import CardSource, Layout, ModelCard, Task, load_card
from visionspec.runtime.contract import Contract, check_contract
from visionspec.runtime.placeholders import free_placeholder_dims
from visionspec.runtime.tensors import TensorInfo

THREADS_ENV = "VISIONSPEC_THREADS"
"""Environment variable: intra-op threads of every session (default: the number of cores)."""

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"


class Device(StrEnum):
    """Where to run a model."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


def default_threads() -> int:
    """``VISIONSPEC_THREADS`` if set, else the number of cores."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ModelError(f"{THREADS_ENV}={value!r} is not a positive integer: set it to a thread count, or unset it")
    return int(value)


class ModelSession:
    """An ONNX model checked against its card, running on a known provider.

    Thread-safe: ``run`` may be called from several threads.

    Attributes:
        path: the model file.
        card: the validated card (card file merged over the file's metadata).
        sha256: hex digest of the model file's bytes the session was made from.
        provider: the execution provider actually running the model.
        threads: intra-op threads.
        metadata: the file's custom metadata.
        contract: input tensor, static batch size and output names.
        card_source: where the card came from (card file, ONNX metadata, or both).
    """

    def __init__(self, path: Path, card: ModelCard, session: ort.InferenceSession, sha256: str, threads: int,
                 contract: Contract, card_source: CardSource | None = None) -> None:
        self.path = path
        self.card = card
        self.card_source = card_source or CardSource(None, metadata=True)
        self.sha256 = sha256
        self.threads = threads
        self.contract = contract
        self._session = session
        self.provider: str = session.get_providers()[0]
        self.metadata: Mapping[str, str] = dict(session.get_modelmeta().custom_metadata_map)

    def detection_adapter(self) -> OutputAdapter[BoxOutput]:
        """The card's detection adapter; a ``ModelCardError`` if the model is a classifier."""
        self._require(Task.DETECTION)
        return detection_adapter(self.card, self.contract.output_names)

    def classification_adapter(self) -> OutputAdapter[NDArray[np.float64]]:
        """The card's classification adapter; a ``ModelCardError`` if the model is a detector."""
        self._require(Task.CLASSIFICATION)
        return classification_adapter(self.card, self.contract.output_names)

    def run(self, batch: NDArray[Any], images: str) -> list[NDArray[Any]]:
        """Run the model on one input tensor and return the adapter's outputs.

        Args:
            batch: the input tensor (with a batch axis unless the model takes one image).
            images: the images in the batch, for the message if onnxruntime fails.
        """
        try:
            outputs: list[NDArray[Any]] = self._session.run(
                list(self.contract.output_names), {self.contract.input.name: batch}
            )
        except Exception as err:  # onnxruntime's exception classes share no base besides Exception
            raise InferenceError(f"{self.path}: onnxruntime failed on {images}: {_short(str(err))}") from err
        return outputs

    def describe(self) -> dict[str, Any]:
        """Facts for reports and run records."""
        return {
            "model": str(self.path),
            "file_name": self.path.name,
            "sha256": self.sha256,
            "card": self.card.to_dict(),
            "card_sources": list(self.card.sources),
            "card_source": self.card_source.to_dict(),
            "provider": self.provider,
            "threads": self.threads,
            "onnxruntime": ort.__version__,
            "metadata": dict(self.metadata),
        }

    def _require(self, task: Task) -> None:
        """Raise unless the model does ``task``."""
        if self.card.task is not task:
            raise ModelCardError(
                f"{self.path}: a {task.value} model is needed here, but its card "
                f"({' + '.join(self.card.sources)}) says task {self.card.task.value!r}"
            )


def open_model(
    path: Path | str,
    *,
    card_path: Path | str | None = None,
    device: Device = Device.AUTO,
    threads: int | None = None,
) -> ModelSession:
    """Open an ONNX model with its card and check the file against the card.

    Args:
        path: the ONNX file.
        card_path: the card file; default: the first of ``x.yaml`` beside ``x.onnx``, then
            ``models/<name>/model.yaml`` for ``models/<name>/checkpoints/x.onnx`` (or ``model.yaml`` beside the
            file). Without a card file the file's ``visionspec.card`` metadata must carry the whole card; with
            both, the card file wins key by key. ``ModelSession.card_source`` records which it was.
        device: auto, cpu or cuda.
        threads: intra-op threads; default ``default_threads()``.

    Raises:
        ModelError: the file is missing, not ONNX, truncated, of an unsupported opset or IR version, or
            does not match its card.
        ModelCardError: the card is missing or invalid.
        DeviceError: CUDA was requested but is not really available.

    Example:
        >>> session = open_model("models/balloon-detector/checkpoints/epoch-05.onnx")  # doctest: +SKIP
        >>> session.provider  # doctest: +SKIP
        'CPUExecutionProvider'
    """
    model = Path(path)
    if not model.is_file():
        raise ModelError(f"{model}: no such model file (check the path given as the model)")
    thread_count = default_threads() if threads is None else threads
    if thread_count < 1:
        raise ModelError(f"{model}: threads must be at least 1, got {thread_count}")
    data = _read_model(model)
    session = _create_session(model, data, device, thread_count)
    card, source = load_card(model, None if card_path is None else Path(card_path),
                             session.get_modelmeta().custom_metadata_map)
    if card.input.placeholder_dims:
        freed = free_placeholder_dims(data, card.input.name, channels_first=card.input.layout is Layout.NCHW,
                                      model=str(model))
        session = _create_session(model, freed, device, thread_count)
    contract = check_contract(
        card,
        [TensorInfo.from_ort(node) for node in session.get_inputs()],
        [TensorInfo.from_ort(node) for node in session.get_outputs()],
        model=str(model),
    )
    return ModelSession(model, card, session, hashlib.sha256(data).hexdigest(), thread_count, contract, source)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_model(model: Path) -> bytes:
    """The model file's bytes, read once (hash and session both come from them)."""
    try:
        return model.read_bytes()
    except OSError as err:
        raise ModelError(f"{model}: cannot read the model file ({err.strerror or err}); fix: check the path and "
                         "that the file is readable") from err


def _session_options(model: Path, threads: int) -> ort.SessionOptions:
    """The options every session gets; external weights are looked up beside ``model``."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # idle intra-op threads sleep instead of spinning: spinning burned ~25% more CPU here, taken from the
    # threads that decode the next batch (bare loop 2.25-2.5 s CPU without spinning vs 2.8-3.2 s with)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # the session is made from bytes: without this, onnxruntime refuses any external-data file
    options.add_session_config_entry("session.model_external_initializers_file_folder_path", str(model.parent))
    return options


def _providers(device: Device) -> list[str]:
    """The provider list to ask for."""
    available = ort.get_available_providers()
    if device is Device.CPU:
        return [_CPU]
    if device is Device.CUDA and _CUDA not in available:
        raise DeviceError(
            f"CUDA was requested but this onnxruntime build ({ort.__version__}) has no CUDA provider "
            f"(it has {', '.join(available)}): install onnxruntime-gpu, or use --device cpu or auto"
        )
    if _CUDA not in available:
        return [_CPU]
    _preload_cuda_libraries()
    return [_CUDA, _CPU]


@functools.cache
def _preload_cuda_libraries() -> None:
    """Load the CUDA and cuDNN libraries of the ``nvidia-*`` wheels (torch's CUDA build brings them), once.

    onnxruntime-gpu does not look in those wheels by itself; without this, a venv that has every library
    still falls back to CPU. ``preload_dlls`` prints its own problems: they are swallowed here, since the
    provider check after session creation reports what matters.
    """
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(RuntimeError, OSError):
        ort.preload_dlls(cuda=True, cudnn=True, msvc=False)


def _create_session(model: Path, data: bytes, device: Device, threads: int) -> ort.InferenceSession:
    """Create the onnxruntime session from the file's bytes, translating its errors; check the provider it got."""
    ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(data, _session_options(model, threads), providers=_providers(device))
    except DeviceError:
        raise
    except Exception as err:  # onnxruntime's exception classes share no base besides Exception
        raise ModelError(f"{model}: onnxruntime cannot load this model: {_load_problem(str(err))}") from err
    provider = session.get_providers()[0]
    if device is Device.CUDA and provider != _CUDA:
        raise DeviceError(f"CUDA was requested but onnxruntime is running on {provider}: {_cuda_problem()}")
    return session


_LOAD_PROBLEMS = (
    r"Opset \d+ is under development",
    r"Current official support for domain \S+ is till opset \d+",
    r"Unsupported model IR version: \d+, max supported IR version: \d+",
)


def _load_problem(message: str) -> str:
    """onnxruntime's load error without its C++ source locations."""
    if "protobuf parsing failed" in message.lower():
        return "not an ONNX model, or a truncated one (protobuf parsing failed); re-export or re-copy the file"
    found = [match for pattern in _LOAD_PROBLEMS for match in re.findall(pattern, message)]
    if found:
        return "; ".join(found) + f" (onnxruntime {ort.__version__}): export with a supported opset/IR version"
    return _short(message)


def _short(message: str) -> str:
    """The human part of an onnxruntime message: no error-code prefix, file path or C++ source location."""
    lines = message.strip().splitlines()
    text = lines[-1] if lines else message
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    text = re.sub(r"^Load model from .*? failed:", "", text)
    text = re.split(r"\S+\.(?:cc|h|cpp):\d+ ", text)[-1]
    return text.strip()[:400]


def _cuda_problem() -> str:
    """Why the CUDA provider did not load: the first missing shared library, when that is the cause."""
    library = Path(ort.__file__).parent / "capi" / "libonnxruntime_providers_cuda.so"
    reason = "no usable NVIDIA GPU or driver is visible to this process"
    if library.is_file():
        try:
            ctypes.CDLL(str(library))
        except OSError as err:
            if "libcuda.so" in str(err):
                reason = f"{err} (the NVIDIA driver: no GPU, or its driver is not installed or not mounted here)"
            elif "cannot open shared object file" in str(err):
                reason = f"{err} (the CUDA/cuDNN libraries this onnxruntime-gpu build needs are missing)"
    return f"{reason}; use --device cpu or auto to run on CPU"


def providers_available() -> Sequence[str]:
    """The providers this onnxruntime build lists (not a promise that they work: see ``Device``)."""
    return tuple(ort.get_available_providers())
