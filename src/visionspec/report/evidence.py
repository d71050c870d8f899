"""Contact sheets: crops of missed objects, false alarms and misread objects with their boxes drawn.

A product owner reads a sheet without a legend card: annotated boxes (ground truth) are green,
the detector's boxes orange, the box the tile is about is drawn thick, tiles are ordered worst
first and capped, and a caption under each tile names the image and the figures that matter.

The builders (``miss_tiles``, ``false_alarm_tiles``, ``mislabelled_tiles``) choose, order and cap
the objects from plain tables; ``contact_sheet`` decodes only the images of the tiles it draws.

Example:
    >>> sheet = contact_sheet(miss_tiles(annotations, missed, detections, dataset_image_path))  # doctest: +SKIP
    >>> allure.attach(sheet.data, name="missed balloons", attachment_type=sheet.media_type,
    ...               extension=sheet.extension)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from visionspec.datasets.images import open_image as visionspec_open_image
from visionspec.datasets.tables import AnnotationTable, frozen_array
from visionspec.detections import Detections
from visionspec.report.picture import Picture, PictureFormat, encode

DEFAULT_LIMIT = 24
GROUND_TRUTH_COLOUR = (0, 200, 83)
PREDICTION_COLOUR = (255, 140, 0)
_HALO_COLOUR = (0, 0, 0)
_PADDING_COLOUR = (110, 110, 110)
_BACKGROUND = (255, 255, 255)
_TEXT = (33, 33, 33)
_MUTED_TEXT = (97, 97, 97)
_GAP = 8
_CAPTION_FONT_SIZE = 12
_CAPTION_LINE_HEIGHT = 15
_TITLE_FONT_SIZE = 17
# An object fills about 60% of its tile, so the reader sees what surrounds it.
_CONTEXT = 1.7
_MIN_WINDOW = 24.0

Box = tuple[float, float, float, float]
ImageOpener = Callable[[Path], Image.Image]


class Focus(Enum):
    """What a tile is about: an annotated object (missed, misread) or a detector's box (false alarm)."""

    GROUND_TRUTH = "ground truth"
    PREDICTION = "prediction"


@dataclass(frozen=True, eq=False)
class Tile:
    """One object shown on a contact sheet.

    Attributes:
        image_path: the image file.
        focus: ``x, y, width, height`` of the object the tile is about, in image pixels.
        focus_kind: whether ``focus`` is an annotated box or a detector's box (its colour).
        ground_truth: (G, 4) xywh annotated boxes of the image, drawn green where they fall in the crop.
        predictions: (P, 4) xywh detector boxes of the image, drawn orange.
        caption: one or two short lines under the tile (image id, score, IoU, colour).
    """

    image_path: Path
    focus: Box
    focus_kind: Focus
    ground_truth: NDArray[np.float64]
    predictions: NDArray[np.float64]
    caption: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class TileSet:
    """The tiles of one sheet, worst first and capped, and how many there were before the cap.

    Attributes:
        title: what the sheet shows, e.g. ``Missed balloons``.
        tiles: at most the cap, worst first.
        total: how many objects qualified before the cap.
        order: how ``tiles`` are ordered, in words (``largest first``).
    """

    title: str
    tiles: tuple[Tile, ...]
    total: int
    order: str

    @property
    def heading(self) -> str:
        """The sheet's first line, e.g. ``Missed balloons: 258 (24 shown, largest first)``."""
        if self.total == 0:
            return f"{self.title}: none"
        shown = "all shown" if len(self.tiles) == self.total else f"{len(self.tiles)} shown"
        return f"{self.title}: {self.total:,} ({shown}, {self.order})"


# --- Choosing and ordering the objects ------------------------------------------------------------


def miss_tiles(
    ground_truth: AnnotationTable,
    missed: NDArray[np.bool_],
    detections: Detections,
    image_path: Callable[[int], Path],
    *,
    attribute: str | None = None,
    title: str = "Missed objects",
    limit: int = DEFAULT_LIMIT,
) -> TileSet:
    """Tiles of annotated objects the detector did not find, largest first (the most visible miss is the worst).

    Args:
        ground_truth: the annotated objects (all of them: neighbours are drawn too).
        missed: (N,) bool over ``ground_truth`` rows, true for a miss.
        detections: the detector's boxes that were judged (after the score threshold), drawn orange;
            the caption gives the best IoU any of them reaches with the missed object.
        image_path: image id to file path.
        attribute: per-object attribute shown in the caption, e.g. ``colour``.
        title: the sheet's title.
        limit: the cap.

    Returns:
        The tile set; ties in size go by image id then annotation id.
    """
    rows = np.flatnonzero(_checked_mask(missed, len(ground_truth), "missed"))
    areas = ground_truth.boxes[rows, 2] * ground_truth.boxes[rows, 3]
    ordered = rows[np.lexsort((ground_truth.ids[rows], ground_truth.image_ids[rows], -areas))][:limit]
    tiles = []
    for row in ordered:
        image_id = int(ground_truth.image_ids[row])
        box = ground_truth.boxes[row]
        predicted = _boxes_of(detections.boxes, detections.image_ids, image_id)
        best = _best_iou(box, predicted)
        first = f"image {image_id}" + _attribute_suffix(ground_truth, attribute, row)
        second = f"{box[2]:.0f} x {box[3]:.0f} px · " + (f"best IoU {best:.2f}" if best > 0 else "no box overlaps")
        tiles.append(_ground_truth_tile(ground_truth, row, predicted, image_path(image_id), (first, second)))
    return TileSet(title, tuple(tiles), len(rows), "largest first")


def false_alarm_tiles(
    detections: Detections,
    false_alarm: NDArray[np.bool_],
    ground_truth: AnnotationTable,
    image_path: Callable[[int], Path],
    *,
    labels: Sequence[str] | None = None,
    title: str = "False alarms",
    limit: int = DEFAULT_LIMIT,
    class_names: Mapping[int, str] | None = None,
    attribute: str | None = None,
) -> TileSet:
    """Tiles of detector boxes that match no annotated object, most confident first.

    Args:
        detections: the detector's boxes that were judged (all of them: neighbours are drawn too).
        false_alarm: (D,) bool over ``detections`` rows, true for a false alarm.
        ground_truth: the annotated objects, drawn green; the caption gives the best IoU with them.
        image_path: image id to file path.
        labels: (D,) optional label per detection shown in the caption (e.g. the colour model's colour).
        title: the sheet's title.
        limit: the cap.
        class_names: category id to class name: the caption names what the box overlaps most
            (``IoU 0.62 with a blue balloon``), so a reader sees why a report is wrong.
        attribute: the annotations' attribute named with it (e.g. ``colour``).

    Returns:
        The tile set; ties in score go by image id then detection row.
    """
    rows = np.flatnonzero(_checked_mask(false_alarm, len(detections), "false_alarm"))
    if labels is not None and len(labels) != len(detections):
        raise ValueError(f"labels has {len(labels)} entries for {len(detections)} detections")
    ordered = rows[np.lexsort((rows, detections.image_ids[rows], -detections.scores[rows]))][:limit]
    tiles = []
    for row in ordered:
        image_id = int(detections.image_ids[row])
        box = detections.boxes[row]
        annotated = _boxes_of(ground_truth.boxes, ground_truth.image_ids, image_id)
        best = _best_iou(box, annotated)
        label = f" · {labels[row]}" if labels is not None else ""
        first = f"image {image_id} · score {detections.scores[row]:.2f}{label}"
        nothing = "no object in image" if len(annotated) == 0 else "overlaps no object"
        second = f"best IoU {best:.2f}" if best > 0 else nothing
        if best > 0 and class_names is not None:
            second = f"IoU {best:.2f} with {_truth_of(ground_truth, box, image_id, class_names, attribute)}"
        focus = _as_box(box)
        predicted = _boxes_of(detections.boxes, detections.image_ids, image_id)
        tiles.append(Tile(image_path(image_id), focus, Focus.PREDICTION, annotated, predicted, (first, second)))
    return TileSet(title, tuple(tiles), len(rows), "most confident first")


def mislabelled_tiles(
    ground_truth: AnnotationTable,
    misread: NDArray[np.bool_],
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    confidences: NDArray[np.float64],
    image_path: Callable[[int], Path],
    *,
    detections: Detections | None = None,
    title: str = "Misread objects",
    limit: int = DEFAULT_LIMIT,
) -> TileSet:
    """Tiles of annotated objects a classifier got wrong (e.g. a red balloon read as orange), most confident first.

    Args:
        ground_truth: the annotated objects.
        misread: (N,) bool over ``ground_truth`` rows, true where the classifier was wrong.
        true_labels: N annotated labels (e.g. the ``colour`` attribute column).
        predicted_labels: N labels the classifier gave.
        confidences: (N,) the classifier's confidence in its label.
        image_path: image id to file path.
        detections: detector boxes to draw as well (the chain), or None.
        title: the sheet's title.
        limit: the cap.

    Returns:
        The tile set; ties in confidence go by image id then annotation id.
    """
    rows = np.flatnonzero(_checked_mask(misread, len(ground_truth), "misread"))
    if not len(true_labels) == len(predicted_labels) == len(confidences) == len(ground_truth):
        raise ValueError("true_labels, predicted_labels and confidences need one entry per ground truth row")
    scores = np.asarray(confidences, dtype=np.float64)
    ordered = rows[np.lexsort((ground_truth.ids[rows], ground_truth.image_ids[rows], -scores[rows]))][:limit]
    found = detections if detections is not None else Detections.empty()
    tiles = []
    for row in ordered:
        image_id = int(ground_truth.image_ids[row])
        predicted = _boxes_of(found.boxes, found.image_ids, image_id)
        caption = (f"image {image_id}", f"{true_labels[row]} read as {predicted_labels[row]} ({scores[row]:.0%})")
        tiles.append(_ground_truth_tile(ground_truth, row, predicted, image_path(image_id), caption))
    return TileSet(title, tuple(tiles), len(rows), "most confident first")


def _truth_of(
    ground_truth: AnnotationTable, box: NDArray[np.float64], image_id: int, class_names: Mapping[int, str],
    attribute: str | None,
) -> str:
    """What the annotated object a box overlaps most truly is: ``a blue balloon``."""
    rows = np.flatnonzero(ground_truth.image_ids == image_id)
    ious = [_best_iou(box, ground_truth.boxes[row : row + 1]) for row in rows]
    row = int(rows[int(np.argmax(ious))])
    name = class_names.get(int(ground_truth.category_ids[row]), "object")
    value = _attribute_suffix(ground_truth, attribute, row).removeprefix(" · ")
    words = f"{value} {name}" if value else name
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


def _checked_mask(mask: NDArray[np.bool_], rows: int, name: str) -> NDArray[np.bool_]:
    """The mask as a bool array, refusing one of the wrong length (a caller bug, not bad data)."""
    array = np.asarray(mask, dtype=np.bool_)
    if array.shape != (rows,):
        raise ValueError(f"{name} has shape {array.shape}, expected ({rows},)")
    return array


def _ground_truth_tile(
    ground_truth: AnnotationTable, row: int, predicted: NDArray[np.float64], path: Path, caption: tuple[str, ...]
) -> Tile:
    """A tile about annotated object ``row``, with its image's other boxes."""
    image_id = int(ground_truth.image_ids[row])
    annotated = _boxes_of(ground_truth.boxes, ground_truth.image_ids, image_id)
    return Tile(path, _as_box(ground_truth.boxes[row]), Focus.GROUND_TRUTH, annotated, predicted, caption)


def _attribute_suffix(ground_truth: AnnotationTable, attribute: str | None, row: int) -> str:
    """`` · red`` for the object's attribute value, or nothing."""
    if attribute is None:
        return ""
    column = ground_truth.attributes.get(attribute)
    if column is None:
        raise ValueError(f"no attribute {attribute!r}; the annotations have {sorted(ground_truth.attributes)}")
    value = str(column[row])
    return f" · {value}" if value else ""


def _boxes_of(boxes: NDArray[np.float64], image_ids: NDArray[np.int64], image_id: int) -> NDArray[np.float64]:
    """The (K, 4) boxes of one image."""
    return frozen_array(boxes[image_ids == image_id].reshape(-1, 4), np.float64)


def _as_box(box: NDArray[np.float64]) -> Box:
    """A box row as a plain tuple."""
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _best_iou(box: NDArray[np.float64], others: NDArray[np.float64]) -> float:
    """The largest IoU of xywh ``box`` with the (K, 4) xywh ``others``; 0 when there are none."""
    if len(others) == 0:
        return 0.0
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    bottom = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    intersection = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        ious = np.where(union > 0, intersection / union, 0.0)
    return float(ious.max())


# --- Drawing ----------------------------------------------------------------------------------------


def contact_sheet(
    tile_set: TileSet,
    *,
    columns: int = 6,
    tile_size: int = 160,
    open_image: ImageOpener | None = None,
    picture_format: PictureFormat = "jpeg",
) -> Picture:
    """Draw a tile set as one picture: heading, colour legend, then the tiles in rows, worst first.

    Args:
        tile_set: what to draw (see ``miss_tiles``, ``false_alarm_tiles``, ``mislabelled_tiles``).
        columns: tiles a row.
        tile_size: the side of a tile's picture in pixels.
        open_image: decodes an image file to RGB; default ``visionspec.datasets.images.open_image``.
        picture_format: JPEG by default (a sheet of photos is several times smaller than as PNG).

    Returns:
        The encoded sheet.

    Raises:
        DatasetError: an image of a tile cannot be read.
    """
    opener = open_image or visionspec_open_image
    tiles = tile_set.tiles
    grid_columns = max(1, min(columns, len(tiles)))
    grid_rows = math.ceil(len(tiles) / grid_columns)
    cell_height = tile_size + _caption_height(tiles)
    header = _header(tile_set, max(grid_columns * (tile_size + _GAP) + _GAP, 1))
    width = max(header.width, grid_columns * (tile_size + _GAP) + _GAP)
    sheet = Image.new("RGB", (width, header.height + grid_rows * (cell_height + _GAP)), _BACKGROUND)
    sheet.paste(header, (0, 0))
    images: dict[Path, Image.Image] = {}
    for index, tile in enumerate(tiles):
        if tile.image_path not in images:
            images[tile.image_path] = opener(tile.image_path)
        x = _GAP + (index % grid_columns) * (tile_size + _GAP)
        y = header.height + (index // grid_columns) * (cell_height + _GAP)
        sheet.paste(_render_tile(images[tile.image_path], tile, tile_size), (x, y))
        _draw_caption(ImageDraw.Draw(sheet), tile.caption, x, y + tile_size + 3, tile_size)
    return encode(sheet, picture_format)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in scalable font at ``size`` pixels (no font files needed)."""
    return ImageFont.load_default(size=size)


def _caption_height(tiles: Sequence[Tile]) -> int:
    """Room under each tile for the longest caption."""
    lines = max((len(tile.caption) for tile in tiles), default=0)
    return 3 + lines * _CAPTION_LINE_HEIGHT + 2


def _header(tile_set: TileSet, min_width: int) -> Image.Image:
    """The heading line and the colour legend."""
    title_font, font = _font(_TITLE_FONT_SIZE), _font(_CAPTION_FONT_SIZE + 1)
    legend = [
        (GROUND_TRUTH_COLOUR, 2, "annotated object (ground truth)"),
        (PREDICTION_COLOUR, 2, "detector's box"),
        ((90, 90, 90), 4, "thick: the object the tile is about"),
    ]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    legend_width = _GAP + sum(26 + int(probe.textlength(text, font=font)) + 18 for _, _, text in legend)
    title_width = _GAP * 2 + int(probe.textlength(tile_set.heading, font=title_font))
    header = Image.new("RGB", (max(min_width, legend_width, title_width), 58), _BACKGROUND)
    draw = ImageDraw.Draw(header)
    draw.text((_GAP, 8), tile_set.heading, fill=_TEXT, font=title_font)
    x = _GAP
    for colour, width, text in legend:
        _draw_box(draw, (x, 35, x + 18, 49), colour, width)
        x += 26
        draw.text((x, 35), text, fill=_MUTED_TEXT, font=font)
        x += int(draw.textlength(text, font=font)) + 18
    return header


def _window(focus: Box, image_width: int, image_height: int) -> tuple[float, float, float]:
    """The square crop (left, top, side) around ``focus``: context around it, kept inside the image when it fits."""
    x, y, w, h = focus
    side = max(max(w, h) * _CONTEXT, _MIN_WINDOW)
    side = max(min(side, float(max(image_width, image_height))), max(w, h, 1.0))
    left = x + w / 2 - side / 2
    top = y + h / 2 - side / 2
    # Slide the window back inside the image rather than padding, where the image is big enough.
    if side <= image_width:
        left = min(max(left, 0.0), image_width - side)
    if side <= image_height:
        top = min(max(top, 0.0), image_height - side)
    return left, top, side


def _render_tile(image: Image.Image, tile: Tile, tile_size: int) -> Image.Image:
    """The crop around the tile's focus, scaled to ``tile_size``, with every box in it drawn."""
    left, top, side = _window(tile.focus, image.width, image.height)
    box = (math.floor(left), math.floor(top), math.ceil(left + side), math.ceil(top + side))
    # crop() pads past the edges with black; paste onto grey instead so padding does not look like image.
    canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), _PADDING_COLOUR)
    inside = (max(box[0], 0), max(box[1], 0), min(box[2], image.width), min(box[3], image.height))
    if inside[0] < inside[2] and inside[1] < inside[3]:
        canvas.paste(image.crop(inside), (inside[0] - box[0], inside[1] - box[1]))
    # The crop is square to within a pixel of rounding: scale each axis on its own rather than pad.
    scale = (tile_size / canvas.width, tile_size / canvas.height)
    resample = Image.Resampling.LANCZOS if canvas.width > tile_size else Image.Resampling.BICUBIC
    rendered = canvas.resize((tile_size, tile_size), resample)
    draw = ImageDraw.Draw(rendered)
    for boxes, colour in ((tile.ground_truth, GROUND_TRUTH_COLOUR), (tile.predictions, PREDICTION_COLOUR)):
        for other in boxes:
            _draw_box(draw, _to_tile(_as_box(other), box[0], box[1], scale), colour, 2)
    focus_colour = GROUND_TRUTH_COLOUR if tile.focus_kind is Focus.GROUND_TRUTH else PREDICTION_COLOUR
    _draw_box(draw, _to_tile(tile.focus, box[0], box[1], scale), focus_colour, 4)
    return rendered


def _to_tile(box: Box, left: float, top: float, scale: tuple[float, float]) -> tuple[float, float, float, float]:
    """An xywh image box as x0, y0, x1, y1 in tile pixels."""
    x, y, w, h = box
    sx, sy = scale
    return ((x - left) * sx, (y - top) * sy, (x + w - left) * sx, (y + h - top) * sy)


def _draw_box(
    draw: ImageDraw.ImageDraw, corners: tuple[float, float, float, float], colour: tuple[int, ...], width: int
) -> None:
    """A rectangle with a thin dark halo, so it reads on any background (a green box on a green balloon)."""
    x0, y0, x1, y1 = (round(v) for v in corners)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=_HALO_COLOUR, width=width + 2)
    draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)


def _draw_caption(draw: ImageDraw.ImageDraw, lines: Sequence[str], x: int, y: int, width: int) -> None:
    """Caption lines under a tile: the first dark, the rest muted, each cut to the tile's width."""
    font = _font(_CAPTION_FONT_SIZE)
    for index, line in enumerate(lines):
        text = _fit(draw, line, font, width)
        draw.text((x, y + index * _CAPTION_LINE_HEIGHT), text, fill=_TEXT if index == 0 else _MUTED_TEXT, font=font)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """``text`` cut with an ellipsis to ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"
