"""Building a data set: the same bytes in any number of processes, exact counts, consistent COCO."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from balloon_world_helpers import small_spec

from visionspec.datasets.registry import DatasetRegistry
from visionspec.datasets.synthetic import WorldParams, build, build_world, size_bucket
from visionspec.errors import DatasetError

LIKE_12345 = {
    "images": 60,
    "balloon_images": 12,
    "balloons_per_image": [1, 1],
    "red_balloons": 3,
    "lookalike_rate": 0.5,
    "red_lookalike_share": 0.5,
}


def _image_hashes(coco: dict[str, Any]) -> list[tuple[str, str]]:
    return [(image["file_name"], image["sha256"]) for image in coco["images"]]


def test_same_bytes_in_one_and_in_two_processes(tmp_path: Path) -> None:
    params = WorldParams(images=10, balloons_per_image=(0, 3))
    alone = build_world(params, 99, tmp_path / "one", workers=1)
    shared = build_world(params, 99, tmp_path / "two", workers=2)
    assert _image_hashes(alone) == _image_hashes(shared)
    assert alone == shared
    for image in alone["images"]:
        assert (tmp_path / "one" / "images" / image["file_name"]).read_bytes() == (
            tmp_path / "two" / "images" / image["file_name"]
        ).read_bytes()


def test_a_picture_does_not_depend_on_the_set_size(tmp_path: Path) -> None:
    # each picture is drawn from [seed, index] alone (the plan fixes only its content)
    few = build_world(WorldParams(images=4, balloons_per_image=(1, 1)), 5, tmp_path / "few", workers=1)
    assert len({image["sha256"] for image in few["images"]}) == 4


@pytest.fixture(scope="module")
def tiny_12345(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A 60-picture data set made like 12345 (built once for this module), its folder and COCO data."""
    root = tmp_path_factory.mktemp("datasets")
    coco = build(small_spec(LIKE_12345, seed=12345, dataset_id="tiny"), root / "tiny", workers=1)
    return root, coco


def test_small_12345_like_build_keeps_its_counts(tiny_12345: tuple[Path, dict[str, Any]]) -> None:
    root, coco = tiny_12345
    per_image = Counter(annotation["image_id"] for annotation in coco["annotations"])
    assert len(coco["images"]) == 60
    assert len(per_image) == 12 and set(per_image.values()) == {1}
    colours = Counter(annotation["attributes"]["colour"] for annotation in coco["annotations"])
    assert colours["red"] == 3
    assert sum(colours.values()) == 12
    empty = [image for image in coco["images"] if image["id"] not in per_image]
    assert sum(image["attributes"]["lookalikes"] != "none" for image in empty) == 24
    assert sum(image["attributes"]["red_lookalike"] == "yes" for image in empty) == 12
    # what was written is what was returned, and the definition records the counts found
    written = json.loads((root / "tiny" / "annotations.json").read_text())
    assert written["annotations"] == coco["annotations"]
    yaml_text = (root / "tiny" / "dataset.yaml").read_text()
    assert "images_without_objects: 48" in yaml_text and "balloon: 12" in yaml_text


def test_annotations_agree_with_their_attributes(tmp_path: Path) -> None:
    params = WorldParams(images=12, width=320, height=240, balloons_per_image=(2, 6), truncation_rate=0.4)
    coco = build_world(params, 3, tmp_path / "crowd", workers=1)
    assert [category["name"] for category in coco["categories"]] == ["balloon"]
    assert [annotation["id"] for annotation in coco["annotations"]] == list(range(1, len(coco["annotations"]) + 1))
    truncated = 0
    for annotation in coco["annotations"]:
        x, y, width, height = annotation["bbox"]
        attributes = annotation["attributes"]
        assert x >= 0 and y >= 0 and width > 0 and height > 0
        assert x + width <= 320.005 and y + height <= 240.005
        assert annotation["area"] == pytest.approx(width * height, abs=0.01)
        assert attributes["size"] == size_bucket(annotation["area"])
        at_border = x <= 0 or y <= 0 or x + width >= 319.995 or y + height >= 239.995
        assert attributes["truncated"] == ("yes" if at_border else "no")
        truncated += at_border
        assert annotation["iscrowd"] == 0 and annotation["category_id"] == 1
    assert truncated > 0
    assert {annotation["attributes"]["size"] for annotation in coco["annotations"]} == {"small", "medium", "large"}


def test_size_buckets_follow_coco_area_ranges() -> None:
    assert [size_bucket(area) for area in (1023.99, 1024.0, 9215.99, 9216.0)] == ["small", "medium", "medium", "large"]


def test_stale_pictures_of_a_larger_build_are_removed(tmp_path: Path) -> None:
    build_world(WorldParams(images=5), 1, tmp_path, workers=1)
    (tmp_path / "images" / "notes.txt").write_text("mine")
    build_world(WorldParams(images=3), 1, tmp_path, workers=1)
    assert sorted(path.name for path in (tmp_path / "images").iterdir()) == [
        "000001.jpg",
        "000002.jpg",
        "000003.jpg",
        "notes.txt",
    ]


def test_registry_loads_and_verifies_a_built_set(tiny_12345: tuple[Path, dict[str, Any]]) -> None:
    registry = DatasetRegistry(tiny_12345[0])
    report = registry.verify("tiny")
    assert report.ok, str(report)
    dataset = registry.load("tiny")
    assert int(dataset.objects_where(colour="red").sum()) == 3
    assert int(dataset.images_without_objects().sum()) == 48


def test_rebuild_must_reproduce_the_recorded_manifest(tmp_path: Path) -> None:
    spec = small_spec({"images": 4}, seed=8, dataset_id="tiny")
    build(spec, tmp_path / "tiny", workers=1)
    recorded = DatasetRegistry(tmp_path).spec("tiny")
    build(recorded, tmp_path / "tiny", workers=1)  # same seed: same files, accepted
    changed = small_spec({"images": 4, "noise": [0, 0]}, seed=8, dataset_id="tiny")
    with pytest.raises(DatasetError, match="do not reproduce the committed manifest"):
        build(changed.with_build(recorded.expect, recorded.manifest), tmp_path / "tiny", workers=1)


def test_other_generators_and_classes_are_refused(tmp_path: Path) -> None:
    spec = small_spec({"images": 2})
    with pytest.raises(DatasetError, match=r"not synthetic/balloon-world; fix: set source\.kind"):
        build(spec.__class__(**{**spec.__dict__, "source": {**spec.source, "generator": "other"}}), tmp_path)
    with pytest.raises(DatasetError, match=r"classes is \['kite'\]; fix: write classes: \[balloon\]"):
        build(spec.__class__(**{**spec.__dict__, "classes": ("kite",)}), tmp_path)
    with pytest.raises(DatasetError, match="workers=0: must be at least 1"):
        build(spec, tmp_path, workers=0)
