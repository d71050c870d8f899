"""``DatasetRegistry``: finding, loading once, verifying once; every mismatch names the file or the count."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from datasets_testkit import make_dataset, make_image

from visionspec.datasets import DatasetRegistry, load_spec
from visionspec.datasets import registry as registry_module
from visionspec.errors import DatasetError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_dataset(tmp_path / "sets")
    return tmp_path / "sets"


def _edit_yaml(folder: Path, change: dict[str, object]) -> None:
    path = folder / "dataset.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_ids_and_default_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dataset(root, "another")
    (root / "not-a-data-set").mkdir()
    assert DatasetRegistry(root).ids() == ["another", "tiny"]
    monkeypatch.setenv("VISIONSPEC_DATASETS", str(root))
    assert DatasetRegistry().root == root
    monkeypatch.delenv("VISIONSPEC_DATASETS")
    monkeypatch.chdir(root.parent)
    assert DatasetRegistry().root == root.parent / "datasets"


def test_unknown_id_lists_the_known_ones(root: Path) -> None:
    with pytest.raises(DatasetError, match=r"no data set 'nope' under .*sets \(known: tiny\); fix: use a known id"):
        DatasetRegistry(root).load("nope")


@pytest.mark.parametrize("dataset_id", ["..", "", "tiny/../tiny"])
def test_ids_that_are_paths_are_unknown(root: Path, dataset_id: str) -> None:
    with pytest.raises(DatasetError, match="no data set"):
        DatasetRegistry(root).spec(dataset_id)


def test_load_gives_the_data_set(root: Path) -> None:
    dataset = DatasetRegistry(root).load("tiny")
    assert dataset.id == "tiny"
    assert dataset.folder == root / "tiny"
    assert len(dataset.images) == 4 and len(dataset.annotations) == 3
    assert dataset.image_path(1) == root / "tiny" / "images" / "img1.png"
    assert len(dataset.digest) == 64


def test_loaded_and_verified_once(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_scan = registry_module.scan_files
    monkeypatch.setattr(registry_module, "scan_files", lambda *a, **k: calls.append(1) or real_scan(*a, **k))
    registry = DatasetRegistry(root)
    first = registry.load("tiny")
    assert registry.load("tiny") is first
    assert registry.verify("tiny") is registry.verify("tiny")
    assert calls == [1]


def test_load_without_verify_does_not_touch_images(root: Path) -> None:
    (root / "tiny" / "images" / "img3.png").unlink()
    registry = DatasetRegistry(root)
    assert len(registry.load("tiny", verify=False).images) == 4
    with pytest.raises(DatasetError, match=r"1 image file\(s\) missing: img3.png"):
        registry.load("tiny")


def test_digest_is_stable_and_tracks_the_annotations(root: Path) -> None:
    first = DatasetRegistry(root).load("tiny").digest
    assert DatasetRegistry(root).load("tiny").digest == first
    make_dataset(root.parent / "copy", "tiny")
    assert DatasetRegistry(root.parent / "copy").load("tiny").digest == first  # identity, not location


def test_verify_passes_and_counts(root: Path) -> None:
    report = DatasetRegistry(root).verify("tiny")
    assert report.ok, str(report)
    assert dict(report.found.items()) == {
        "images": 4, "images_without_objects": 2, "objects.balloon": 3,
        "attributes.colour.red": 1, "attributes.colour.blue": 1, "attributes.colour.green": 1,
    }


def test_a_later_registry_reuses_the_verified_data_set_while_its_files_are_unchanged(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # visionspec checkpoints runs one pytest session (one registry) a checkpoint in one process
    calls = []
    real_scan = registry_module.scan_files
    monkeypatch.setattr(registry_module, "scan_files", lambda *a, **k: calls.append(1) or real_scan(*a, **k))
    first = DatasetRegistry(root).load("tiny")
    assert DatasetRegistry(root).load("tiny") is first
    assert calls == [1]
    image = root / "tiny" / "images" / "img2.png"
    make_image(image, (32, 24), (1, 2, 3))  # a changed file: size or modification time differ
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 1_000_000))
    again = DatasetRegistry(root)
    assert again.verify("tiny").changed_files == ("img2.png",)
    assert calls == [1, 1]


def test_changed_image_is_named(root: Path) -> None:
    make_image(root / "tiny" / "images" / "img2.png", (32, 24), (1, 2, 3))
    report = DatasetRegistry(root).verify("tiny")
    assert report.changed_files == ("img2.png",)
    assert "1 image file(s) changed since the manifest was made: img2.png" in str(report)


def test_truncated_image_is_caught_by_its_hash(root: Path) -> None:
    path = root / "tiny" / "images" / "img0.png"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError) as caught:
        DatasetRegistry(root).load("tiny")
    # the first line (all the terminal and summary.json keep) names the definition, the problem and the fix
    assert str(caught.value) == (
        f"{root / 'tiny' / 'dataset.yaml'}: data set tiny does not match its definition: 1 image file(s) changed "
        "since the manifest was made: img0.png; fix: rebuild the data set (visionspec datasets build tiny), restore "
        "the files, or correct dataset.yaml\n  1 image file(s) changed since the manifest was made: img0.png"
    )


def test_missing_and_extra_files_are_named(root: Path) -> None:
    (root / "tiny" / "images" / "img1.png").unlink()
    make_image(root / "tiny" / "images" / "sub" / "stray.png")
    report = DatasetRegistry(root).verify("tiny")
    assert report.missing_files == ("img1.png",)
    assert report.extra_files == ("sub/stray.png",)
    assert not report.ok


def test_symlink_out_of_the_folder_is_refused(root: Path, tmp_path: Path) -> None:
    outside = make_image(tmp_path / "secret.png")
    link = root / "tiny" / "images" / "img3.png"
    data = link.read_bytes()
    outside.write_bytes(data)  # same bytes: only the escape is wrong
    link.unlink()
    link.symlink_to(outside)
    report = DatasetRegistry(root).verify("tiny")
    assert report.escaping_files == ("img3.png",)
    assert "1 image file(s) leading out of the data set folder: img3.png" in str(report)


def test_changed_annotation_file_is_named(root: Path) -> None:
    path = root / "tiny" / "annotations.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["annotations"][0]["bbox"] = [2, 2, 10, 5]
    path.write_text(json.dumps(data), encoding="utf-8")
    report = DatasetRegistry(root).verify("tiny")
    assert len(report.manifest_problems) == 1
    assert report.manifest_problems[0].startswith(f"{path} changed since the manifest was made (sha256 ")


def test_expect_mismatch_names_the_count(root: Path) -> None:
    expect = {"images": 5, "objects": {"balloon": 3}, "attributes": {"colour": {"red": 2}}}
    _edit_yaml(root / "tiny", {"expect": expect})
    report = DatasetRegistry(root).verify("tiny")
    assert [str(m) for m in report.count_mismatches] == ["images: expected 5, found 4",
                                                         "attributes.colour.red: expected 2, found 1"]
    with pytest.raises(DatasetError, match=r"count images: expected 5, found 4\n  count attributes.colour.red"):
        DatasetRegistry(root).load("tiny")


def test_not_built(root: Path) -> None:
    (root / "tiny" / "annotations.json").unlink()
    registry = DatasetRegistry(root)
    assert not registry.is_built("tiny")
    with pytest.raises(DatasetError, match=r"annotations.json: not found, data set tiny is not built; fix: visionspec "
                                           r"datasets build tiny"):
        registry.load("tiny")


def test_no_manifest(root: Path) -> None:
    data = yaml.safe_load((root / "tiny" / "dataset.yaml").read_text(encoding="utf-8"))
    del data["manifest"]
    (root / "tiny" / "dataset.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    report = DatasetRegistry(root).verify("tiny")
    assert report.manifest_problems == (f"{root / 'tiny' / 'dataset.yaml'} has no manifest; fix: visionspec datasets "
                                        "build tiny --update-manifest",)


def test_id_must_match_the_folder(root: Path) -> None:
    (root / "tiny").rename(root / "small")
    with pytest.raises(DatasetError, match=r"dataset.yaml: id 'tiny' differs from its folder name 'small'"):
        DatasetRegistry(root).spec("small")


def test_classes_must_match_the_categories(root: Path) -> None:
    _edit_yaml(root / "tiny", {"classes": ["balloon", "kite"]})
    with pytest.raises(DatasetError, match=r"annotations.json: the categories \(balloon\) differ from the classes of "
                                           r"data set tiny \(balloon, kite\)"):
        DatasetRegistry(root).load("tiny")


def test_annotations_checked_against_declared_attributes(root: Path) -> None:
    _edit_yaml(root / "tiny", {"attributes": {"colour": ["red", "blue"]}})
    with pytest.raises(DatasetError, match=r"annotations\[1\] \(id 2\) has colour 'green', not one of red, blue"):
        DatasetRegistry(root).load("tiny")


def test_spec_is_read_from_the_yaml(root: Path) -> None:
    assert DatasetRegistry(root).spec("tiny") == load_spec(root / "tiny" / "dataset.yaml")
    assert os.fspath(root) in str(DatasetRegistry(root).root)
