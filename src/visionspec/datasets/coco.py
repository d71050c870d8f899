"""Reading and validating a COCO annotation file on its own (no image file is touched).

Rules, each broken rule a ``DatasetError`` naming the file, the item and the fix:

- ``images``, ``categories`` and ``annotations`` are lists of objects; other top-level keys
  (``info``, ``licenses``) and other keys of an item (``segmentation``, ...) are ignored.
- An image has an integer ``id``, a text ``file_name`` relative to the images folder (no ``..``, not
  absolute, ``/`` between folders), positive integer ``width`` and ``height``, optionally ``sha256``
  (64 lowercase hex digits) and ``attributes`` (an object of text values, image-level facts).
- A category has an integer ``id`` and a text ``name``; both unique.
- An annotation has an integer ``id``, ``image_id`` and ``category_id`` naming an existing image and
  category, ``bbox`` ``[x, y, width, height]`` of finite numbers with width and height > 0, optionally
  ``area`` (a number >= 0; default width * height), ``iscrowd`` (0, 1, true or false) and
  ``attributes`` (an object of text values; with declared attributes, only declared names and values).
- Ids are unique within images, categories and annotations. Annotation id 0 is accepted: nothing here
  or in visionspec's metrics gives id 0 a meaning (pycocotools does, wrongly: it turns such a true
  positive into a false positive).
- A box may overhang the image by at most ``BOX_TOLERANCE_PX`` (1 px) on each side, to absorb rounding
  in converted annotations; boxes are kept as written, never clipped.

Validation is vectorised with NumPy, so a 100,000-image file loads in about a second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from visionspec.datasets.manifest import sha256_bytes
from visionspec.datasets.paths import file_name_problem
from visionspec.datasets.tables import AnnotationTable, Category, ImageTable, frozen_array
from visionspec.errors import DatasetError

BOX_TOLERANCE_PX = 1.0
_SECTIONS = ("images", "categories", "annotations")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"[0-9a-f]*")


@dataclass(frozen=True)
class CocoFile:
    """A validated COCO annotation file.

    Attributes:
        source: the file (or description) the data came from, as named in error messages.
        sha256: hex SHA-256 of the file's bytes (``""`` when parsed from memory).
        images: the images, in file order.
        categories: the categories, in file order.
        annotations: the objects, in file order, with one attribute column per attribute name
            (declared names when given, otherwise every name found).
        image_attributes: image-level attribute columns by name, each (I,) of ``str``.
    """

    source: str
    sha256: str
    images: ImageTable
    categories: tuple[Category, ...]
    annotations: AnnotationTable
    image_attributes: Mapping[str, NDArray[np.str_]] = field(default_factory=dict)


def read_coco(path: Path, *, declared_attributes: Mapping[str, Sequence[str]] | None = None) -> CocoFile:
    """Read and validate a COCO annotation file, touching no image file.

    Args:
        path: the JSON file.
        declared_attributes: the allowed per-object attribute names and values (a data set's
            ``attributes``); ``None`` accepts any text values.

    Returns:
        The validated, immutable content.

    Raises:
        DatasetError: the file is missing, not JSON, or breaks a rule of the module docstring; the
            message names the file, the item (index and id) and the fix.

    Example:
        >>> coco = read_coco(Path("datasets/12345/annotations.json"))  # doctest: +SKIP
        >>> len(coco.images), len(coco.annotations)
        (5000, 1000)
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise DatasetError(f"{path}: annotation file not found; fix: check the path or build the data set") from err
    except OSError as err:
        raise DatasetError(f"{path}: annotation file cannot be read ({err}); fix: check permissions") from err
    try:
        data = orjson.loads(raw)  # faster than json on large annotation files
    except orjson.JSONDecodeError:
        data = _lenient_json(raw, path)  # NaN and Infinity: json reads them, so validation can name the item
    return parse_coco(data, source=str(path), declared_attributes=declared_attributes, sha256=sha256_bytes(raw))


def _lenient_json(raw: bytes, path: Path) -> Any:
    """Python's json, which also reads NaN and Infinity (so that the message names the offending item)."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: not valid JSON ({err}); fix: correct or regenerate the file") from err


def parse_coco(
    data: object,
    *,
    source: str,
    declared_attributes: Mapping[str, Sequence[str]] | None = None,
    sha256: str = "",
) -> CocoFile:
    """Validate COCO data already in memory (as ``json.load`` gives it); ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise DatasetError(f"{source}: the top level must be a JSON object, got {type(data).__name__}; fix: "
                           "write {\"images\": [...], \"categories\": [...], \"annotations\": [...]}")
    sections = {name: _records(data, name, source) for name in _SECTIONS}
    images, image_attributes = _read_images(sections["images"], source)
    categories = _read_categories(sections["categories"], source)
    annotations = _read_annotations(sections["annotations"], source, images, categories, declared_attributes)
    return CocoFile(
        source=source,
        sha256=sha256,
        images=images,
        categories=categories,
        annotations=annotations,
        image_attributes=image_attributes,
    )


class _Items:
    """Names the items of one section in error messages: ``annotations[17] (id 42)``."""

    def __init__(self, source: str, section: str, records: list[dict[str, Any]]) -> None:
        self.source = source
        self.section = section
        self.records = records

    def name(self, index: int) -> str:
        record_id = self.records[index].get("id")
        label = f"{self.section}[{index}]"
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            label += f" (id {record_id}"
            file_name = self.records[index].get("file_name") if self.section == "images" else None
            label += f", file_name {file_name!r})" if isinstance(file_name, str) else ")"
        return label

    def fail(self, indices: Sequence[int] | NDArray[np.intp], problem: str, fix: str) -> DatasetError:
        """An error naming the first offending item and counting the others."""
        first = int(indices[0])
        more = len(indices) - 1
        also = f" (and {more} more {self.section} with the same problem)" if more else ""
        return DatasetError(f"{self.source}: {self.name(first)} {problem}{also}; fix: {fix}")

    def column(self, key: str, expected: type, fix: str) -> list[Any]:
        """The values of a required key, each checked to be of type ``expected`` (bool is not int)."""
        try:
            values = [record[key] for record in self.records]
        except KeyError:
            missing = [index for index, record in enumerate(self.records) if key not in record]
            raise self.fail(missing, f"has no '{key}'", fix) from None
        self.check_types(values, key, expected, fix)
        return values

    def optional(self, key: str) -> list[Any]:
        """The values of an optional key, ``None`` where absent."""
        return [record.get(key) for record in self.records]

    def check_types(self, values: list[Any], key: str, expected: type, fix: str, allow_none: bool = False) -> None:
        allowed = {expected, type(None)} if allow_none else {expected}
        if set(map(type, values)) <= allowed:
            return
        bad = [index for index, value in enumerate(values) if type(value) not in allowed]
        value = values[bad[0]]
        raise self.fail(bad, f"has '{key}' {value!r} of type {type(value).__name__}, not {expected.__name__}", fix)

    def unique(self, ids: NDArray[np.int64], key: str = "id") -> None:
        """Refuse repeated values of ``key``."""
        order = np.argsort(ids, kind="stable")
        repeated = order[1:][ids[order][1:] == ids[order][:-1]]
        if repeated.size:
            value = ids[repeated[0]]
            raise self.fail(np.sort(repeated), f"repeats {key} {value} of an earlier item",
                            f"give every item of '{self.section}' its own {key}")


def _records(data: dict[str, Any], section: str, source: str) -> list[dict[str, Any]]:
    """The list of objects under ``section``."""
    if section not in data:
        raise DatasetError(f"{source}: the top-level key '{section}' is missing; fix: add \"{section}\": [...] "
                           "(an empty list if there are none)")
    records = data[section]
    if not isinstance(records, list):
        raise DatasetError(f"{source}: '{section}' must be a list, got {type(records).__name__}; fix: write a list")
    if set(map(type, records)) <= {dict}:
        return records
    bad = next(index for index, record in enumerate(records) if not isinstance(record, dict))
    raise DatasetError(f"{source}: {section}[{bad}] is {type(records[bad]).__name__}, not an object; "
                       "fix: write each item as {...}")


def _ints(values: list[int]) -> NDArray[np.int64]:
    return frozen_array(values, np.int64) if values else frozen_array(np.zeros(0), np.int64)


def _read_images(records: list[dict[str, Any]], source: str) -> tuple[ImageTable, Mapping[str, NDArray[np.str_]]]:
    """The images section."""
    items = _Items(source, "images", records)
    ids = _ints(items.column("id", int, "give each image an integer 'id'"))
    items.unique(ids)
    file_names = items.column("file_name", str, "give each image its 'file_name' relative to the images folder")
    _check_file_names(items, file_names)
    sizes = {}
    for key in ("width", "height"):
        column = _ints(items.column(key, int, f"give each image its '{key}' in pixels"))
        bad = np.flatnonzero(column <= 0)
        if bad.size:
            raise items.fail(bad, f"has {key} {column[bad[0]]}", f"give the real {key} in pixels (> 0)")
        sizes[key] = column
    table = ImageTable(
        ids=ids,
        file_names=tuple(file_names),
        widths=sizes["width"],
        heights=sizes["height"],
        sha256=tuple(_image_sha256(items)),
    )
    return table, _attribute_columns(items, None, "image attributes are free text: write each value as text")


def _check_file_names(items: _Items, file_names: list[str]) -> None:
    """Refuse names that escape the folder, and names used twice."""
    # Whole-column string tests first: the per-name check is only run when something looks suspicious.
    joined = "\n" + "\n".join(file_names)
    if any(mark in joined for mark in ("\n/", "\n\n", "..", "\\", ":", "\x00")) or (file_names and not file_names[-1]):
        for index, name in enumerate(file_names):
            problem = file_name_problem(name)
            if problem is not None:
                raise items.fail([index], f"has file_name {name!r} that {problem}",
                                 "give a path relative to the data set's images folder")
    if len(set(file_names)) == len(file_names):
        return
    first_row: dict[str, int] = {}
    repeated = [index for index, name in enumerate(file_names) if first_row.setdefault(name, index) != index]
    raise items.fail(repeated, f"repeats file_name {file_names[repeated[0]]!r} of an earlier image",
                     "list each image file once")


def _image_sha256(items: _Items) -> list[str]:
    """The optional ``sha256`` of each image, ``""`` where absent."""
    values = items.optional("sha256")
    items.check_types(values, "sha256", str, "write the file's SHA-256 as 64 hex digits, or leave it out",
                      allow_none=True)
    digests = ["" if value is None else value for value in values]
    # One regular expression over the whole column; per-item only to name the culprit.
    if set(map(len, digests)) <= {0, 64} and _HEX.fullmatch("".join(digests)):
        return digests
    bad = [index for index, value in enumerate(digests) if value and not _HEX64.fullmatch(value)]
    raise items.fail(bad, f"has sha256 {digests[bad[0]]!r}", "write 64 lowercase hex digits, or leave it out")


def _read_categories(records: list[dict[str, Any]], source: str) -> tuple[Category, ...]:
    """The categories section."""
    items = _Items(source, "categories", records)
    ids = items.column("id", int, "give each category an integer 'id'")
    names = items.column("name", str, "give each category a text 'name'")
    items.unique(_ints(ids))
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise items.fail([index], f"repeats name {name!r} of categories[{seen[name]}]", "name each category once")
        seen[name] = index
    return tuple(Category(id=category_id, name=name) for category_id, name in zip(ids, names, strict=True))


def _read_annotations(
    records: list[dict[str, Any]],
    source: str,
    images: ImageTable,
    categories: tuple[Category, ...],
    declared: Mapping[str, Sequence[str]] | None,
) -> AnnotationTable:
    """The annotations section, checked against the images and categories."""
    items = _Items(source, "annotations", records)
    ids = _ints(items.column("id", int, "give each annotation an integer 'id'"))
    items.unique(ids)
    image_ids = _ints(items.column("image_id", int, "give each annotation the integer 'image_id' of its image"))
    category_ids = _ints(items.column("category_id", int, "give each annotation an integer 'category_id'"))
    _check_known(items, category_ids, np.array([c.id for c in categories], dtype=np.int64), "category_id",
                 "use one of the ids listed under 'categories', or add the category")
    image_rows = _check_known(items, image_ids, images.ids, "image_id", "use the id of an image listed under 'images'")
    boxes = _boxes(items)
    _check_boxes(items, boxes, images.widths[image_rows], images.heights[image_rows])
    return AnnotationTable(
        ids=ids,
        image_ids=image_ids,
        category_ids=category_ids,
        boxes=frozen_array(boxes, np.float64),
        areas=_areas(items, boxes),
        iscrowd=_iscrowd(items),
        attributes=_attribute_columns(items, declared, "use one of the declared values, or declare this one"),
    )


def _check_known(
    items: _Items, values: NDArray[np.int64], known: NDArray[np.int64], key: str, fix: str
) -> NDArray[np.intp]:
    """Refuse ``values`` not in ``known``; return each value's row in ``known``."""
    order = np.argsort(known, kind="stable")
    sorted_known = known[order]
    positions = np.clip(np.searchsorted(sorted_known, values), 0, max(len(known) - 1, 0))
    found = sorted_known[positions] == values if len(known) else np.zeros(len(values), dtype=bool)
    bad = np.flatnonzero(~found)
    if bad.size:
        raise items.fail(bad, f"has {key} {values[bad[0]]} that does not exist", fix)
    return order[positions] if len(known) else np.zeros(0, dtype=np.intp)


def _boxes(items: _Items) -> NDArray[np.float64]:
    """The ``bbox`` column as (N, 4) float64, each a list of four finite numbers."""
    fix = "write bbox as [x, y, width, height] in pixels"
    values = items.column("bbox", list, fix)
    if not values:
        return np.zeros((0, 4), dtype=np.float64)
    # Whole-column checks (lengths, then element types: bool and text are refused), then one flat read.
    if set(map(len, values)) != {4} or not set(map(type, chain.from_iterable(values))) <= {int, float}:
        bad = [index for index, box in enumerate(values) if not _is_box(box)]
        raise items.fail(bad, f"has bbox {values[bad[0]]!r}, not four numbers", fix)
    boxes = np.fromiter(chain.from_iterable(values), dtype=np.float64, count=4 * len(values)).reshape(-1, 4)
    bad_rows = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
    if bad_rows.size:
        raise items.fail(bad_rows, f"has bbox {values[bad_rows[0]]!r} with a non-finite number", fix)
    return boxes


def _is_box(box: list[Any]) -> bool:
    return len(box) == 4 and all(type(value) in (int, float) for value in box)


def _check_boxes(
    items: _Items, boxes: NDArray[np.float64], widths: NDArray[np.int64], heights: NDArray[np.int64]
) -> None:
    """Refuse empty boxes and boxes outside their image (beyond the tolerance)."""
    empty = np.flatnonzero((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))
    if empty.size:
        raise items.fail(empty, f"has bbox {boxes[empty[0]].tolist()} with zero or negative width or height",
                         "give width and height > 0, or remove the annotation")
    tolerance = BOX_TOLERANCE_PX
    outside = np.flatnonzero(
        (boxes[:, 0] < -tolerance)
        | (boxes[:, 1] < -tolerance)
        | (boxes[:, 0] + boxes[:, 2] > widths + tolerance)
        | (boxes[:, 1] + boxes[:, 3] > heights + tolerance)
    )
    if outside.size:
        row = outside[0]
        raise items.fail(outside, f"has bbox {boxes[row].tolist()} outside its {widths[row]}x{heights[row]} image",
                         f"keep the box inside the image (up to {tolerance:g} px over the edge is accepted)")


def _areas(items: _Items, boxes: NDArray[np.float64]) -> NDArray[np.float64]:
    """The ``area`` column; width * height where absent."""
    values = items.optional("area")
    fix = "write area as a number >= 0, or leave it out"
    types = set(map(type, values))
    if types <= {type(None)}:
        return frozen_array(boxes[:, 2] * boxes[:, 3], np.float64)
    if types <= {int, float}:
        areas = np.array(values, dtype=np.float64)
        negative = np.flatnonzero(~(areas >= 0))
        if negative.size:
            raise items.fail(negative, f"has area {areas[negative[0]]}", fix)
        return frozen_array(areas, np.float64)
    given = [value is not None for value in values]
    bad = [index for index, value in enumerate(values) if value is not None and type(value) not in (int, float)]
    if bad:
        raise items.fail(bad, f"has area {values[bad[0]]!r}", fix)
    areas = np.array([np.nan if value is None else value for value in values], dtype=np.float64)
    negative = np.flatnonzero(~(areas >= 0) & np.array(given))
    if negative.size:
        raise items.fail(negative, f"has area {areas[negative[0]]}", fix)
    return frozen_array(np.where(np.array(given), areas, boxes[:, 2] * boxes[:, 3]), np.float64)


def _iscrowd(items: _Items) -> NDArray[np.bool_]:
    """The ``iscrowd`` column; false where absent."""
    values = items.optional("iscrowd")
    if not set(values) <= {None, 0, 1}:
        bad = [index for index, value in enumerate(values) if value not in (None, 0, 1)]
        raise items.fail(bad, f"has iscrowd {values[bad[0]]!r}", "write iscrowd as 0 or 1, or leave it out")
    return frozen_array([bool(value) for value in values], np.bool_)


def _attribute_columns(
    items: _Items, declared: Mapping[str, Sequence[str]] | None, fix: str
) -> Mapping[str, NDArray[np.str_]]:
    """One text column per attribute name; ``""`` where an item does not carry the attribute."""
    values = items.optional("attributes")
    if not set(map(type, values)) <= {dict, type(None)}:
        bad = [index for index, value in enumerate(values) if value is not None and not isinstance(value, dict)]
        raise items.fail(bad, f"has attributes {values[bad[0]]!r}", 'write attributes as {"name": "value"}')
    objects: list[dict[str, Any]] = [value or {} for value in values]
    found: set[str] = set(chain.from_iterable(objects))
    names = sorted(found) if declared is None else list(declared)
    if declared is not None and found - set(declared):
        unknown = sorted(found - set(declared))[0]
        rows = [index for index, value in enumerate(objects) if unknown in value]
        raise items.fail(rows, f"has attribute {unknown!r} that is not declared",
                         f"use one of {', '.join(declared) or '(none declared)'}, or declare it in dataset.yaml")
    columns: dict[str, NDArray[np.str_]] = {}
    for name in names:
        # Codes through a dictionary, then one fancy index: far cheaper than NumPy parsing every string.
        codes: dict[object, int] = {"": 0}
        try:
            indices = [codes.setdefault(value.get(name, ""), len(codes)) for value in objects]
        except TypeError:  # an unhashable value (a list, an object): the type check below names it
            indices = []
        if (not indices and objects) or not set(map(type, codes)) <= {str}:
            column = [value.get(name, "") for value in objects]
            items.check_types(column, f"attributes.{name}", str, 'write the value as text, e.g. "yes"')
        if declared is not None:
            _check_values(items, name, objects, codes, declared[name], fix)
        distinct = np.array(list(codes), dtype=np.str_)
        columns[name] = frozen_array(distinct[np.array(indices, dtype=np.intp)], np.str_)
    return MappingProxyType(columns)


def _check_values(
    items: _Items,
    name: str,
    objects: list[dict[str, Any]],
    distinct: Mapping[object, int],
    allowed: Sequence[str],
    fix: str,
) -> None:
    """Refuse values of attribute ``name`` outside ``allowed`` (``""``, not carried, is always allowed)."""
    unknown = set(distinct) - {*allowed, ""}
    if unknown:
        bad = [index for index, value in enumerate(objects) if value.get(name, "") in unknown]
        raise items.fail(bad, f"has {name} {objects[bad[0]][name]!r}, not one of {', '.join(allowed)}", fix)
