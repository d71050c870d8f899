"""The prediction cache: hits and misses, keys that change with everything that changes a prediction,
damaged files recomputed, atomic writes under concurrent runs."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_models import bsl_plan, build_model, detector_card, picture_dataset, write_card

from visionspec.runtime import BatchSettings, Device, ModelSession, PredictionCache, detect, open_model
from visionspec.runtime.cache import CACHE_ENV, FORMAT_VERSION, cache_key, payload_checksum
from visionspec.runtime.inference import detections_cache_key

SERIAL = BatchSettings(2, 0)


def detector(folder: Path, score: float = 0.5, **card: Any) -> ModelSession:
    write_card(folder, detector_card(**card))
    model = build_model(bsl_plan([[0, 0, 24, 16]], [score], [0]), folder / "model.onnx")
    return open_model(model, device=Device.CPU, threads=1)


def test_memory_hit_then_disk_hit_without_reading_any_image(tmp_path: Path) -> None:
    session = detector(tmp_path / "model")
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32), (96, 64)], [1, 2])
    cache = PredictionCache(tmp_path / "cache")
    first = detect(session, dataset, settings=SERIAL, cache=cache)
    second = detect(session, dataset, settings=SERIAL, cache=cache)
    assert (cache.stats.misses, cache.stats.memory_hits, cache.stats.disk_hits) == (1, 1, 0)
    key = detections_cache_key(session, dataset)
    assert list((tmp_path / "cache").iterdir()) == [tmp_path / "cache" / f"{key}.npz"]
    for path in (tmp_path / "pictures").iterdir():
        path.unlink()  # a disk hit must not need the pictures
    fresh = PredictionCache(tmp_path / "cache")
    third = detect(session, dataset, settings=SERIAL, cache=fresh)
    assert (fresh.stats.misses, fresh.stats.disk_hits) == (0, 1)
    for result in (second, third):
        assert result.boxes.tolist() == first.boxes.tolist()
        assert result.image_ids.tolist() == first.image_ids.tolist()
        assert result.classes == first.classes and result.provider == first.provider
    assert not third.boxes.flags.writeable


def test_the_key_changes_with_the_model_file_the_settings_and_the_data(tmp_path: Path) -> None:
    dataset = picture_dataset(tmp_path / "pictures", [(48, 32)], [1])
    base = detections_cache_key(detector(tmp_path / "a"), dataset)
    assert detections_cache_key(detector(tmp_path / "same"), dataset) == base  # same bytes, same card
    assert detections_cache_key(detector(tmp_path / "b", score=0.6), dataset) != base  # another checkpoint
    assert detections_cache_key(detector(tmp_path / "c", input={"resize": "letterbox"}), dataset) != base
    assert detections_cache_key(detector(tmp_path / "d", output={"label_offset": 0, "coordinates": "normalized"}),
                                dataset) != base
    assert detections_cache_key(detector(tmp_path / "e", classes=["balloon", "kite"]), dataset) != base
    other = picture_dataset(tmp_path / "other", [(48, 32)], [2])
    assert detections_cache_key(detector(tmp_path / "a"), other) != base
    assert cache_key({"a": 1}) != cache_key({"a": 2})


def entry(cache: PredictionCache, key: str) -> Path:
    path = cache.path_for(key)
    assert path is not None
    return path


@pytest.mark.parametrize("damage", ["truncate", "flip-payload-byte", "garbage", "empty", "old-format"])
def test_a_damaged_file_is_detected_deleted_and_recomputed(tmp_path: Path, damage: str) -> None:
    payload = {"boxes": np.arange(4000, dtype=np.float64).reshape(-1, 4), "names": np.array(["a", "b"])}
    PredictionCache(tmp_path).get_or_compute("k", lambda: payload)
    path = entry(PredictionCache(tmp_path), "k")
    content = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(content[: len(content) // 2]))
    elif damage == "flip-payload-byte":
        offset = bytes(content).index(np.arange(4000, dtype=np.float64)[1000:1001].tobytes())
        content[offset] ^= 0x01  # the archive still loads: only the checksum can tell
        path.write_bytes(bytes(content))
    elif damage == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        arrays = {**payload, "__checksum__": np.array(payload_checksum(payload)),
                  "__format__": np.array(FORMAT_VERSION - 1)}
        with path.open("wb") as stream:
            np.savez(stream, **arrays)  # type: ignore[arg-type]
    cache = PredictionCache(tmp_path)
    computed: list[int] = []
    result = cache.get_or_compute("k", lambda: computed.append(1) or payload)
    assert computed == [1]
    assert (cache.stats.damaged, cache.stats.misses, cache.stats.disk_hits) == (1, 1, 0)
    np.testing.assert_array_equal(result["boxes"], payload["boxes"])
    again = PredictionCache(tmp_path)
    again.get_or_compute("k", lambda: pytest.fail("the rewritten file must be trusted"))
    assert again.stats.disk_hits == 1


def test_threads_asking_for_the_same_key_compute_once(tmp_path: Path) -> None:
    cache = PredictionCache(tmp_path)
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> dict[str, Any]:
        gate.wait(5)
        calls.append(1)
        return {"x": np.arange(10)}

    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", compute))) for _ in range(6)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert [r["x"].tolist() for r in results] == [list(range(10))] * 6


WRITER = """
import sys
import numpy as np
from visionspec.runtime.cache import PredictionCache

folder, label, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for round_ in range(rounds):
    value = label * 1000 + round_
    # a fresh in-memory cache each round, so that every round writes the file again
    PredictionCache(folder)._store("shared", {"value": np.full(50_000, value, dtype=np.int64)})
"""


def test_two_processes_writing_the_same_key_never_leave_a_damaged_file(tmp_path: Path) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(label), "40"])
               for label in (1, 2)]
    reads = 0
    while any(writer.poll() is None for writer in writers):
        cache = PredictionCache(tmp_path)
        loaded = cache._load("shared")
        assert cache.stats.damaged == 0, "a reader saw a partial or mixed file"
        if loaded is not None:
            values = loaded["value"]
            assert values.shape == (50_000,) and (values == values[0]).all()
            reads += 1
    assert [writer.returncode for writer in writers] == [0, 0]
    final = PredictionCache(tmp_path)._load("shared")
    assert final is not None and int(final["value"][0]) // 1000 in (1, 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shared.npz"]  # no temporary files left
    assert reads > 0


def test_an_unwritable_cache_folder_does_not_fail_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    cache = PredictionCache(blocker)
    result = cache.get_or_compute("k", lambda: {"x": np.arange(3)})
    assert result["x"].tolist() == [0, 1, 2]
    assert len(cache.stats.write_errors) == 1 and cache.stats.write_errors[0].startswith(f"{blocker / 'k.npz'}: ")


def test_the_cache_folder_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere"))
    assert PredictionCache.from_environment().folder == tmp_path / "elsewhere"
    monkeypatch.delenv(CACHE_ENV)
    assert PredictionCache.from_environment(tmp_path).folder == tmp_path / ".visionspec-cache"
    assert PredictionCache(None).path_for("k") is None
