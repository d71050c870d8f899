"""``write_dataset`` and ``dataset.yaml``: deterministic files, manifest reproduction, bad definitions."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import pytest
from datasets_testkit import make_dataset, make_image, tiny_coco, tiny_spec

from visionspec.datasets import DatasetRegistry, Expect, count_expect, load_spec, read_coco, write_dataset
from visionspec.errors import DatasetError


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_writes_annotations_manifest_and_expect(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    spec = load_spec(folder / "dataset.yaml")
    assert spec.expect == Expect(images=4, images_without_objects=2, objects={"balloon": 3},
                                 attributes={"colour": {"red": 1, "blue": 1, "green": 1}})
    assert spec.manifest is not None
    assert spec.manifest.annotations_sha256 == _sha(folder / "annotations.json")
    coco = read_coco(folder / "annotations.json")
    assert coco.images.sha256[0] == _sha(folder / "images" / "img0.png")
    lines = sorted(f"{name}\t{_sha(folder / 'images' / name)}\n" for name in coco.images.file_names)
    assert spec.manifest.images_digest == hashlib.sha256("".join(lines).encode()).hexdigest()
    text = (folder / "annotations.json").read_text(encoding="utf-8")
    assert text.startswith('{"annotations":[{"attributes":{"colour":"red"},"bbox":[1,2,10,5]')  # compact, sorted


def test_same_content_gives_the_same_bytes(tmp_path: Path) -> None:
    first = make_dataset(tmp_path / "a")
    shuffled = tiny_coco()
    shuffled["images"][0] = dict(reversed(list(shuffled["images"][0].items())))
    second = make_dataset(tmp_path / "b", coco=shuffled)
    assert (first / "annotations.json").read_bytes() == (second / "annotations.json").read_bytes()
    assert (first / "dataset.yaml").read_text(encoding="utf-8") == (second / "dataset.yaml").read_text(encoding="utf-8")


def test_input_is_not_modified_and_numpy_scalars_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    coco = tiny_coco()
    for image in coco["images"]:
        make_image(folder / "images" / image["file_name"])
    coco["annotations"][0]["bbox"] = np.array([1, 2, 10, 5], dtype=np.float32)
    coco["images"][0]["width"] = np.int64(32)
    before = copy.deepcopy(coco)
    write_dataset(folder, tiny_spec(), coco, expect_as_found=True)
    assert coco["images"][0] == before["images"][0] and "sha256" not in coco["images"][0]
    assert read_coco(folder / "annotations.json").annotations.boxes[0].tolist() == [1, 2, 10, 5]


def test_reproducing_the_committed_manifest_leaves_the_yaml_alone(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    committed = load_spec(folder / "dataset.yaml")
    (folder / "dataset.yaml").write_text("# committed\n" + (folder / "dataset.yaml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    written = write_dataset(folder, committed, tiny_coco(), expect_as_found=False)
    assert written == committed
    assert (folder / "dataset.yaml").read_text(encoding="utf-8").startswith("# committed\n")
    assert DatasetRegistry(tmp_path).verify("tiny").ok


def test_a_build_that_differs_from_the_committed_manifest_is_refused(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    committed = load_spec(folder / "dataset.yaml")
    make_image(folder / "images" / "img2.png", (32, 24), (9, 9, 9))  # the generator drew something else
    with pytest.raises(DatasetError, match=r"data set tiny: the files built in .* do not reproduce the committed "
                                           r"manifest \(images_digest: committed [0-9a-f]{64}, built [0-9a-f]{64}; "
                                           r"annotations_sha256: committed [0-9a-f]{64}, built [0-9a-f]{64}\); .*"
                                           r"fix: install the pinned versions, or accept the new files with "
                                           r"`visionspec datasets build tiny --update-manifest`"):
        write_dataset(folder, committed, tiny_coco(), expect_as_found=False)
    assert load_spec(folder / "dataset.yaml") == committed


def test_expect_mismatch_names_the_count_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    for image in tiny_coco()["images"]:
        make_image(folder / "images" / image["file_name"])
    spec = tiny_spec(expect={"images": 4, "objects": {"balloon": 4}, "attributes": {"colour": {"red": 1}}})
    with pytest.raises(DatasetError, match=r"do not keep the counts promised under 'expect' \(objects.balloon: "
                                           r"expected 4, found 3\); fix: correct the source data"):
        write_dataset(folder, spec, tiny_coco(), expect_as_found=False)
    assert not (folder / "annotations.json").exists() and not (folder / "dataset.yaml").exists()


def test_missing_image_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    make_image(folder / "images" / "img0.png")
    with pytest.raises(DatasetError, match=r"images/img1.png: image file missing \(and 2 more\); fix: put the image "
                                           r"files under"):
        write_dataset(folder, tiny_spec(), tiny_coco(), expect_as_found=True)


def test_symlink_escaping_is_refused_when_writing(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    for image in tiny_coco()["images"][1:]:
        make_image(folder / "images" / image["file_name"])
    (folder / "images" / "img0.png").symlink_to(make_image(tmp_path / "elsewhere.png"))
    with pytest.raises(DatasetError, match=r"images/img0.png: image file leads out of the data set folder"):
        write_dataset(folder, tiny_spec(), tiny_coco(), expect_as_found=True)


def test_categories_must_be_the_classes(tmp_path: Path) -> None:
    coco = tiny_coco()
    coco["categories"][0]["name"] = "ballon"
    with pytest.raises(DatasetError, match=r"the categories \(ballon\) differ from the classes of data set tiny "
                                           r"\(balloon\)"):
        write_dataset(tmp_path / "tiny", tiny_spec(), coco, expect_as_found=True)


def test_count_expect_lists_declared_values_with_zero(tmp_path: Path) -> None:
    folder = make_dataset(tmp_path)
    coco = read_coco(folder / "annotations.json")
    assert dict(count_expect(coco, declared_attributes={"colour": ("red", "pink")}).attributes["colour"]) == {
        "red": 1, "pink": 0}
    assert dict(count_expect(coco).attributes["colour"]) == {"blue": 1, "green": 1, "red": 1}


def _write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dataset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
id: "12345"
title: Balloons
description: the product's goal
source: {kind: synthetic, generator: balloon-world, seed: 12345, params: {size: [256, 256]}}
classes: [balloon]
attributes: {colour: [red, orange], occluded: ["yes", "no"]}
expect: {images: 5000, images_without_objects: 4000, objects: {balloon: 1000}, attributes: {colour: {red: 100}}}
"""


def test_spec_round_trip(tmp_path: Path) -> None:
    spec = load_spec(_write_yaml(tmp_path, GOOD))
    assert spec.id == "12345" and spec.classes == ("balloon",)
    assert spec.attributes["occluded"] == ("yes", "no")
    assert spec.source["params"]["size"] == (256, 256)
    assert spec.expect.attributes["colour"]["red"] == 100
    assert spec.manifest is None
    with pytest.raises(TypeError):
        spec.source["seed"] = 1  # type: ignore[index]
    import yaml

    again = _write_yaml(tmp_path, yaml.safe_dump(spec.to_yaml_dict(), sort_keys=False))
    assert load_spec(again) == spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("colours: [red]\n", "key 'colours' is unknown; fix: remove it or use one of id, title"),
        ('id: 12345\n', "key 'id' must be text, got int 12345; fix: quote it, e.g. id: \"12345\""),
        ("attributes: {occluded: [yes, no]}\n", "key 'attributes.occluded[0]' must be text, got bool True; fix: quote "
                                                 "it (YAML reads yes/no"),
        ("expect: {images: many}\n", "key 'expect.images' must be a whole number >= 0, got 'many'"),
        ("expect: {objets: {balloon: 1}}\n", "key 'expect.objets' is unknown"),
        ("source: {kind: flickr}\n", "key 'source.kind' is 'flickr'; fix: use one of synthetic, coco, yolo, voc"),
        ("source: {kind: synthetic, seed: 1}\n", "key 'source.generator' is missing"),
        ("classes: [balloon, balloon]\n", "key 'classes' lists 'balloon' twice"),
        ("manifest: {annotations: a.json, annotations_sha256: xyz, images: 1, images_digest: xyz}\n",
         "key 'manifest.annotations_sha256' is not a SHA-256 hex digest: 'xyz'"),
    ],
)
def test_bad_definitions_name_the_file_and_key(tmp_path: Path, change: str, message: str) -> None:
    key = change.split(":")[0]
    text = "".join(line for line in GOOD.splitlines(keepends=True) if not line.startswith(f"{key}:")) + change
    path = _write_yaml(tmp_path, text)
    with pytest.raises(DatasetError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: "), caught.value
    assert message in str(caught.value)


def test_missing_required_key_and_bad_yaml(tmp_path: Path) -> None:
    path = _write_yaml(tmp_path, "id: x\nsource: {kind: coco}\n")
    with pytest.raises(DatasetError, match=r"dataset.yaml: key 'classes' is missing; fix: add it"):
        load_spec(path)
    path = _write_yaml(tmp_path, "id: [x\n")
    with pytest.raises(DatasetError, match=r"dataset.yaml: not valid YAML"):
        load_spec(path)
    with pytest.raises(DatasetError, match=r"nowhere.yaml: data set definition not found"):
        load_spec(tmp_path / "nowhere.yaml")
