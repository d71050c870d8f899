"""YOLO (Darknet / Ultralytics) text labels into COCO.

Layout: ``SRC/images/**`` and ``SRC/labels/**``, the label of ``images/a/b.jpg`` being
``labels/a/b.txt``; class names in ``SRC/classes.txt`` (one a line) or ``SRC/data.yaml`` ``names:``
(a list, or a mapping from index to name).

Conventions and quirks handled:

- Each label line is ``class cx cy w h``, the box centre and size normalised to the image (0..1);
  converted to COCO pixels ``x = (cx - w / 2) * W``, ``w = w * W`` (rounded to 1/1000 px).
- An image without a label file, or with an empty one, is an image without objects.
- Blank lines and surrounding spaces are ignored; anything else that is not five numbers (a
  segmentation polygon, a confidence column), a class index out of range, a zero-sized box or a box
  reaching past the image (beyond 1 px) is refused with the label file and line number.
- A label file without an image is refused (it usually means a renamed or deleted image).
- Image ids are 1..I in file name order, annotation ids 1..N (never 0), category ids 1..K for the
  class indices 0..K-1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visionspec.datasets.coco import BOX_TOLERANCE_PX
from visionspec.datasets.importers.common import Conversion, find_images, measure_images
from visionspec.errors import DatasetError, shown
from visionspec.yamlfile import read_yaml_file

LABEL_SUFFIX = ".txt"


def convert(source: Path, images: Path | None = None, *, workers: int | None = None) -> Conversion:
    """Read the YOLO data set in folder ``source`` (``images`` overrides ``source/images``)."""
    images_folder = images or source / "images"
    labels_folder = source / "labels"
    classes = read_class_names(source)
    file_names = find_images(images_folder)
    _refuse_orphan_labels(labels_folder, file_names)
    sizes = measure_images([images_folder / name for name in file_names], workers=workers)
    coco_images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, (file_name, (width, height)) in enumerate(zip(file_names, sizes, strict=True), start=1):
        coco_images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        label = labels_folder / Path(file_name).with_suffix(LABEL_SUFFIX)
        for category_id, bbox in _read_label(label, len(classes), width, height):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category_id,
                                "bbox": bbox, "iscrowd": 0})
    categories = [{"id": index + 1, "name": name} for index, name in enumerate(classes)]
    return Conversion(
        coco={"images": coco_images, "categories": categories, "annotations": annotations},
        sources=tuple(images_folder / name for name in file_names),
        classes=tuple(classes),
        attributes={},
    )


def read_class_names(source: Path) -> list[str]:
    """The class names from ``classes.txt`` or ``data.yaml``, index order."""
    classes_txt = source / "classes.txt"
    if classes_txt.is_file():
        names = [line.strip() for line in classes_txt.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not names:
            raise DatasetError(f"{classes_txt}: no class names; fix: write one class name a line")
        return names
    data_yaml = source / "data.yaml"
    if not data_yaml.is_file():
        raise DatasetError(f"{source}: neither classes.txt nor data.yaml names the classes; fix: add classes.txt "
                           "with one class name a line, in class index order")
    content = read_yaml_file(data_yaml, DatasetError) or {}
    if not isinstance(content, dict):
        raise DatasetError(f"{data_yaml}: not a YAML mapping with 'names'; fix: write names: [balloon, ...]")
    declared: Any = content.get("names")
    if isinstance(declared, dict) and sorted(declared) == list(range(len(declared))):
        declared = [declared[index] for index in range(len(declared))]
    if not isinstance(declared, list) or not declared or not all(isinstance(name, str) for name in declared):
        raise DatasetError(f"{data_yaml}: 'names' must be a list of class names or a mapping 0..K-1 to names, got "
                           f"{shown(declared)}; fix: write names: [balloon, ...]")
    return declared


def _refuse_orphan_labels(labels_folder: Path, file_names: list[str]) -> None:
    """Refuse label files that belong to no image."""
    if not labels_folder.is_dir():
        return
    expected = {Path(name).with_suffix(LABEL_SUFFIX).as_posix() for name in file_names}
    for label in sorted(labels_folder.rglob(f"*{LABEL_SUFFIX}")):
        relative = label.relative_to(labels_folder).as_posix()
        if relative not in expected:
            raise DatasetError(f"{label}: label file without an image (no images/{Path(relative).stem}.* found); "
                               "fix: add the image, or remove the label file")


def _read_label(label: Path, class_count: int, width: int, height: int) -> list[tuple[int, list[float]]]:
    """``(category_id, bbox)`` for each line of a label file (none when the file is absent)."""
    try:
        text = label.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{label}: cannot be read ({err}); fix: make it a UTF-8 text file") from err
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            objects.append(_parse_line(line, f"{label} line {number}", class_count, width, height))
    return objects


def _parse_line(line: str, where: str, class_count: int, width: int, height: int) -> tuple[int, list[float]]:
    """One ``class cx cy w h`` line as ``(category_id, [x, y, w, h])`` in pixels."""
    fields = line.split()
    try:
        class_index = int(fields[0])
        cx, cy, w, h = (float(field) for field in fields[1:])
    except ValueError as err:
        raise DatasetError(f"{where}: {line.strip()!r} is not 'class cx cy w h' (an integer and four numbers; "
                           f"segmentation polygons and confidence columns are not box labels); fix: correct the "
                           "line") from err
    if not 0 <= class_index < class_count:
        raise DatasetError(f"{where}: class {class_index} is not one of the {class_count} classes "
                           f"(0..{class_count - 1}); fix: correct the class index or the class names file")
    box = [round((cx - w / 2) * width, 3), round((cy - h / 2) * height, 3), round(w * width, 3), round(h * height, 3)]
    if not (box[2] > 0 and box[3] > 0):
        raise DatasetError(f"{where}: box {line.strip()!r} has zero or negative size; fix: remove or correct it")
    tolerance = BOX_TOLERANCE_PX
    if box[0] < -tolerance or box[1] < -tolerance or box[0] + box[2] > width + tolerance \
            or box[1] + box[3] > height + tolerance:
        raise DatasetError(f"{where}: box {line.strip()!r} reaches outside the {width}x{height} image (coordinates "
                           "must be normalised to 0..1); fix: correct the line")
    return class_index + 1, box
