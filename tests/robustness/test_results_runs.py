"""Real runs on results folders and disks (issue 11, cases 1, 2, 4, 7 and 8), on the checkpoint world
(tests/checkpoints/checkpoint_world.py: epoch-10 meets both goals, epoch-2 misses one).

- ``--results`` on a folder with someone's files is refused; on visionspec's own folder only its own files go;
- two concurrent runs on one results folder: the second waits, and each run's results are whole when it ends;
- a full or read-only results disk is exit 2 naming the folder and the fix, without a traceback or a ``.tmp``;
- a prediction cache that cannot be written is a warning line of the run (terminal and summary.json);
- ``watch`` judges again a file it judged half-written once the file is complete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.checkpoints.checkpoint_world import DETECTORS, GOALS, ROOT, write_dataset_steps, write_detector, write_models

from visionspec.cli import build_parser, main
from visionspec.cli.watch import watch_command
from visionspec.report.results_folder import LOCK_FILE, MARKER
from visionspec.runtime.session import file_sha256

CHECKPOINTS = "models/balloon-detector/checkpoints"
EPOCH_10 = f"--detector={CHECKPOINTS}/epoch-10.onnx"
EPOCH_2 = f"--detector={CHECKPOINTS}/epoch-2.onnx"

# Hooks for the concurrency test: a slow first run, and a copy of each run's results as the run ends (before
# visionspec lets go of the folder), so that the test sees what each run left.
TEST_HOOKS = '''

import os as _os
import shutil as _shutil
import time as _time


def pytest_runtest_setup(item):
    _time.sleep(float(_os.environ.get("SLOW_S", "0")))


def pytest_unconfigure(config):
    snapshot, results = _os.environ.get("SNAPSHOT"), config.getoption("allure_report_dir", None)
    if snapshot and results:
        _shutil.copytree(results, snapshot)
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("VISIONSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    path = pytester.path
    (path / "conftest.py").write_text((ROOT / "conftest.py").read_text(encoding="utf-8") + TEST_HOOKS,
                                      encoding="utf-8")
    (path / "features").mkdir()
    (path / "features" / "goals.feature").write_text(GOALS, encoding="utf-8")
    write_dataset_steps(path / "datasets")
    write_models(path / "models")
    return path


def _results(folder: Path) -> list[str]:
    """The result files of the scenarios (not the run's decision entry, which visionspec adds)."""
    return sorted(path.name for path in folder.glob("*-result.json")
                  if not json.loads(path.read_text(encoding="utf-8"))["name"].startswith("Decision: "))


def _summary(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return data


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and "INTERNALERROR" not in text


# --- 1. a results folder is visionspec's own ---------------------------------------------------------


def test_results_on_a_folder_with_a_users_files_is_refused_and_keeps_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = project / "reports"
    reports.mkdir()
    (reports / "q3-review.pdf").write_bytes(b"%PDF the user's")
    (reports / "old-allure").mkdir()
    assert main(["run", "--results", "reports", EPOCH_10]) == 2
    assert capsys.readouterr().err == (
        "visionspec: error: reports: not a visionspec results folder: it holds files visionspec did not write "
        f"(old-allure, q3-review.pdf) and no {MARKER} marker, and a run cleans its results folder; fix: give "
        "--results a new or empty folder (visionspec creates it), or, if the folder holds only results of earlier "
        f"runs, mark it with `touch reports/{MARKER}`\n"
    )
    assert sorted(path.name for path in reports.iterdir()) == ["old-allure", "q3-review.pdf"]
    before = sorted(path.name for path in project.iterdir())
    assert main(["run", "--results", ".", EPOCH_10]) == 2  # the project folder itself
    assert sorted(path.name for path in project.iterdir()) == before
    assert main(["checkpoints", f"{CHECKPOINTS}/epoch-10.onnx", "--results", "reports"]) == 2
    assert sorted(path.name for path in reports.iterdir()) == ["old-allure", "q3-review.pdf"]


def test_a_rerun_replaces_only_visionspecs_own_files(project: Path) -> None:
    assert main(["run", "--results", "results", EPOCH_2]) == 1
    results = project / "results"
    first = _results(results)
    assert len(first) == 2
    (results / "notes.md").write_text("the user's notes", encoding="utf-8")
    (results / "keep").mkdir()
    assert main(["run", "--results", "results", EPOCH_10]) == 0
    second = _results(results)
    assert len(second) == len(_summary(results)["scenarios"]) == 2 and not set(first) & set(second)
    assert (results / "notes.md").read_text(encoding="utf-8") == "the user's notes" and (results / "keep").is_dir()


# --- 2. one run at a time on a results folder ---------------------------------------------------------


def _held(lock: Path) -> bool:
    """Whether another process holds the results folder's lock."""
    if not lock.is_file():
        return False
    with lock.open("rb") as stream:
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(stream.fileno(), fcntl.LOCK_UN)
        return False


def _run_process(project: Path, *arguments: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "visionspec", "run", *arguments], cwd=project, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_two_concurrent_runs_on_one_folder_keep_every_result(project: Path, tmp_path: Path) -> None:
    first = _run_process(project, "--results", "results", EPOCH_2, SLOW_S="1.5", SNAPSHOT=str(tmp_path / "first"))
    deadline = time.monotonic() + 60
    while not _held(project / "results" / LOCK_FILE):
        assert first.poll() is None and time.monotonic() < deadline, "the first run never held the folder"
        time.sleep(0.05)
    second = _run_process(project, "--results", "results", EPOCH_10, SNAPSHOT=str(tmp_path / "second"))
    first_out, first_err = first.communicate(timeout=120)
    second_out, second_err = second.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (1, 0), first_err + second_err
    assert second_err.splitlines()[0] == "visionspec: waiting for the run that holds results"
    for snapshot, status in ((tmp_path / "first", "missed"), (tmp_path / "second", "met")):
        scenarios = _summary(snapshot)["scenarios"]
        assert len(_results(snapshot)) == len(scenarios) == 2  # every verdict of the run has its result file
        assert {scenario["status"] for scenario in scenarios} >= {status}
    assert _results(project / "results") == _results(tmp_path / "second")  # the last run's, whole
    _no_traceback(first_out + first_err + second_out + second_err)


# --- 4. a results disk that cannot be written ---------------------------------------------------------


@contextlib.contextmanager
def _tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``where`` (root only); skips the test where mounting is not allowed."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip() or mounted.returncode})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_results_disk_is_exit_2_naming_the_folder_without_a_traceback_or_temporary_files(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _tmpfs(project / "disk", "size=16k") as disk:  # four pages: fills up during the run
        (disk / "results").mkdir()
        (disk / "results" / MARKER).touch()
        assert main(["run", "--results", "disk/results", EPOCH_10]) == 2
        left = sorted(path.name for path in (disk / "results").iterdir())
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        "visionspec: error: disk/results: the run could not write its results (No space left on device; fix: free "
        "space on that disk, or write to a folder on another disk)"
    )
    _no_traceback(captured.out + captured.err)
    assert not [name for name in left if name.endswith(".tmp")]


def test_a_read_only_results_disk_is_exit_2_naming_the_folder(project: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    with _tmpfs(project / "disk", "ro,size=16k"):
        assert main(["run", "--results", "disk/results", EPOCH_10]) == 2
    assert capsys.readouterr().err == (
        "visionspec: error: disk/results: cannot be used as the results folder (Read-only file system; fix: the "
        "disk is mounted read-only: write to a folder on a writable disk)\n"
    )


def test_a_result_file_that_cannot_be_written_is_exit_2_even_without_a_tmpfs(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from allure_commons.logger import AllureFileLogger

    def disk_full(self: Any, item: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(AllureFileLogger, "_report_item", disk_full)
    assert main(["run", "--results", "results", EPOCH_10]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        "visionspec: error: results: the run could not write its results (No space left on device; fix: free "
        "space on that disk, or write to a folder on another disk)"
    )
    _no_traceback(captured.out + captured.err)


def test_an_uncaught_os_error_is_exit_2_with_the_file_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def disk_full(args: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "reports/summary.json")

    monkeypatch.setattr("visionspec.cli.run.run_command", disk_full)
    assert main(["run"]) == 2
    assert capsys.readouterr().err == ("visionspec: error: reports/summary.json: No space left on device; fix: free "
                                       "space on that disk, or write to a folder on another disk\n")


# --- 8. a prediction cache that cannot be written ------------------------------------------------------


def test_a_cache_that_cannot_be_written_is_a_warning_of_the_run(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "in-the-way").write_text("a file where the cache folder should be", encoding="utf-8")
    monkeypatch.setenv("VISIONSPEC_CACHE", str(project / "in-the-way" / "cache"))
    assert main(["run", "--results", "results", EPOCH_10]) == 0  # the verdicts stand
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("WARNING ")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"WARNING the prediction cache in {project / 'in-the-way' / 'cache'} "
                                  "could not be written (1 entry; ")
    assert warnings[0].endswith("the next run computes these predictions again; fix: free space or make the folder "
                                "writable, or point VISIONSPEC_CACHE at another folder")
    summary = json.loads((project / "results" / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"] == [warnings[0].removeprefix("WARNING ")]


# --- 7. watch keys what it judged by content ----------------------------------------------------------


def _watch(argv: list[str]) -> int:
    args = build_parser().parse_args(["watch", *argv])
    args.passthrough = []
    offset = [0.0]

    def sleep(seconds: float) -> None:
        offset[0] += seconds

    return watch_command(args, clock=lambda: time.time() + offset[0], sleep=sleep)


def _written_a_minute_ago(path: Path) -> None:
    os.utime(path, (time.time() - 60, time.time() - 60))


def test_watch_judges_again_a_checkpoint_it_judged_half_written(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drop = project / "drop"
    drop.mkdir()
    shutil.copy(project / CHECKPOINTS / ".." / "model.yaml", drop / "model.yaml")
    checkpoint = drop / "epoch-2.onnx"
    whole = (project / CHECKPOINTS / "epoch-2.onnx").read_bytes()
    checkpoint.write_bytes(whole[: len(whole) // 2])  # the writer paused longer than the settle time
    _written_a_minute_ago(checkpoint)
    argv = ["drop", "--settle", "2", "--once", "--results", "watched"]
    assert _watch(argv) == 2  # judged half-written: broken
    broken = _results(project / "watched" / "epoch-2")
    write_detector(checkpoint, *DETECTORS[1][1:])  # the writer finishes the file
    _written_a_minute_ago(checkpoint)
    assert _watch(argv) == 1  # judged again, now whole: it misses a goal
    record = json.loads((project / "watched" / "epoch-2" / "judged.json").read_text(encoding="utf-8"))
    assert record["sha256"] == file_sha256(checkpoint)
    trend = json.loads((project / "watched" / "trend.json").read_text(encoding="utf-8"))
    assert [(c["name"], c["exit_code"]) for c in trend["checkpoints"]] == [("epoch-2", 1)]
    assert not set(broken) & set(_results(project / "watched" / "epoch-2"))  # the broken run's results are gone
    assert [s["status"] for s in _summary(project / "watched" / "epoch-2")["scenarios"]] == ["missed", "missed"]
    capsys.readouterr()
    assert _watch(argv) == 0  # the same content: not judged a third time
    assert "visionspec watch: no checkpoint judged" in capsys.readouterr().out
    _written_a_minute_ago(checkpoint)  # a new modification time, the same bytes: still not judged again
    assert _watch(argv) == 0
