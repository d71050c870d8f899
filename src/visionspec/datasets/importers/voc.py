"""Pascal VOC XML annotations into COCO.

Layout: ``SRC/JPEGImages/*`` and ``SRC/Annotations/*.xml``, one XML per image (same stem). Every
image under ``JPEGImages`` is imported; one without an XML is an image without objects.

Conventions and quirks handled:

- VOC boxes are 1-based inclusive pixel indices (the devkit's ``xmin = 1`` is the first column and
  ``xmax`` is the last column inside the box). COCO boxes are 0-based continuous coordinates, so
  ``x = xmin - 1``, ``y = ymin - 1``, ``width = xmax - xmin + 1``, ``height = ymax - ymin + 1``:
  a box covering a whole 500 px wide image (``xmin 1, xmax 500``) becomes ``x 0, width 500``.
  Detectron2 converts the same way. Fractional coordinates (some exporters write them) are kept.
- ``difficult``: VOC's own metric ignores these objects. COCO has no such flag (``iscrowd`` has a
  different matching rule), so every object is kept as an ordinary one and carries the attribute
  ``difficult: "yes" | "no"`` (missing means "no", as in the devkit); a goal that follows VOC's rule
  selects ``difficult = no``. ``truncated`` and ``occluded`` become attributes the same way.
- ``<size>`` is often wrong or zero in the wild; the image file's real (EXIF-upright) size is used,
  and a non-zero ``<size>`` that disagrees with it is refused (the XML probably belongs to another
  image).
- ``<filename>`` is often stale; the image is found by the XML's stem (any image suffix).
- Class names are stripped of surrounding spaces; categories are the names found, sorted, ids 1..K.
  Image ids are 1..I in file name order, annotation ids 1..N (never 0).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path, PurePosixPath
from typing import Any

from visionspec.datasets.importers.common import Conversion, find_images, measure_images
from visionspec.errors import DatasetError

YES_NO = ("no", "yes")
FLAGS = ("difficult", "truncated", "occluded")


def convert(source: Path, images: Path | None = None, *, workers: int | None = None) -> Conversion:
    """Read the VOC data set in folder ``source`` (``images`` overrides ``source/JPEGImages``)."""
    images_folder = images or source / "JPEGImages"
    annotations_folder = source / "Annotations"
    if not annotations_folder.is_dir():
        raise DatasetError(f"{annotations_folder}: not found; fix: point SRC at the VOC folder holding Annotations/ "
                           "and JPEGImages/")
    file_names = find_images(images_folder)
    by_stem = {PurePosixPath(name).with_suffix("").as_posix(): name for name in file_names}
    xml_files = sorted(annotations_folder.rglob("*.xml"))
    parsed = {}
    for xml_file in xml_files:
        stem = xml_file.relative_to(annotations_folder).with_suffix("").as_posix()
        if stem not in by_stem:
            raise DatasetError(f"{xml_file}: no image {stem}.* under {images_folder}; fix: add the image, or remove "
                               "the annotation file")
        parsed[by_stem[stem]] = _read_xml(xml_file)
    sizes = measure_images([images_folder / name for name in file_names], workers=workers)
    classes = sorted({obj["name"] for objects in parsed.values() for obj in objects[1]})
    category_ids = {name: index + 1 for index, name in enumerate(classes)}
    coco_images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, (file_name, (width, height)) in enumerate(zip(file_names, sizes, strict=True), start=1):
        coco_images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        declared_size, objects = parsed.get(file_name, (None, []))
        if declared_size is not None and declared_size != (width, height):
            raise DatasetError(f"{annotations_folder / _xml_name(file_name)}: <size> says {declared_size[0]}x"
                               f"{declared_size[1]} but {images_folder / file_name} is {width}x{height}; fix: check "
                               "that the XML belongs to this image, and correct <size>")
        for obj in objects:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": category_ids[obj["name"]], "bbox": obj["bbox"], "iscrowd": 0,
                                "attributes": obj["attributes"]})
    return Conversion(
        coco={"images": coco_images, "categories": [{"id": i, "name": n} for n, i in category_ids.items()],
              "annotations": annotations},
        sources=tuple(images_folder / name for name in file_names),
        classes=tuple(classes),
        attributes={flag: YES_NO for flag in FLAGS},
    )


def _xml_name(file_name: str) -> str:
    """The annotation file name of an image file name."""
    return PurePosixPath(file_name).with_suffix(".xml").as_posix()


def _read_xml(xml_file: Path) -> tuple[tuple[int, int] | None, list[dict[str, Any]]]:
    """The declared size (``None`` when absent or zero) and the objects of one annotation file."""
    try:
        root = ElementTree.parse(xml_file).getroot()
    except (ElementTree.ParseError, OSError) as err:
        raise DatasetError(f"{xml_file}: not a readable XML file ({err}); fix: correct or remove it") from err
    size = None
    width, height = root.findtext("size/width"), root.findtext("size/height")
    if width and height:
        declared = (_number(width, xml_file, "size/width"), _number(height, xml_file, "size/height"))
        size = (int(declared[0]), int(declared[1])) if declared[0] > 0 and declared[1] > 0 else None
    objects = [_read_object(element, f"{xml_file} object {index}") for index, element in
               enumerate(root.findall("object"), start=1)]
    return size, objects


def _read_object(element: ElementTree.Element, where: str) -> dict[str, Any]:
    """One ``<object>`` as ``{name, bbox, attributes}`` (COCO pixels)."""
    name = (element.findtext("name") or "").strip()
    if not name:
        raise DatasetError(f"{where}: has no <name>; fix: give the object its class name")
    if element.find("bndbox") is None:
        raise DatasetError(f"{where} ({name}): has no <bndbox>; fix: give xmin, ymin, xmax, ymax")
    corners = []
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        text = element.findtext(f"bndbox/{tag}")
        if text is None:
            raise DatasetError(f"{where} ({name}): <bndbox> has no <{tag}>; fix: add it")
        corners.append(_number(text, where, f"bndbox/{tag}"))
    xmin, ymin, xmax, ymax = corners
    if xmax < xmin or ymax < ymin:
        raise DatasetError(f"{where} ({name}): xmax {xmax:g} < xmin {xmin:g} or ymax {ymax:g} < ymin {ymin:g}; fix: "
                           "swap or correct the corners")
    attributes = {flag: _flag(element.findtext(flag), where, flag) for flag in FLAGS}
    bbox = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]
    return {"name": name, "bbox": [int(v) if float(v).is_integer() else v for v in bbox], "attributes": attributes}


def _number(text: str, where: object, tag: str) -> float:
    """A number from an XML element's text."""
    try:
        return float(text.strip())
    except ValueError as err:
        raise DatasetError(f"{where}: <{tag}> {text.strip()!r} is not a number; fix: correct it") from err


def _flag(text: str | None, where: str, tag: str) -> str:
    """A VOC 0/1 flag as ``"no"`` / ``"yes"`` (absent means 0)."""
    value = (text or "0").strip()
    if value not in ("0", "1"):
        raise DatasetError(f"{where}: <{tag}> is {value!r}, not 0 or 1; fix: correct it")
    return YES_NO[int(value)]
