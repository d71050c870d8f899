"""Hashing a data set's files: the annotation file, each image, and the digests over them.

``images_digest`` is the SHA-256 over the sorted ``file_name<TAB>sha256<LF>`` lines of every image,
so that it depends on the names and contents of the images and on nothing else (not on their order).
Image files are hashed on a thread pool: ``hashlib`` releases the GIL on large buffers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from visionspec.datasets.paths import is_inside


@dataclass(frozen=True)
class FileScan:
    """What was found on disk for a list of files.

    Attributes:
        sha256: per file, the hex SHA-256 of its bytes, or ``None`` when the file is missing,
            unreadable or escapes the base folder through a symlink.
        missing: the file names that do not exist (or are not readable files).
        escaping: the file names that are symlinks (or under symlinks) leading out of the base folder.
    """

    sha256: tuple[str | None, ...]
    missing: tuple[str, ...]
    escaping: tuple[str, ...]


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of the file at ``path`` (raises ``OSError`` when it cannot be read)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def images_digest(file_names: Iterable[str], sha256s: Iterable[str]) -> str:
    """SHA-256 over the sorted ``file_name<TAB>sha256<LF>`` lines."""
    lines = sorted(f"{name}\t{digest}\n" for name, digest in zip(file_names, sha256s, strict=True))
    return sha256_bytes("".join(lines).encode("utf-8"))


def dataset_digest(images_digest_hex: str, annotations_sha256: str) -> str:
    """The identity of a data set for caches: its images and its annotations together."""
    return sha256_bytes(f"images:{images_digest_hex}\nannotations:{annotations_sha256}\n".encode())


def default_workers() -> int:
    """Threads for hashing: a few per core, since part of the time is spent waiting on the disk."""
    return min(16, 2 * (os.cpu_count() or 1))


def scan_files(base: Path, file_names: Sequence[str], *, workers: int | None = None) -> FileScan:
    """Hash ``base / name`` for every name, checking that each exists and stays inside ``base``.

    Args:
        base: the folder the names are relative to (the data set's ``images/``).
        file_names: relative file names, already checked by ``paths.file_name_problem``.
        workers: hashing threads (default: ``default_workers()``).

    Returns:
        The hashes and the names that are missing or escape ``base``.
    """
    base_real = os.path.realpath(base)
    count = len(file_names)
    threads = max(1, min(workers or default_workers(), count))
    # Contiguous chunks, one per thread: one future per file would cost more than hashing a small JPEG.
    bounds = [(count * index // threads, count * (index + 1) // threads) for index in range(threads)]

    def scan_chunk(bound: tuple[int, int]) -> list[tuple[str | None, str]]:
        return [_scan_one(base, base_real, file_names[index]) for index in range(*bound)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        chunks = list(pool.map(scan_chunk, bounds))
    results = [result for chunk in chunks for result in chunk]
    return FileScan(
        sha256=tuple(digest for digest, _ in results),
        missing=tuple(name for name, (_, state) in zip(file_names, results, strict=True) if state == "missing"),
        escaping=tuple(name for name, (_, state) in zip(file_names, results, strict=True) if state == "escaping"),
    )


def _scan_one(base: Path, base_real: str, file_name: str) -> tuple[str | None, str]:
    """``(sha256, state)`` of one file, state one of ``ok``, ``missing``, ``escaping``."""
    path = base / file_name
    if not is_inside(base_real, path):
        return None, "escaping"
    try:
        return sha256_file(path), "ok"
    except OSError:
        return None, "missing"


def list_files(base: Path) -> list[str]:
    """Every regular file (or link to one) under ``base``, as sorted ``/``-separated relative names."""
    found: list[str] = []
    pending = [(base, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                pending.append((Path(entry.path), f"{name}/"))
            else:
                found.append(name)
    return sorted(found)
