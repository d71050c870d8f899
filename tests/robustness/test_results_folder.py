"""The results folder (issue 11, cases 1, 2 and 4): only visionspec's own folders are used, only its own files
are cleaned, one run holds a folder at a time, and a folder that cannot be written is a ResultsError naming it."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from visionspec.errors import ResultsError
from visionspec.files import remove_stale_temporaries, write_problem, write_text_atomic
from visionspec.report.results_folder import LOCK_FILE, MARKER, claim, clean, held_results

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_or_empty_folder_is_marked_and_claimed_again(tmp_path: Path) -> None:
    new = claim(tmp_path / "new" / "results")
    assert (new / MARKER).is_file()
    (tmp_path / "empty").mkdir()
    assert (claim(tmp_path / "empty") / MARKER).is_file()
    (new / "notes.txt").write_text("mine", encoding="utf-8")
    assert claim(new) == new  # marked: the user's file beside the results does not matter


def test_a_folder_with_someone_elses_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("two years of work", encoding="utf-8")
    (tmp_path / "photos").mkdir()
    with pytest.raises(ResultsError) as caught:
        claim(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path}: not a visionspec results folder: it holds files visionspec did not write (photos, thesis.tex) "
        f"and no {MARKER} marker, and a run cleans its results folder; fix: give --results a new or empty folder "
        f"(visionspec creates it), or, if the folder holds only results of earlier runs, mark it with "
        f"`touch {tmp_path / MARKER}`"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photos", "thesis.tex"]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ResultsError, match="is a file, not a results folder"):
        claim(tmp_path / "file")


def test_cleaning_removes_only_what_visionspec_and_allure_write(tmp_path: Path) -> None:
    folder = claim(tmp_path / "results")
    own = ["0a-result.json", "0b-container.json", "0c-attachment.png", "0d-attachment.txt", "0e-globals.json",
           "summary.json", "environment.properties", "executor.json", "categories.json", "checkpoint.json",
           "judged.json", "0f-result.json.tmp", "0g-attachment.png.tmp", ".summary.json.x1y2.tmp"]
    mine = ["notes.txt", "result.json", "my-summary.json", "summary.json.bak", ".hidden", "x.tmp"]
    for name in own + mine:
        (folder / name).write_text("x", encoding="utf-8")
    (folder / "history").mkdir()
    (folder / "history" / "history.json").write_text("[]", encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "0h-result.json").write_text("x", encoding="utf-8")
    assert sorted(clean(folder)) == sorted([*own, "history"])
    assert sorted(path.name for path in folder.iterdir()) == sorted([*mine, MARKER, "data"])
    assert (folder / "data" / "0h-result.json").is_file()  # only the folder itself is cleaned


def _holder_script(folder: Path, hold_s: float, wait_s: float, tag: str, count: int) -> str:
    return textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from visionspec.report.results_folder import held_results
        from visionspec.errors import ResultsError
        try:
            with held_results(Path({str(folder)!r}), wait_s={wait_s}, on_wait=lambda line: print(line, flush=True)):
                print("holding", flush=True)
                for index in range({count}):
                    (Path({str(folder)!r}) / f"{tag}{{index:03d}}-result.json").write_text("{{}}")
                    time.sleep({hold_s} / {count})
        except ResultsError as err:
            print(f"refused: {{err}}", flush=True)
            sys.exit(2)
    """)


def _start(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def _wait_until_holding(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"


def test_a_second_process_waits_for_the_first_then_replaces_its_results_whole(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    first = _start(_holder_script(folder, hold_s=1.5, wait_s=60, tag="a", count=30))
    _wait_until_holding(first)
    second = _start(_holder_script(folder, hold_s=0.3, wait_s=60, tag="b", count=30))
    assert second.stdout is not None
    assert second.stdout.readline().strip() == f"waiting for the run that holds {folder}"
    assert first.wait(60) == 0
    assert second.stdout.readline().strip() == "holding"  # only once the first let go
    assert second.wait(60) == 0
    results = sorted(path.name for path in folder.glob("*-result.json"))
    assert results == [f"b{index:03d}-result.json" for index in range(30)]  # never a mix of two runs


def test_a_second_process_refuses_after_its_timeout(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    first = _start(_holder_script(folder, hold_s=4, wait_s=60, tag="a", count=4))
    _wait_until_holding(first)
    started = time.monotonic()
    second = _start(_holder_script(folder, hold_s=0, wait_s=0.5, tag="b", count=1))
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 2
    assert output.splitlines()[-1] == (
        f"refused: {folder}: another visionspec run still holds this results folder after 0.5 s; fix: let it "
        "finish (or stop it), give this run another --results folder, or wait longer (--lock-timeout)"
    )
    assert time.monotonic() - started < 3.5 and first.poll() is None  # it did not wait for the first to end
    assert first.wait(60) == 0
    assert sorted(path.name for path in folder.glob("*-result.json")) == [f"a{i:03d}-result.json" for i in range(4)]


def test_a_killed_holder_leaves_no_lock(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    first = _start(_holder_script(folder, hold_s=60, wait_s=60, tag="a", count=1))
    _wait_until_holding(first)
    first.kill()
    first.wait(60)
    with held_results(folder, wait_s=5):
        assert (folder / LOCK_FILE).is_file()
    assert not list(folder.glob("a*-result.json"))


def test_a_read_only_results_folder_is_a_results_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "touch", read_only)
    with pytest.raises(ResultsError) as caught:
        claim(tmp_path / "results")
    assert str(caught.value) == (f"{tmp_path / 'results'}: cannot be used as the results folder (Read-only file "
                                 "system; fix: the disk is mounted read-only: write to a folder on a writable disk)")


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    target = write_text_atomic(tmp_path / "summary.json", "old")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as caught:
        write_text_atomic(target, "new")
    assert write_problem(caught.value) == ("No space left on device; fix: free space on that disk, or write to a "
                                           "folder on another disk")
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["summary.json"]


def test_only_stale_temporaries_are_removed(tmp_path: Path) -> None:
    for name in (".ab.npz.1.tmp", ".cd.npz.2.tmp", "ef.npz", "notes.tmp"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    hour_ago = time.time() - 3600
    for name in (".ab.npz.1.tmp", "notes.tmp"):
        os.utime(tmp_path / name, (hour_ago, hour_ago))
    assert remove_stale_temporaries(tmp_path) == [tmp_path / ".ab.npz.1.tmp"]  # the young one may be in use
    assert sorted(path.name for path in tmp_path.iterdir()) == [".cd.npz.2.tmp", "ef.npz", "notes.tmp"]
