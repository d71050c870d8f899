"""Reading a COCO results file: every bad entry is an EvaluationError naming the entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from visionspec.detections import Detections
from visionspec.errors import EvaluationError

GOOD = {"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4.5], "score": 0.5}
FIX = 'fix: each entry must be {"image_id": int, "category_id": int, "bbox": [x, y, w, h], "score": number}'


def test_reads_entries_in_order() -> None:
    entries = [GOOD, {**GOOD, "image_id": 3, "score": 0.25, "segmentation": [], "id": 9}]
    detections = Detections.from_coco_results(entries, image_ids=[1, 3], category_ids=[2])
    assert detections.image_ids.tolist() == [1, 3]
    assert detections.boxes.tolist() == [[1, 2, 3, 4.5], [1, 2, 3, 4.5]]
    assert detections.scores.tolist() == [0.5, 0.25]
    assert Detections.from_coco_results([]).boxes.shape == (0, 4)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([1, 2], "results: entry 1 is a list, not an object; " + FIX),
        ({"image_id": 1, "bbox": [0, 0, 1, 1]}, "results: entry 1 has no 'category_id', 'score'; " + FIX),
        ({**GOOD, "image_id": "1"}, "results: entry 1: image_id must be an integer, got '1'; " + FIX),
        ({**GOOD, "category_id": True}, "results: entry 1: category_id must be an integer, got True; " + FIX),
        ({**GOOD, "bbox": [0, 0, 1]}, "results: entry 1: bbox must be 4 finite numbers [x, y, w, h], "
         "got [0, 0, 1]; " + FIX),
        ({**GOOD, "bbox": [0, 0, float("nan"), 1]}, "results: entry 1: bbox must be 4 finite numbers [x, y, w, h], "
         "got [0, 0, nan, 1]; " + FIX),
        ({**GOOD, "bbox": [0, 0, -1, 1]}, "results: entry 1: bbox [0, 0, -1, 1] has a negative width or height; "
         "fix: write [x, y, w, h]"),
        ({**GOOD, "score": None}, "results: entry 1: score must be a finite number, got None; " + FIX),
    ],
)
def test_bad_entry_is_named(entry: Any, message: str) -> None:
    with pytest.raises(EvaluationError) as caught:
        Detections.from_coco_results([GOOD, entry])
    assert str(caught.value) == message


def test_not_a_list() -> None:
    with pytest.raises(EvaluationError, match=r"^results: a COCO results file is a JSON list, got dict"):
        Detections.from_coco_results({"annotations": []})


def test_unknown_image_and_category_are_named() -> None:
    entries = [GOOD, {**GOOD, "image_id": 7}, {**GOOD, "image_id": 8}]
    with pytest.raises(EvaluationError) as caught:
        Detections.from_coco_results(entries, image_ids=[1], category_ids=[2], source="r.json")
    assert str(caught.value) == (
        "r.json: entry 1 has image_id 7, which is not an image of the ground truth (and 1 more entries); "
        "fix: evaluate the results against the annotation file they were predicted for"
    )
    with pytest.raises(EvaluationError, match=r"^r.json: entry 0 has category_id 2, which is not a category"):
        Detections.from_coco_results(entries, category_ids=[1], source="r.json")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(EvaluationError, match=r"missing.json: results file cannot be read"):
        Detections.read_coco_results(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"broken.json: results file is not valid JSON"):
        Detections.read_coco_results(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps([GOOD]), encoding="utf-8")
    assert len(Detections.read_coco_results(good, image_ids=[1], category_ids=[2])) == 1


def test_round_trip_with_to_coco_results() -> None:
    detections = Detections.build([1, 2], [3, 4], [[0.5, 1, 2, 3], [4, 5, 6, 7]], [0.1, 0.9])
    again = Detections.from_coco_results(json.loads(json.dumps(detections.to_coco_results())))
    assert again.boxes.tolist() == detections.boxes.tolist()
    assert again.scores.tolist() == detections.scores.tolist()
