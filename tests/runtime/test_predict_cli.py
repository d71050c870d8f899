"""``visionspec predict`` end to end on a tiny data set written in tmp_path with the data set writer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from runtime_models import bsl_plan, build_model, detector_card, write_card

from visionspec.cli import main
from visionspec.datasets import spec_from_dict, write_dataset

SIZES = [(96, 64), (48, 32), (24, 16)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with ``datasets/tiny`` and ``models/det``; the cache goes to its .visionspec-cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VISIONSPEC_CACHE", raising=False)
    monkeypatch.delenv("VISIONSPEC_DATASETS", raising=False)
    folder = tmp_path / "datasets" / "tiny"
    (folder / "images").mkdir(parents=True)
    images = []
    for index, (width, height) in enumerate(SIZES):
        Image.new("RGB", (width, height), (40 * index, 90, 200)).save(folder / "images" / f"{index}.png")
        images.append({"id": index + 1, "file_name": f"{index}.png", "width": width, "height": height})
    coco = {"images": images, "categories": [{"id": 5, "name": "balloon"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 5, "bbox": [0, 0, 48, 32]}]}
    spec = spec_from_dict({"id": "tiny", "title": "Tiny", "description": "test",
                           "source": {"kind": "coco", "path": "made-up.json"}, "classes": ["balloon"]}, source="test")
    write_dataset(folder, spec, coco, expect_as_found=True)
    write_card(tmp_path / "models" / "det", detector_card())
    (tmp_path / "models" / "det" / "checkpoints").mkdir()
    plan = bsl_plan([[0, 0, 24, 16], [24, 16, 48, 32]], [0.9, 0.3], [0, 1])
    build_model(plan, tmp_path / "models" / "det" / "checkpoints" / "epoch-01.onnx")
    return tmp_path


def predict_args(*extra: str) -> list[str]:
    return ["predict", "--model", "models/det/checkpoints/epoch-01.onnx", "--dataset", "tiny",
            "--out", "out/results.json", "--device", "cpu", "--threads", "1", *extra]


def test_predict_writes_a_coco_results_file_then_reuses_the_cache(project: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(predict_args("--batch", "2")) == 0
    results = json.loads((project / "out" / "results.json").read_text(encoding="utf-8"))
    # class 1 ("ball") is not in the data set: only the balloon box, on each image, in original pixels
    assert [(r["image_id"], r["category_id"], r["bbox"]) for r in results] == [
        (1, 5, [0.0, 0.0, 48.0, 32.0]), (2, 5, [0.0, 0.0, 24.0, 16.0]), (3, 5, [0.0, 0.0, 12.0, 8.0])]
    np.testing.assert_allclose([r["score"] for r in results], [0.9] * 3, atol=1e-6)
    first = capsys.readouterr().out
    assert first.startswith("3 detections on 3 images of data set tiny (computed in ")
    assert first.endswith("CPUExecutionProvider) written to out/results.json\n")
    assert len(list((project / ".visionspec-cache").glob("*.npz"))) == 1
    (project / "out" / "results.json").unlink()
    assert main(predict_args()) == 0
    assert capsys.readouterr().out == ("3 detections on 3 images of data set tiny (from the prediction cache, "
                                       "CPUExecutionProvider) written to out/results.json\n")
    assert json.loads((project / "out" / "results.json").read_text(encoding="utf-8")) == results


def test_no_cache_leaves_no_cache_folder(project: Path) -> None:
    assert main(predict_args("--no-cache")) == 0
    assert not (project / ".visionspec-cache").exists()


def test_cuda_without_cuda_exits_2_with_the_reason(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers() and Path("/dev/nvidia0").exists():
        pytest.skip("a GPU may be present")
    args = predict_args()
    args[args.index("cpu")] = "cuda"
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("visionspec: error: CUDA was requested but ")
    assert not (project / "out" / "results.json").exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["--dataset", "nope"], "visionspec: error: "),
        (["--model", "models/det/checkpoints/missing.onnx"],
         "visionspec: error: models/det/checkpoints/missing.onnx: no such model file"),
        (["--card", "elsewhere.yaml"], "visionspec: error: elsewhere.yaml: cannot read the model card"),
    ],
)
def test_bad_inputs_exit_2(project: Path, capsys: pytest.CaptureFixture[str], change: list[str],
                           expected: str) -> None:
    args = predict_args()
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += change
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(expected)


def test_unwritable_output_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "out").write_text("a file, not a folder", encoding="utf-8")
    assert main(predict_args()) == 2
    assert capsys.readouterr().err.startswith("visionspec: error: out/results.json: cannot write the results file")


def test_the_results_writer_gives_exactly_what_json_would_chunk_by_chunk() -> None:
    from visionspec.detections import Detections

    rng = np.random.default_rng(3)
    boxes = rng.uniform(0, 500, size=(300, 4)) * rng.choice([1e-7, 1.0, 1e6], size=(300, 1))
    boxes[0] = [0.0, -0.0, 1e-5, 123456789.125]
    scores = rng.uniform(0, 1, 300).astype(np.float32).astype(np.float64)
    detections = Detections.build(rng.integers(0, 2**40, 300), rng.integers(0, 90, 300), boxes, scores)
    expected = json.dumps(detections.to_coco_results(), separators=(",", ":")).encode()
    for rows_per_chunk in (1, 7, 300, 16384):
        stream = io.BytesIO()
        detections.write_coco_results(stream, rows_per_chunk=rows_per_chunk)
        assert stream.getvalue() == expected, rows_per_chunk
    assert json.loads(expected) == detections.to_coco_results()
    empty = io.BytesIO()
    Detections.empty().write_coco_results(empty)
    assert empty.getvalue() == b"[]"


def test_min_score_leaves_out_the_weakest(project: Path) -> None:
    assert main(predict_args("--min-score", "0.5")) == 0
    results = json.loads((project / "out" / "results.json").read_text(encoding="utf-8"))
    assert len(results) == 3 and min(r["score"] for r in results) > 0.5
    assert main(predict_args("--min-score", "0.95")) == 0
    assert json.loads((project / "out" / "results.json").read_text(encoding="utf-8")) == []


def test_an_unknown_backend_from_the_environment_exits_2(project: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIONSPEC_BACKEND", "spark")
    assert main(predict_args()) == 2
    assert capsys.readouterr().err == (
        "visionspec: error: unknown inference backend 'spark' (from --backend, visionspec_backend or "
        "VISIONSPEC_BACKEND); fix: use one of local, ray\n")
    assert main(predict_args("--backend", "local")) == 0  # the option wins over the environment
