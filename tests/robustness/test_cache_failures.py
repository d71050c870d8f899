"""The prediction cache on a bad disk (issue 11, cases 4 and 8): a failed write keeps the result, leaves no
temporary file and is worded for the run; temporary files of a killed run are removed when a cache opens; the
key holds the execution provider actually used."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import numpy as np
import pytest
from tests.runtime.runtime_models import bsl_plan, build_model, detector_card, picture_dataset, write_card

from visionspec.runtime import BatchSettings, Device, detect, open_model
from visionspec.runtime.cache import PredictionCache


def test_a_full_disk_keeps_the_result_in_memory_and_says_what_to_fix(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    cache = PredictionCache(tmp_path)
    assert cache.write_warning() is None
    assert cache.get_or_compute("k", lambda: {"x": np.arange(3)})["x"].tolist() == [0, 1, 2]
    assert list(tmp_path.iterdir()) == []  # no entry, and no temporary file left behind
    assert cache.write_warning() == (
        f"the prediction cache in {tmp_path} could not be written (1 entry; {tmp_path / 'k.npz'}: No space left on "
        "device): the verdicts stand, but the next run computes these predictions again; fix: free space or make "
        "the folder writable, or point VISIONSPEC_CACHE at another folder"
    )


def test_opening_a_cache_removes_the_temporary_files_of_a_killed_run(tmp_path: Path) -> None:
    orphan, live = tmp_path / ".ab12.npz.k1x9.tmp", tmp_path / ".cd34.npz.q8z7.tmp"
    for path in (orphan, live):
        path.write_bytes(b"half an entry")
    hour_ago = time.time() - 3600
    os.utime(orphan, (hour_ago, hour_ago))
    PredictionCache(tmp_path).get_or_compute("k", lambda: {"x": np.arange(2)})
    assert sorted(path.name for path in tmp_path.iterdir()) == [live.name, "k.npz"]


def test_predictions_cached_on_one_execution_provider_are_not_served_to_another(tmp_path: Path) -> None:
    write_card(tmp_path / "model", detector_card())
    model = build_model(bsl_plan([[0, 0, 24, 16]], [0.5], [0]), tmp_path / "model" / "model.onnx")
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)], [1])
    session = open_model(model, device=Device.CPU, threads=1)
    gpu_filled = PredictionCache(tmp_path / "cache")
    session.provider = "CUDAExecutionProvider"  # as a run on a GPU machine records it
    detect(session, dataset, settings=BatchSettings(1, 0), cache=gpu_filled)
    session.provider = "CPUExecutionProvider"
    cpu_run = PredictionCache(tmp_path / "cache")
    detect(session, dataset, settings=BatchSettings(1, 0), cache=cpu_run)
    assert (cpu_run.stats.disk_hits, cpu_run.stats.misses) == (0, 1)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2
