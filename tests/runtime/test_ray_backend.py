"""The Ray backend against a local Ray runtime: the local backend's predictions bit for bit, the same cache
entry, and workers that refuse to run under another setup than the cache key names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from runtime_models import FolderDataset, bsl_plan, build_model, detector_card, picture_dataset, write_card

from visionspec.errors import DatasetError, InferenceError
from visionspec.runtime import BatchSettings, Device, ModelSession, PredictionCache, open_model, ray_backend
from visionspec.runtime.backend import LocalBackend, make_backend
from visionspec.runtime.inference import detections_cache_key
from visionspec.runtime.ray_backend import RayBackend

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 8 rows: several blocks, batches and both workers on a small data set."""
    monkeypatch.setattr(ray_backend, "BLOCK_ROWS", 8)


def detector(folder: Path) -> ModelSession:
    # three slots whose boxes and scores move with the picture's brightness (and one below the floor)
    boxes = [[0, 0, 24, 16], [4, 2, 40, 30], [10, 10, 20, 20]]
    plan = bsl_plan(boxes, [0.1, 0.5, -0.2], [0, 1, 0], score_coefficient=0.4)
    plan.outputs[0].coefficient = np.array([[3.0, 1.0, -2.0, 5.0]] * 3, np.float32)
    write_card(folder, detector_card())
    return open_model(build_model(plan, folder / "model.onnx"), device=Device.CPU, threads=1)


def pictures(folder: Path, count: int = 37) -> FolderDataset:
    sizes = [(40 + 3 * i, 20 + (7 * i) % 50) for i in range(count)]
    return picture_dataset(folder, sizes, [(53 * i) % 256 for i in range(count)], ids=range(500, 500 - count, -1))


def arrays(found: Any) -> dict[str, Any]:
    return {name: np.asarray(value) for name, value in found.to_arrays().items()}


def test_ray_predictions_are_the_local_backends_bit_for_bit(tmp_path: Path, ray_runtime: None,
                                                           small_blocks: None) -> None:
    session = detector(tmp_path / "model")
    dataset = pictures(tmp_path / "pictures")
    local = arrays(LocalBackend(BatchSettings(4, 0)).detect(session, dataset))
    remote = arrays(RayBackend(device=Device.CPU, workers=2, batch_size=4).detect(session, dataset))
    assert 37 < len(local["scores"]) < 3 * 37  # both real slots on most pictures, the negative one never
    assert local.keys() == remote.keys()
    for name, value in local.items():
        assert value.dtype == remote[name].dtype, name
        assert value.tobytes() == remote[name].tobytes(), name


def test_ray_fills_the_cache_entry_the_local_backend_reads(tmp_path: Path, ray_runtime: None) -> None:
    session = detector(tmp_path / "model")
    dataset = pictures(tmp_path / "pictures", 12)
    filled = PredictionCache(tmp_path / "cache")
    remote = make_backend("ray", device=Device.CPU).detect(session, dataset, cache=filled)
    assert filled.stats.misses == 1
    key = detections_cache_key(session, dataset)  # the local key: same provider (CPU) here
    assert list((tmp_path / "cache").glob("*.npz")) == [tmp_path / "cache" / f"{key}.npz"]
    reader = PredictionCache(tmp_path / "cache")
    local = LocalBackend().detect(session, dataset, cache=reader)
    assert (reader.stats.misses, reader.stats.disk_hits) == (0, 1)
    assert arrays(local).keys() == arrays(remote).keys()
    for name, value in arrays(remote).items():
        assert value.tobytes() == arrays(local)[name].tobytes(), name


def test_a_worker_with_another_onnxruntime_is_an_inference_error(tmp_path: Path, ray_runtime: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    session = detector(tmp_path / "model")
    dataset = pictures(tmp_path / "pictures", 3)
    real = ort.__version__
    monkeypatch.setattr(ort, "__version__", "0.0.1")  # the driver's key names another version than the workers run
    with pytest.raises(InferenceError) as caught:
        RayBackend(device=Device.CPU, workers=1).detect(session, dataset)
    message = str(caught.value)
    assert f"onnxruntime {real!r}, the driver's '0.0.1'" in message
    assert "install the same onnxruntime build on every node" in message


def test_an_unreadable_picture_on_a_worker_is_the_local_dataset_error(tmp_path: Path, ray_runtime: None) -> None:
    session = detector(tmp_path / "model")
    dataset = pictures(tmp_path / "pictures", 3)
    dataset.image_path(1).write_bytes(b"not a picture")
    with pytest.raises(DatasetError) as remote:
        RayBackend(device=Device.CPU, workers=1).detect(session, dataset)
    with pytest.raises(DatasetError) as local:
        LocalBackend().detect(session, dataset)
    assert str(remote.value) == str(local.value)
