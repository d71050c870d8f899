"""Where a data set's files may be: image paths never leave the data set folder."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

IMAGES_FOLDER = "images"
ANNOTATIONS_FILE = "annotations.json"
SPEC_FILE = "dataset.yaml"


def file_name_problem(file_name: str) -> str | None:
    """Why ``file_name`` (a COCO ``file_name``) may not be used, or ``None`` when it is a safe relative path.

    Safe means: not empty, relative (no leading ``/``, no drive letter), no ``..`` component and no
    backslash (which would mean different files on different systems).
    """
    if not file_name:
        return "is empty"
    if "\\" in file_name:
        return "contains a backslash; use '/' between folders"
    if PurePosixPath(file_name).is_absolute() or PureWindowsPath(file_name).drive:
        return "is an absolute path; it must be relative to the images folder"
    if ".." in PurePosixPath(file_name).parts:
        return "contains '..' and would leave the data set folder"
    if "\x00" in file_name:
        return "contains a NUL character"
    return None


def is_inside(base_real: str, path: Path) -> bool:
    """Whether ``path``, with every symlink followed, stays under ``base_real`` (a ``os.path.realpath``)."""
    real = os.path.realpath(path)
    return real == base_real or real.startswith(base_real + os.sep)
