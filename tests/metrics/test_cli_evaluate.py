"""``visionspec evaluate`` on files: its JSON agrees with pycocotools run on the same files."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycoco_reference import coco_dicts, per_class_ap, random_problem

from visionspec.cli import main

NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    ground_truth, results = coco_dicts(random_problem(21), id_shift=1)  # ids >= 1: the same files suit pycocotools
    gt_path, results_path = tmp_path / "instances.json", tmp_path / "results.json"
    gt_path.write_text(json.dumps(ground_truth), encoding="utf-8")
    results_path.write_text(json.dumps(results), encoding="utf-8")
    return gt_path, results_path


def _pycocotools_on_files(gt_path: Path, results_path: Path):  # type: ignore[no-untyped-def]
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(str(results_path)), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def test_json_agrees_with_pycocotools(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, results_path = files
    code = main(["evaluate", "--ground-truth", str(gt_path), "--predictions", str(results_path),
                 "--score", "0.4", "--iou", "0.5", "--json"])
    report = json.loads(capsys.readouterr().out)
    reference = _pycocotools_on_files(gt_path, results_path)

    assert code == 0
    assert list(report["coco"]) == list(NAMES)
    stats = [-1.0 if report["coco"][name] is None else report["coco"][name] for name in NAMES]
    np.testing.assert_allclose(stats, reference.stats, rtol=0, atol=1e-12)
    per_class = [-1.0 if entry["AP"] is None else entry["AP"] for entry in report["per_class"].values()]
    np.testing.assert_allclose(per_class, per_class_ap(reference.eval["precision"]), rtol=0, atol=1e-12)
    assert report["per_class"]["class41"] == {"category_id": 41, "AP": None, "AP50": None, "AP75": None}
    at = report["at_threshold"]
    assert (at["score"], at["iou"]) == (0.4, 0.5)
    assert at["tp"] > 0 and at["fp"] > 0 and at["fn"] > 0
    assert at["precision"] == at["tp"] / (at["tp"] + at["fp"])
    assert at["recall"] == at["tp"] / (at["tp"] + at["fn"])
    assert sum(entry["tp"] for entry in at["per_class"].values()) == at["tp"]


def test_readable_table(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, results_path = files
    assert main(["evaluate", "--ground-truth", str(gt_path), "--predictions", str(results_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{gt_path}: 40 images, 5 classes, 186 objects; 416 detections"
    assert lines[5].split() == ["AP75", "0.046"]
    assert lines[16] == "per class; counts at score >= 0.5 and IoU >= 0.5"
    assert lines[22].split() == ["class41", "n/a", "n/a", "0", "12", "0", "0.000", "n/a", "0.000"]
    assert lines[23].split()[:6] == ["all", "0.107", "0.278", "62", "147", "110"]
    assert lines[-2] == "recall    62 of 172 (36.0%, 95% CI 29.2-43.5%)"
    assert lines[-1] == "score threshold 0.5: the default 0.5 (give --card or --model to use the model card's)"


def test_bad_results_file_exits_2_naming_the_entry(files: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1]}]), encoding="utf-8")
    assert main(["evaluate", "--ground-truth", str(gt_path), "--predictions", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"visionspec: error: {bad}: entry 0 has no 'score'; fix: each entry must be "
        '{"image_id": int, "category_id": int, "bbox": [x, y, w, h], "score": number}'
    )


def test_bad_iou_option_is_refused(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, results_path = files
    with pytest.raises(SystemExit) as caught:
        main(["evaluate", "--ground-truth", str(gt_path), "--predictions", str(results_path), "--iou", "1.5"])
    assert caught.value.code == 2
    assert "an IoU threshold is in (0, 1], got '1.5'" in capsys.readouterr().err


def test_the_model_cards_threshold_is_used_and_named(files: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    gt_path, results_path = files
    card = tmp_path / "models" / "det" / "model.yaml"
    card.parent.mkdir(parents=True)
    card.write_text("name: det\ntask: detection\nclasses: [a]\ninput: {name: images, size: [64, 64]}\n"
                    "output: {adapter: boxes_scores_labels}\nscore_threshold: 0.3\n", encoding="utf-8")
    base = ["evaluate", "--ground-truth", str(gt_path), "--predictions", str(results_path)]
    sources = []
    for extra in (["--card", str(card)], ["--model", str(card.parent / "checkpoints" / "epoch-1.onnx")], [],
                  ["--card", str(card), "--score", "0.4"]):
        assert main([*base, *extra, "--json"]) == 0
        at = json.loads(capsys.readouterr().out)["at_threshold"]
        sources.append((at["score"], at["score_source"]))
    assert sources == [
        (0.3, f"the model card's score_threshold ({card})"), (0.3, f"the model card's score_threshold ({card})"),
        (0.5, "the default 0.5 (give --card or --model to use the model card's)"), (0.4, "given with --score"),
    ]
    assert main([*base, "--card", str(card)]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == (
        f"score threshold 0.3: the model card's score_threshold ({card})")
