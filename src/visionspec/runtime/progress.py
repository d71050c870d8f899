"""A small progress line for long inference runs (no dependency): shown on a terminal only, and only once
a run has lasted a couple of seconds, so short runs, pipes and CI logs stay quiet.

The library never prints by itself: the caller (the CLI, the pytest plugin) creates a ``ProgressLine`` on
the stream it owns and passes it as the ``progress`` callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

ProgressCallback = Callable[[int, int], None]
"""Called with (items done, items in all) after each batch and once at the end."""


class ProgressLine:
    """Prints ``label: done/total (percent, rate/s, ETA)`` on one terminal line, rewritten in place.

    Example:
        >>> import io
        >>> line = ProgressLine(io.StringIO(), "predict")   # not a terminal: prints nothing
        >>> line(10, 100)
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        delay_s: float = 2.0,
        interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._label = label
        self._delay_s = delay_s
        self._interval_s = interval_s
        self._clock = clock
        self._start = clock()
        self._last_shown: float | None = None
        self._enabled = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int) -> None:
        """Show progress if on a terminal, the run is older than ``delay_s`` and the line is due."""
        if not self._enabled:
            return
        now = self._clock()
        elapsed = now - self._start
        finished = done >= total
        if elapsed < self._delay_s or (not finished and self._last_shown is not None
                                       and now - self._last_shown < self._interval_s):
            return
        self._last_shown = now
        rate = done / elapsed if elapsed > 0 else 0.0
        remaining = f", {(total - done) / rate:.0f} s left" if rate > 0 and not finished else ""
        percent = 100.0 * done / total if total else 100.0
        end = "\n" if finished else ""
        self._stream.write(f"\r{self._label}: {done:,}/{total:,} ({percent:.0f}%, {rate:,.0f}/s{remaining})  {end}")
        self._stream.flush()
