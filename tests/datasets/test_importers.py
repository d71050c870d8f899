"""Importing YOLO, Pascal VOC and COCO into the data set contract, with each format's usual quirks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets_testkit import make_image, tiny_coco, write_coco

from visionspec.datasets import DatasetRegistry, load_spec, read_coco
from visionspec.datasets.importers import import_dataset
from visionspec.errors import DatasetError


def _yolo(tmp_path: Path, labels: dict[str, str], names: str = "classes.txt") -> Path:
    source = tmp_path / "yolo"
    make_image(source / "images" / "a.jpg", (100, 50))
    make_image(source / "images" / "sub" / "b.png", (40, 40))
    make_image(source / "images" / "c.JPG", (20, 10))
    (source / "images" / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
    (source / "images" / "notes.txt").write_text("not an image, skipped", encoding="utf-8")
    if names == "classes.txt":
        (source / "classes.txt").write_text("balloon\nkite\n", encoding="utf-8")
    else:
        (source / "data.yaml").write_text(names, encoding="utf-8")
    for name, text in labels.items():
        (source / "labels" / name).parent.mkdir(parents=True, exist_ok=True)
        (source / "labels" / name).write_text(text, encoding="utf-8")
    return source


def _import(tmp_path: Path, fmt: str, source: Path, **kwargs: object) -> Path:
    import_dataset(fmt, source, "imported", root=tmp_path / "sets", **kwargs)  # type: ignore[arg-type]
    return tmp_path / "sets" / "imported"


def test_yolo_normalised_boxes_become_pixels(tmp_path: Path) -> None:
    source = _yolo(tmp_path, {"a.txt": "0 0.5 0.5 0.2 0.4\n\n  1 0.1 0.1 0.2 0.2  \n", "sub/b.txt": ""})
    folder = _import(tmp_path, "yolo", source)
    coco = read_coco(folder / "annotations.json")
    assert coco.images.file_names == ("a.jpg", "c.JPG", "sub/b.png")
    assert coco.images.widths.tolist() == [100, 20, 40]
    assert [(c.id, c.name) for c in coco.categories] == [(1, "balloon"), (2, "kite")]
    assert coco.annotations.ids.tolist() == [1, 2]
    assert coco.annotations.category_ids.tolist() == [1, 2]
    assert coco.annotations.boxes.tolist() == [[40.0, 15.0, 20.0, 20.0], [0.0, 0.0, 20.0, 10.0]]
    spec = load_spec(folder / "dataset.yaml")
    assert spec.expect.images == 3 and spec.expect.images_without_objects == 2  # no label file / empty label file
    assert dict(spec.source) == {"kind": "yolo", "path": str(source)}
    assert (folder / "images" / "sub" / "b.png").read_bytes() == (source / "images" / "sub" / "b.png").read_bytes()
    assert DatasetRegistry(tmp_path / "sets").verify("imported").ok


def test_yolo_names_from_data_yaml(tmp_path: Path) -> None:
    source = _yolo(tmp_path, {"a.txt": "1 0.5 0.5 0.2 0.4\n"}, names="names: {0: balloon, 1: kite}\n")
    folder = _import(tmp_path, "yolo", source)
    assert load_spec(folder / "dataset.yaml").classes == ("balloon", "kite")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.2", "a.txt line 2: '0 0.5 0.5 0.2' is not 'class cx cy w h'"),
        ("0 0.1 0.1 0.2 0.1 0.3 0.3", "a.txt line 2: '0 0.1 0.1 0.2 0.1 0.3 0.3' is not 'class cx cy w h' (an integer "
                                      "and four numbers; segmentation polygons"),
        ("balloon 0.5 0.5 0.2 0.2", "a.txt line 2: 'balloon 0.5 0.5 0.2 0.2' is not 'class cx cy w h'"),
        ("2 0.5 0.5 0.2 0.2", "a.txt line 2: class 2 is not one of the 2 classes (0..1)"),
        ("0 0.5 0.5 0 0.2", "a.txt line 2: box '0 0.5 0.5 0 0.2' has zero or negative size"),
        ("0 50 25 20 10", "a.txt line 2: box '0 50 25 20 10' reaches outside the 100x50 image (coordinates must be "
                          "normalised to 0..1)"),
    ],
)
def test_yolo_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    source = _yolo(tmp_path, {"a.txt": f"0 0.5 0.5 0.2 0.2\n{line}\n"})
    with pytest.raises(DatasetError) as caught:
        _import(tmp_path, "yolo", source)
    assert str(source / "labels" / "a.txt") in str(caught.value)
    assert message in str(caught.value)
    assert not (tmp_path / "sets" / "imported").exists()


def test_yolo_label_without_image(tmp_path: Path) -> None:
    source = _yolo(tmp_path, {"gone.txt": "0 0.5 0.5 0.1 0.1\n"})
    with pytest.raises(DatasetError, match=r"labels/gone.txt: label file without an image \(no images/gone.\* found\)"):
        _import(tmp_path, "yolo", source)


def test_yolo_without_class_names(tmp_path: Path) -> None:
    source = _yolo(tmp_path, {})
    (source / "classes.txt").unlink()
    with pytest.raises(DatasetError, match=r"yolo: neither classes.txt nor data.yaml names the classes"):
        _import(tmp_path, "yolo", source)


def test_yolo_corrupt_image_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    source = _yolo(tmp_path, {})
    (source / "images" / "c.JPG").write_bytes(b"\xff\xd8\xff\xe0 broken")
    with pytest.raises(DatasetError, match=r"images/c.JPG: the image is truncated or corrupt"):
        _import(tmp_path, "yolo", source)
    assert not (tmp_path / "sets").exists() or not any((tmp_path / "sets").iterdir())


VOC_XML = """<annotation>
  <folder>VOC2007</folder><filename>{filename}</filename>
  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>
  <object><name> balloon </name><pose>Unspecified</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>100</xmax><ymax>50</ymax></bndbox></object>
  <object><name>kite</name><difficult>1</difficult>
    <bndbox><xmin>11</xmin><ymin>21.5</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object>
</annotation>
"""


def _voc(tmp_path: Path, xml: str | None = None, width: int = 100, height: int = 50) -> Path:
    source = tmp_path / "voc"
    make_image(source / "JPEGImages" / "000001.jpg", (100, 50))
    make_image(source / "JPEGImages" / "000002.jpg", (30, 30))
    (source / "Annotations").mkdir(parents=True)
    text = xml if xml is not None else VOC_XML.format(filename="stale-name.jpg", width=width, height=height)
    (source / "Annotations" / "000001.xml").write_text(text, encoding="utf-8")
    return source


def test_voc_one_based_pixels_and_difficult(tmp_path: Path) -> None:
    folder = _import(tmp_path, "voc", _voc(tmp_path))
    coco = read_coco(folder / "annotations.json")
    assert coco.images.file_names == ("000001.jpg", "000002.jpg")
    assert [(c.id, c.name) for c in coco.categories] == [(1, "balloon"), (2, "kite")]
    # xmin 1 .. xmax 100 on a 100 px wide image is the whole width: x 0, width 100
    assert coco.annotations.boxes.tolist() == [[0.0, 0.0, 100.0, 50.0], [10.0, 20.5, 10.0, 9.5]]
    assert coco.annotations.attributes["difficult"].tolist() == ["no", "yes"]
    assert coco.annotations.attributes["truncated"].tolist() == ["yes", "no"]
    assert coco.annotations.attributes["occluded"].tolist() == ["no", "no"]
    assert coco.annotations.iscrowd.tolist() == [False, False]
    spec = load_spec(folder / "dataset.yaml")
    assert spec.attributes["difficult"] == ("no", "yes")
    assert spec.expect.images_without_objects == 1  # 000002 has no XML
    dataset = DatasetRegistry(tmp_path / "sets").load("imported")
    assert dataset.objects_where(difficult="no").tolist() == [True, False]


def test_voc_zero_size_is_replaced_by_the_real_one(tmp_path: Path) -> None:
    folder = _import(tmp_path, "voc", _voc(tmp_path, width=0, height=0))
    assert read_coco(folder / "annotations.json").images.widths.tolist() == [100, 30]


def test_voc_size_of_another_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"Annotations/000001.xml: <size> says 640x480 but .*JPEGImages/000001.jpg "
                                           r"is 100x50"):
        _import(tmp_path, "voc", _voc(tmp_path, width=640, height=480))


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<annotation><object><name>x</name>", "000001.xml: not a readable XML file"),
        ("<annotation><object><name>x</name></object></annotation>", "000001.xml object 1 (x): has no <bndbox>"),
        ("<annotation><object><bndbox/></object></annotation>", "000001.xml object 1: has no <name>"),
        ("<annotation><object><name>x</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>4</xmax><ymax>3</ymax>"
         "</bndbox></object></annotation>", "000001.xml object 1 (x): xmax 4 < xmin 5"),
        ("<annotation><object><name>x</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>4</xmax><ymax>3</ymax>"
         "</bndbox></object></annotation>", "000001.xml object 1: <bndbox/xmin> 'a' is not a number"),
        ("<annotation><object><name>x</name><difficult>2</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>"
         "<xmax>4</xmax><ymax>3</ymax></bndbox></object></annotation>", "000001.xml object 1: <difficult> is '2'"),
        ("<annotation><object><name>x</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>400</xmax><ymax>3</ymax>"
         "</bndbox></object></annotation>", "annotations[0] (id 1) has bbox [0.0, 0.0, 400.0, 3.0] outside its "
                                            "100x50 image"),
    ],
)
def test_voc_bad_annotation_is_named(tmp_path: Path, xml: str, message: str) -> None:
    with pytest.raises(DatasetError) as caught:
        _import(tmp_path, "voc", _voc(tmp_path, xml=xml))
    assert message in str(caught.value)
    assert not (tmp_path / "sets").exists() or not any((tmp_path / "sets").iterdir())  # no half-imported folder


def test_voc_annotation_without_image(tmp_path: Path) -> None:
    source = _voc(tmp_path)
    (source / "Annotations" / "000009.xml").write_text("<annotation/>", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"000009.xml: no image 000009.\* under"):
        _import(tmp_path, "voc", source)


def _coco_source(tmp_path: Path) -> Path:
    source = tmp_path / "export"
    coco = tiny_coco()
    coco["info"] = {"description": "kept"}
    coco["annotations"][0]["segmentation"] = [[1, 2, 3, 4, 5, 6]]
    coco["images"][0]["sha256"] = "0" * 64  # carried over from elsewhere: recomputed on import
    for image in coco["images"]:
        make_image(source / "pictures" / image["file_name"])
    return write_coco(source / "instances.json", coco)


def test_coco_import_copies_and_keeps_everything(tmp_path: Path) -> None:
    annotations = _coco_source(tmp_path)
    folder = _import(tmp_path, "coco", annotations, images=annotations.parent / "pictures")
    data = json.loads((folder / "annotations.json").read_text(encoding="utf-8"))
    assert data["info"] == {"description": "kept"}
    assert data["annotations"][0]["segmentation"] == [[1, 2, 3, 4, 5, 6]]
    assert data["images"][0]["sha256"] != "0" * 64
    spec = load_spec(folder / "dataset.yaml")
    assert spec.attributes == {"colour": ("blue", "green", "red")}
    assert spec.expect.objects == {"balloon": 3}
    assert DatasetRegistry(tmp_path / "sets").verify("imported").ok


def test_coco_image_size_mismatch(tmp_path: Path) -> None:
    annotations = _coco_source(tmp_path)
    make_image(annotations.parent / "pictures" / "img2.png", (24, 32))
    with pytest.raises(DatasetError, match=r"instances.json: images\[2\] \(id 3, file_name 'img2.png'\) says 32x24 but "
                                           r"the file is 24x32 \(after EXIF rotation\)"):
        _import(tmp_path, "coco", annotations, images=annotations.parent / "pictures")


def test_coco_missing_image(tmp_path: Path) -> None:
    annotations = _coco_source(tmp_path)
    with pytest.raises(DatasetError, match=r"export/img0.png: image file not found"):
        _import(tmp_path, "coco", annotations)  # images are not next to the annotation file


def test_existing_id_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sets" / "imported").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"sets/imported already exists; fix: choose another id"):
        _import(tmp_path, "yolo", _yolo(tmp_path, {}))
