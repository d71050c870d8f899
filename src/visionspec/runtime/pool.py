"""An ordered, bounded parallel map: decoding and preprocessing on worker threads while the model runs.

Pillow and NumPy release the GIL for decoding, resizing and arithmetic, and onnxruntime releases it while
the model runs, so threads overlap the two. At most ``max_in_flight`` items are being prepared or waiting
at any time: memory stays bounded however large the data set is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

_In = TypeVar("_In")
_Out = TypeVar("_Out")


def ordered_map(
    func: Callable[[_In], _Out], items: Iterable[_In], *, workers: int, max_in_flight: int
) -> Generator[_Out, None, None]:
    """Yield ``func(item)`` for every item, in input order, computed on ``workers`` threads.

    The first exception raised by ``func`` is re-raised here (in order) and the pending work is cancelled;
    so is the pending work when the consumer stops early (the generator is closed).

    Args:
        func: the work for one item; must be thread-safe.
        items: the inputs, consumed lazily.
        workers: threads; 0 runs ``func`` on the calling thread (no overlap, for debugging and tests).
        max_in_flight: how many items may be submitted and not yet yielded.
    """
    if workers <= 0:
        yield from map(func, items)
        return
    pending: deque[Future[_Out]] = deque()
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="visionspec-prepare") as executor:
        try:
            for item in source:
                pending.append(executor.submit(func, item))
                if len(pending) >= max(1, max_in_flight):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
