"""Running a model over a stream of prepared tensors, in batches, with decoding on worker threads.

Shared by the detector over a data set (one tensor per image) and the classifier over crops (several
tensors per image). Work items are prepared (decoded, cropped, preprocessed) by ``ordered_map`` on worker
threads while the calling thread runs the model; a bounded number of items is in flight, so memory does
not grow with the data set.

Batch size: the model's static batch when it declares one (the last batch padded with zeros), else the
requested size for a dynamic batch axis; a model without a batch axis (torchvision exports) runs one
tensor at a time. Consecutive tensors of one shape share a batch: with ``resize: native`` a batch ends where
the picture size changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from visionspec.errors import InferenceError
from visionspec.runtime.adapters import OutputAdapter
from visionspec.runtime.pool import ordered_map
from visionspec.runtime.progress import ProgressCallback
from visionspec.runtime.session import ModelSession

DEFAULT_BATCH_SIZE = 16

_Item = TypeVar("_Item")
_Tag = TypeVar("_Tag")
_Decoded = TypeVar("_Decoded")


@dataclass(frozen=True)
class Prepared(Generic[_Tag]):
    """One model input slice (no batch axis) and what it belongs to."""

    tensor: NDArray[Any]
    tag: _Tag


@dataclass(frozen=True)
class BatchSettings:
    """How to batch and parallelise.

    Attributes:
        batch_size: images per model run for a dynamic batch axis (a static batch size wins).
        workers: threads preparing inputs; None for ``min(4, cores)``; 0 prepares on the calling thread.
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    workers: int | None = None

    def worker_count(self) -> int:
        """The number of preparing threads."""
        return min(4, os.cpu_count() or 1) if self.workers is None else self.workers


def effective_batch_size(session: ModelSession, requested: int) -> int:
    """The batch size a run will use (1 for a model without a batch axis)."""
    if not session.contract.batched:
        return 1
    return session.contract.batch_size or max(1, requested)


def run_batches(
    session: ModelSession,
    adapter: OutputAdapter[_Decoded],
    items: Iterable[_Item],
    prepare: Callable[[_Item], Sequence[Prepared[_Tag]]],
    *,
    total: int,
    describe: Callable[[_Tag], str],
    settings: BatchSettings,
    progress: ProgressCallback | None = None,
) -> Iterator[tuple[_Tag, _Decoded]]:
    """Yield ``(tag, decoded output)`` for every prepared tensor, in order.

    Args:
        session: the model.
        adapter: reads the model's outputs.
        items: work items (an image row, an image with its crops).
        prepare: turns one item into its tensors; runs on worker threads, must be thread-safe.
        total: the number of tensors in all (for progress).
        describe: names the image a tag belongs to, for error messages.
        settings: batch size and workers.
        progress: called with (tensors done, total) after each batch.

    Raises:
        InferenceError: the model failed or returned NaN or infinity (the message names the image).
    """
    size = effective_batch_size(session, settings.batch_size)
    workers = settings.worker_count()
    prepared = ordered_map(prepare, items, workers=workers, max_in_flight=2 * size + workers)
    done = 0
    try:
        for batch in _batches((entry for entries in prepared for entry in entries), size):
            tensor = _stack(batch, session.contract.batch_size, session.contract.batched)
            outputs = session.run(tensor, _names(batch, describe))
            _check_finite(outputs, batch, describe, session)
            decoded = adapter.decode(outputs)
            yield from zip((entry.tag for entry in batch), decoded, strict=False)
            done += len(batch)
            if progress is not None:
                progress(done, total)
    finally:
        prepared.close()  # on an error or an early stop: cancel the queued work now, not when collected


def _batches(entries: Iterator[Prepared[_Tag]], size: int) -> Iterator[list[Prepared[_Tag]]]:
    """Consecutive lists of at most ``size`` entries of one tensor shape."""
    batch: list[Prepared[_Tag]] = []
    for entry in entries:
        if batch and entry.tensor.shape != batch[0].tensor.shape:
            yield batch
            batch = []
        batch.append(entry)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _stack(batch: Sequence[Prepared[Any]], static_size: int | None, batched: bool) -> NDArray[Any]:
    """The input tensor: the batch stacked (zero-padded to a static batch size), or the one tensor."""
    if not batched:
        return batch[0].tensor
    if static_size is None or len(batch) == static_size:
        return np.stack([entry.tensor for entry in batch])
    first = batch[0].tensor
    stacked = np.zeros((static_size, *first.shape), dtype=first.dtype)
    for row, entry in enumerate(batch):
        stacked[row] = entry.tensor
    return stacked


def _names(batch: Sequence[Prepared[_Tag]], describe: Callable[[_Tag], str]) -> str:
    """The images of a batch, for messages: the first and the last."""
    first, last = describe(batch[0].tag), describe(batch[-1].tag)
    return first if len(batch) == 1 else f"the batch of {len(batch)} from {first} to {last}"


def _check_finite(outputs: Sequence[NDArray[Any]], batch: Sequence[Prepared[_Tag]], describe: Callable[[_Tag], str],
                  session: ModelSession) -> None:
    """Raise ``InferenceError`` naming the first image whose outputs hold NaN or infinity (padding ignored)."""
    for name, output in zip(session.contract.output_names, outputs, strict=True):
        if not np.issubdtype(output.dtype, np.floating):
            continue
        row = 0
        if session.contract.batched and output.ndim > 0:
            rows_finite = np.isfinite(output[: len(batch)].reshape(min(len(batch), output.shape[0]), -1)).all(axis=1)
            if rows_finite.all():
                continue
            row = int(np.flatnonzero(~rows_finite)[0])
        elif np.isfinite(output).all():
            continue
        raise InferenceError(
            f"{session.path}: output {name!r} holds NaN or infinite values for image {describe(batch[row].tag)}; "
            "fix: check the model (export, weights) and the card's input normalisation"
        )
