"""A run's results folder: visionspec's own, held by one run at a time, cleaned of visionspec's files only.

- **Marked.** visionspec writes the empty marker file ``.visionspec-results`` into a results folder that it
  creates or finds empty. A folder that holds anything and has no marker is refused (``ResultsError``):
  visionspec only ever deletes what it wrote, and ``--results .`` or ``--results ~/reports`` must not cost
  anyone their files.
- **Held.** A run takes an exclusive lock (``flock``) on ``.visionspec-lock`` in the folder before it cleans
  and keeps it until its results and report are written; a second run on the same folder waits (saying so
  once) and refuses after ``wait_s`` seconds. The lock goes with the process, so a killed run holds nothing.
- **Cleaned of its own files.** Before a run the files an earlier run wrote are removed: Allure results,
  containers and attachments, ``summary.json``, ``decision.md``, ``decision.json``, ``environment.properties``,
  ``executor.json``, ``categories.json``, ``checkpoint.json``, ``judged.json``, the ``history/`` copied in for
  the report, and their temporary files; anything else in the folder stays. After a run, temporary files a failed write
  left are removed.

Example:
    >>> with held_results(Path("allure-results")) as folder:  # doctest: +SKIP
    ...     run_the_goals(folder)
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from visionspec.errors import ResultsError
from visionspec.files import TEMPORARY_SUFFIX, is_temporary, write_problem

MARKER = ".visionspec-results"
LOCK_FILE = ".visionspec-lock"
DEFAULT_WAIT_S = 3600.0
"""How long a run waits for another run that holds its results folder before it refuses."""

OWN_FILES = (
    "*-result.json", "*-container.json", "*-attachment.*", "*-globals.json", "summary.json",
    "environment.properties", "executor.json", "categories.json", "checkpoint.json", "judged.json", "decision.md",
    "decision.json",
)
"""The files visionspec (and the Allure writer it drives) puts into a results folder."""
OWN_FOLDERS = ("history",)
"""Folders it puts there: the previous report's ``history/``, copied in before the report is made."""

_POLL_S = 0.2


def claim(folder: Path) -> Path:
    """Make ``folder`` a marked results folder, or refuse it; return it.

    Raises:
        ResultsError: it holds files but no marker (not visionspec's), it is not a folder, or it cannot be
            created or written; the message names it and the fix.
    """
    if (folder / MARKER).is_file():
        return folder
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{folder}: is a file, not a results folder; fix: give --results a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        found = sorted(entry.name for entry in os.scandir(folder))
        if found:
            shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            raise ResultsError(
                f"{folder}: not a visionspec results folder: it holds files visionspec did not write ({shown}) "
                f"and no {MARKER} marker, and a run cleans its results folder; fix: give --results a new or "
                f"empty folder (visionspec creates it), or, if the folder holds only results of earlier runs, "
                f"mark it with `touch {folder / MARKER}`"
            )
        (folder / MARKER).touch()
    except OSError as err:
        raise ResultsError(f"{folder}: cannot be used as the results folder ({write_problem(err)})") from err
    return folder


def clean(folder: Path) -> list[str]:
    """Remove what an earlier run wrote into the marked ``folder`` (``OWN_FILES``, ``OWN_FOLDERS``, their
    temporary files); return the names removed. Anything else stays.

    Raises:
        ResultsError: a file cannot be removed (read-only disk, permissions).
    """
    removed = []
    try:
        for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
            if entry.is_dir(follow_symlinks=False) and entry.name in OWN_FOLDERS:
                shutil.rmtree(entry.path)
            elif entry.is_file(follow_symlinks=False) and _is_own_file(entry.name):
                Path(entry.path).unlink()
            else:
                continue
            removed.append(entry.name)
    except OSError as err:
        raise ResultsError(f"{folder}: cannot clean the results of the previous run ({write_problem(err)})") from err
    return removed


def remove_temporaries(folder: Path) -> list[str]:
    """Remove the temporary files of visionspec's and Allure's writes in ``folder``; return their names."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if _is_temporary_of_own(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()
                    removed.append(entry.name)
    return removed


@contextlib.contextmanager
def held_results(folder: Path, *, wait_s: float = DEFAULT_WAIT_S, clean_first: bool = True,
                 on_wait: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Claim ``folder``, hold its lock (waiting for another run at most ``wait_s`` s), clean it; yield it.

    Args:
        folder: the results folder.
        wait_s: how long to wait for the run that holds it.
        clean_first: remove the earlier run's files once the lock is held (False: a sequence's top folder,
            whose earlier checkpoints a watch continues from).
        on_wait: told one line when this run has to wait.

    Raises:
        ResultsError: the folder is not visionspec's, another run still holds it after ``wait_s``, or it
            cannot be written.
    """
    claim(folder)
    with _locked(folder, wait_s, on_wait):
        if clean_first:
            clean(folder)
        try:
            yield folder
        finally:
            remove_temporaries(folder)


@contextlib.contextmanager
def _locked(folder: Path, wait_s: float, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    """An exclusive ``flock`` on the folder's lock file, for the ``with`` block."""
    try:
        handle = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise ResultsError(f"{folder}: cannot be used as the results folder ({write_problem(err)})") from err
    try:
        _acquire(handle, folder, wait_s, on_wait)
        yield
    finally:
        os.close(handle)  # releases the lock


def _acquire(handle: int, folder: Path, wait_s: float, on_wait: Callable[[str], None] | None) -> None:
    """Take the lock, polling until ``wait_s`` has passed."""
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if time.monotonic() >= deadline:
            raise ResultsError(
                f"{folder}: another visionspec run still holds this results folder after {wait_s:g} s; fix: let "
                "it finish (or stop it), give this run another --results folder, or wait longer (--lock-timeout)"
            )
        if not told and on_wait is not None:
            on_wait(f"waiting for the run that holds {folder}")
            told = True
        time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))


def _is_own_file(name: str) -> bool:
    """Whether ``name`` is one of ``OWN_FILES`` or a temporary file of one."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in OWN_FILES) or _is_temporary_of_own(name)


def _is_temporary_of_own(name: str) -> bool:
    """Allure's ``<name>.tmp`` or ``write_atomic``'s ``.<name>.<random>.tmp`` of one of ``OWN_FILES``."""
    if not name.endswith(TEMPORARY_SUFFIX):
        return False
    stem = name[: -len(TEMPORARY_SUFFIX)]
    if is_temporary(name):
        stem = stem[1:].rsplit(".", 1)[0]  # ".summary.json.ab12cd" -> "summary.json"
    return any(fnmatch.fnmatchcase(stem, pattern) for pattern in OWN_FILES)
