"""The prediction cache: one inference pass per (model, data set, settings), in memory and on disk.

The key is a SHA-256 over the model file's SHA-256, the data set digest, the preprocessing and adapter
settings, the onnxruntime version, the execution provider actually used and
``FORMAT_VERSION``: anything that can change a prediction changes the key.

Entries live in memory for the run (every scenario on the same model and data set shares one
pass) and on disk as ``<key>.npz`` under ``.visionspec-cache/`` (or ``VISIONSPEC_CACHE``), so that a
re-run with an unchanged checkpoint does no inference.

Disk entries are written with ``visionspec.files.write_atomic`` (a temporary file in the same folder,
renamed over the final name), so a reader sees a whole old file or a whole new one, and two runs writing the
same key cannot corrupt it; temporary files that a killed run left are removed when a cache is opened on
the folder. Each file carries a SHA-256 of its payload; a file that fails to load or whose payload does not
match is deleted and recomputed, never trusted. A write that fails (full or read-only disk) does not fail
the run: the result is kept in memory and ``write_warning`` says what to fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visionspec.files import remove_stale_temporaries, write_atomic

FORMAT_VERSION = 1
"""Bumped whenever what is cached, or how, changes: old entries then simply miss."""

CACHE_ENV = "VISIONSPEC_CACHE"
"""Environment variable: the cache folder (default ``.visionspec-cache`` in the working directory)."""

DEFAULT_FOLDER = ".visionspec-cache"

_CHECKSUM = "__checksum__"
_FORMAT = "__format__"

Arrays = Mapping[str, NDArray[Any]]


def cache_key(parts: Mapping[str, Any]) -> str:
    """SHA-256 hex over a canonical JSON of ``parts`` (plus the cache format version).

    Example:
        >>> cache_key({"model": "ab", "dataset": "cd"}) == cache_key({"dataset": "cd", "model": "ab"})
        True
    """
    canonical = json.dumps({"format": FORMAT_VERSION, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def payload_checksum(arrays: Arrays) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclass
class CacheStats:
    """What the cache did during this run (for reports and tests).

    Attributes:
        memory_hits: answered from memory.
        disk_hits: answered from a verified disk file.
        misses: computed.
        damaged: disk files found damaged, deleted and recomputed.
        write_errors: messages of disk writes that failed (the result was still returned).
    """

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    damaged: int = 0
    write_errors: list[str] = field(default_factory=list)


class PredictionCache:
    """Results by key, in memory and (unless ``folder`` is None) on disk. Thread-safe.

    Example:
        >>> cache = PredictionCache(None)
        >>> cache.get_or_compute("k", lambda: {"x": np.arange(3)})["x"].tolist()
        [0, 1, 2]
        >>> cache.stats.misses, cache.get_or_compute("k", lambda: {})["x"].tolist(), cache.stats.memory_hits
        (1, [0, 1, 2], 1)
    """

    def __init__(self, folder: Path | str | None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.stats = CacheStats()
        self._memory: dict[str, Arrays] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        if self.folder is not None:
            remove_stale_temporaries(self.folder)  # left by a run killed while it wrote an entry

    def write_warning(self) -> str | None:
        """One line on the disk writes that failed in this run (the folder, the cause, the fix), or None.

        Example:
            >>> cache = PredictionCache("/cache")
            >>> cache.stats.write_errors.append("/cache/ab.npz: No space left on device")
            >>> print(cache.write_warning())  # doctest: +NORMALIZE_WHITESPACE
            the prediction cache in /cache could not be written (1 entry; /cache/ab.npz: No space left on
            device): the verdicts stand, but the next run computes these predictions again; fix: free space
            or make the folder writable, or point VISIONSPEC_CACHE at another folder
        """
        errors = self.stats.write_errors
        if not errors:
            return None
        count = f"{len(errors)} entr{'y' if len(errors) == 1 else 'ies'}"
        return (f"the prediction cache in {self.folder} could not be written ({count}; {errors[0]}): the verdicts "
                f"stand, but the next run computes these predictions again; fix: free space or make the folder "
                f"writable, or point {CACHE_ENV} at another folder")

    @classmethod
    def from_environment(cls, base: Path | None = None) -> PredictionCache:
        """The cache at ``VISIONSPEC_CACHE``, else ``.visionspec-cache`` under ``base`` (default: the cwd)."""
        configured = os.environ.get(CACHE_ENV, "").strip()
        return cls(Path(configured) if configured else (base or Path.cwd()) / DEFAULT_FOLDER)

    def path_for(self, key: str) -> Path | None:
        """The disk file of ``key`` (None for a memory-only cache)."""
        return None if self.folder is None else self.folder / f"{key}.npz"

    def get_or_compute(self, key: str, compute: Callable[[], Arrays]) -> Arrays:
        """The arrays stored under ``key``, computing and storing them on a miss.

        Concurrent calls with the same key in this process compute once; the others wait for the result.
        """
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._memory:
                    self.stats.memory_hits += 1
                    return self._memory[key]
            arrays = self._load(key)
            if arrays is not None:
                self.stats.disk_hits += 1
            else:
                arrays = _frozen(compute())
                self.stats.misses += 1
                self._store(key, arrays)
            with self._lock:
                self._memory[key] = arrays
            return arrays

    def _load(self, key: str) -> Arrays | None:
        """A verified disk entry, or None (a damaged file is deleted)."""
        path = self.path_for(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            checksum = str(arrays.pop(_CHECKSUM))
            version = int(arrays.pop(_FORMAT))
        except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile):
            arrays, checksum, version = {}, "", -1
        if version != FORMAT_VERSION or checksum != payload_checksum(arrays):
            self.stats.damaged += 1
            with contextlib.suppress(FileNotFoundError):  # another run may have replaced or removed it
                path.unlink()
            return None
        return _frozen(arrays)

    def _store(self, key: str, arrays: Arrays) -> None:
        """Write atomically (``write_atomic``); a failed write is recorded, not raised."""
        path = self.path_for(key)
        if path is None:
            return
        payload = {**arrays, _CHECKSUM: np.array(payload_checksum(arrays)), _FORMAT: np.array(FORMAT_VERSION)}
        try:
            write_atomic(path, lambda stream: _savez(stream, **payload))
        except OSError as err:
            # a read-only or full disk must not fail the run: the result is in memory; the caller reports it
            self.stats.write_errors.append(f"{path}: {err.strerror or err}")


_savez: Callable[..., None] = np.savez  # its stubs type every keyword as allow_pickle


def _frozen(arrays: Arrays) -> dict[str, NDArray[Any]]:
    """Read-only arrays (cached results are shared by every caller)."""
    frozen: dict[str, NDArray[Any]] = {}
    for name, array in arrays.items():
        copy = np.array(array)
        copy.flags.writeable = False
        frozen[name] = copy
    return frozen
