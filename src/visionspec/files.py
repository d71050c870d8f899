"""Writing files so that nothing half-written is ever left behind: the one atomic-write helper.

Every file visionspec writes for later reading (prediction cache entries, summary and metadata files of a
results folder) goes through ``write_atomic``: the bytes go to a temporary ``.<name>.<random>.tmp`` in the
same folder, are flushed to disk, and the temporary file is renamed over the final name (``os.replace`` is
atomic on POSIX and Windows). A reader sees the whole old file or the whole new one; a failed write (full
or read-only disk) removes its temporary file and raises the ``OSError``. Temporary files of a writer that
was killed are removed later by ``remove_stale_temporaries``.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_text_atomic(folder / "summary.json", "{}").read_text()
    '{}'
    >>> sorted(path.name for path in folder.iterdir())
    ['summary.json']
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TEMPORARY_SUFFIX = ".tmp"
STALE_AFTER_S = 600.0
"""A temporary file older than this (10 minutes) belongs to a writer that died: no live write takes that long."""

_FIXES = {
    errno.ENOSPC: "free space on that disk, or write to a folder on another disk",
    errno.EDQUOT: "free space within your disk quota, or write to a folder on another disk",
    errno.EROFS: "the disk is mounted read-only: write to a folder on a writable disk",
    errno.EACCES: "make the folder writable for this user, or write to another folder",
    errno.EPERM: "make the folder writable for this user, or write to another folder",
}


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through ``write(stream)`` into a temporary file beside it, then rename it into place.

    The folder is created if needed. On any failure the temporary file is removed and the error
    propagates (an ``OSError`` for a full or read-only disk); ``path`` is then untouched.

    Args:
        path: the final file.
        write: writes the content into the binary stream it is given.

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(path)  # readers see the old file or the new one, whole
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
    return path


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """``write_atomic`` for bytes."""
    return write_atomic(path, lambda stream: stream.write(data))


def write_text_atomic(path: Path, text: str) -> Path:
    """``write_atomic`` for text, as UTF-8."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of ``write_atomic`` (``.<name>.<random>.tmp``)."""
    return name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)


def remove_stale_temporaries(folder: Path, *, older_than_s: float = STALE_AFTER_S,
                             now: float | None = None) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder``; return them.

    Only ``write_atomic``'s own names count, and only files not modified for ``older_than_s`` seconds
    (a live writer's file is younger). A folder that is missing or cannot be listed is left alone.
    """
    moment = time.time() if now is None else now
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not is_temporary(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and moment - entry.stat().st_mtime >= older_than_s:
                    Path(entry.path).unlink()
                    removed.append(Path(entry.path))
    return removed


def write_problem(err: OSError) -> str:
    """What went wrong and the fix, for a failed write: ``"No space left on device; fix: free space ..."``.

    Example:
        >>> write_problem(OSError(errno.ENOSPC, "No space left on device"))
        'No space left on device; fix: free space on that disk, or write to a folder on another disk'
    """
    fix = _FIXES.get(err.errno or 0, "check that the folder exists and is writable, and that its disk has space")
    return f"{err.strerror or err}; fix: {fix}"
