"""``read_coco``: every bad annotation file is a DatasetError naming the file, the item and the fix."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasets_testkit import COLOURS, tiny_coco, write_coco

from visionspec.datasets import BOX_TOLERANCE_PX, read_coco
from visionspec.errors import DatasetError

DECLARED = {"colour": COLOURS}


def _read(tmp_path: Path, coco: dict[str, Any], **kwargs: Any) -> Any:
    return read_coco(write_coco(tmp_path / "annotations.json", coco), **kwargs)


def _refused(tmp_path: Path, coco: dict[str, Any], *parts: str) -> str:
    """Assert that reading ``coco`` fails with a message naming the file and each of ``parts``."""
    path = tmp_path / "annotations.json"
    with pytest.raises(DatasetError) as caught:
        read_coco(write_coco(path, coco), declared_attributes=DECLARED)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for part in parts:
        assert part in message, message
    assert "fix:" in message
    return message


def test_valid_file_loads_into_typed_read_only_columns(tmp_path: Path) -> None:
    coco = _read(tmp_path, tiny_coco(), declared_attributes=DECLARED)
    assert coco.images.ids.tolist() == [1, 2, 3, 4]
    assert coco.images.file_names == ("img0.png", "img1.png", "img2.png", "img3.png")
    assert coco.images.sha256 == ("", "", "", "")
    assert [c.name for c in coco.categories] == ["balloon"]
    assert coco.annotations.boxes.tolist() == [[1, 2, 10, 5], [12, 2, 8, 8], [0.5, 0, 31.5, 24]]
    assert coco.annotations.areas.tolist() == [50.0, 64.0, 756.0]
    assert coco.annotations.iscrowd.tolist() == [False, False, False]
    assert coco.annotations.attributes["colour"].tolist() == ["red", "green", "blue"]
    assert len(coco.sha256) == 64
    with pytest.raises(ValueError, match="read-only"):
        coco.annotations.boxes[0, 0] = 5


def test_image_attributes_become_columns(tmp_path: Path) -> None:
    data = tiny_coco()
    data["images"][1]["attributes"] = {"scene": "sunset", "lookalikes": "red-ball,sun"}
    coco = _read(tmp_path, data)
    assert coco.image_attributes["scene"].tolist() == ["", "sunset", "", ""]
    assert coco.image_attributes["lookalikes"].tolist() == ["", "red-ball,sun", "", ""]


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "annotations.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"annotations.json: not valid JSON \(.*line 1 column 2"):
        read_coco(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nowhere.json: annotation file not found; fix:"):
        read_coco(tmp_path / "nowhere.json")


def test_missing_section(tmp_path: Path) -> None:
    data = tiny_coco()
    del data["categories"]
    _refused(tmp_path, data, "the top-level key 'categories' is missing", 'add "categories": [...]')


def test_section_of_wrong_type(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"] = {"id": 1}
    _refused(tmp_path, data, "'annotations' must be a list, got dict")


def test_item_that_is_not_an_object(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["images"][2] = [3, "img2.png"]
    _refused(tmp_path, data, "images[2] is list, not an object")


def test_annotation_missing_bbox(tmp_path: Path) -> None:
    data = tiny_coco()
    del data["annotations"][1]["bbox"]
    _refused(tmp_path, data, "annotations[1] (id 2) has no 'bbox'", "[x, y, width, height]")


def test_image_missing_width(tmp_path: Path) -> None:
    data = tiny_coco()
    del data["images"][3]["width"]
    _refused(tmp_path, data, "images[3] (id 4, file_name 'img3.png') has no 'width'")


def test_id_of_wrong_type(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][2]["image_id"] = "2"
    _refused(tmp_path, data, "annotations[2] (id 3) has 'image_id' '2' of type str, not int")


def test_bool_is_not_an_id(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["categories"][0]["id"] = True
    _refused(tmp_path, data, "categories[0] has 'id' True of type bool, not int")


def test_bbox_of_wrong_type(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][0]["bbox"] = ["1", "2", "10", "5"]
    _refused(tmp_path, data, "annotations[0] (id 1) has bbox ['1', '2', '10', '5'], not four numbers")


def test_bbox_with_three_numbers(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][1]["bbox"] = [1, 2, 10]
    _refused(tmp_path, data, "annotations[1] (id 2) has bbox [1, 2, 10], not four numbers")


def test_bbox_with_nan(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][1]["bbox"] = [1, 2, float("nan"), 3]
    _refused(tmp_path, data, "annotations[1] (id 2) has bbox [1, 2, nan, 3] with a non-finite number")


@pytest.mark.parametrize("bbox", [[1, 2, 0, 5], [1, 2, 10, -1]])
def test_bbox_without_size(tmp_path: Path, bbox: list[int]) -> None:
    data = tiny_coco()
    data["annotations"][2]["bbox"] = bbox
    _refused(tmp_path, data, f"annotations[2] (id 3) has bbox {[float(v) for v in bbox]} with zero or negative width",
             "give width and height > 0")


@pytest.mark.parametrize("bbox", [[-1.5, 0, 5, 5], [0, -2, 5, 5], [25, 0, 8.5, 5], [0, 20, 5, 5.01]])
def test_bbox_outside_the_image(tmp_path: Path, bbox: list[float]) -> None:
    data = tiny_coco()
    data["annotations"][0]["bbox"] = bbox
    _refused(tmp_path, data, f"annotations[0] (id 1) has bbox {[float(v) for v in bbox]} outside its 32x24 image",
             "up to 1 px over the edge is accepted")


def test_bbox_within_the_tolerance_is_kept_as_written(tmp_path: Path) -> None:
    assert BOX_TOLERANCE_PX == 1.0
    data = tiny_coco()
    data["annotations"][0]["bbox"] = [-1, -1, 34, 26]  # 1 px over every edge
    assert _read(tmp_path, data).annotations.boxes[0].tolist() == [-1, -1, 34, 26]


def test_many_bad_boxes_are_counted(tmp_path: Path) -> None:
    data = tiny_coco()
    for annotation in data["annotations"]:
        annotation["bbox"] = [0, 0, 0, 0]
    _refused(tmp_path, data, "annotations[0] (id 1)", "(and 2 more annotations with the same problem)")


def test_unknown_category_id(tmp_path: Path) -> None:
    data = tiny_coco()
    data["annotations"][1]["category_id"] = 7
    _refused(tmp_path, data, "annotations[1] (id 2) has category_id 7 that does not exist", "under 'categories'")


def test_unknown_image_id(tmp_path: Path) -> None:
    data = tiny_coco()
    data["annotations"][2]["image_id"] = 99
    _refused(tmp_path, data, "annotations[2] (id 3) has image_id 99 that does not exist")


def test_duplicate_image_ids(tmp_path: Path) -> None:
    data = tiny_coco()
    data["images"][3]["id"] = 2
    _refused(tmp_path, data, "images[3] (id 2, file_name 'img3.png') repeats id 2 of an earlier item",
             "give every item of 'images' its own id")


def test_duplicate_annotation_ids(tmp_path: Path) -> None:
    data = tiny_coco()
    data["annotations"][2]["id"] = 1
    _refused(tmp_path, data, "annotations[2] (id 1) repeats id 1")


def test_duplicate_category_names(tmp_path: Path) -> None:
    data = tiny_coco()
    data["categories"].append({"id": 2, "name": "balloon"})
    _refused(tmp_path, data, "categories[1] (id 2) repeats name 'balloon' of categories[0]")


def test_duplicate_file_names(tmp_path: Path) -> None:
    data = tiny_coco()
    data["images"][2]["file_name"] = "img0.png"
    _refused(tmp_path, data, "images[2] (id 3, file_name 'img0.png') repeats file_name 'img0.png'")


def test_annotation_id_zero_is_accepted(tmp_path: Path) -> None:
    """pycocotools mishandles id 0 (a true positive becomes a false positive); visionspec gives 0 no meaning."""
    data = tiny_coco()
    data["annotations"][0]["id"] = 0
    coco = _read(tmp_path, data)
    assert coco.annotations.ids.tolist() == [0, 2, 3]


@pytest.mark.parametrize(
    ("file_name", "problem"),
    [
        ("../outside.png", "contains '..' and would leave the data set folder"),
        ("sub/../../outside.png", "contains '..'"),
        ("/etc/passwd", "is an absolute path"),
        ("C:/images/a.png", "is an absolute path"),
        ("sub\\a.png", "contains a backslash"),
        ("", "is empty"),
    ],
)
def test_file_name_escaping_the_folder(tmp_path: Path, file_name: str, problem: str) -> None:
    data = tiny_coco()
    data["images"][1]["file_name"] = file_name
    _refused(tmp_path, data, f"images[1] (id 2, file_name {file_name!r}) has file_name {file_name!r} that {problem}")


def test_dots_inside_a_name_are_fine(tmp_path: Path) -> None:
    data = tiny_coco()
    data["images"][1]["file_name"] = "sub/a..b.png"
    assert _read(tmp_path, data).images.file_names[1] == "sub/a..b.png"


def test_bad_sha256(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["images"][0]["sha256"] = "abc"
    _refused(tmp_path, data, "images[0] (id 1, file_name 'img0.png') has sha256 'abc'", "64 lowercase hex digits")


def test_non_positive_image_size(tmp_path: Path) -> None:
    data = tiny_coco()
    data["images"][2]["height"] = 0
    _refused(tmp_path, data, "images[2] (id 3, file_name 'img2.png') has height 0")


def test_undeclared_attribute(tmp_path: Path) -> None:
    data = tiny_coco()
    data["annotations"][1]["attributes"] = {"colour": "red", "shape": "round"}
    _refused(tmp_path, data, "annotations[1] (id 2) has attribute 'shape' that is not declared", "use one of colour")


def test_undeclared_attribute_value(tmp_path: Path) -> None:
    data = tiny_coco()
    data["annotations"][2]["attributes"] = {"colour": "mauve"}
    _refused(tmp_path, data, "annotations[2] (id 3) has colour 'mauve', not one of red, blue, green")


def test_attribute_value_that_is_not_text(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][0]["attributes"] = {"colour": True}
    _refused(tmp_path, data, "annotations[0] (id 1) has 'attributes.colour' True of type bool, not str")


def test_bad_area_and_iscrowd(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][1]["area"] = -3
    _refused(tmp_path, data, "annotations[1] (id 2) has area -3.0")
    data = tiny_coco()
    data["annotations"][1]["iscrowd"] = 2
    _refused(tmp_path, data, "annotations[1] (id 2) has iscrowd 2")


def test_given_area_and_iscrowd_are_kept(tmp_path: Path) -> None:
    data: dict[str, Any] = tiny_coco()
    data["annotations"][1]["area"] = 12.5
    data["annotations"][2]["iscrowd"] = 1
    coco = _read(tmp_path, data)
    assert coco.annotations.areas.tolist() == [50.0, 12.5, 756.0]
    assert coco.annotations.iscrowd.tolist() == [False, False, True]


def test_empty_annotations_and_no_images(tmp_path: Path) -> None:
    coco = _read(tmp_path, {"images": [], "categories": [], "annotations": []})
    assert len(coco.images) == 0 and len(coco.annotations) == 0
    assert coco.annotations.boxes.shape == (0, 4)


def test_input_is_not_modified(tmp_path: Path) -> None:
    from visionspec.datasets import parse_coco

    data = tiny_coco()
    before = copy.deepcopy(data)
    parse_coco(data, source="memory", declared_attributes=DECLARED)
    assert data == before


def test_large_file_is_validated_column_wise(tmp_path: Path) -> None:
    """20,000 images: the vectorised checks find the one bad box among them."""
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 64, "height": 64} for i in range(20_000)]
    annotations = [{"id": i, "image_id": i, "category_id": 1, "bbox": [1, 1, 5, 5]} for i in range(20_000)]
    annotations[12_345]["bbox"] = [61, 1, 5, 5]
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"images": images, "categories": [{"id": 1, "name": "balloon"}],
                                "annotations": annotations}), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"annotations\[12345\] \(id 12345\) has bbox \[61.0, 1.0, 5.0, 5.0\] "):
        read_coco(path)
    annotations[12_345]["bbox"] = [59, 1, 5, 5]
    path.write_text(json.dumps({"images": images, "categories": [{"id": 1, "name": "balloon"}],
                                "annotations": annotations}), encoding="utf-8")
    assert np.array_equal(read_coco(path).annotations.image_ids, np.arange(20_000))
