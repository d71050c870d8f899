"""``visionspec datasets ...`` through ``visionspec.cli.main``: exit codes and what people read."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from datasets_testkit import make_dataset, make_image, tiny_coco

from visionspec.cli import main
from visionspec.datasets import DatasetSpec, write_dataset


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_dataset(tmp_path / "sets")
    return tmp_path / "sets"


def test_list(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "tiny" / "annotations.json").rename(root / "tiny" / "moved.json")
    make_dataset(root, "built")
    assert main(["datasets", "--datasets", str(root), "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ID     TITLE  IMAGES  BUILT",
        "built  Tiny        4  yes",
        "tiny   Tiny        4  no",
    ]


def test_verify_prints_the_counts(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "verify", "tiny", "--datasets", str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "data set tiny: Tiny",
        "  images                   4",
        "  images without objects   2",
        "  objects balloon          3",
        "  attributes colour red    1",
        "  attributes colour blue   1",
        "  attributes colour green  1",
        "verified: the files match the manifest and the counts match expect (6 promised)",
    ]


def test_verify_mismatch_exits_2_with_the_reasons(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "tiny" / "images" / "img1.png").unlink()
    spec_path = root / "tiny" / "dataset.yaml"
    data = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    data["expect"]["objects"]["balloon"] = 4
    spec_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["datasets", "--datasets", str(root), "verify", "tiny"]) == 2
    captured = capsys.readouterr()
    assert "  objects balloon          3" in captured.out
    assert captured.err == (f"visionspec: error: {spec_path}: data set tiny does not match its definition: 1 image "
                            "file(s) missing: img1.png (and 1 more problem(s) below); fix: rebuild the data set "
                            "(visionspec datasets build tiny), restore the files, or correct dataset.yaml\n"
                            "  1 image file(s) missing: img1.png\n"
                            "  count objects.balloon: expected 4, found 3\n")


def test_verify_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "--datasets", str(root), "verify", "tiny", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["found"]["images"] == 4


def test_unknown_id_exits_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "--datasets", str(root), "verify", "12345"]) == 2
    assert "visionspec: error: no data set '12345' under" in capsys.readouterr().err


def test_environment_variable_names_the_folder(root: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VISIONSPEC_DATASETS", str(root))
    assert main(["datasets", "verify", "tiny"]) == 0


def test_build_refuses_an_imported_data_set(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "--datasets", str(root), "build", "tiny"]) == 2
    assert ("visionspec: error: data set tiny comes from a coco source (made-up.json), not the synthetic generator, so "
            "it cannot be built; fix: import it again") in capsys.readouterr().err


def _synthetic_definition(root: Path) -> None:
    spec_path = root / "tiny" / "dataset.yaml"
    data = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    data["source"] = {"kind": "synthetic", "generator": "test-world", "seed": 3}
    spec_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _fake_generator(monkeypatch: pytest.MonkeyPatch, calls: list[Any], colour: tuple[int, int, int]) -> None:
    def build(spec: DatasetSpec, folder: Path, *, workers: int | None) -> DatasetSpec:
        calls.append((spec.manifest is None, workers))
        coco = tiny_coco()
        for image in coco["images"]:
            make_image(folder / "images" / image["file_name"], (32, 24),
                       (image["id"] * 20 % 256, 40, 90) if image["id"] != 2 else colour)
        return write_dataset(folder, spec, coco, expect_as_found=False)

    monkeypatch.setitem(sys.modules, "visionspec.datasets.synthetic", types.SimpleNamespace(build=build))


def test_build_calls_the_generator_and_verifies(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _synthetic_definition(root)
    calls: list[Any] = []
    _fake_generator(monkeypatch, calls, (40, 40, 90))  # draws exactly what the manifest records
    assert main(["datasets", "--datasets", str(root), "build", "tiny", "--workers", "2"]) == 0
    assert calls == [(False, 2)]
    assert "verified: the files match the manifest" in capsys.readouterr().out


def test_build_that_does_not_reproduce_the_manifest(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _synthetic_definition(root)
    calls: list[Any] = []
    _fake_generator(monkeypatch, calls, (1, 1, 1))
    assert main(["datasets", "--datasets", str(root), "build", "tiny"]) == 2
    assert "do not reproduce the committed manifest" in capsys.readouterr().err
    assert main(["datasets", "--datasets", str(root), "build", "tiny", "--update-manifest"]) == 0
    assert calls == [(False, None), (True, None)]
    assert main(["datasets", "--datasets", str(root), "verify", "tiny"]) == 0


def test_import_yolo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "yolo"
    make_image(source / "images" / "a.jpg", (100, 50))
    (source / "classes.txt").write_text("balloon\n", encoding="utf-8")
    (source / "labels").mkdir()
    (source / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n", encoding="utf-8")
    code = main(["datasets", "--datasets", str(tmp_path / "sets"), "import", "--format", "yolo", str(source), "mine",
                 "--title", "Mine"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("data set mine: Mine\n  images                  1\n"), out
    assert (tmp_path / "sets" / "mine" / "images" / "a.jpg").is_file()


def test_import_bad_input_exits_2_naming_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "yolo"
    make_image(source / "images" / "a.jpg", (100, 50))
    (source / "classes.txt").write_text("balloon\n", encoding="utf-8")
    (source / "labels").mkdir()
    (source / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.4\n3 0.5 0.5 0.2 0.4\n", encoding="utf-8")
    assert main(["datasets", "--datasets", str(tmp_path / "sets"), "import", "--format", "yolo", str(source), "x"]) == 2
    assert f"{source / 'labels' / 'a.txt'} line 2: class 3 is not one of the 1 classes" in capsys.readouterr().err


def test_import_unknown_format_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["datasets", "import", "--format", "kitti", str(tmp_path), "x"])
    assert exited.value.code == 2
    assert "invalid choice: 'kitti'" in capsys.readouterr().err
